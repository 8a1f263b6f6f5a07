"""Huey tasks and the helpers that enqueue them.

Each task runs inside a Flask application context. The app is built once per
worker process (building it runs migrations and opens engines) and a fresh
context is pushed for every task, so sessions never leak between tasks.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from huey import crontab

from mediaparser.config import Settings
from mediaparser.store.models import Job, JobStatus, JobType
from mediaparser.runtime import lifecycle
from mediaparser.runtime.queue import huey

log = logging.getLogger(__name__)

_app = None
_app_lock = threading.Lock()
# Set by the worker on a graceful shutdown request: running jobs hand their
# lease back at the next checkpoint instead of being cut off mid-batch.
shutdown_requested = threading.Event()


def set_worker_app(app) -> None:
    """Use an already built app (the worker command and tests set it)."""
    global _app
    _app = app


def worker_app():
    global _app
    with _app_lock:
        if _app is None:
            from mediaparser.web import create_app

            _app = create_app()
        return _app


def _settings() -> Settings:
    return worker_app().extensions["mediaparser"]


# ------------------------------------------------------------------ tasks --

@huey.task(retries=2, retry_delay=30, context=True)
def process_import_job(job_id: int, task=None) -> str:
    return _run_job(job_id, JobType.IMPORT, task)


@huey.task(retries=2, retry_delay=30, context=True)
def process_export_job(job_id: int, task=None) -> str:
    return _run_job(job_id, JobType.EXPORT, task)


@huey.task()
def health_check() -> dict:
    return {"status": "ok", "timestamp": datetime.now(timezone.utc).isoformat()}


@huey.periodic_task(crontab(minute="*"))
def reap_stale_jobs() -> None:
    with worker_app().app_context():
        reap_now()


def reap_now() -> lifecycle.ReapReport:
    """The reaper with the real queue (needs an app context)."""
    return lifecycle.reap(_settings(), enqueue_job, queued_job_ids)


# ------------------------------------------------------------- the runner --

def _run_job(job_id: int, job_type: str, task) -> str:
    from mediaparser.usecases import exporting as exporter, importing as importer, settings_store

    app = worker_app()
    with app.app_context():
        settings = settings_store.refreshed(_settings())  # what the settings page saved since start-up
        # A Huey retry (task.retries below the decorator's) may take over a FAILED job.
        retry = task is not None and task.retries < process_import_job.retries
        owner = lifecycle.new_owner_token()
        lease = lifecycle.claim(job_id, owner, settings, retry=retry)
        if lease is None:
            log.info("job %s not claimed (already taken, finished, paused or out of attempts)", job_id)
            return "not-claimed"
        try:
            if job_type == JobType.IMPORT:
                return importer.run_import(lease, settings, shutdown_requested.is_set)
            if job_type == JobType.EXPORT:
                return exporter.run_export(lease, settings, shutdown_requested.is_set)
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
            last = attempts >= max_attempts or (task is not None and task.retries <= 0)
            message = f"{type(exc).__name__}: {exc}"
            if last:
                message = f"failed after {attempts} attempt(s): {message}"
            else:
                message = f"{message} (attempt {attempts} of {max_attempts}; retrying in {settings.retry_delay:g} s)"
            lifecycle.finish(lease, JobStatus.FAILED, message=message)
            log.exception("job %s failed", job_id)
            if last:
                return "failed"
            raise  # Huey retries; the retry resumes from the committed rows


# ------------------------------------------------------------- enqueueing --

_TASKS = {JobType.IMPORT: process_import_job, JobType.EXPORT: process_export_job}


def enqueue_job(job: Job) -> str:
    """Put a job's task in the queue by its type; returns the Huey task id."""
    from flask import current_app

    task = _TASKS[job.job_type]
    retry_delay = current_app.extensions["mediaparser"].retry_delay
    message = task.s(job.id, retries=task.retries, retry_delay=retry_delay)
    huey.enqueue(message)
    return message.id


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
