"""The export and clean-up JSON API (usecases/export/ and usecases/cleanup.py do the work).

GET  /api/imports                               finished imports that can be exported, with their latest export
GET  /api/imports/<id>/export-plan?output=DIR   the dry run: what goes where, collisions, skips, warnings
GET  /api/imports/<id>/exports                  that import's exports, newest first (the page finds its
                                                running or last export again after a reload)
POST /api/imports/<id>/export                   {"output": DIR?, "allow_unresolved": bool?} → the export job;
                                                409 while duplicate groups are unresolved (unless allowed)
GET  /api/exports/<id>                          an export's outcome: counts, output folder, year folders
GET  /api/exports/<id>/files?folder=2019        the files that export put in one folder (from the manifest), paged
                                                (&offset=N&limit=N)
GET  /api/imports/<id>/cleanup?working_copies=1 exactly which originals a clean-up would delete, and why others stay
                                                (the list paged with &offset=N&limit=N, at most 500 at a time)
POST /api/imports/<id>/cleanup                  {"confirm": true, "working_copies": bool?} → delete them

The output folder may be given by the page: it must pass the output rule
(output_rule.py), like the settings page, and when MEDIAPARSER_OUTPUT fixes
the output no other folder is accepted (settings_store.web_export_output).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from mediaparser.usecases import archive, cleanup, export as exporter, settings_store
from mediaparser.usecases import jobs as job_service
from mediaparser.usecases.jobs import job_summary
from mediaparser.media.layout import LayoutError
from mediaparser.runtime.tasks import submit
from mediaparser.web.jsonapi import error as _error, whole_number
from mediaparser.web.context import current_settings

bp = Blueprint("export_api", __name__, url_prefix="/api")


@bp.errorhandler(LookupError)
def _missing(exc: LookupError):
    return _error(404, str(exc).strip("'\""))


@bp.errorhandler(exporter.UnresolvedGroups)
def _unresolved(exc: exporter.UnresolvedGroups):
    return _error(409, str(exc), reason="unresolved_groups")


@bp.errorhandler(exporter.ExportRefused)
@bp.errorhandler(LayoutError)
def _refused(exc: ValueError):
    return _error(400, str(exc))


@bp.errorhandler(settings_store.OutputRefused)
def _output_refused(exc: settings_store.OutputRefused):
    return _error(exc.status, str(exc), field="output")


def _flag(value) -> bool:
    return value in (True, 1, "1", "true", "yes", "on")


@bp.get("/imports")
def exportable_imports():
    return jsonify({"imports": archive.exportable_imports(str(current_settings().upload_dir))})


@bp.get("/imports/<int:job_id>/exports")
def exports_of(job_id: int):
    exports = archive.exports_of(job_id)
    imp = job_service.get_job(job_id)
    return jsonify({"import_job_id": job_id, "exports": exports,
                    "uploaded": archive.is_upload(imp.source_path, str(current_settings().upload_dir))})


@bp.get("/exports/<int:job_id>/files")
def export_files(job_id: int):
    folder = (request.args.get("folder") or "").strip("/")
    if not folder:
        return _error(400, "give the folder, e.g. ?folder=2019")
    return jsonify(archive.folder_files(job_id, folder, offset=whole_number("offset", 0), limit=whole_number("limit", 100)))


@bp.get("/imports/<int:job_id>/export-plan")
def export_plan(job_id: int):
    output = settings_store.web_export_output(current_settings(), request.args.get("output"))
    plan = exporter.build_plan(current_settings(), job_id, output=output)
    return jsonify(plan.to_dict())


@bp.post("/imports/<int:job_id>/export")
def start_export(job_id: int):
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict):
        return _error(400, "send a JSON object")
    output = body.get("output")
    if output is not None and not isinstance(output, str):
        return _error(400, "output must be a folder path")
    output = settings_store.web_export_output(current_settings(), output)
    job = exporter.start_export(current_settings(), job_id, output=output,
                                allow_unresolved=_flag(body.get("allow_unresolved")))
    submit(job)
    job = job_service.get_job(job.id)  # as it now stands, with its task id
    return jsonify(job_summary(job)), 202


@bp.get("/exports/<int:job_id>")
def export_result(job_id: int):
    return jsonify(exporter.export_summary(job_id))


@bp.get("/imports/<int:job_id>/cleanup")
def cleanup_plan(job_id: int):
    offset = max(0, whole_number("offset", 0))
    limit = max(1, min(whole_number("limit", 500), 500))
    plan = cleanup.plan_cleanup(current_settings(), job_id, working_copies=_flag(request.args.get("working_copies")))
    out = plan.to_dict()
    out["files"] = out["files"][offset:offset + limit]
    out["offset"] = offset
    out["next_offset"] = offset + limit if offset + limit < out["count"] else None
    return jsonify(out)


@bp.post("/imports/<int:job_id>/cleanup")
def cleanup_run(job_id: int):
    body = request.get_json(silent=True) or {}
    if not isinstance(body, dict) or body.get("confirm") is not True:
        return _error(400, "deleting originals needs {\"confirm\": true}")
    result = cleanup.delete_sources(current_settings(), job_id, working_copies=_flag(body.get("working_copies")))
    return jsonify(result.to_dict())
