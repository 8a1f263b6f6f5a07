"""The one job runner: feed → collect → checkpoint under the lease → stop or finish.

Import and export run through here. The use case gives the job's pieces
(usecases/jobsteps.py); this module owns what every job shares:

* the loop (`drive`): hand out work while not stopping, collect results,
  commit a batch when enough are ready or half a second has passed — each
  through `lifecycle.checkpoint`, so results land only while the lease is
  ours — and look at the job's controls after every commit;
* stopping: a pause or cancel (set on the row by a person) or a worker
  shutdown stops handing out work; what is in flight is finished or dropped
  by the work itself, and what was finished is committed;
* the end of a run (`run_job`), once: COMPLETED, PENDING (handed back on
  shutdown), PAUSED/CANCELLED (the lease is released), or FAILED with a
  message. LeaseLost and unexpected errors go up to the task (runtime/tasks.py),
  which owns retries.
"""
from __future__ import annotations

import time
from typing import Callable

from mediaparser.runtime import lifecycle
from mediaparser.store.models import JobStatus
from mediaparser.usecases.jobsteps import SHUTDOWN, Batch, JobFailed, JobSteps, Work


class LeaseControl:
    """A use case's handle on the running job: checkpoints under `lease`, and the stop decision."""

    def __init__(self, lease: lifecycle.Lease, stop_requested: Callable[[], bool]) -> None:
        self.lease = lease
        self.stop_requested = stop_requested

    def checkpoint(self, batch: Batch) -> str:
        status = lifecycle.checkpoint(self.lease, done=batch.done, errors=batch.errors, total=batch.total,
                                      current_item=batch.current_item, apply=batch.apply)
        if batch.after is not None:
            batch.after()
        return status

    def stop_reason(self, status: str) -> str | None:
        if status in (JobStatus.PAUSED, JobStatus.CANCELLED):
            return status
        if self.stop_requested():
            return SHUTDOWN
        return None


def drive(control: LeaseControl, work: Work) -> str | None:
    """Run `work` to its end or to a stop; the stop reason, or None when all of it was done."""
    stop: str | None = None
    last_commit = time.monotonic()
    try:
        while True:
            if stop is None:
                work.feed()
            if not work.busy() and (stop is not None or work.exhausted()):
                break
            work.collect()
            if work.ready() >= work.batch_rows or time.monotonic() - last_commit >= work.batch_seconds:
                status = control.checkpoint(work.take_batch())
                last_commit = time.monotonic()
                if stop is None:
                    stop = control.stop_reason(status)
                    if stop is not None:
                        work.stop()
        if work.ready():
            control.checkpoint(work.take_batch())
        return stop
    except JobFailed as failed:
        if failed.flush:
            work.stop()
            control.checkpoint(work.take_batch())  # what was finished before the failure is recorded
        raise
    finally:
        work.close()


def run_job(lease: lifecycle.Lease, steps: JobSteps, stop_requested: Callable[[], bool]) -> str:
    """Run a job holding `lease` through its steps; returns the status it left the job in."""
    control = LeaseControl(lease, stop_requested)
    try:
        stop = steps.begin(control)
        if stop is None:
            stop = drive(control, steps.work())
        if stop is None:
            steps.end(control)
    except JobFailed as failed:
        lifecycle.finish(lease, JobStatus.FAILED, message=failed.message)
        return JobStatus.FAILED
    return end_run(lease, stop)


def end_run(lease: lifecycle.Lease, stop: str | None) -> str:
    """End a run that holds the job's lease: COMPLETED (no stop), handed back (shutdown) or released."""
    if stop is None:
        lifecycle.finish(lease, JobStatus.COMPLETED)
        return JobStatus.COMPLETED
    if stop == SHUTDOWN:
        lifecycle.finish(lease, JobStatus.PENDING)
        return JobStatus.PENDING
    lifecycle.finish(lease, "released")  # PAUSED/CANCELLED were set by a person
    return stop
