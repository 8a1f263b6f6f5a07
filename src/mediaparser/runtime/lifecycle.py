"""Job lifecycle: claim, lease, heartbeat, checkpoint, pause/resume/cancel, reap.

This file answers "what happens when a worker dies". Huey removes a message
from the queue when a worker takes it, so a worker killed with -9 (or a plain
SIGTERM) takes its task with it; retries only fire for Python exceptions. The
application database is therefore the source of truth:

* A job row carries a lease: `lease_owner` (a token unique to one run in one
  process) and `heartbeat_at`. `claim()` is a single conditional UPDATE, so
  two copies of the same message (a duplicate enqueue, a reaper race) yield
  exactly one owner.
* Every commit a running job makes goes through `checkpoint()`, which first
  updates the job row *where the lease is still ours*. If another worker took
  over (our process was stopped past the lease), the update matches no row,
  the transaction is rolled back and `LeaseLost` stops the late worker: its
  results never land, so no file is recorded twice.
* `reap()` — run at worker start-up, every few seconds by each worker and
  every minute by Huey's periodic task — returns RUNNING jobs whose heartbeat
  is older than `lease_seconds` to PENDING and re-enqueues them (or, after
  `max_attempts` claims, marks them FAILED with a reason), and re-enqueues
  PENDING jobs whose message was lost. It is idempotent: two reapers running
  at once do no harm.
* Pause and cancel are flags on the row that the running job sees at its next
  checkpoint (at most about a second away); it then finishes the files in
  flight, commits them and releases the lease. Resume puts the job back in
  the queue by its type. `attempts` counts claims since the last deliberate
  start, so a user's resume gives a job its full budget again.

Status moves: PENDING → RUNNING → COMPLETED | FAILED | CANCELLED, and
RUNNING ⇄ PAUSED; FAILED may be retried (the runner's own retry while
attempts remain — tasks.py — or the user).
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from mediaparser.config import Settings
from mediaparser.media.isotime import iso_utc
from mediaparser.store.db import db, run_write, write_transaction
from mediaparser.store.dialect import greatest, seconds_since
from mediaparser.store.models import ERROR_MESSAGE_MAX, Job, JobStatus, WorkerBeat, utcnow

log = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another worker owns this job now; the holder must stop without writing."""


class InvalidTransition(ValueError):
    """A pause/resume/cancel that the job's current state does not allow."""


def new_owner_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def truncate_message(message: str) -> str:
    message = message.strip() or "unknown error"
    return message if len(message) <= ERROR_MESSAGE_MAX else message[: ERROR_MESSAGE_MAX - 1] + "…"


@dataclass(frozen=True)
class Lease:
    job_id: int
    owner: str


# ---------------------------------------------------------------- claiming --

def claim(job_id: int, owner: str, settings: Settings, *, retry: bool = False) -> Lease | None:
    """Take the job if it is free; None when another worker has it or it is done.

    Claimable: PENDING; RUNNING with a stale heartbeat; FAILED when this is
    the runner's retry of the same job (tasks.py) and attempts remain.
    """
    now = utcnow()
    stale = now - timedelta(seconds=settings.lease_seconds)
    claimable = or_(
        Job.status == JobStatus.PENDING,
        and_(Job.status == JobStatus.RUNNING, or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale)),
    )
    if retry:
        claimable = or_(claimable, Job.status == JobStatus.FAILED)
    with write_transaction() as s:
        res = s.execute(
            update(Job)
            .where(Job.id == job_id, claimable, Job.attempts < Job.max_attempts)
            .values(
                status=JobStatus.RUNNING,
                lease_owner=owner,
                heartbeat_at=now,
                attempts=Job.attempts + 1,
                started_at=db.func.coalesce(Job.started_at, now),
                run_started_at=now,
                run_progress_start=Job.progress_current,
                completed_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        claimed = res.rowcount == 1
    if not claimed:
        return None
    log.info("job %s claimed by %s", job_id, owner)
    return Lease(job_id, owner)


def _end_run_values(now) -> dict:
    """Fold the current run's duration into run_seconds (used by every release)."""
    return {
        "run_seconds": Job.run_seconds + db.func.coalesce(seconds_since(db.session, Job.run_started_at, now), 0.0),
        "run_started_at": None,
        "lease_owner": None,
        "updated_at": now,
    }


# ------------------------------------------------------------- checkpoints --

def checkpoint(lease: Lease, *, done: int = 0, errors: int = 0, total: int | None = None,
               current_item: str | None = None,
               apply: Callable[[Session], None] | None = None) -> str:
    """Commit a batch of results together with the job's progress and heartbeat.

    Runs in one short write transaction, guarded by the lease: if the lease is
    no longer ours nothing is written and LeaseLost is raised. Returns the
    job's status as it stands (RUNNING, or PAUSED/CANCELLED set by a user).
    """
    now = utcnow()
    values: dict = {
        "heartbeat_at": now,
        "updated_at": now,
        "progress_current": Job.progress_current + done,
        "error_count": Job.error_count + errors,
    }
    if current_item is not None:
        values["current_item"] = current_item
    if total is not None:
        values["progress_total"] = total

    def unit(s: Session) -> str:
        if not _update_if_owner(s, lease, values):
            raise LeaseLost(f"job {lease.job_id}: lease {lease.owner} is no longer held")
        if apply is not None:
            apply(s)
        return s.execute(select(Job.status).where(Job.id == lease.job_id)).scalar_one()

    # On PostgreSQL a batch's writes (its automatic tags, say) can deadlock with a
    # person's; the whole checkpoint then runs again rather than failing the batch.
    return run_write(unit)


def finish(lease: Lease, status: str, *, message: str | None = None) -> bool:
    """End this run: COMPLETED, FAILED (with message), PAUSED/CANCELLED (already set) or PENDING.

    Releases the lease. Returns False when the lease had already been lost.
    """
    now = utcnow()
    values = _end_run_values(now)
    if status in (JobStatus.COMPLETED, JobStatus.FAILED):
        values["status"] = status
        values["completed_at"] = now
        values["current_item"] = None
    elif status == JobStatus.PENDING:
        values["status"] = JobStatus.PENDING
        # Handing the job back (graceful shutdown) is not a failed attempt.
        values["attempts"] = greatest(db.session, Job.attempts - 1, 0)
    if message is not None:
        values["error_message"] = truncate_message(message)
    with write_transaction() as s:
        return _update_if_owner(s, lease, values)


def _update_if_owner(s: Session, lease: Lease, values: dict) -> bool:
    """The fence: change the job row only while `lease` still holds it."""
    res = s.execute(
        update(Job)
        .where(Job.id == lease.job_id, Job.lease_owner == lease.owner)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


# ------------------------------------------------------- user's controls --

def pause(job_id: int) -> Job:
    return _transition(job_id, (JobStatus.PENDING, JobStatus.RUNNING), {"status": JobStatus.PAUSED}, "pause")


def cancel(job_id: int) -> Job:
    return _transition(job_id, (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.PAUSED),
                       {"status": JobStatus.CANCELLED, "completed_at": utcnow()}, "cancel")


def resume(job_id: int, enqueue: Callable[[Job], str | None]) -> Job:
    """PAUSED (or FAILED) → running again.

    If the worker that was pausing still holds the lease (it has not reached
    its next checkpoint yet), the job simply goes back to RUNNING and that
    worker carries on. Otherwise it becomes PENDING with a fresh attempt
    budget and is enqueued again by its type.
    """
    now = utcnow()
    with write_transaction() as s:
        job = s.get(Job, job_id, populate_existing=True)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        if job.status not in (JobStatus.PAUSED, JobStatus.FAILED):
            raise InvalidTransition(f"job {job_id} is {job.status}; only a paused or failed job can be resumed")
        needs_enqueue = job.lease_owner is None or job.status == JobStatus.FAILED
        if needs_enqueue:
            job.status = JobStatus.PENDING
            job.lease_owner = None
            job.attempts = 0
            job.completed_at = None
            job.error_message = None
            job.enqueued_at = now
        else:
            job.status = JobStatus.RUNNING
        job.updated_at = now
    if needs_enqueue:
        record_task_id(job_id, enqueue(job))
    job = db.session.get(Job, job_id, populate_existing=True)
    db.session.commit()  # end the read: an open snapshot would hide later commits
    return job


def _transition(job_id: int, allowed: tuple[str, ...], values: dict, verb: str) -> Job:
    with write_transaction() as s:
        job = s.get(Job, job_id, populate_existing=True)
        if job is None:
            raise LookupError(f"job {job_id} does not exist")
        if job.status not in allowed:
            raise InvalidTransition(f"job {job_id} is {job.status}; cannot {verb} it")
        for k, v in values.items():
            setattr(job, k, v)
        job.updated_at = utcnow()
    return job


# ----------------------------------------------------------------- reaping --

@dataclass
class ReapReport:
    requeued_stale: list[int]
    failed: list[int]
    requeued_lost: list[int]


def reap(settings: Settings, enqueue: Callable[[Job], str | None],
         queued_job_ids: Callable[[], set[int]] | None = None) -> ReapReport:
    """Recover jobs whose worker died, and PENDING jobs whose message was lost."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.lease_seconds)
    report = ReapReport([], [], [])
    stale_ids = db.session.execute(
        select(Job.id).where(Job.status == JobStatus.RUNNING,
                             or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale))
    ).scalars().all()
    db.session.commit()  # end the read transaction before writing
    for job_id in stale_ids:
        to_enqueue = None
        with write_transaction() as s:
            job = s.get(Job, job_id, populate_existing=True)
            if job is None or job.status != JobStatus.RUNNING or (job.heartbeat_at and job.heartbeat_at >= stale):
                continue  # someone else dealt with it meanwhile
            last = iso_utc(job.heartbeat_at) or "never"
            run = (now - job.run_started_at).total_seconds() if job.run_started_at else 0.0
            job.run_seconds = (job.run_seconds or 0.0) + max(run, 0.0)
            job.run_started_at = None
            job.lease_owner = None
            job.updated_at = now
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.FAILED
                job.completed_at = now
                job.error_message = truncate_message(
                    f"gave up after {job.attempts} attempts: the worker running this job stopped "
                    f"responding each time (last heartbeat {last})")
                report.failed.append(job_id)
            else:
                job.status = JobStatus.PENDING
                job.enqueued_at = now
                job.error_message = truncate_message(
                    f"the worker stopped responding (last heartbeat {last}); the job was put back in the queue "
                    f"and resumes where it stopped (attempt {job.attempts} of {job.max_attempts} used)")
                to_enqueue = job
                report.requeued_stale.append(job_id)
        if to_enqueue is not None:
            _enqueue_and_record(to_enqueue, enqueue)
    if queued_job_ids is not None:
        grace = now - timedelta(seconds=min(5.0, settings.lease_seconds))
        pending = db.session.execute(
            select(Job).where(Job.status == JobStatus.PENDING,
                              or_(Job.enqueued_at.is_(None), Job.enqueued_at < grace))
        ).scalars().all()
        db.session.commit()
        if pending:
            in_queue = queued_job_ids()
            for job in pending:
                if job.id not in in_queue:
                    with write_transaction() as s:
                        res = s.execute(update(Job).where(Job.id == job.id, Job.status == JobStatus.PENDING)
                                        .values(enqueued_at=now).execution_options(synchronize_session=False))
                        if res.rowcount != 1:
                            continue
                    _enqueue_and_record(job, enqueue)
                    report.requeued_lost.append(job.id)
    if report.requeued_stale or report.failed or report.requeued_lost:
        log.warning("reaper: requeued stale %s, failed %s, requeued lost %s",
                    report.requeued_stale, report.failed, report.requeued_lost)
    return report


def _enqueue_and_record(job: Job, enqueue: Callable[[Job], str | None]) -> None:
    record_task_id(job.id, enqueue(job))


def record_task_id(job_id: int, task_id: str | None) -> None:
    with write_transaction() as s:
        s.execute(update(Job).where(Job.id == job_id).values(task_id=task_id)
                  .execution_options(synchronize_session=False))


# ------------------------------------------------------------ worker beats --

WORKER_BEAT_FRESH_SECONDS = 15.0


def worker_beat(worker_id: str) -> None:
    now = utcnow()
    with write_transaction() as s:
        beat = s.get(WorkerBeat, worker_id)
        if beat is None:
            s.add(WorkerBeat(worker_id=worker_id, hostname=socket.gethostname(), pid=os.getpid(),
                             started_at=now, beat_at=now))
        else:
            beat.beat_at = now


def worker_gone(worker_id: str) -> None:
    with write_transaction() as s:
        beat = s.get(WorkerBeat, worker_id)
        if beat is not None:
            s.delete(beat)


def live_workers() -> list[WorkerBeat]:
    fresh = utcnow() - timedelta(seconds=WORKER_BEAT_FRESH_SECONDS)
    rows = db.session.execute(select(WorkerBeat).where(WorkerBeat.beat_at >= fresh)).scalars().all()
    db.session.commit()
    return list(rows)

