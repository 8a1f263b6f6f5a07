"""The JSON API: parse the request, call a use case (or the runtime for job controls), return JSON.

POST /api/jobs                     start an import of a server folder → 202
                                   {"type": "import", "path": "...", "force": false}
GET  /api/jobs                     newest first, paged (?before=ID&limit=N)
GET  /api/jobs/<id>                status, counts, rate, ETA, error summary
GET  /api/jobs/<id>/errors         failed files, paged (?after=FILE_ID&limit=N)
POST /api/jobs/<id>/pause|resume|cancel
GET  /api/health                   200 when database, queue and a worker are up, else 503
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from mediaparser.runtime import control
from mediaparser.runtime.lifecycle import InvalidTransition
from mediaparser.runtime.tasks import submit
from mediaparser.usecases import jobs as job_service
from mediaparser.usecases.importing import ImportRefused, PathNotAllowed
from mediaparser.web.jsonapi import error as _error, whole_number
from mediaparser.web.context import current_settings

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.errorhandler(404)
def _not_found(_e):
    return _error(404, "not found")


@bp.post("/jobs")
def create_job():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "send a JSON object such as {\"type\": \"import\", \"path\": \"/photos\"}")
    if body.get("type") != "import":
        return _error(400, "type must be \"import\" (exports are started from an import's review)")
    path = body.get("path")
    if not isinstance(path, str) or not path.strip():
        return _error(400, "path must name a folder on the server")
    try:
        job = job_service.start_import(current_settings(), path.strip(),
                                       force=bool(body.get("force", False)))
    except PathNotAllowed as exc:
        return _error(403, str(exc))
    except ImportRefused as exc:
        return _error(400, str(exc))
    submit(job)
    return jsonify(job_service.job_summary(job)), 202


@bp.get("/jobs")
def list_jobs():
    limit = whole_number("limit", 50)
    before = whole_number("before")
    jobs = job_service.list_jobs(before=before, limit=limit)
    items = [job_service.job_summary(j) for j in jobs]
    next_before = items[-1]["id"] if len(items) == min(max(limit, 1), job_service.PAGE_MAX) else None
    return jsonify({"jobs": items, "next_before": next_before})


@bp.get("/jobs/<int:job_id>")
def get_job(job_id: int):
    job = job_service.get_job(job_id)
    if job is None:
        return _error(404, f"job {job_id} does not exist")
    return jsonify(job_service.job_summary(job, with_errors=True))


@bp.get("/jobs/<int:job_id>/errors")
def job_errors(job_id: int):
    if job_service.get_job(job_id) is None:
        return _error(404, f"job {job_id} does not exist")
    after = whole_number("after", 0)
    limit = whole_number("limit", 50)
    if after is None or limit is None:
        return _error(400, "after and limit must be whole numbers")
    items = job_service.failed_files(job_id, after=after, limit=limit)
    return jsonify({"errors": items, "next_after": items[-1]["file_id"] if items else None})


@bp.post("/jobs/<int:job_id>/<any(pause, resume, cancel):action>")
def control_job(job_id: int, action: str):
    try:
        job = control.control(job_id, action)
    except LookupError as exc:
        return _error(404, str(exc))
    except InvalidTransition as exc:
        return _error(409, str(exc))
    return jsonify(job_service.job_summary(job))


@bp.get("/health")
def health():
    ok, info = control.health()
    return jsonify(info), 200 if ok else 503
