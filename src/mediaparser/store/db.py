"""The database handle, SQLite tuning and the write-transaction helper.

SQLite is the embedded default and must stay responsive while a worker writes
thousands of rows beside the web app, so every connection gets WAL,
synchronous=NORMAL and a 15 s busy timeout. Writes go through
`write_transaction()`, which starts with `BEGIN IMMEDIATE` on SQLite: a
deferred transaction that first reads and then writes fails at once with
SQLITE_BUSY when another writer is active, whatever the busy timeout; taking
the write lock up front makes it wait its turn instead. On PostgreSQL the same
helper is a plain transaction.

PostgreSQL lets writers run side by side, so it may abort one of two that
collide (a deadlock, a serialization failure). `run_write()` owns the answer
for every writer: the whole unit of work runs again in a fresh transaction, a
few times, after a short random pause, and is never half-applied. SQLite's
BEGIN IMMEDIATE already makes writers take turns, so there nothing is retried.
"""
from __future__ import annotations

import contextvars
import fcntl
import logging
import random
import threading
import time
import zlib
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session

BUSY_TIMEOUT_MS = 15_000
WAL_CHECKPOINT_PAGES = 10_000  # pages of the write-ahead log between two automatic checkpoints
# SQLSTATEs PostgreSQL uses to abort one of two colliding transactions; running
# the same work again is the documented answer.
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
TRANSIENT = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})
# Constraint failures a writer may choose to retry when a concurrent writer can
# cause them (a name taken, a referenced row gone) and its next attempt re-reads.
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
WRITE_ATTEMPTS = 5
BACKOFF_SECONDS = 0.02  # first pause's upper bound; doubles each attempt

T = TypeVar("T")
log = logging.getLogger(__name__)


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
        # Copy the write-ahead log into the database (and sync it) every ~40 MB rather than every
        # 4 MB, SQLite's default: a library-wide step (a first grouping of a million files) wrote
        # its batches 30 % faster (9 s rather than 11 s), and each page changed several times
        # between two copies is copied once.
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
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


@contextmanager
def exclusive(name: str) -> Iterator[None]:
    """Hold a named lock across processes and machines for the block, without
    holding any database lock: for work that must not run twice at once but
    writes in many short transactions (regrouping duplicates).

    PostgreSQL: a session advisory lock on a connection of its own (it goes
    with the connection if the process dies). SQLite, one machine: an
    exclusive flock on a file beside the database; an in-memory database
    lives in one process, where a thread lock does.
    """
    engine = db.engine
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"mediaparser:{name}".encode())
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    path = engine.url.database
    if not path or path == ":memory:":
        with _local_locks.setdefault(name, threading.Lock()):
            yield
        return
    with open(f"{path}.{name}.lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_local_locks: dict[str, threading.Lock] = {}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (PostgreSQL); None when the driver gives none (SQLite)."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else None


def run_write(work: Callable[[Session], T], *, retry_on: frozenset[str] = TRANSIENT,
              attempts: int = WRITE_ATTEMPTS, session: Session | None = None) -> T:
    """Run `work(session)` in a `write_transaction`, retrying the whole unit when the database aborts it.

    `work` must do everything from its own reads, since an attempt that fails
    is rolled back and the next one starts from scratch; errors whose SQLSTATE
    is not in `retry_on`, and any other exception, go to the caller at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            with write_transaction(session) as s:
                return work(s)
        except DBAPIError as exc:
            if attempt == attempts or sqlstate(exc) not in retry_on:
                raise
            log.info("write aborted by the database (SQLSTATE %s: %s), attempt %d of %d; running it again",
                     sqlstate(exc), str(exc.orig).splitlines()[0] if str(exc.orig) else "", attempt, attempts)
        # Jitter, so two colliding writers do not collide again on the same beat.
        time.sleep(random.uniform(0, BACKOFF_SECONDS * 2 ** (attempt - 1)))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
