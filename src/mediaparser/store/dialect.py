"""Where SQLite and PostgreSQL differ, and the one spelling we use for each.

Everything above the store writes portable SQLAlchemy; when a statement needs
something the two databases spell differently it asks this module instead of
testing the dialect's name itself:

- `insert_ignore` — INSERT ... ON CONFLICT DO NOTHING (each dialect has its own
  `insert` construct for it); `insert_adding` — INSERT ... SELECT that adds to
  the rows already there (ON CONFLICT DO UPDATE SET n = n + excluded.n);
- `try_lock` — take a transaction-long lock only one session can hold, without
  waiting (an advisory lock on PostgreSQL; SQLite's write lock already is one);
- `seconds_since` — "now minus a stored time" in seconds (julianday on SQLite,
  EXTRACT(EPOCH ...) on PostgreSQL);
- `greatest` — the larger of two values (SQLite's two-argument max());
- `indexed` — pin a SQLite query to a named index ("INDEXED BY"); a no-op on
  PostgreSQL, whose planner has statistics to choose well on its own;
- `month_starts` / `next_month` — the first day of each month from one date
  to another as rows (a recursive CTE of 'YYYY-MM-DD' texts on SQLite,
  generate_series of timestamps on PostgreSQL), and the start of the month
  after one of them;
- `is_sqlite` — for the few callers that pick a whole different plan per
  database (the review summary, for one).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import func, literal, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import DateTime, Interval

__all__ = ["greatest", "indexed", "insert_adding", "insert_ignore", "is_sqlite", "month_starts", "next_month",
           "seconds_since", "try_lock"]


def is_sqlite(session: Session) -> bool:
    """True when `session` talks to SQLite."""
    return session.get_bind().dialect.name == "sqlite"


def insert_ignore(session: Session, model: Any, conflict_columns: Iterable[str]):
    """An INSERT into `model` that skips rows clashing on `conflict_columns`.

    Returns the statement, so a caller may add `.returning(...)` and execute it
    with a list of rows (executemany) on either database.
    """
    ins = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)
    return ins.on_conflict_do_nothing(index_elements=list(conflict_columns))


def insert_adding(session: Session, model: Any, key_columns: Iterable[str], add_column: str, rows: Any):
    """INSERT INTO `model` the rows of the select `rows` (key columns, then the amount), adding the
    amount to `add_column` of a row whose key is already there."""
    cols = [*key_columns, add_column]
    ins = (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)
    ins = ins.from_select(cols, rows)
    return ins.on_conflict_do_update(index_elements=list(key_columns),
                                     set_={add_column: getattr(model, add_column) + getattr(ins.excluded, add_column)})


def try_lock(session: Session, key: int) -> bool:
    """Whether this transaction got the lock named `key` (held until it ends); never waits.

    On SQLite a write transaction (BEGIN IMMEDIATE) already excludes every other writer: True."""
    if is_sqlite(session):
        return True
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key}).scalar())


def seconds_since(session: Session, column: Any, now: datetime) -> ColumnElement:
    """SQL for `now - column` in seconds (a float; NULL when the column is)."""
    if is_sqlite(session):
        return (func.julianday(now) - func.julianday(column)) * 86400.0
    return func.extract("epoch", literal(now, type_=DateTime) - column)


def greatest(session: Session, a: Any, b: Any) -> ColumnElement:
    """SQL for the larger of `a` and `b` (SQLite has no GREATEST; its max() takes two)."""
    return func.max(a, b) if is_sqlite(session) else func.greatest(a, b)


def month_starts(session: Session, first: datetime, last: datetime) -> Any:
    """A selectable of one row per month from `first`'s to `last`'s, its column `start` the
    month's first day (a 'YYYY-MM-DD' text on SQLite, a timestamp on PostgreSQL: each compares
    with a capture time as that database stores it)."""
    lo, hi = datetime(first.year, first.month, 1), datetime(last.year, last.month, 1)
    if is_sqlite(session):
        span = select(literal(f"{lo:%Y-%m-%d}").label("start")).cte("months", recursive=True)
        return span.union_all(select(func.date(span.c.start, "+1 month")).where(span.c.start < literal(f"{hi:%Y-%m-%d}")))
    step = literal_column("interval '1 month'", type_=Interval)
    return select(func.generate_series(literal(lo, type_=DateTime), literal(hi, type_=DateTime), step)
                  .label("start")).subquery("months")


def next_month(session: Session, start: Any) -> ColumnElement:
    """SQL for the first day of the month after `start` (a `month_starts` row's)."""
    if is_sqlite(session):
        return func.date(start, "+1 month")
    return start + literal_column("interval '1 month'", type_=Interval)


# SQLite takes "INDEXED BY name" right after a table name, which is where
# SQLAlchemy renders table hints; its SQLite compiler just does not render
# them. Only statements that ask for a "sqlite" hint (those made by `indexed`)
# are affected. Without statistics SQLite breaks ties between indexes that
# give the same order arbitrarily (it even changes after a migration copies
# the table), and a narrow index may read the table row of every file it
# passes over: pinning the index keeps filtered pages and counts fast.
if not getattr(SQLiteCompiler, "_mediaparser_hints", False):
    SQLiteCompiler.get_from_hint_text = lambda self, table, text: text  # type: ignore[method-assign]
    SQLiteCompiler._mediaparser_hints = True  # type: ignore[attr-defined]

# (database URL, index name) -> whether that database has the index.
_present: dict[tuple[str, str], bool] = {}


def indexed(session: Session, stmt: Any, entity: Any, index: str) -> Any:
    """`stmt` told to read `entity` through `index` on SQLite — when the
    database has that index (an instance migrated by an earlier draft of a
    migration may not: slower then, not broken). Unchanged elsewhere."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return stmt
    key = (str(bind.url), index)
    if key not in _present:
        _present[key] = session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n"), {"n": index}).first() is not None
    return stmt.with_hint(entity, f"INDEXED BY {index}", "sqlite") if _present[key] else stmt
