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

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from mediaparser.config import Settings
from mediaparser.media.isotime import iso_utc
from mediaparser.store.db import db, run_write, write_transaction
from mediaparser.store.dialect import greatest, seconds_since
from mediaparser.store.models import (ERROR_MESSAGE_MAX, ChunkKind, ChunkStatus, Job, JobChunk, JobStatus, WorkerBeat,
                                     utcnow)

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


def beat(lease: Lease) -> str | None:
    """Refresh the job's heartbeat while `lease` holds it: the job's status, or None when the lease is gone."""
    now = utcnow()

    def unit(s: Session) -> str | None:
        if not _update_if_owner(s, lease, {"heartbeat_at": now}):
            return None
        return s.execute(select(Job.status).where(Job.id == lease.job_id)).scalar_one()

    return run_write(unit)


def job_status(job_id: int) -> str | None:
    status = db.session.execute(select(Job.status).where(Job.id == job_id)).scalar_one_or_none()
    db.session.commit()
    return status


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
            _reset_chunks(s, job_id)  # a fresh budget for every unfinished chunk too
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
                        # Only if nobody marked it meanwhile: another reaper, or a worker that took the message.
                        res = s.execute(update(Job).where(Job.id == job.id, Job.status == JobStatus.PENDING,
                                                          or_(Job.enqueued_at.is_(None), Job.enqueued_at < grace))
                                        .values(enqueued_at=now).execution_options(synchronize_session=False))
                        if res.rowcount != 1:
                            continue
                    _enqueue_and_record(job, enqueue)
                    report.requeued_lost.append(job.id)
    if report.requeued_stale or report.failed or report.requeued_lost:
        log.warning("reaper: requeued stale %s, failed %s, requeued lost %s",
                    report.requeued_stale, report.failed, report.requeued_lost)
    return report


def message_taken(job_id: int) -> None:
    """A worker took the job's message from the queue: for the reaper, its message is not lost.

    Huey deletes a message as a worker takes it, so between that moment and the
    claim the job is PENDING with no message in the queue — what the reaper
    takes for a lost message. Marking the job first thing keeps it within the
    reaper's grace period meanwhile.
    """
    with write_transaction() as s:
        s.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.PENDING).values(enqueued_at=utcnow())
                  .execution_options(synchronize_session=False))


def _enqueue_and_record(job: Job, enqueue: Callable[[Job], str | None]) -> None:
    record_task_id(job.id, enqueue(job))


def record_task_id(job_id: int, task_id: str | None) -> None:
    with write_transaction() as s:
        s.execute(update(Job).where(Job.id == job_id).values(task_id=task_id)
                  .execution_options(synchronize_session=False))


# ------------------------------------------------------------------ chunks --
# The same rules one level down (runtime/chunks.py says how a chunked job runs):
# a chunk row has its own lease, heartbeat and attempts; every commit of a chunk
# goes through `chunk_checkpoint`, fenced on the chunk's lease owner.

# Job states in which chunks go on being taken and worked on. PENDING: the job's
# coordinator handed the job back (its worker shut down) — the work itself goes on.
CHUNKS_GO_ON = (JobStatus.RUNNING, JobStatus.PENDING)


@dataclass(frozen=True)
class ChunkLease:
    job_id: int
    chunk_id: int
    seq: int
    kind: str
    first_id: int | None
    last_id: int | None
    owner: str


def _touch_job(s: Session, job_id: int, now) -> int | None:
    """Lock the job row while its chunks go on; its max_attempts, or None when they must not.

    Writing the job row first puts a chunk claim in line with a person's pause or
    cancel (both write that row): either the pause comes first and the claim
    sees it, or the claim does and the pausing job waits for the chunk to let go.
    """
    res = s.execute(update(Job).where(Job.id == job_id, Job.status.in_(CHUNKS_GO_ON)).values(updated_at=now)
                    .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        return None
    return s.execute(select(Job.max_attempts).where(Job.id == job_id)).scalar_one()


def _chunk_claimable(now, stale):
    return and_(
        or_(JobChunk.status == ChunkStatus.PENDING,
            and_(JobChunk.status == ChunkStatus.RUNNING,
                 or_(JobChunk.heartbeat_at.is_(None), JobChunk.heartbeat_at < stale))),
        or_(JobChunk.available_at.is_(None), JobChunk.available_at <= now),
    )


def _chunk_lease(s: Session, chunk_id: int, owner: str) -> ChunkLease:
    c = s.execute(select(JobChunk.job_id, JobChunk.seq, JobChunk.kind, JobChunk.first_id, JobChunk.last_id)
                  .where(JobChunk.id == chunk_id)).one()
    return ChunkLease(c.job_id, chunk_id, c.seq, c.kind, c.first_id, c.last_id, owner)


def _take_chunk(s: Session, chunk_id: int, owner: str, now, *conditions) -> ChunkLease | None:
    """The one conditional UPDATE that gives a chunk to `owner` when `conditions` hold; None when not."""
    res = s.execute(
        update(JobChunk)
        .where(JobChunk.id == chunk_id, *conditions)
        .values(status=ChunkStatus.RUNNING, lease_owner=owner, heartbeat_at=now, attempts=JobChunk.attempts + 1,
                started_at=db.func.coalesce(JobChunk.started_at, now), available_at=None)
        .execution_options(synchronize_session=False))
    return _chunk_lease(s, chunk_id, owner) if res.rowcount == 1 else None


def claim_chunk(job_id: int, chunk_id: int, owner: str, settings: Settings) -> ChunkLease | None:
    """Take one work chunk if it is free (PENDING, or RUNNING with a stale heartbeat) and its job goes on."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.lease_seconds)
    with write_transaction() as s:
        max_attempts = _touch_job(s, job_id, now)
        if max_attempts is None:
            return None
        lease = _take_chunk(s, chunk_id, owner, now,
                            JobChunk.job_id == job_id, JobChunk.kind == ChunkKind.WORK,
                            _chunk_claimable(now, stale), JobChunk.attempts < max_attempts)
        if lease is None:
            return None
    log.info("chunk %s of job %s taken by %s", lease.seq, job_id, owner)
    return lease


def claim_next_chunk(job_id: int, owner: str, settings: Settings) -> ChunkLease | None:
    """The first free work chunk of the job, taken (a race lost to another worker tries the next)."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.lease_seconds)
    ids = db.session.execute(select(JobChunk.id).where(JobChunk.job_id == job_id, JobChunk.kind == ChunkKind.WORK,
                                                       _chunk_claimable(now, stale))
                             .order_by(JobChunk.seq).limit(8)).scalars().all()
    db.session.commit()
    for chunk_id in ids:
        lease = claim_chunk(job_id, chunk_id, owner, settings)
        if lease is not None:
            return lease
    return None


def claim_final(job_id: int, owner: str, settings: Settings) -> ChunkLease | None:
    """Take the job's final chunk: only once every work chunk is DONE, and only one taker wins.

    One conditional UPDATE: on SQLite the write lock serialises two finishers; on
    PostgreSQL the second one's UPDATE waits on the row and, re-checking its
    condition after the first commits, finds it RUNNING and changes nothing. Each
    finisher asks after its own chunk's DONE is committed, so the last of them
    always sees every chunk done: the step is never left for nobody.
    """
    now = utcnow()
    stale = now - timedelta(seconds=settings.lease_seconds)
    other = aliased(JobChunk)
    unfinished = exists().where(other.job_id == job_id, other.kind == ChunkKind.WORK,
                                other.status != ChunkStatus.DONE)
    with write_transaction() as s:
        max_attempts = _touch_job(s, job_id, now)
        if max_attempts is None:
            return None
        chunk_id = s.execute(select(JobChunk.id).where(JobChunk.job_id == job_id, JobChunk.kind == ChunkKind.FINAL)
                             ).scalar_one_or_none()
        if chunk_id is None:
            return None
        lease = _take_chunk(s, chunk_id, owner, now,
                            _chunk_claimable(now, stale), JobChunk.attempts < max_attempts, ~unfinished)
        if lease is None:
            return None
    log.info("final step of job %s taken by %s", job_id, owner)
    return lease


def _update_chunk_if_owner(s: Session, lease: ChunkLease, values: dict) -> bool:
    """The chunk's fence: change its row only while `lease` still holds it."""
    res = s.execute(update(JobChunk).where(JobChunk.id == lease.chunk_id, JobChunk.lease_owner == lease.owner)
                    .values(**values).execution_options(synchronize_session=False))
    return res.rowcount == 1


def chunk_checkpoint(lease: ChunkLease, *, done: int = 0, errors: int = 0, current_item: str | None = None,
                     apply: Callable[[Session], None] | None = None, job_lease: Lease | None = None) -> str:
    """Commit a chunk's batch: its results, the chunk's counts and heartbeat, and the job's counters.

    One short transaction, fenced on the chunk's lease (and on the job's, for the job's
    coordinator, whose heartbeat it also is): if either is lost, nothing is written and
    LeaseLost is raised. The job's progress and error counts are the sums of its chunks'
    commits, added here. Returns the job's status as it stands.
    """
    now = utcnow()
    job_values: dict = {"updated_at": now, "progress_current": Job.progress_current + done,
                        "error_count": Job.error_count + errors}
    if current_item is not None:
        job_values["current_item"] = current_item

    def unit(s: Session) -> str:
        if not _update_chunk_if_owner(s, lease, {"heartbeat_at": now, "done_count": JobChunk.done_count + done,
                                                 "error_count": JobChunk.error_count + errors}):
            raise LeaseLost(f"job {lease.job_id} chunk {lease.seq}: lease {lease.owner} is no longer held")
        if apply is not None:
            apply(s)
        # The job row last: every chunk writes it, so its lock is held only for the end of the transaction.
        if job_lease is not None:
            if not _update_if_owner(s, job_lease, {**job_values, "heartbeat_at": now}):
                raise LeaseLost(f"job {lease.job_id}: lease {job_lease.owner} is no longer held")
        else:
            s.execute(update(Job).where(Job.id == lease.job_id).values(**job_values)
                      .execution_options(synchronize_session=False))
        return s.execute(select(Job.status).where(Job.id == lease.job_id)).scalar_one()

    return run_write(unit)


def beat_chunk(lease: ChunkLease, job_lease: Lease | None = None) -> bool:
    """Refresh a chunk's heartbeat (and its coordinator's) during a long step; False when a lease is gone."""
    now = utcnow()
    with write_transaction() as s:
        ok = _update_chunk_if_owner(s, lease, {"heartbeat_at": now})
        if ok and job_lease is not None:
            ok = _update_if_owner(s, job_lease, {"heartbeat_at": now})
        if not ok:
            s.rollback()
        return ok


def finish_chunk(lease: ChunkLease, *, done: bool, handed_back: bool = False, error: str | None = None,
                 retry_at=None) -> bool:
    """End this run of a chunk: DONE, or back to PENDING (a pause, a shutdown, an error to retry).

    A chunk handed back on a pause, cancel or shutdown gets its attempt back. False
    when the lease had already been lost.
    """
    now = utcnow()
    values: dict = {"lease_owner": None}
    if done:
        values.update(status=ChunkStatus.DONE, completed_at=now, committed_by=lease.owner, heartbeat_at=now)
    else:
        values["status"] = ChunkStatus.PENDING
        if handed_back:
            values["attempts"] = greatest(db.session, JobChunk.attempts - 1, 0)
        if error is not None:
            values["last_error"] = truncate_message(error)
        if retry_at is not None:
            values["available_at"] = retry_at
    with write_transaction() as s:
        return _update_chunk_if_owner(s, lease, values)


def complete_job(lease: ChunkLease) -> bool:
    """The final chunk is done: the job is COMPLETED (unless a person cancelled it meanwhile).

    The job's lease (its coordinator's) is released here too; a coordinator that
    finds its lease gone then sees the job COMPLETED and stops.
    """
    now = utcnow()
    with write_transaction() as s:
        if not _update_chunk_if_owner(s, lease, {"status": ChunkStatus.DONE, "lease_owner": None,
                                                 "completed_at": now, "committed_by": lease.owner}):
            s.rollback()
            return False
        s.execute(update(Job).where(Job.id == lease.job_id,
                                    Job.status.in_((JobStatus.RUNNING, JobStatus.PENDING, JobStatus.PAUSED)))
                  .values(status=JobStatus.COMPLETED, completed_at=now, current_item=None, heartbeat_at=now,
                          **_end_run_values(now))
                  .execution_options(synchronize_session=False))
    log.info("job %s completed by %s", lease.job_id, lease.owner)
    return True


def fail_job_from_chunk(lease: ChunkLease, message: str) -> bool:
    """A chunk cannot go on (JobFailed, or its attempts are used up): the job is FAILED with `message`.

    The chunk goes back to PENDING (a resume runs it again); the other chunks
    see FAILED at their next checkpoint and stop.
    """
    now = utcnow()
    with write_transaction() as s:
        if not _update_chunk_if_owner(s, lease, {"status": ChunkStatus.PENDING, "lease_owner": None,
                                                 "last_error": truncate_message(message)}):
            s.rollback()
            return False
        s.execute(update(Job).where(Job.id == lease.job_id, Job.status.in_(CHUNKS_GO_ON))
                  .values(status=JobStatus.FAILED, completed_at=now, updated_at=now,
                          error_message=truncate_message(message))
                  .execution_options(synchronize_session=False))
    return True


def chunk_attempts(lease: ChunkLease) -> tuple[int, int]:
    """(attempts used by this chunk, the job's max_attempts)."""
    row = db.session.execute(select(JobChunk.attempts, Job.max_attempts).join(Job, Job.id == JobChunk.job_id)
                             .where(JobChunk.id == lease.chunk_id)).one()
    db.session.commit()
    return row[0], row[1]


def plan_chunks(lease: Lease, item_ids: Callable[[Session], list[int]], size: int) -> int:
    """Cut the job's remaining items into chunks of `size` ids plus the final chunk, once.

    Runs under the job's lease (a fenced checkpoint); a job that has chunks keeps
    them (a restarted coordinator only plans once). Returns the number of work chunks.
    """
    planned: list[int] = []

    def apply(s: Session) -> None:
        have = s.execute(select(func.count()).select_from(JobChunk).where(JobChunk.job_id == lease.job_id)).scalar_one()
        if have:
            planned.append(s.execute(select(func.count()).select_from(JobChunk).where(
                JobChunk.job_id == lease.job_id, JobChunk.kind == ChunkKind.WORK)).scalar_one())
            return
        ids = item_ids(s)
        rows = [{"job_id": lease.job_id, "seq": n, "kind": ChunkKind.WORK, "first_id": part[0], "last_id": part[-1],
                 "size": len(part), "status": ChunkStatus.PENDING, "attempts": 0, "done_count": 0, "error_count": 0}
                for n, part in enumerate(ids[i:i + size] for i in range(0, len(ids), size))]
        rows.append({"job_id": lease.job_id, "seq": len(rows), "kind": ChunkKind.FINAL, "first_id": None,
                     "last_id": None, "size": 0,
                     "status": ChunkStatus.PENDING, "attempts": 0, "done_count": 0, "error_count": 0})
        s.execute(JobChunk.__table__.insert(), rows)
        planned.append(len(rows) - 1)

    checkpoint(lease, apply=apply)
    return planned[0]


def chunks_to_enqueue(job_id: int) -> list[int]:
    """Ids of the job's work chunks nobody holds: each gets a task in the queue (duplicates are harmless)."""
    now = utcnow()
    with write_transaction() as s:
        ids = s.execute(select(JobChunk.id).where(JobChunk.job_id == job_id, JobChunk.kind == ChunkKind.WORK,
                                                  JobChunk.status == ChunkStatus.PENDING)
                        .order_by(JobChunk.seq)).scalars().all()
        if ids:
            s.execute(update(JobChunk).where(JobChunk.id.in_(ids)).values(enqueued_at=now)
                      .execution_options(synchronize_session=False))
    return list(ids)


def chunks_held(job_id: int, settings: Settings) -> tuple[int, int]:
    """(chunks of the job held under a fresh lease, chunks held under a stale one)."""
    stale = utcnow() - timedelta(seconds=settings.lease_seconds)
    rows = db.session.execute(select(JobChunk.heartbeat_at).where(JobChunk.job_id == job_id,
                                                                  JobChunk.status == ChunkStatus.RUNNING)).all()
    db.session.commit()
    fresh = sum(1 for (hb,) in rows if hb is not None and hb >= stale)
    return fresh, len(rows) - fresh


def release_chunks(job_id: int) -> None:
    """Take every lease of the job's chunks back (their holders' late commits are then refused)."""
    with write_transaction() as s:
        s.execute(update(JobChunk).where(JobChunk.job_id == job_id, JobChunk.status == ChunkStatus.RUNNING)
                  .values(status=ChunkStatus.PENDING, lease_owner=None)
                  .execution_options(synchronize_session=False))


def _reset_chunks(s: Session, job_id: int) -> None:
    s.execute(update(JobChunk).where(JobChunk.job_id == job_id, JobChunk.status != ChunkStatus.DONE)
              .values(status=ChunkStatus.PENDING, lease_owner=None, attempts=0, available_at=None)
              .execution_options(synchronize_session=False))


@dataclass
class ChunkReapReport:
    requeued: list[tuple[int, int]]  # (job id, chunk id)
    failed_jobs: list[int]


def reap_chunks(settings: Settings, enqueue_chunk: Callable[[int, int], object]) -> ChunkReapReport:
    """Chunks whose worker died: back to PENDING and into the queue (or, out of attempts, the job FAILED)."""
    now = utcnow()
    stale = now - timedelta(seconds=settings.lease_seconds)
    report = ChunkReapReport([], [])
    stale_ids = db.session.execute(select(JobChunk.id).where(
        JobChunk.status == ChunkStatus.RUNNING,
        or_(JobChunk.heartbeat_at.is_(None), JobChunk.heartbeat_at < stale))).scalars().all()
    db.session.commit()
    for chunk_id in stale_ids:
        requeue = None
        with write_transaction() as s:
            chunk = s.get(JobChunk, chunk_id, populate_existing=True)
            if (chunk is None or chunk.status != ChunkStatus.RUNNING
                    or (chunk.heartbeat_at is not None and chunk.heartbeat_at >= stale)):
                continue  # someone else dealt with it meanwhile
            job = s.get(Job, chunk.job_id, populate_existing=True)
            last = iso_utc(chunk.heartbeat_at) or "never"
            what = ("the final step" if chunk.kind == ChunkKind.FINAL
                    else f"chunk {chunk.seq} (files {chunk.first_id}–{chunk.last_id})")
            chunk.status, chunk.lease_owner = ChunkStatus.PENDING, None
            chunk.last_error = truncate_message(f"the worker stopped responding (last heartbeat {last})")
            if job.status in CHUNKS_GO_ON:
                if chunk.attempts >= job.max_attempts:
                    job.status, job.completed_at, job.updated_at = JobStatus.FAILED, now, now
                    job.error_message = truncate_message(
                        f"gave up after {chunk.attempts} attempts: the worker running {what} stopped responding "
                        f"each time (last heartbeat {last})")
                    report.failed_jobs.append(job.id)
                else:
                    chunk.enqueued_at = now
                    requeue = (job.id, chunk_id)
        if requeue is not None:
            enqueue_chunk(*requeue)
            report.requeued.append(requeue)
    if report.requeued or report.failed_jobs:
        log.warning("reaper: chunks requeued %s, jobs failed %s", report.requeued, report.failed_jobs)
    return report


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

