"""What a job's use case gives the job runner (runtime/runner.py), and what it gets from it.

The runner owns the loop every job shares — feed work, collect results,
commit them in batches under the job's lease, stop between small units on a
pause, cancel or shutdown, and end the job (COMPLETED, PAUSED, CANCELLED,
handed back, FAILED). A use case owns only its job's pieces: what to do
before the loop (`JobSteps.begin`), the work (`Work`), and what to do after a
full run (`JobSteps.end`); a chunked job (`ChunkedSteps`) also says how its
work is cut into chunks. They meet here so that a use case never imports the
runtime: the lease and its checkpoint reach it as a `Control`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from sqlalchemy.orm import Session

# The stop reason of a worker asked to shut down: the job is handed back (PENDING), not paused.
SHUTDOWN = "shutdown"


class JobFailed(Exception):
    """The job cannot go on (a refused plan, a full disk): it ends FAILED with `message`, without a retry.

    `flush`: record first what was finished before the failure (the runner stops the
    work and commits its last batch)."""

    def __init__(self, message: str, *, flush: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.flush = flush


@dataclass
class Batch:
    """One checkpoint: progress counts and the writes that go with them, in one transaction."""

    done: int = 0
    errors: int = 0
    current_item: str | None = None
    total: int | None = None
    apply: Callable[[Session], None] | None = None
    # Runs once the batch is committed (the export appends its manifest lines then).
    after: Callable[[], None] | None = None


class Control(Protocol):
    """The running job as a use case sees it (the runner holds the lease behind it)."""

    def checkpoint(self, batch: Batch) -> str:
        """Commit `batch` with the job's progress and heartbeat; the job's status as it stands."""

    def stop_reason(self, status: str) -> str | None:
        """After a checkpoint: PAUSED / CANCELLED (set by a person), SHUTDOWN, or None to go on."""


class Work(Protocol):
    """A job's main work, driven by the runner's loop (runtime/runner.py `drive`)."""

    batch_rows: int  # commit when this many results are ready ...
    batch_seconds: float  # ... or this long after the last commit (and look at the controls then)

    def feed(self) -> None:
        """Hand out more work, as much as the pipeline takes now (never blocks for long)."""

    def collect(self) -> None:
        """Gather finished results (waits at most about `batch_seconds`). May raise JobFailed."""

    def busy(self) -> bool:
        """Work is in flight."""

    def exhausted(self) -> bool:
        """Nothing is left to hand out."""

    def ready(self) -> int:
        """Results collected and not committed yet."""

    def take_batch(self) -> Batch:
        """The collected results as one checkpoint (may raise JobFailed)."""

    def stop(self) -> None:
        """Stopping: drop what has not started; what is running may still be collected."""

    def close(self) -> None:
        """Release the pipeline's resources (always called)."""


class JobSteps(Protocol):
    """A job type's pieces around the shared loop."""

    def begin(self, control: Control) -> str | None:
        """Before the loop (listing, planning). A stop reason, or None to go on. May raise JobFailed."""

    def work(self) -> Work:
        """The main work."""

    def end(self, control: Control) -> None:
        """After a full run, before COMPLETED (the import's duplicate grouping)."""


class ChunkedSteps(JobSteps, Protocol):
    """A job type whose main work is cut into chunks any worker may take (runtime/chunks.py).

    `begin` runs once, under the job's lease; then the items still to do
    (`item_ids`) are cut into ranges of ids, each range's work is
    `chunk_work(first_id, last_id)`, and `end` runs once, after the last chunk,
    in whichever worker finished it.
    """

    def item_ids(self, session: Session) -> list[int]:
        """Ids of the items still to do, in order."""

    def chunk_work(self, first_id: int, last_id: int) -> Work:
        """The work of the items still to do with first_id <= id <= last_id."""
