"""Huey tasks, and `submit`: the one way a job row reaches the queue.

Each task runs inside a Flask application context. The core app
(runtime/app.py: settings, database, queue; no blueprints) is built once per
worker process (building it runs migrations and opens engines) and a fresh
context is pushed for every task, so sessions never leak between tasks.

One retry budget: a job's `attempts` (counted by `lifecycle.claim`, crashes
included) against its `max_attempts` (MEDIAPARSER_MAX_ATTEMPTS). Huey's own
retries are off; a run that raises with attempts left marks the job FAILED
with "retrying in N s" and submits it again after `retry_delay`, as a retry
that may take over that FAILED job. Use cases create job rows; web and CLI
hand them to `submit`.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from flask import Flask
from huey import crontab

from mediaparser.config import Settings
from mediaparser.store.models import Job, JobStatus, JobType
from mediaparser.runtime import lifecycle
from mediaparser.runtime.queue import huey

log = logging.getLogger(__name__)

_app: Flask | None = None
_app_lock = threading.Lock()
# Set by the worker on a graceful shutdown request: running jobs hand their
# lease back at the next checkpoint instead of being cut off mid-batch.
shutdown_requested = threading.Event()


def set_worker_app(app: Flask) -> None:
    """Use an already built app (the worker command and tests set it; a web app will do)."""
    global _app
    _app = app


def worker_app() -> Flask:
    """This process's app, built on first use from the environment's Settings."""
    global _app
    with _app_lock:
        if _app is None:
            from mediaparser.runtime.app import create_core_app

            _app = create_core_app()
        return _app


def _settings() -> Settings:
    return worker_app().extensions["mediaparser"]


# ------------------------------------------------------------------ tasks --

# retries=0: the job row's attempts are the only budget (see the docstring).
@huey.task(retries=0)
def process_import_job(job_id: int, retry: bool = False) -> str:
    return _run_job(job_id, JobType.IMPORT, retry)


@huey.task(retries=0)
def process_export_job(job_id: int, retry: bool = False) -> str:
    return _run_job(job_id, JobType.EXPORT, retry)


@huey.task(retries=0)
def process_job_chunk(job_id: int, chunk_id: int) -> str:
    """One chunk of a chunked job (runtime/chunks.py), taken by whichever worker gets the message."""
    return _run_chunk(job_id, chunk_id)


@huey.task()
def health_check() -> dict:
    return {"status": "ok", "timestamp": datetime.now(timezone.utc).isoformat()}


@huey.periodic_task(crontab(minute="*"))
def reap_stale_jobs() -> None:
    with worker_app().app_context():
        reap_now()


@huey.periodic_task(crontab(minute="*"))
def fold_file_counts() -> None:
    """Move the changes the file-count triggers appended into the review's counts (library.counts),
    a short write transaction per batch, so the histogram's read stays small; then, on PostgreSQL,
    VACUUM (ANALYZE) the review's tables that many changes have left due (store.upkeep)."""
    from mediaparser.library import counts
    from mediaparser.store import upkeep
    from mediaparser.store.db import db

    with worker_app().app_context():
        counts.fold_all()
        upkeep.tend(db.engine)


def reap_now() -> lifecycle.ReapReport:
    """The reaper with the real queue (needs an app context): stale jobs, lost messages, stale chunks."""
    report = lifecycle.reap(_settings(), enqueue_job, _queued_or_just_taken)
    lifecycle.reap_chunks(_settings(), enqueue_chunk)
    return report


# ------------------------------------------------------------- the runner --

def _run_job(job_id: int, job_type: str, retry: bool) -> str:
    app = worker_app()
    with app.app_context():
        lifecycle.message_taken(job_id)  # first: the imports below take a while on a cold worker

        from mediaparser.runtime import chunks
        from mediaparser.usecases import importing as importer, settings_store
        from mediaparser.usecases.export import ExportSteps

        settings = settings_store.refreshed(_settings())  # what the settings page saved since start-up
        # A retry we submitted (below) may take over the FAILED job it left.
        owner = lifecycle.new_owner_token()
        lease = lifecycle.claim(job_id, owner, settings, retry=retry)
        if lease is None:
            log.info("job %s not claimed (already taken, finished, paused or out of attempts)", job_id)
            return "not-claimed"
        try:
            if job_type == JobType.IMPORT:
                return chunks.run_chunked_job(lease, importer.ImportSteps(job_id, settings), settings,
                                              shutdown_requested.is_set, enqueue_chunk)
            if job_type == JobType.EXPORT:
                return chunks.run_chunked_job(lease, ExportSteps(job_id, settings), settings,
                                              shutdown_requested.is_set, enqueue_chunk)
            raise ValueError(f"unknown job type {job_type!r}")
        except lifecycle.LeaseLost:
            log.warning("job %s: lease lost to another worker; stopping without writing", job_id)
            return "lease-lost"
        except Exception as exc:
            from mediaparser.store.db import db

            db.session.rollback()
            job = db.session.get(Job, job_id, populate_existing=True)
            attempts, max_attempts = job.attempts, job.max_attempts
            db.session.commit()
            last = attempts >= max_attempts
            message = f"{type(exc).__name__}: {exc}"
            if last:
                message = f"failed after {attempts} attempt(s): {message}"
            else:
                message = f"{message} (attempt {attempts} of {max_attempts}; retrying in {settings.retry_delay:g} s)"
            if not lifecycle.finish(lease, JobStatus.FAILED, message=message):
                # The reaper took the job back while this run was stalled, and queued it again:
                # that message is its next attempt, so no retry of ours may add another.
                log.warning("job %s: lease lost to another worker before its failure was recorded (%s)",
                            job_id, message)
                return "lease-lost"
            log.exception("job %s failed", job_id)
            if last:
                return "failed"
            # Attempts remain: run again later; the retry resumes from the committed rows.
            submit(job, delay=settings.retry_delay, retry=True)
            return "retrying"


# ------------------------------------------------------------- enqueueing --

_TASKS = {JobType.IMPORT: process_import_job, JobType.EXPORT: process_export_job}


def enqueue_job(job: Job, *, delay: float | None = None, retry: bool = False) -> str:
    """Put a job's task in the queue by its type; returns the Huey task id."""
    task = _TASKS[job.job_type]
    kwargs: dict = {"retry": True} if retry else {}
    if delay:
        kwargs["delay"] = delay  # Huey's scheduling: the message waits in its schedule
    message = task.s(job.id, **kwargs)
    huey.enqueue(message)
    return message.id


def enqueue_chunk(job_id: int, chunk_id: int, delay: float | None = None) -> str:
    """Put one chunk's task in the queue (runtime/chunks.py); returns the Huey task id."""
    message = process_job_chunk.s(job_id, chunk_id, **({"delay": delay} if delay else {}))
    huey.enqueue(message)
    return message.id


def _run_chunk(job_id: int, chunk_id: int) -> str:
    from mediaparser.runtime import chunks
    from mediaparser.store.db import db
    from mediaparser.usecases import settings_store

    app = worker_app()
    with app.app_context():
        settings = settings_store.refreshed(_settings())
        job = db.session.get(Job, job_id)
        job_type = job.job_type if job is not None else None
        db.session.commit()
        if job_type not in _CHUNKED:
            log.info("chunk id %s of job %s not taken (no such chunked job)", chunk_id, job_id)
            return "not-claimed"
        try:
            return chunks.take_chunk(job_id, chunk_id, lambda: _CHUNKED[job_type](job_id, settings), settings,
                                     shutdown_requested.is_set, enqueue_chunk)
        except lifecycle.LeaseLost:
            log.warning("job %s chunk id %s: lease lost to another worker; stopping without writing", job_id, chunk_id)
            return "lease-lost"


def _import_steps(job_id: int, settings: Settings):
    from mediaparser.usecases.importing import ImportSteps

    return ImportSteps(job_id, settings)


def _export_steps(job_id: int, settings: Settings):
    from mediaparser.usecases.export import ExportSteps

    return ExportSteps(job_id, settings)


_CHUNKED = {JobType.IMPORT: _import_steps, JobType.EXPORT: _export_steps}


def submit(job: Job, *, delay: float | None = None, retry: bool = False) -> str:
    """Queue a job row a use case created (import, export, an upload's import) and
    record the Huey task id on it; returns the task id. Needs an app context."""
    task_id = enqueue_job(job, delay=delay, retry=retry)
    lifecycle.record_task_id(job.id, task_id)
    return task_id


def enqueue_import_job(job_id: int) -> str:
    from mediaparser.store.db import db

    job = db.session.get(Job, job_id)
    return enqueue_job(job)


# Job ids this process saw in the queue, and when (monotonic seconds).
_seen_queued: dict[int, float] = {}
_seen_lock = threading.Lock()
SEEN_QUEUED_SECONDS = 15.0


def _queued_or_just_taken() -> set[int]:
    """Jobs with a message in the queue, or seen there in the last SEEN_QUEUED_SECONDS.

    Huey deletes a message when a worker takes it, and the job stays PENDING
    until that worker's claim: a message that just left the queue is being run,
    not lost. (Without this memory a busy worker's reaper queued such a job a
    second time, and the job ran once more than its attempts allowed.)
    """
    now = time.monotonic()
    queued = queued_job_ids()
    with _seen_lock:
        for job_id in queued:
            _seen_queued[job_id] = now
        for job_id, at in list(_seen_queued.items()):
            if now - at > SEEN_QUEUED_SECONDS:
                del _seen_queued[job_id]
        return queued | set(_seen_queued)


def queued_job_ids() -> set[int]:
    """Ids of jobs that have a message waiting in the queue (or scheduled for retry)."""
    ids: set[int] = set()
    # By the task's class: a task wrapper's own `name` is None unless one was given, so
    # comparing names matched nothing and the reaper queued every waiting job a second time.
    classes = tuple(t.task_class for t in _TASKS.values())
    for t in list(huey.pending()) + list(huey.scheduled()):
        if isinstance(t, classes) and t.args:
            ids.add(int(t.args[0]))
    return ids
