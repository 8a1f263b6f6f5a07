"""The catalogue's counts: the review's state counts and month histogram from a small table.

Counting a million files per request takes 100-200 ms on either database;
adding up a few thousand pre-counted rows takes a few. `file_counts` holds
how many analysed files share each (month, review state, confidence, kind,
status) — store/models.py and migration 0012 say how triggers keep it
exact whichever code writes files: every change of a counted column appends
+1 / -1 rows to `file_count_changes` in the writer's own transaction.

This module owns

- `summary`: the same answer as `library.queries.summary`'s counting plans,
  read from file_counts plus the changes not folded yet (so it is exact at
  every moment), for the filters the table can answer (`answers`: review
  state, confidence, dates, kind, error; not camera, job, group, tag or
  Takeout place, each of which would multiply its rows);
- `fold` / `fold_all`: move the appended changes into file_counts in short
  write transactions (the worker does it every minute, the reader when many
  have piled up), so the read stays a small one.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

from sqlalchemy import func, select, union_all

from mediaparser.library.filters import Filter, review_state_of
from mediaparser.store.db import db, write_transaction
from mediaparser.store.dialect import insert_adding, try_lock
from mediaparser.store.models import FileCount, FileCountChange, FileStatus

KEY = ("month", "review_state", "confidence", "kind", "status")
FOLD_BATCH = 50_000  # changes per write transaction: well under a second on either database
READ_FOLD_AT = 20_000  # a summary folds first when more than this many changes wait
_FOLD_LOCK = 0x636F756E  # "coun": one folder at a time on PostgreSQL


# The Filter fields file_counts' key answers; any other filter set (camera, job, group, tag, Google
# Takeout place, and whatever filter comes next) makes the summary count the files instead.
ANSWERED = frozenset({"state", "confidence", "year", "month", "no_date", "kind", "error"})


def answers(flt: Filter) -> bool:
    """Whether the counts can answer a summary of `flt` (it filters by key columns only)."""
    return all(getattr(flt, f.name) == f.default for f in fields(Filter) if f.name not in ANSWERED)


def _waiting() -> int:
    """About how many changes wait to be folded (from the id range: two index look-ups)."""
    lo, hi = db.session.execute(select(func.min(FileCountChange.id), func.max(FileCountChange.id))).one()
    return 0 if lo is None else hi - lo + 1


def fold(batch: int = FOLD_BATCH) -> int:
    """Fold up to `batch` of the oldest changes into file_counts in one write transaction; how many."""
    c, k = FileCountChange, FileCount
    with write_transaction() as s:
        if not try_lock(s, _FOLD_LOCK):
            return 0  # another process is folding
        lo = s.execute(select(func.min(c.id))).scalar()
        if lo is None:
            return 0
        top = s.execute(select(func.max(c.id)).where(c.id < lo + batch)).scalar()
        keys = [getattr(c, name) for name in KEY]
        moved = select(*keys, func.sum(c.n)).where(c.id <= top).group_by(*keys)
        s.execute(insert_adding(s, k, KEY, "n", moved))
        done = s.execute(c.__table__.delete().where(c.id <= top)).rowcount
        s.execute(k.__table__.delete().where(k.n == 0))
    return done


def fold_all() -> int:
    """Fold every waiting change, a batch per transaction (other writers get the lock between them)."""
    total = 0
    while True:
        n = fold()
        total += n
        if n == 0:
            return total


def _confidence_ok(flt: Filter, conf: str) -> bool:
    if not flt.confidence:
        return True
    return conf in flt.confidence or ("none" in flt.confidence and conf in ("none", ""))


def _month_ok(flt: Filter, month: str) -> bool:
    if flt.no_date:
        return month == ""
    if flt.year is None:
        return True
    prefix = f"{flt.year:04d}-" + (f"{flt.month:02d}" if flt.month is not None else "")
    return month.startswith(prefix)


def summary(flt: Filter) -> dict[str, Any]:
    """Count of matching files, per review state, and files per month — from the counts.

    The same figures as library.queries.summary: the state counts ignore the
    state filter, the histogram and the files without a date ignore the dates.
    """
    if _waiting() > READ_FOLD_AT:  # no worker has folded for a while: one batch now, the rest is read as is
        db.session.commit()
        fold()
    c, k = FileCountChange, FileCount
    both = union_all(select(*[getattr(k, n) for n in KEY], k.n), select(*[getattr(c, n) for n in KEY], c.n)).subquery()
    conds = []
    if flt.kind == "other":
        conds.append(both.c.kind.in_(("other", "")))
    elif flt.kind:
        conds.append(both.c.kind == flt.kind)
    if flt.error is True:
        conds.append(both.c.status == FileStatus.FAILED)
    elif flt.error is False:
        conds.append(both.c.status == FileStatus.DONE)
    cell = (both.c.month, both.c.review_state, both.c.confidence)
    q = select(*cell, func.sum(both.c.n)).where(*conds).group_by(*cell)
    rows = db.session.execute(q).all()
    db.session.commit()

    states = {"needs_review": 0, "auto": 0, "reviewed": 0}
    per_month: dict[str, int] = {}
    no_date = 0
    for month, rs, conf, n in rows:
        n = int(n or 0)
        if not n or not _confidence_ok(flt, conf):
            continue
        state = review_state_of(rs or None, conf or None)
        if _month_ok(flt, month):
            states[state] += n
        if flt.state == "all" or flt.state == state:
            if month:
                per_month[month] = per_month.get(month, 0) + n
            else:
                no_date += n
    states_out = {"all": sum(states.values()), "needs_review": states["needs_review"],
                  "reviewed": states["reviewed"], "auto": states["auto"]}
    return {"count": states_out[flt.state], "states": states_out,
            "months": [{"month": m, "count": per_month[m]} for m in sorted(per_month) if per_month[m]],
            "no_date": no_date}

