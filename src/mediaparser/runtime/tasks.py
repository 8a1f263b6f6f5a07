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
    a short write transaction per batch, so the histogram's read stays small."""
    from mediaparser.library import counts

    with worker_app().app_context():
        counts.fold_all()


def reap_now() -> lifecycle.ReapReport:
    """The reaper with the real queue (needs an app context)."""
    return lifecycle.reap(_settings(), enqueue_job, queued_job_ids)


# ------------------------------------------------------------- the runner --

def _run_job(job_id: int, job_type: str, retry: bool) -> str:
    from mediaparser.runtime import runner
    from mediaparser.usecases import importing as importer, settings_store
    from mediaparser.usecases.export import ExportSteps

    app = worker_app()
    with app.app_context():
        settings = settings_store.refreshed(_settings())  # what the settings page saved since start-up
        # A retry we submitted (below) may take over the FAILED job it left.
        owner = lifecycle.new_owner_token()
        lease = lifecycle.claim(job_id, owner, settings, retry=retry)
        if lease is None:
            log.info("job %s not claimed (already taken, finished, paused or out of attempts)", job_id)
            return "not-claimed"
        try:
            if job_type == JobType.IMPORT:
                return runner.run_job(lease, importer.ImportSteps(job_id, settings), shutdown_requested.is_set)
            if job_type == JobType.EXPORT:
                return runner.run_job(lease, ExportSteps(job_id, settings), shutdown_requested.is_set)
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
            lifecycle.finish(lease, JobStatus.FAILED, message=message)
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


def queued_job_ids() -> set[int]:
    """Ids of jobs that have a message waiting in the queue (or scheduled for retry)."""
    ids: set[int] = set()
    names = {t.name for t in _TASKS.values()}
    for t in list(huey.pending()) + list(huey.scheduled()):
        if t.name in names and t.args:
            ids.add(int(t.args[0]))
    return ids
