"""Folder browser and settings JSON API.

GET  /api/folders                        the import roots (configured by the operator)
GET  /api/folders/<root>?path=REL         sub-folders of a folder inside a root
GET  /api/settings                        editable settings, import roots, what is locked by env
POST /api/settings                        {"output"?, "timezone"?, "layout"?}
GET  /api/settings/check-output?path=     can exports be written there?
GET  /api/settings/layout-example?layout= the archive path of an example photo
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from mediaparser.usecases import folders, settings_store
from mediaparser.media import layout
from mediaparser.usecases.settings_store import SettingsError
from mediaparser.web.context import current_settings, replace_settings

bp = Blueprint("settings_api", __name__, url_prefix="/api")


@bp.get("/folders")
def roots():
    return jsonify({"roots": folders.roots(current_settings())})


@bp.get("/folders/<int:root>")
def listing(root: int):
    try:
        return jsonify(folders.listing(current_settings(), root, request.args.get("path", "")))
    except folders.FolderRefused as exc:
        return jsonify({"error": str(exc)}), exc.status


@bp.get("/settings")
def getcurrent_settings():
    return jsonify(settings_store.current(current_settings()))


@bp.post("/settings")
def savecurrent_settings():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not body:
        return jsonify({"error": "send the settings to change as a JSON object"}), 400
    try:
        new = settings_store.save(current_settings(), body)
    except SettingsError as exc:
        return jsonify({"error": str(exc), "field": exc.field}), 400
    replace_settings(new)
    out = settings_store.current(new)
    if any(k in body for k in ("timezone", "output")):
        out["notice"] = ("Saved. A background worker that is already running keeps the previous values "
                         "until it is restarted.")
    else:
        out["notice"] = "Saved."
    return jsonify(out)


@bp.get("/settings/check-output")
def check_output():
    return jsonify(settings_store.check_output(current_settings(), request.args.get("path", "")))


@bp.get("/settings/layout-example")
def layout_example():
    try:
        checked = layout.check(request.args.get("layout", ""))
    except layout.LayoutError as exc:
        return jsonify({"ok": False, "error": str(exc)})
    return jsonify({"ok": True, "example": layout.example(checked.template), "warnings": checked.warnings})
