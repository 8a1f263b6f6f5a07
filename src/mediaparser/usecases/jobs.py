"""Job rows for the JSON API and the CLI: creating an import job, summaries, listings, health.

A use case creates job rows and returns them; the caller (web or CLI) hands
them to the runtime (`runtime.tasks.submit`). Moving a job through its states
(pause / resume / cancel) is the runtime's (`runtime.control`).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from sqlalchemy import Text, cast, func, select, text

from mediaparser.config import Settings
from mediaparser.media.errors import stored
from mediaparser.media.isotime import iso_utc
from mediaparser.store.db import db
from mediaparser.store.models import FileStatus, Job, JobStatus, JobType, MediaFile, WorkerBeat, utcnow

PAGE_MAX = 200
ERRORS_IN_SUMMARY = 20


def start_import(settings: Settings, path: str, *, check_roots: bool = True, force: bool = False,
                 upload: str | None = None) -> Job:
    """Create an import job for a server folder (PENDING; the caller submits it).

    Files an earlier import already analysed, unchanged since, are skipped
    (listed among the job's skipped entries); `force` lists and analyses them
    again, as new rows. `upload` names the upload whose folder this is: its
    files are then known by their content (importing._already_imported).
    """
    from mediaparser.usecases.importing import create_import_job

    options: dict[str, Any] = {}
    if force:
        options["force"] = True
    if upload:
        options["upload"] = upload
    job = create_import_job(settings, path, check_roots=check_roots, options=options or None)
    return db.session.get(Job, job.id, populate_existing=True)


def job_summary(job: Job, *, with_errors: bool = False) -> dict[str, Any]:
    now = utcnow()
    run_seconds = job.run_seconds or 0.0
    rate = None
    if job.run_started_at is not None:
        current_run = max((now - job.run_started_at).total_seconds(), 0.0)
        done_this_run = job.progress_current - job.run_progress_start
        if current_run >= 1.0 and done_this_run > 0:
            rate = done_this_run / current_run
        run_seconds += current_run
    elif run_seconds > 0 and job.progress_current:
        rate = job.progress_current / run_seconds
    remaining = max(job.progress_total - job.progress_current, 0)
    eta = remaining / rate if rate and job.status == JobStatus.RUNNING and job.enumerated else None
    elapsed = ((job.completed_at or now) - job.started_at).total_seconds() if job.started_at else 0.0
    out: dict[str, Any] = {
        "id": job.id,
        "type": job.job_type,
        "status": job.status,
        "path": job.source_path,
        "progress": {"current": job.progress_current, "total": job.progress_total,
                     "counting": not job.enumerated and job.status not in JobStatus.FINISHED},
        "error_count": job.error_count,
        "skipped_count": job.skipped_count,
        "skipped": job.skipped or {},
        "current_item": job.current_item,
        "rate_per_second": round(rate, 2) if rate else None,
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "elapsed_seconds": round(elapsed, 1),
        "running_seconds": round(run_seconds, 1),
        "created_at": iso_utc(job.created_at),
        "started_at": iso_utc(job.started_at),
        "completed_at": iso_utc(job.completed_at),
        "error_message": job.error_message,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "heartbeat_at": iso_utc(job.heartbeat_at),
    }
    if job.job_type == JobType.IMPORT and (job.options or {}).get("takeout"):
        # The Google Takeout parts this import unpacked, what is missing (usecases/takeout.py).
        out["takeout"] = job.options["takeout"]
    if job.job_type == JobType.EXPORT:
        # What an export is, for the jobs list: which import it copies, and where to.
        out["import_job_id"] = (job.options or {}).get("import_job_id")
        out["output"] = (job.options or {}).get("output")
    if with_errors:
        out["errors"] = failed_files(job.id, limit=ERRORS_IN_SUMMARY)
        if job.job_type == "import":
            out.update(warning_counts(job.id))
    return out


def warning_counts(job_id: int) -> dict[str, int]:
    """Files of an import analysed with warnings (`warning_count`), and among them the
    ones kept without a preview because their picture could not be decoded
    (`no_preview_count`: no perceptual hash, as media/analyze.py leaves them)."""
    done = (MediaFile.job_id == job_id, MediaFile.status == FileStatus.DONE)
    warned = db.session.execute(select(func.count()).select_from(MediaFile).where(
        *done, MediaFile.warnings.is_not(None), cast(MediaFile.warnings, Text) != "[]")).scalar_one()
    no_preview = db.session.execute(select(func.count()).select_from(MediaFile).where(
        *done, MediaFile.kind.in_(("image", "video")), MediaFile.phash.is_(None))).scalar_one()
    db.session.commit()
    return {"warning_count": warned, "no_preview_count": no_preview}


def failed_files(job_id: int, *, after: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    limit = max(1, min(limit, PAGE_MAX))
    rows = db.session.execute(
        select(MediaFile.id, MediaFile.rel_path, MediaFile.error, MediaFile.error_detail)
        .where(MediaFile.job_id == job_id, MediaFile.status == FileStatus.FAILED, MediaFile.id > after)
        .order_by(MediaFile.id).limit(limit)
    ).all()
    # The plain sentence and the technical detail (older rows: their raw text explained now).
    return [{"file_id": r.id, "path": r.rel_path, **_explained(r.error, r.error_detail)} for r in rows]


def _explained(error: str | None, detail: str | None) -> dict[str, str | None]:
    e = stored(error, detail)
    return e.to_dict() if e else {"error": None, "error_detail": None}


def list_jobs(*, before: int | None = None, limit: int = 50) -> list[Job]:
    limit = max(1, min(limit, PAGE_MAX))
    q = select(Job).order_by(Job.id.desc()).limit(limit)
    if before is not None:
        q = q.where(Job.id < before)
    return list(db.session.execute(q).scalars())


def get_job(job_id: int) -> Job | None:
    """The job as committed now (ends any read snapshot the session held)."""
    db.session.commit()
    job = db.session.get(Job, job_id, populate_existing=True)
    db.session.commit()
    return job


def health(*, queue_size: Callable[[], int],
           live_workers: Callable[[], Sequence[WorkerBeat]]) -> tuple[bool, dict[str, Any]]:
    """Database reachable, queue reachable, and at least one live worker.

    The runtime passes in how to ask its queue and its worker beats
    (runtime.control.health); this builds the report.
    """
    info: dict[str, Any] = {"database": False, "queue": False, "workers": [], "timestamp": iso_utc(utcnow())}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        info["database"] = True
        info["workers"] = [{"worker_id": w.worker_id, "hostname": w.hostname, "pid": w.pid,
                            "beat_at": iso_utc(w.beat_at)} for w in live_workers()]
    except Exception as exc:  # the point is to report, not to crash
        db.session.rollback()
        info["database_error"] = str(exc)[:200]
    try:
        info["queue_size"] = queue_size()
        info["queue"] = True
    except Exception as exc:
        info["queue_error"] = str(exc)[:200]
    info["worker_alive"] = bool(info["workers"])
    ok = info["database"] and info["queue"] and info["worker_alive"]
    info["status"] = "ok" if ok else "degraded"
    if not info["worker_alive"]:
        info["message"] = ("the background worker is not running — start it with `mediaparser worker` "
                           "(or `make run`, which starts one)")
    return ok, info
