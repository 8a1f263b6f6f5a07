"""The review JSON API: the grid, one file, decisions and their history.

GET  /api/files                     one page of the grid: filters, ?sort=time|name|size&order=asc|desc,
                                    ?cursor=…&limit=N (at most 200), or ?at=2019-08[-12]|none to start at
                                    a date (time order); answers next_cursor, first_cursor (page back:
                                    the same cursor in the opposite order) and, in time order, days
                                    (files per day for the days the page shows)
GET  /api/files/summary             count, counts per review state, files per month (same filters)
GET  /api/files/cameras             camera models among the filtered files (at most 100)
GET  /api/files/<id>                one file: facts, reasons, every candidate, its history
GET  /api/files/<id>/neighbours     previous / next in grid order, next that needs review
POST /api/review/actions            {"action": confirm|clear|set_date|shift|pick, "ids": [...] or
                                    "selection": {"all_matching": true, "filter": {...}, "except": [...]},
                                    "value": "2019-08-12 14:30" | "seconds": 4320 | "candidate": 2}
GET  /api/review/batches            recent decisions of every kind (dates, tags, duplicates, restores, undos),
                                    newest first (?before=ID&limit=N)
GET  /api/review/batches/<id>       one decision, the first files it touched ("files", each with what changed)
                                    and, for a decision about a tag rather than files, "about" in words
POST /api/review/batches/<id>/undo  revert it (what was changed again since is left alone; 409 with the reason
                                    when nothing can be undone)
GET  /api/review/parse-date?text=   how a typed date is understood, before saving
POST /api/stacks/<id>/keep          a burst's frames: {"keep": "cover"} keeps the cover only, {"keep": "sharpest",
                                    "count": N} the N sharpest, {"keep": "all"} every frame; the others are set
                                    aside like duplicates (undo in the history)

A stack (usecases/stacks.py) is one tile in /api/files (its lead's, with "stack": kind and count), and
/api/files/<id> lists its members; a date decision on any member applies to the whole stack.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from mediaparser.library import queries
from mediaparser.library.filters import PAGE_MAX, Filter, Order, Target
from mediaparser.usecases import history, review, stacks
from mediaparser.usecases.review import ReviewError
from mediaparser.web.jsonapi import current_actor, error as _error, whole_number
from mediaparser.web.context import current_settings

bp = Blueprint("review_api", __name__, url_prefix="/api")


@bp.errorhandler(history.UndoConflict)
def _undo_conflict(exc: history.UndoConflict):
    return _error(409, str(exc))


@bp.errorhandler(ReviewError)
@bp.errorhandler(stacks.BurstError)
def _review_error(exc: ValueError):
    return _error(400, str(exc))


def _zone() -> str:
    return current_settings().timezone


@bp.get("/files")
def files():
    flt = Filter.from_args(request.args)
    order = Order.from_args(request.args)
    cursor = request.args.get("cursor") or None
    if request.args.get("at") and not cursor:
        cursor = queries.start_cursor(order, request.args["at"])
    return jsonify(review.page(flt, order, cursor, whole_number("limit")))


@bp.get("/files/summary")
def files_summary():
    return jsonify(queries.summary(Filter.from_args(request.args)))


@bp.get("/files/cameras")
def files_cameras():
    return jsonify({"cameras": queries.cameras(Filter.from_args(request.args))})


@bp.get("/files/<int:file_id>")
def file_detail(file_id: int):
    detail = review.file_detail(file_id, _zone())
    if detail is None:
        return _error(404, f"file {file_id} does not exist")
    return jsonify(detail)


@bp.get("/files/<int:file_id>/neighbours")
def file_neighbours(file_id: int):
    flt = Filter.from_args(request.args)
    order = Order.from_args(request.args)
    try:
        return jsonify(queries.neighbours(file_id, flt, order))
    except LookupError as exc:
        return _error(404, str(exc))


@bp.post("/review/actions")
def review_action():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "send a JSON object with an action and the files")
    target = Target.from_json(body)
    result = review.apply_action(str(body.get("action")), target, body, current_actor(), _zone())
    return jsonify(result.to_dict())


@bp.get("/review/batches")
def review_batches():
    before = request.args.get("before")
    try:
        before_id = int(before) if before else None
    except ValueError:
        return _error(400, "before must be a whole number")
    limit = whole_number("limit") or 50
    items = history.batches(before=before_id, limit=limit)
    return jsonify({"batches": items, "next_before": items[-1]["id"] if len(items) == min(limit, PAGE_MAX) else None})


@bp.get("/review/batches/<int:batch_id>")
def review_batch(batch_id: int):
    items = history.batches(before=batch_id + 1, limit=1)
    if not items or items[0]["id"] != batch_id:
        return _error(404, f"change {batch_id} does not exist")
    return jsonify({**items[0], "files": history.batch_files(batch_id), "about": history.batch_about(batch_id)})


@bp.post("/review/batches/<int:batch_id>/undo")
def review_undo(batch_id: int):
    try:
        return jsonify(history.undo(batch_id, current_actor()).to_dict())
    except LookupError as exc:
        return _error(404, str(exc))


@bp.get("/review/parse-date")
def parse_date():
    return jsonify(review.interpret_date(request.args.get("text", "")).to_dict())


@bp.post("/stacks/<int:file_id>/keep")
def stack_keep(file_id: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(400, "send a JSON object: {\"keep\": \"cover\"} or {\"keep\": \"sharpest\", \"count\": 3}")
    choice = stacks.keep_burst_frames(file_id, keep=str(body.get("keep")), count=body.get("count"),
                                      actor=current_actor())
    return jsonify(choice.to_dict())
