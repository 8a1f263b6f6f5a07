"""The duplicate-review JSON API (usecases/duplicates.py does the work).

GET  /api/duplicates                 one page of groups, exact first then similar:
                                     ?kind=exact|similar&status=open|resolved|any&after=CURSOR&limit=N (≤ 200);
                                     answers {"groups": [...], "next_cursor": "exact:12" | null}
GET  /api/duplicates/counts          the tabs' figures: open exact, open similar, decided groups, set-aside files
GET  /api/duplicates/first-open      the first open group (?kind=exact|similar), {"group_id": ID | null}
GET  /api/duplicates/<gid>           one group side by side: members' quality facts, decisions and tags, the
                                     recommended keeper and why, which facts differ, and next_open
POST /api/duplicates/<gid>/resolve   {"keep": [ids]} or {"keep": "recommended"} or {"keep": "all"}
                                     ("not duplicates"); the other members are set aside
POST /api/duplicates/accept-exact    {"confirm": true, "expected": N}: keep the recommended copy in every open
                                     exact group; 409 when the number of open exact groups is no longer N
GET  /api/duplicates/set-aside       files set aside, each with the file(s) kept instead (?after=ID&limit=N)
POST /api/duplicates/restore         {"file_ids": [...]}: set-aside files are kept again (they export again)

Nothing is set aside except by one of these POSTs, and every POST passes
the app's CSRF check. Each decision and restore is a batch in the history
(/history, /api/review/batches), where it can be undone.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from mediaparser.usecases import duplicates
from mediaparser.usecases.duplicates import GroupDecisionError, GroupNotFound, ReviewConflict
from mediaparser.web.jsonapi import current_actor, error as _error, whole_number
from mediaparser.web.context import current_settings

bp = Blueprint("duplicates_api", __name__, url_prefix="/api/duplicates")


@bp.errorhandler(ReviewConflict)
def _conflict(exc: ReviewConflict):
    return _error(409, str(exc))


@bp.errorhandler(GroupDecisionError)
def _refused(exc: GroupDecisionError):
    return _error(400, str(exc))


@bp.errorhandler(GroupNotFound)
def _missing(exc: GroupNotFound):
    return _error(404, str(exc.args[0]) if exc.args else "not found")


def _zone() -> str:
    return current_settings().timezone


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise GroupDecisionError("send a JSON object")
    return data


def _ids(value: Any, name: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise GroupDecisionError(f"{name} must be a list of file ids")
    return value


@bp.get("")
def groups():
    status = request.args.get("status", "open") or "open"
    return jsonify(duplicates.review_page(kind=request.args.get("kind") or None,
                                          status=None if status == "any" else status,
                                          after=request.args.get("after") or None,
                                          limit=whole_number("limit", 50)))


@bp.get("/counts")
def counts():
    return jsonify(duplicates.review_counts())


@bp.get("/first-open")
def first_open():
    return jsonify({"group_id": duplicates.first_open_group(request.args.get("kind") or None)})


@bp.get("/<int:group_id>")
def group(group_id: int):
    view = duplicates.review_group(group_id)
    if view is None:
        return _error(404, f"group {group_id} does not exist")
    return jsonify(view)


@bp.post("/<int:group_id>/resolve")
def resolve(group_id: int):
    keep = _body().get("keep")
    if keep == "recommended":
        keep_ids = [duplicates.recommended_keeper(group_id)]
    elif keep == "all":
        view = duplicates.review_group(group_id)
        if view is None:
            return _error(404, f"group {group_id} does not exist")
        keep_ids = [m["file_id"] for m in view["members"]]
    else:
        keep_ids = _ids(keep, "keep")
    group = duplicates.resolve_group(group_id, keep_ids, timezone=_zone(), actor=current_actor())
    view = duplicates.review_group(group.id)
    return jsonify({"group": view, "next_open": view["next_open"] if view else duplicates.first_open_group(),
                    "counts": duplicates.review_counts()})


@bp.post("/accept-exact")
def accept_exact():
    data = _body()
    expected = data.get("expected")
    if data.get("confirm") is not True or not isinstance(expected, int) or isinstance(expected, bool):
        raise GroupDecisionError('confirm with {"confirm": true, "expected": N}, N being the number of open '
                                 "exact groups you were shown")
    result = duplicates.accept_all_exact(_zone(), expected=expected, actor=current_actor())
    return jsonify({"groups": result.groups, "kept": result.kept, "set_aside": result.set_aside,
                    "left_open": result.left_open, "counts": duplicates.review_counts()})


@bp.get("/set-aside")
def set_aside():
    return jsonify(duplicates.set_aside_page(after=whole_number("after", 0), limit=whole_number("limit", 100)))


@bp.post("/restore")
def restore():
    result = duplicates.restore(_ids(_body().get("file_ids"), "file_ids"), current_actor())
    return jsonify({"restored": result.restored, "not_set_aside": result.not_set_aside,
                    "counts": duplicates.review_counts()})
