"""The core application factory: the Flask app every task runs inside.

`create_core_app` sets up what any process of the product needs — Settings
(in `app.extensions["mediaparser"]`), pending migrations, the database
engine and its tuning, the Huey queue's storage, the session key — and no
blueprints. The job engine (tasks.py, worker.py, consumer.py) builds it once
per worker process and pushes a fresh context per task; the web layer
(`mediaparser.web.create_app`) builds on the same app and registers its
blueprints, security and error pages.

It lives in runtime/, not store/, because it configures the queue (runtime)
as well as the database (store), and the runtime must not import the web.
"""
from __future__ import annotations

import logging
import secrets
from typing import Any, Mapping

from flask import Flask

from mediaparser.config import Settings
from mediaparser.runtime.queue import configure
from mediaparser.store.db import db, engine_options, tune_engine


def create_core_app(config: Settings | Mapping[str, Any] | None = None, *,
                    import_name: str = __name__) -> Flask:
    """Build the app from Settings (or a mapping of setting overrides).

    Extra Flask keys may be passed in the mapping in upper case (e.g.
    `TESTING`). Runs pending migrations unless `MIGRATE=False` is given;
    `HUEY_IMMEDIATE=True` runs tasks in-process (glue tests only).
    `import_name` is Flask's: the web layer passes its own package so that
    its templates and static files are found.
    """
    flask_keys: dict[str, Any] = {}
    if isinstance(config, Settings):
        settings = config
    else:
        overrides = {}
        for k, v in dict(config or {}).items():
            (flask_keys if k.isupper() else overrides)[k] = v
        settings = Settings.load(overrides)
    settings.home.mkdir(parents=True, exist_ok=True)
    if flask_keys.get("MIGRATE", True):
        from mediaparser.store.migrate import upgrade

        upgrade(settings)

    app = Flask(import_name, instance_path=str(settings.home), instance_relative_config=True)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
        SECRET_KEY=settings.secret_key or _instance_secret(settings),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=None,
    )
    app.config.update(flask_keys)
    app.extensions["mediaparser"] = settings
    db.init_app(app)
    with app.app_context():
        tune_engine(db.engine)
    configure(settings, immediate=bool(flask_keys.get("HUEY_IMMEDIATE", False)))
    logging.getLogger("mediaparser").setLevel(logging.INFO)
    return app


def _instance_secret(settings: Settings) -> str:
    """A random session key kept in the instance folder, made on first start."""
    path = settings.home / "secret_key"
    try:
        # "x": of two processes starting together, one writes and both read it.
        with open(path, "x") as fh:
            path.chmod(0o600)
            fh.write(secrets.token_hex(32))
    except FileExistsError:
        pass
    return path.read_text().strip()
