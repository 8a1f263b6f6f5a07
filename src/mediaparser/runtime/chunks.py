"""How chunked jobs work: one job's files spread over every worker on every machine.

Imports and exports run this way (usecases: `ImportSteps`, `ExportSteps`).

Who owns what
-------------
* **The job row** (its lease, heartbeat and attempts: lifecycle.py) belongs to
  the job's *coordinator*: the run of the job's task (`process_import_job`,
  `process_export_job`) that claimed it. The coordinator lists the source or
  stores the export's plan (`steps.begin`: one step,
  under the job's lease), cuts the items still to do into chunks of
  MEDIAPARSER_CHUNK_SIZE ids (`lifecycle.plan_chunks`: `job_chunks` rows
  written in one fenced transaction, so a restarted coordinator plans once),
  puts one `process_job_chunk` task per chunk in the queue for any worker to
  take, then works on chunks itself and waits for the rest. Its heartbeat is
  the job's heartbeat.
* **A chunk row** belongs to whoever claimed it (`lifecycle.claim_chunk`, one
  conditional UPDATE: one owner) — any worker that took its task from the
  queue, or the coordinator. Its run is the runner's loop (`runner.drive`)
  over that range of items. Every batch is committed by
  `lifecycle.chunk_checkpoint`: fenced on the chunk's lease owner, it adds
  the batch's counts to the chunk *and* to the job row in the same short
  transaction. The job's progress, errors, rate and ETA are therefore the
  sums of its chunks' commits, and a worker whose chunk was taken over (it
  was SIGSTOPped past the lease) writes nothing more.
* **The final step** (what needs every item: an import's duplicate grouping,
  an export's check that its manifest holds every copy once) is the job's
  FINAL chunk row. It can be claimed only once every work chunk
  is DONE, by a conditional UPDATE that one claimant wins
  (`lifecycle.claim_final`). Every worker that finishes a chunk tries it right
  after its DONE commit, and so does the coordinator, so it runs once, in
  whichever worker finished last; its commit completes the job.

When things go wrong
--------------------
* A worker killed (kill -9): its chunks' heartbeats go stale; the reaper
  (every worker, every few seconds) puts them back to PENDING and in the
  queue, and whoever takes one redoes only its uncommitted files. A chunk
  whose worker dies `max_attempts` times fails the job with the reason. If
  the coordinator was the one killed, the job's heartbeat goes stale too and
  the reaper queues the job again (one of the job's attempts): the next
  coordinator finds the chunks planned and carries on.
* An error in a chunk: the chunk waits `retry_delay` and runs again; after
  `max_attempts` the job is FAILED with the error. JobFailed (a refused plan,
  a full disk) fails the job at once.
* Pause and cancel are the job's flags. Each chunk sees them at its next
  checkpoint, commits what it finished and hands its chunk back; the
  coordinator lets go of the job's lease only when no chunk is held any more,
  so once a paused job shows no lease, nothing else lands. Resume queues the
  job again, and its coordinator queues the chunks.
* SIGTERM: this worker's chunks are handed back (no attempt counted), its
  coordinator hands the job back (PENDING) and the next worker's coordinator
  goes on; chunks running on other workers carry on meanwhile.

On one machine with the embedded SQLite queue the user sees no difference:
the worker's coordinator and its other task thread take the chunks, sharing
the worker's one process pool.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import select

from mediaparser.config import Settings
from mediaparser.runtime import lifecycle, runner
from mediaparser.store.db import db
from mediaparser.store.models import ChunkKind, JobChunk, JobStatus, utcnow
from mediaparser.usecases.jobsteps import SHUTDOWN, Batch, ChunkedSteps, JobFailed

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # how often a coordinator with nothing to take looks again
DONE = "done"  # a work chunk's run that finished its range
ERROR = "error"  # a chunk's run that raised: it runs again after retry_delay

EnqueueChunk = Callable[..., object]  # enqueue_chunk(job_id, chunk_id, delay=None)


def _stop_reason(status: str, stop_requested: Callable[[], bool]) -> str | None:
    if status not in lifecycle.CHUNKS_GO_ON:
        return status  # PAUSED / CANCELLED by a person, FAILED by a chunk, COMPLETED
    if stop_requested():
        return SHUTDOWN
    return None


class ChunkControl:
    """A use case's handle on one chunk: checkpoints under the chunk's lease (and the
    coordinator's, when the coordinator runs the chunk), and the stop decision."""

    def __init__(self, lease: lifecycle.ChunkLease, stop_requested: Callable[[], bool],
                 job_lease: lifecycle.Lease | None = None) -> None:
        self.lease, self.stop_requested, self.job_lease = lease, stop_requested, job_lease

    def checkpoint(self, batch: Batch) -> str:
        status = lifecycle.chunk_checkpoint(self.lease, done=batch.done, errors=batch.errors,
                                            current_item=batch.current_item, apply=batch.apply,
                                            job_lease=self.job_lease)
        if batch.after is not None:
            batch.after()
        return status

    def stop_reason(self, status: str) -> str | None:
        return _stop_reason(status, self.stop_requested)


# ------------------------------------------------------------ coordinator --

def run_chunked_job(lease: lifecycle.Lease, steps: ChunkedSteps, settings: Settings,
                    stop_requested: Callable[[], bool], enqueue_chunk: EnqueueChunk) -> str:
    """The coordinator: begin, plan the chunks, queue them, work and wait until the job ends."""
    control = runner.LeaseControl(lease, stop_requested)
    try:
        stop = steps.begin(control)
        if stop is None:
            planned = lifecycle.plan_chunks(lease, steps.item_ids, settings.chunk_size)
            log.info("job %s: %d chunk(s) of up to %d items", lease.job_id, planned, settings.chunk_size)
            return _coordinate(lease, steps, settings, stop_requested, enqueue_chunk)
    except JobFailed as failed:
        lifecycle.finish(lease, JobStatus.FAILED, message=failed.message)
        return JobStatus.FAILED
    return runner.end_run(lease, stop)


def _enqueue_free_chunks(job_id: int, enqueue_chunk: EnqueueChunk) -> None:
    for chunk_id in lifecycle.chunks_to_enqueue(job_id):
        enqueue_chunk(job_id, chunk_id)


def _coordinate(lease: lifecycle.Lease, steps: ChunkedSteps, settings: Settings,
                stop_requested: Callable[[], bool], enqueue_chunk: EnqueueChunk) -> str:
    job_id = lease.job_id
    _enqueue_free_chunks(job_id, enqueue_chunk)
    last_beat = time.monotonic()
    while True:
        status = lifecycle.beat(lease)
        if status is None:
            return _lease_gone(lease, last_beat, settings)
        last_beat = time.monotonic()
        stop = _stop_reason(status, stop_requested)
        if stop is not None:
            ended = _wind_down(lease, stop, settings, stop_requested)
            if ended is not None:
                return ended
            _enqueue_free_chunks(job_id, enqueue_chunk)  # resumed before we let go: carry on
            continue
        chunk = lifecycle.claim_next_chunk(job_id, lifecycle.new_owner_token(), settings)
        if chunk is not None:
            run_chunk(chunk, steps, settings, stop_requested, enqueue_chunk, job_lease=lease)
            continue
        final = lifecycle.claim_final(job_id, lifecycle.new_owner_token(), settings)
        if final is not None:
            if run_final(final, steps, settings, stop_requested, enqueue_chunk, job_lease=lease) == JobStatus.COMPLETED:
                return JobStatus.COMPLETED
            continue
        time.sleep(POLL_SECONDS)  # the remaining chunks are in other hands


def _lease_gone(lease: lifecycle.Lease, last_beat: float, settings: Settings) -> str:
    """The job's lease is no longer the coordinator's: the job was completed by the worker
    that ran its final step, or — when this coordinator went silent past the lease — taken over."""
    status = lifecycle.job_status(lease.job_id)
    if status == JobStatus.COMPLETED and time.monotonic() - last_beat < settings.lease_seconds:
        return JobStatus.COMPLETED
    raise lifecycle.LeaseLost(f"job {lease.job_id}: lease {lease.owner} is no longer held")


def _wind_down(lease: lifecycle.Lease, stop: str, settings: Settings,
               stop_requested: Callable[[], bool]) -> str | None:
    """Stop the job's run: hand it back (shutdown), or — paused, cancelled, failed — wait until
    no chunk is held any more, then let go of the job. None when it was resumed meanwhile."""
    if stop == SHUTDOWN:
        return runner.end_run(lease, SHUTDOWN)
    deadline = time.monotonic() + settings.lease_seconds + 1.0
    while True:
        fresh, _stale = lifecycle.chunks_held(lease.job_id, settings)
        if fresh == 0 or time.monotonic() > deadline or stop_requested():
            break
        time.sleep(POLL_SECONDS / 2)
        status = lifecycle.beat(lease)
        if status is None:
            raise lifecycle.LeaseLost(f"job {lease.job_id}: lease {lease.owner} is no longer held")
        if status in lifecycle.CHUNKS_GO_ON:
            return None
    # Whatever is still held belongs to a silent worker: take it back, so its late commit is refused.
    lifecycle.release_chunks(lease.job_id)
    lifecycle.finish(lease, "released")
    return stop


# ----------------------------------------------------------------- chunks --

def run_chunk(lease: lifecycle.ChunkLease, steps: ChunkedSteps, settings: Settings,
              stop_requested: Callable[[], bool], enqueue_chunk: EnqueueChunk,
              job_lease: lifecycle.Lease | None = None) -> str:
    """One work chunk through the runner's loop: DONE, a stop reason (chunk handed back), FAILED or ERROR."""
    assert lease.first_id is not None and lease.last_id is not None
    control = ChunkControl(lease, stop_requested, job_lease)
    try:
        stop = runner.drive(control, steps.chunk_work(lease.first_id, lease.last_id))
    except JobFailed as failed:
        lifecycle.fail_job_from_chunk(lease, failed.message)
        return JobStatus.FAILED
    except lifecycle.LeaseLost:
        raise
    except Exception as exc:  # noqa: BLE001 — the chunk's retry budget decides
        _chunk_raised(lease, exc, settings, enqueue_chunk)
        return ERROR
    if not lifecycle.finish_chunk(lease, done=stop is None, handed_back=stop is not None):
        raise lifecycle.LeaseLost(f"job {lease.job_id} chunk {lease.seq}: lease {lease.owner} is no longer held")
    return DONE if stop is None else stop


def run_final(lease: lifecycle.ChunkLease, steps: ChunkedSteps, settings: Settings,
              stop_requested: Callable[[], bool], enqueue_chunk: EnqueueChunk,
              job_lease: lifecycle.Lease | None = None) -> str:
    """The step that needs every item, then the job's completion, under the final chunk's lease."""
    control = ChunkControl(lease, stop_requested, job_lease)
    try:
        with _Beating(lease, job_lease, settings):
            steps.end(control)
    except JobFailed as failed:
        lifecycle.fail_job_from_chunk(lease, failed.message)
        return JobStatus.FAILED
    except lifecycle.LeaseLost:
        raise
    except Exception as exc:  # noqa: BLE001
        _chunk_raised(lease, exc, settings, enqueue_chunk)
        return ERROR
    if not lifecycle.complete_job(lease):
        raise lifecycle.LeaseLost(f"job {lease.job_id} final step: lease {lease.owner} is no longer held")
    return JobStatus.COMPLETED


def take_chunk(job_id: int, chunk_id: int, make_steps: Callable[[], ChunkedSteps], settings: Settings,
               stop_requested: Callable[[], bool], enqueue_chunk: EnqueueChunk) -> str:
    """A chunk's task: claim it, run it, and if it was the last one, try the final step."""
    kind = db.session.execute(select(JobChunk.kind).where(JobChunk.id == chunk_id)).scalar_one_or_none()
    db.session.commit()
    owner = lifecycle.new_owner_token()
    if kind == ChunkKind.FINAL:
        lease = lifecycle.claim_final(job_id, owner, settings)
    elif kind == ChunkKind.WORK:
        lease = lifecycle.claim_chunk(job_id, chunk_id, owner, settings)
    else:
        lease = None
    if lease is None:
        log.info("chunk id %s of job %s not taken (held by another worker, done, or the job is not running)",
                 chunk_id, job_id)
        return "not-claimed"
    steps = make_steps()
    if lease.kind == ChunkKind.WORK:
        result = run_chunk(lease, steps, settings, stop_requested, enqueue_chunk)
        if result != DONE:
            return result
        lease = lifecycle.claim_final(job_id, lifecycle.new_owner_token(), settings)
        if lease is None:
            return DONE
    return run_final(lease, steps, settings, stop_requested, enqueue_chunk)


def _chunk_raised(lease: lifecycle.ChunkLease, exc: Exception, settings: Settings,
                  enqueue_chunk: EnqueueChunk) -> None:
    """An unexpected error in a chunk: retry it after retry_delay, or fail the job once its attempts are used."""
    db.session.rollback()
    log.exception("job %s chunk %s failed", lease.job_id, lease.seq)
    attempts, max_attempts = lifecycle.chunk_attempts(lease)
    what = "the final step" if lease.kind == ChunkKind.FINAL else f"chunk {lease.seq}"
    message = f"{type(exc).__name__}: {exc}"
    if attempts >= max_attempts:
        lifecycle.fail_job_from_chunk(lease, f"failed after {attempts} attempt(s) of {what}: {message}")
        return
    retry_at = utcnow() + timedelta(seconds=settings.retry_delay)
    if lifecycle.finish_chunk(lease, done=False, error=f"{message} (attempt {attempts} of {max_attempts})",
                              retry_at=retry_at):
        enqueue_chunk(lease.job_id, lease.chunk_id, delay=settings.retry_delay)


class _Beating:
    """Keep a chunk's heartbeat (and its coordinator's) fresh during one long step, from a thread."""

    def __init__(self, lease: lifecycle.ChunkLease, job_lease: lifecycle.Lease | None, settings: Settings) -> None:
        self.lease, self.job_lease = lease, job_lease
        self.interval = max(0.2, min(settings.lease_seconds / 3, 5.0))
        self.stop = threading.Event()
        self.app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self._run, name=f"beat-job-{lease.job_id}", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                with self.app.app_context():
                    if not lifecycle.beat_chunk(self.lease, self.job_lease):
                        return  # taken over: the step's own commit will be refused
            except Exception:  # a busy database: try again at the next beat
                log.debug("beat during the final step failed", exc_info=True)

    def __enter__(self) -> "_Beating":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
