"""The tags JSON API (usecases/tagging.py does the work).

GET  /api/tags?q=be&limit=20        autocomplete: tags matching q, most used first, with use counts
GET  /api/tags/list?q=&limit=&offset=
                                    every tag (or those containing q) with its use count, most used first:
                                    {"tags": [{"name", "uses"}], "total", "offset", "limit"} (limit ≤ 1000)
GET  /api/files/<id>/tags           one file's tags and where each came from
POST /api/tags/on-selection         {"ids": [...] or "selection": {...}}: the tags on those files, each with
                                    how many of them carry it: {"files": n, "tags": [{"name", "files"}]}
POST /api/tags/add                  {"ids": [...] or "selection": {...}, "tags": ["beach", "family"]}
POST /api/tags/remove               same body; removes the tags from those files
                                    (add, remove and rename are decisions in the history: /history, where
                                    each can be undone)
POST /api/tags/rename               {"from": "beech", "to": "beach"}: rename everywhere, merging if "to" exists;
                                    with "dry_run": true nothing changes and the answer says what would
                                    ({"merged": true, "files": n, "into_files": m}) so the page can ask first

Selections are the review grid's ({"ids": [...]} or {"selection": {"all_matching": true, "filter": {...}}}),
read by library.filters.Target so a selection means the same files here as in review actions.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from mediaparser.usecases import tagging as tags
from mediaparser.web.jsonapi import current_actor, error as _error, whole_number
from mediaparser.library.filters import FilterError, Target

bp = Blueprint("tags_api", __name__, url_prefix="/api")


@bp.errorhandler(tags.TagError)
@bp.errorhandler(FilterError)
def _refused(exc: ValueError):
    return _error(400, str(exc))


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise tags.TagError("send a JSON object")
    return body


def _names(body: dict) -> list[str]:
    names = body.get("tags")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        raise tags.TagError("\"tags\" must be a list of tag names")
    return names


@bp.get("/tags")
def autocomplete():
    return jsonify({"tags": tags.autocomplete(request.args.get("q", ""), whole_number("limit", 20))})


@bp.get("/tags/list")
def listing():
    return jsonify(tags.listing(request.args.get("q", ""), whole_number("limit", 200), whole_number("offset", 0)))


@bp.post("/tags/on-selection")
def on_selection():
    ids = Target.from_json(_body()).resolve()
    return jsonify({"files": len(ids), "tags": tags.on_files(ids)})


@bp.get("/files/<int:file_id>/tags")
def file_tags(file_id: int):
    return jsonify({"file_id": file_id, "tags": tags.tags_of([file_id])[file_id]})


@bp.post("/tags/add")
def add():
    body = _body()
    changed = tags.add_tags(Target.from_json(body).resolve(), _names(body), current_actor())
    return jsonify({"files": changed.files, "added": changed.links, "tags": changed.tags})


@bp.post("/tags/remove")
def remove():
    body = _body()
    changed = tags.remove_tags(Target.from_json(body).resolve(), _names(body), current_actor())
    return jsonify({"files": changed.files, "removed": changed.links, "tags": changed.tags})


@bp.post("/tags/rename")
def rename():
    body = _body()
    old, new = body.get("from"), body.get("to")
    if not isinstance(old, str) or not isinstance(new, str):
        raise tags.TagError("give \"from\" and \"to\" tag names")
    dry = body.get("dry_run") is True
    r = tags.preview_rename(old, new) if dry else tags.rename_tag(old, new, current_actor())
    return jsonify({"from": r.old, "to": r.new, "files": r.files, "merged": r.merged, "into_files": r.into_files,
                    "dry_run": dry})
