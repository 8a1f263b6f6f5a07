"""The database handle, SQLite tuning and the write-transaction helper.

SQLite is the embedded default and must stay responsive while a worker writes
thousands of rows beside the web app, so every connection gets WAL,
synchronous=NORMAL and a 15 s busy timeout. Writes go through
`write_transaction()`, which starts with `BEGIN IMMEDIATE` on SQLite: a
deferred transaction that first reads and then writes fails at once with
SQLITE_BUSY when another writer is active, whatever the busy timeout; taking
the write lock up front makes it wait its turn instead. On PostgreSQL the same
helper is a plain transaction.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

BUSY_TIMEOUT_MS = 15_000


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})

_immediate: contextvars.ContextVar[bool] = contextvars.ContextVar("mediaparser_immediate", default=False)


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True}


def tune_engine(engine: Engine) -> None:
    """Install the SQLite pragmas and the BEGIN / BEGIN IMMEDIATE hook."""
    if engine.dialect.name != "sqlite":
        return
    if getattr(engine, "_mediaparser_tuned", False):
        return
    engine._mediaparser_tuned = True  # type: ignore[attr-defined]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
        # Let us issue BEGIN ourselves (the driver's implicit BEGIN is always
        # deferred).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")


@contextmanager
def write_transaction(session: Session | None = None) -> Iterator[Session]:
    """A short write transaction: BEGIN IMMEDIATE on SQLite, commit or roll back.

    Any read transaction the session has open is ended first, so the write
    lock is taken at the start of the block and held only for its duration.
    """
    s = session if session is not None else db.session()  # the scoped session's Session
    if s.in_transaction():
        s.commit()
    token = _immediate.set(True)
    try:
        s.connection()  # begins now, with the immediate flag set
    finally:
        _immediate.reset(token)
    try:
        yield s
        s.commit()
    except BaseException:
        s.rollback()
        raise
