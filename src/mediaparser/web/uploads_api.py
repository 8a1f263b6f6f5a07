"""Uploads JSON API (the protocol is described in usecases/uploads.py).

POST /api/uploads                          start an upload → 201 {"id", "limits"}
GET  /api/uploads/<id>                     its state and the files still incomplete
POST /api/uploads/<id>/files               {"files": [{"path", "size", "last_modified"}, …]} (≤ 1000)
PUT  /api/uploads/<id>/files/<fid>?offset=N   raw bytes of one chunk → {"received", "complete"}
POST /api/uploads/<id>/finish              {"skip_incomplete": false} → 202 {"job_id"} (idempotent)
POST /api/uploads/<id>/discard             delete an upload that was not imported
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from mediaparser.runtime.tasks import submit
from mediaparser.usecases import uploads
from mediaparser.usecases.importing import ImportRefused
from mediaparser.usecases.uploads import UploadError
from mediaparser.web.context import current_settings

bp = Blueprint("uploads_api", __name__, url_prefix="/api/uploads")


def _limits() -> uploads.Limits:
    return uploads.Limits.from_config(current_app.config)


@bp.errorhandler(UploadError)
def _upload_error(exc: UploadError):
    return jsonify({"error": str(exc), **exc.extra}), exc.status


@bp.post("")
def create():
    up = uploads.create_upload(current_settings())
    return jsonify({"id": up.id, "limits": _limits().to_dict()}), 201


@bp.get("/<upload_id>")
def show(upload_id: str):
    return jsonify(uploads.upload_summary(current_settings(), upload_id))


@bp.post("/<upload_id>/files")
def register(upload_id: str):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise UploadError("send {\"files\": [...]}")
    return jsonify({"files": uploads.register_files(current_settings(), upload_id, body.get("files"), _limits())})


@bp.put("/<upload_id>/files/<int:file_id>")
def chunk(upload_id: str, file_id: int):
    try:
        offset = int(request.args.get("offset", ""))
    except ValueError:
        raise UploadError("offset must be a whole number") from None
    result = uploads.write_chunk(current_settings(), upload_id, file_id, offset, request.stream,
                                 request.content_length, _limits())
    return jsonify(result)


@bp.post("/<upload_id>/finish")
def finish(upload_id: str):
    body = request.get_json(silent=True) or {}
    try:
        handover = uploads.finish(current_settings(), upload_id, skip_incomplete=bool(body.get("skip_incomplete")))
    except ImportRefused as exc:
        raise UploadError(str(exc), 400) from None
    if handover.new_job is not None:
        submit(handover.new_job)
    return jsonify({"job_id": handover.job_id}), 202


@bp.post("/<upload_id>/discard")
def discard(upload_id: str):
    uploads.discard(current_settings(), upload_id)
    return jsonify({"discarded": True})
