"""Pictures and videos, served by file id only — never by a path in the URL.

GET /files/<id>/thumb      the analysis thumbnail (longest side 320 px)
GET /files/<id>/preview    the picture at screen size (longest side 1600 px), made on first use
GET /files/<id>/original   the file itself (videos play from it; Range requests work)
GET /files/<id>/motion     a Motion Photo's video: the MP4 bytes appended to the photo (Range requests work)

A thumbnail is only served from the instance's thumbnail folder and a
preview from its preview folder, whatever the database row says. Files are
sent with a sandboxing Content-Security-Policy, and only pictures and videos
are shown inline; anything else is offered as a download.
"""
from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, abort, current_app, request, send_file

from mediaparser.store.db import db
from mediaparser.store.models import FileStatus, MediaFile
from mediaparser.usecases import previews
from mediaparser.usecases.source_access import SourceUnavailable, open_motion_clip, open_source
from mediaparser.web.context import current_settings

bp = Blueprint("files", __name__, url_prefix="/files")

FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def _row(file_id: int) -> MediaFile:
    row = db.session.get(MediaFile, file_id)
    db.session.commit()
    if row is None or row.status == FileStatus.PENDING:
        abort(404)
    return row


def _inside(path: str | os.PathLike, folder: Path) -> bool:
    real = Path(os.path.realpath(path))
    root = Path(os.path.realpath(folder))
    return root in real.parents


def _send(path: str | os.PathLike, mimetype: str, *, max_age: int | None = None, name: str | None = None,
          attachment: bool = False):
    resp = send_file(path, mimetype=mimetype, conditional=True, max_age=max_age, download_name=name,
                     as_attachment=attachment)
    resp.headers["Content-Security-Policy"] = FILE_CSP
    resp.headers["Cache-Control"] = f"private, max-age={max_age or 0}"
    return resp


@bp.get("/<int:file_id>/thumb")
def thumb(file_id: int):
    row = _row(file_id)
    if not row.thumbnail or not _inside(row.thumbnail, current_settings().thumbnail_dir) \
            or not os.path.isfile(row.thumbnail):
        abort(404)
    mime = "image/webp" if row.thumbnail.endswith(".webp") else "image/jpeg"
    return _send(row.thumbnail, mime, max_age=3600)


def preview_dir() -> Path:
    return current_settings().home / "previews"


def _preview_limits() -> previews.PreviewLimits:
    settings = current_settings()
    return previews.PreviewLimits(max_bytes=settings.preview_max_bytes, timeout=settings.preview_timeout)


@bp.get("/<int:file_id>/preview")
def preview(file_id: int):
    row = _row(file_id)
    if row.kind != "image":
        return thumb(file_id)  # videos: the poster frame; the page plays /original
    # Made (or refused) within size, memory and time bounds by usecases/previews.py,
    # which reads the source only through source_access.open_source.
    made = previews.get_preview(current_settings(), row, _preview_limits())
    if made.status is not None:
        abort(made.status, description=made.reason)
    if made.path is None:  # the page shows the thumbnail instead
        resp = thumb(file_id)
        if not made.remembered:
            current_app.logger.info("no preview for file %s: %s", file_id, made.reason)
            resp.headers["Cache-Control"] = "private, max-age=0"  # perhaps only busy: ask again next time
        return resp
    if not _inside(made.path, preview_dir()):
        abort(404)
    return _send(made.path, "image/jpeg", max_age=3600)


@bp.get("/<int:file_id>/original")
def original(file_id: int):
    row = _row(file_id)
    try:
        # The one rule for reading a source: still inside the folders it was
        # imported from, still the same regular file (usecases.source_access).
        src = open_source(current_settings(), row)
    except SourceUnavailable as exc:
        abort(exc.status, description=exc.message)
    mime = row.mime or "application/octet-stream"
    inline = (mime.startswith("image/") or mime.startswith("video/")) and "svg" not in mime
    name = os.path.basename(row.rel_path)
    # Sent from the descriptor that was verified, not by reopening the path.
    return _send_source(src, src.file, src.size, mimetype=mime if inline else "application/octet-stream",
                        name=name, inline=inline, etag=f"{row.id}-{row.dev}-{row.inode}-{src.size}-{src.mtime}")


def _send_source(src, stream, length: int, *, mimetype: str, name: str, inline: bool, etag: str):
    """Bytes read from an opened source (whole or a part of it), with ranges and the files' CSP."""
    try:
        resp = send_file(stream, mimetype=mimetype, conditional=False, download_name=name,
                         as_attachment=not inline, max_age=0)
        resp.content_length = length
        resp.last_modified = src.mtime
        resp.set_etag(etag)
        resp = resp.make_conditional(request.environ, accept_ranges=True, complete_length=length)
    except BaseException:
        src.close()
        raise
    resp.headers["Content-Security-Policy"] = FILE_CSP
    resp.headers["Cache-Control"] = "private, max-age=0"
    return resp


@bp.get("/<int:file_id>/motion")
def motion(file_id: int):
    """The moving part of a Motion Photo, cut from the source as it is read (never written out)."""
    row = _row(file_id)
    try:
        src, clip, length = open_motion_clip(current_settings(), row)
    except SourceUnavailable as exc:
        abort(exc.status, description=exc.message)
    stem = os.path.splitext(os.path.basename(row.rel_path))[0]
    return _send_source(src, clip, length, mimetype="video/mp4", name=f"{stem}.mp4", inline=True,
                        etag=f"{row.id}-motion-{row.dev}-{row.inode}-{src.size}-{src.mtime}")
