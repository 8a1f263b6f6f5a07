"""Schema migrations with Alembic: `mediaparser db upgrade`, and at start-up.

Several processes start at once (`mediaparser run` starts the web app and a
worker; on a cluster several workers start together), so upgrades are
serialised: a file lock in the instance folder on SQLite, an advisory lock on
PostgreSQL.
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from mediaparser.config import Settings
from mediaparser.store.db import engine_options

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x6D656469  # "medi"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _migration_lock(settings: Settings, conn: Connection) -> Iterator[None]:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
        return
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / ".migrate.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def upgrade(settings: Settings, revision: str = "head") -> str | None:
    """Bring the database to `revision`; returns the revision it ends at."""
    if settings.database_path is not None:
        settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.database_url, **engine_options(settings.database_url))
    try:
        with engine.connect() as conn:
            with _migration_lock(settings, conn):
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA journal_mode=WAL")
                if current_revision(conn) != head_revision() or revision != "head":
                    cfg = alembic_config()
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, revision)
                    conn.commit()
                return current_revision(conn)
    finally:
        engine.dispose()


def existing_revision(settings: Settings) -> str | None:
    """The schema revision of the instance's database, or None when there is no instance there.

    For commands that only read (`mediaparser status`): it creates nothing — no
    instance folder, no SQLite file (a missing file means no instance), no tables.
    A database without MediaParser's tables is no instance either.
    """
    if settings.database_path is not None and not settings.database_path.is_file():
        return None
    engine = create_engine(settings.database_url, **engine_options(settings.database_url))
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    finally:
        engine.dispose()


def describe_database(settings: Settings) -> str:
    """Where the database is, for messages: the SQLite file, or the URL without its password."""
    if settings.database_path is not None:
        return str(settings.database_path)
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)
