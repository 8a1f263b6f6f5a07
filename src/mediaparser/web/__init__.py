"""The web application factory (on the core app of runtime/app.py) and the map of the web layer.

The web layer is thin: it parses requests, calls a service, renders a page
or returns JSON. Pages are server-rendered Jinja shells filled by small
vanilla ES modules in static/js (no build step); every page reads the JSON API.

    security.py      localhost by default, login when a password is set, CSRF, Host check, headers
    auth.py          /login, /logout
    pages.py         /, /import, /jobs, /jobs/<id>, /review, /history, /settings, /duplicates, /tags, /export…
    api.py           /api/jobs… and /api/health (the job engine)
    review_api.py    /api/files… (grid, summary, one file) and /api/review… (decisions, undo, typed dates)
    uploads_api.py   /api/uploads… (chunked, resumable uploads → an import job)
    settings_api.py  /api/folders… (server-folder browser) and /api/settings…
    files.py         /files/<id>/thumb|preview|original — files by id only
    jsonapi.py       the error reply and query-string numbers every *_api module uses
    duplicates_api.py /api/duplicates… (groups, decisions, bulk accept, set-aside files and restore)
    tags_api.py      /api/tags… (autocomplete, add/remove on a selection, rename/merge)
    export_api.py    /api/imports/<id>/export-plan|export|cleanup, /api/exports/<id> (archive and clean-up)

Editable settings: the output folder and the default time zone are written to
the instance config.json (usecases/settings_store.py); the archive layout
template lives in the app_settings table.
"""
from __future__ import annotations

import gc
from typing import Any, Mapping

from flask import Flask
from werkzeug.routing import IntegerConverter

from mediaparser.config import Settings
from mediaparser.runtime.app import create_core_app


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the web app from Settings (or a mapping of setting overrides).

    The core app (runtime/app.py: settings, database, migrations, queue) with
    the web's blueprints, security and error pages on it. Extra Flask keys
    may be passed in the mapping in upper case (e.g. `TESTING`); pending
    migrations run unless `MIGRATE=False` is given.
    """
    app = create_core_app(config, import_name=__name__)
    # Every <int:…> in a URL is a row id: one beyond a BIGINT is "not found", never a query that overflows.
    app.url_map.converters["int"] = _RowId

    from mediaparser.web import security
    from mediaparser.web.api import bp as api_bp
    from mediaparser.web.auth import bp as auth_bp
    from mediaparser.web.duplicates_api import bp as duplicates_api_bp
    from mediaparser.web.export_api import bp as export_api_bp
    from mediaparser.web.files import bp as files_bp
    from mediaparser.web.pages import bp as pages_bp
    from mediaparser.web.review_api import bp as review_api_bp
    from mediaparser.web.settings_api import bp as settings_api_bp
    from mediaparser.web.tags_api import bp as tags_api_bp
    from mediaparser.web.uploads_api import bp as uploads_api_bp

    security.init_app(app)
    for bp in (api_bp, auth_bp, duplicates_api_bp, export_api_bp, files_bp, pages_bp, review_api_bp, settings_api_bp, tags_api_bp,
               uploads_api_bp):
        app.register_blueprint(bp)
    _error_pages(app)
    return app


def ready_to_serve() -> None:
    """Settle this process before it serves requests (`mediaparser serve` and `run` call it once).

    Python's cyclic garbage collector now and then walks every object it
    tracks; after start-up that is some 140,000 (Flask, SQLAlchemy, the
    models, the routes), and each such full collection held up whichever
    request was running by 90-130 ms — the rare spikes that set the review
    grid's p99 at a million files (bench/web.py), while the requests
    themselves took 10-40 ms. Those start-up objects live as long as the
    process, so they are collected once and then frozen: later collections
    skip them (a full one then takes a few ms). Not in `create_app`: tests
    build an app per test, and freezing each one would keep its cycles alive.
    """
    gc.collect()
    gc.freeze()


class _RowId(IntegerConverter):
    """Flask's int converter, bounded by what the id columns (BIGINT) hold."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def _error_pages(app: Flask) -> None:
    """Plain-words error pages for the browser, JSON for the API."""
    from flask import jsonify, render_template, request

    messages = {404: "There is nothing here.", 405: "That is not something this address can do.",
                413: "That is too large.", 500: "Something went wrong on the server; the log says what."}

    def handler(exc):
        code = getattr(exc, "code", 500) or 500
        message = messages.get(code, getattr(exc, "description", "") or "Something went wrong.")
        if request.path.startswith("/api/") or request.path.startswith("/files/"):
            return jsonify({"error": message}), code
        return render_template("refused.html", message=message, status=code), code

    for code in messages:
        app.register_error_handler(code, handler)

    from mediaparser.web.jsonapi import BadArgument

    app.register_error_handler(BadArgument, lambda exc: (jsonify({"error": str(exc)}), 400))

