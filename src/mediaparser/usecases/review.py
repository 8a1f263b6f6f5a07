"""Review of capture times: the grid's queries and a person's decisions.

This module owns

- `Filter`: the review grid's filters, parsed from query arguments into SQL
  conditions. Paging, counts, the month histogram, "next file that needs
  review" and bulk actions over "everything matching the filter" all use the
  same conditions, so what a person sees is what an action touches.
- keyset paging (`page`): the grid is ordered by (sort column, id) and a page
  continues after the last (value, id) seen, so page 500 costs what page 1
  costs. NULL values (files without a capture time) come after all others in
  both directions, as a second "phase" of the same ordering.
- decisions (`apply_action`, `undo`): confirm, clear, set a date, shift by an
  offset, pick a candidate. Each action is one `ReviewBatch` with one
  `ReviewDecision` per file holding the review fields before and after, so
  every change says who made it, when and what it replaced, and can be undone.
  Undo is itself a batch; it only reverts files still in the state the batch
  left them in, and says how many it had to leave alone.
- `interpret_date`: "type a date" — common spellings are rewritten to the
  project's one date parser (`media.timestamps.parse_date_string`), which
  decides precision, offset and validity.

"Needs review" is not a stored flag: a file needs review while no person has
decided on it and its confidence is low or none (or it has no analysis). HIGH
and MEDIUM files are "looks right" until someone says otherwise; a person can
still confirm or change them.
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, bindparam, case, func, literal, or_, select, text, tuple_, update
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from mediaparser.store.db import db, write_transaction
from mediaparser.media.timestamps import (MIN_YEAR, SOURCES, Candidate, DateParseError, ParsedDate, Precision, check_plausible, describe_delta, format_offset, parse_date_string, parse_offset, resolve_zone, source_info)
from mediaparser.media.tags import normalize as normalize_tag
from mediaparser.store.models import (FileStatus, FileTag, MediaFile, ReviewBatch, ReviewDecision, ReviewState, Tag, utcnow)
from mediaparser.usecases.tagging import tags_of

PAGE_DEFAULT = 100
PAGE_MAX = 200
MAX_BULK = 200_000  # files one action may touch (select-all over a huge filter)
CHUNK = 2000  # files per write transaction of a bulk action
MAX_SHIFT_SECONDS = 200 * 365 * 86400

CONFIDENCES = ("high", "medium", "low", "none")
STATES = ("needs_review", "reviewed", "auto", "all")
KINDS = ("image", "video", "other")
SORTS = ("time", "name", "size")
ACTIONS = ("confirm", "clear", "set_date", "shift", "pick")


class _Unindexed(ColumnElement):
    """A column the SQLite planner must not pick an index for (`+col`).

    Without ANALYZE statistics SQLite believes an equality on any indexed
    column (confidence, status, …) is very selective and walks that index,
    then sorts everything it found; for the grid the good plan is almost
    always to walk the ordering index (capture time, which also covers every
    filter column) and test the filters on the way. The unary plus is
    SQLite's documented way to say so; other databases see the bare column.
    """

    inherit_cache = True
    _traverse_internals = [("col", InternalTraversal.dp_clauseelement)]

    def __init__(self, col) -> None:
        self.col = col
        self.type = col.type

    @property
    def _from_objects(self):
        return self.col._from_objects


@compiles(_Unindexed)
def _unindexed_default(element, compiler, **kw):
    return compiler.process(element.col, **kw)


@compiles(_Unindexed, "sqlite")
def _unindexed_sqlite(element, compiler, **kw):
    return "+" + compiler.process(element.col, **kw)


def _u(col) -> _Unindexed:
    return _Unindexed(col.expression if hasattr(col, "expression") else col)


# SQLite takes "INDEXED BY name" right after a table name, which is where
# SQLAlchemy renders table hints; its SQLite compiler just does not render
# them. Only statements that ask for a "sqlite" hint (the ones below) are
# affected. Without statistics SQLite breaks ties between indexes that give
# the same order arbitrarily (it even changes after a migration copies the
# table), and the narrow (captured_at, id) index reads the table row of every
# file it passes over: pinning the index keeps filtered pages and counts fast.
if not getattr(SQLiteCompiler, "_mediaparser_hints", False):
    SQLiteCompiler.get_from_hint_text = lambda self, table, text: text  # type: ignore[method-assign]
    SQLiteCompiler._mediaparser_hints = True  # type: ignore[attr-defined]

GRID_INDEX = "ix_media_files_grid_time"
REVIEW_INDEX = "ix_media_files_review_time"


_present: dict[tuple[str, str], bool] = {}


def _indexed(stmt, index: str):
    """`stmt` told to use `index` on SQLite — when the database has it (an
    instance migrated by an earlier draft of 0003 may not: slower, not broken)."""
    bind = db.session.get_bind()
    if bind.dialect.name != "sqlite":
        return stmt
    key = (str(bind.url), index)
    if key not in _present:
        _present[key] = db.session.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n"), {"n": index}).first() is not None
    return stmt.with_hint(MediaFile, f"INDEXED BY {index}", "sqlite") if _present[key] else stmt


class ReviewError(ValueError):
    """A request the review service refuses; the message is for the person."""


# ----------------------------------------------------------------- filters --

def _flag(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "" or raw == "any":
        return None
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise ReviewError(f"{name} must be 1 or 0")


def _int(raw: str | None, name: str, lo: int, hi: int) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        v = int(raw)
    except ValueError:
        raise ReviewError(f"{name} must be a whole number") from None
    if not lo <= v <= hi:
        raise ReviewError(f"{name} must be between {lo} and {hi}")
    return v


@dataclass(frozen=True)
class Filter:
    state: str = "all"
    confidence: tuple[str, ...] = ()
    year: int | None = None
    month: int | None = None
    no_date: bool = False  # only files without a capture time
    kind: str | None = None
    error: bool | None = None
    group: bool | None = None
    job: int | None = None
    camera: str | None = None
    tag: str | None = None  # a tag name (services.tags), normalised like the stored ones

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "Filter":
        state = args.get("state") or "all"
        if state not in STATES:
            raise ReviewError(f"state must be one of {', '.join(STATES)}")
        conf_raw = args.get("confidence") or ""
        conf = tuple(c for c in (x.strip() for x in str(conf_raw).split(",")) if c)
        bad = [c for c in conf if c not in CONFIDENCES]
        if bad:
            raise ReviewError(f"confidence must be among {', '.join(CONFIDENCES)}")
        no_date = False
        year_raw = args.get("year")
        if year_raw == "none":
            no_date, year = True, None
        else:
            year = _int(year_raw, "year", 1, 9999)
        month = _int(args.get("month"), "month", 1, 12)
        if month is not None and year is None:
            raise ReviewError("month needs a year")
        kind = args.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise ReviewError(f"kind must be one of {', '.join(KINDS)}")
        camera = args.get("camera") or None
        if camera is not None and len(camera) > 128:
            raise ReviewError("camera is too long")
        tag = normalize_tag(args.get("tag") or "") or None
        if tag is not None and len(tag) > 200:
            raise ReviewError("tag is too long")
        return cls(state=state, confidence=tuple(sorted(set(conf), key=CONFIDENCES.index)), year=year,
                   month=month, no_date=no_date, kind=kind, error=_flag(args.get("error"), "error"),
                   group=_flag(args.get("group"), "group"), job=_int(args.get("job"), "job", 1, 2**62),
                   camera=camera, tag=tag)

    def to_args(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.state != "all":
            out["state"] = self.state
        if self.confidence:
            out["confidence"] = ",".join(self.confidence)
        if self.no_date:
            out["year"] = "none"
        elif self.year is not None:
            out["year"] = str(self.year)
            if self.month is not None:
                out["month"] = str(self.month)
        for name in ("kind", "camera", "tag"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        for name in ("error", "group"):
            v = getattr(self, name)
            if v is not None:
                out[name] = "1" if v else "0"
        if self.job is not None:
            out["job"] = str(self.job)
        return out

    def other_conditions(self) -> list[ColumnElement]:
        """The filters besides review state, confidence and dates (all read from the indexes)."""
        m = MediaFile
        conds: list[ColumnElement] = []
        if self.kind == "other":
            conds.append(or_(_u(m.kind) == "other", _u(m.kind).is_(None)))
        elif self.kind:
            conds.append(_u(m.kind) == self.kind)
        if self.error is True:
            conds.append(_u(m.status) == FileStatus.FAILED)
        elif self.error is False:
            conds.append(_u(m.status) == FileStatus.DONE)
        # A file is "in a group" when services.duplicates put it in an exact
        # (group_id) or a near-duplicate (similar_group_id) group.
        if self.group is True:
            conds.append(or_(_u(m.group_id).is_not(None), _u(m.similar_group_id).is_not(None)))
        elif self.group is False:
            conds.append(and_(_u(m.group_id).is_(None), _u(m.similar_group_id).is_(None)))
        if self.job is not None:
            conds.append(_u(m.job_id) == self.job)
        if self.camera:
            conds.append(_u(m.model) == self.camera)
        if self.tag:
            tag_id = select(Tag.id).where(Tag.name == self.tag).scalar_subquery()
            conds.append(select(FileTag.id).where(FileTag.file_id == m.id, FileTag.tag_id == tag_id).exists())
        return conds

    def conditions(self, *, with_state: bool = True, with_dates: bool = True) -> list[ColumnElement]:
        m = MediaFile
        conds: list[ColumnElement] = [_u(m.status) != FileStatus.PENDING]
        if with_state and self.state != "all":
            conds.append(state_clause(self.state))
        if self.confidence:
            named = [c for c in self.confidence if c != "none"]
            parts: list[ColumnElement] = []
            if named:
                parts.append(_u(m.confidence).in_(named))
            if "none" in self.confidence:
                parts.append(or_(_u(m.confidence) == "none", _u(m.confidence).is_(None)))
            conds.append(or_(*parts) if len(parts) > 1 else parts[0])
        if with_dates:
            if self.no_date:
                conds.append(m.captured_at.is_(None))
            elif self.year is not None:
                start, end = month_range(self.year, self.month)
                conds.extend([m.captured_at >= start, m.captured_at < end])
        conds.extend(self.other_conditions())
        return conds


def month_range(year: int, month: int | None) -> tuple[datetime, datetime]:
    if month is None:
        return datetime(year, 1, 1), datetime(year + 1, 1, 1) if year < 9999 else datetime(9999, 12, 31, 23, 59, 59)
    end = datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1)
    return datetime(year, month, 1), end


def needs_review_clause() -> ColumnElement:
    m = MediaFile
    return and_(_u(m.review_state).is_(None),
                or_(_u(m.confidence).in_(("low", "none")), _u(m.confidence).is_(None)))


def state_clause(state: str) -> ColumnElement:
    m = MediaFile
    if state == "needs_review":
        return needs_review_clause()
    if state == "reviewed":
        return _u(m.review_state) == ReviewState.REVIEWED
    if state == "auto":
        return and_(_u(m.review_state).is_(None), _u(m.confidence).in_(("high", "medium")))
    raise ReviewError(f"unknown state {state!r}")


def review_state_of(review_state: str | None, confidence: str | None) -> str:
    if review_state == ReviewState.REVIEWED:
        return "reviewed"
    return "auto" if confidence in ("high", "medium") else "needs_review"


# ------------------------------------------------------------------ paging --

_GRID_COLUMNS = (
    MediaFile.id, MediaFile.job_id, MediaFile.rel_path, MediaFile.size, MediaFile.status, MediaFile.error,
    MediaFile.kind, MediaFile.captured_at, MediaFile.utc_offset, MediaFile.precision, MediaFile.confidence,
    MediaFile.review_state, MediaFile.thumbnail, MediaFile.width, MediaFile.height, MediaFile.duration,
    MediaFile.model, MediaFile.group_id, MediaFile.similar_group_id,
)
_SORT_COLUMNS = {"time": MediaFile.captured_at, "name": MediaFile.rel_path, "size": MediaFile.size}


@dataclass(frozen=True)
class Order:
    sort: str = "time"
    desc: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "Order":
        sort = args.get("sort") or "time"
        if sort not in SORTS:
            raise ReviewError(f"sort must be one of {', '.join(SORTS)}")
        order = args.get("order") or "asc"
        if order not in ("asc", "desc"):
            raise ReviewError("order must be asc or desc")
        return cls(sort, order == "desc")

    @property
    def column(self):
        return _SORT_COLUMNS[self.sort]

    @property
    def nullable(self) -> bool:
        return self.sort != "name"


@dataclass(frozen=True)
class Cursor:
    """Position after a row: phase 0 = rows with a sort value, 1 = rows without."""

    phase: int
    value: Any
    id: int

    def encode(self) -> str:
        v = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([self.phase, v, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, order: Order) -> "Cursor":
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            phase, value, ident = json.loads(raw)
            if phase not in (0, 1) or not isinstance(ident, int) or isinstance(ident, bool):
                raise ValueError
            if phase == 0:
                if order.sort == "time":
                    value = datetime.fromisoformat(value)
                elif order.sort == "size":
                    if not isinstance(value, int) or isinstance(value, bool):
                        raise ValueError
                elif not isinstance(value, str):
                    raise ValueError
            else:
                value = None
        except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
            raise ReviewError("the page cursor is not valid; start again from the first page") from None
        return cls(phase, value, ident)


def _after(order: Order, cursor: Cursor | None, phase: int) -> list[ColumnElement]:
    """Conditions for rows after `cursor` within one phase."""
    col, ident = order.column, MediaFile.id
    if phase == 0:
        conds: list[ColumnElement] = [col.is_not(None)] if order.nullable else []
        if cursor is not None:
            key = tuple_(col, ident)
            bound = tuple_(bindparam(None, cursor.value, type_=col.type), bindparam(None, cursor.id))
            conds.append(key < bound if order.desc else key > bound)
        return conds
    conds = [col.is_(None)]
    if cursor is not None and cursor.phase == 1:
        conds.append(ident < cursor.id if order.desc else ident > cursor.id)
    return conds


def _ordering(order: Order, phase: int) -> list:
    col, ident = order.column, MediaFile.id
    if phase == 0:
        return [col.desc(), ident.desc()] if order.desc else [col.asc(), ident.asc()]
    return [ident.desc()] if order.desc else [ident.asc()]


def _ordered_rows(flt: Filter, order: Order, cursor: Cursor | None, limit: int, columns=_GRID_COLUMNS):
    """Up to `limit` rows after `cursor` in grid order."""
    conds = flt.conditions()
    rows: list = []
    phases = (0, 1) if order.nullable else (0,)
    for phase in phases:
        if cursor is not None and cursor.phase > phase:
            continue
        need = limit - len(rows)
        if need <= 0:
            break
        q = (select(*columns).where(*conds, *_after(order, cursor if cursor and cursor.phase == phase else None, phase))
             .order_by(*_ordering(order, phase)).limit(need))
        if order.sort == "time":
            q = _indexed(q, GRID_INDEX)
        rows.extend(db.session.execute(q).all())
    return rows


def _cursor_of(row, order: Order) -> Cursor:
    value = getattr(row, order.column.key)
    return Cursor(0 if value is not None else 1, value, row.id)


def page(flt: Filter, order: Order, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """One page of the grid and the cursor of the next (None at the end)."""
    limit = max(1, min(PAGE_DEFAULT if limit is None else limit, PAGE_MAX))
    cur = Cursor.decode(cursor, order) if cursor else None
    rows = _ordered_rows(flt, order, cur, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    db.session.commit()  # end the read snapshot at once (WAL checkpoints)
    files = [grid_item(r) for r in rows]
    tags = tags_of(r.id for r in rows)  # one query for the whole page
    for item in files:
        item["tags"] = [t["name"] for t in tags[item["id"]]]
    return {
        "files": files,
        "next_cursor": _cursor_of(rows[-1], order).encode() if more and rows else None,
        "limit": limit,
    }


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat(timespec="seconds") if dt else None


def _split(rel_path: str) -> tuple[str, str]:
    folder, _, name = rel_path.replace("\\", "/").rpartition("/")
    return folder, name


def grid_item(r) -> dict[str, Any]:
    folder, name = _split(r.rel_path)
    return {
        "id": r.id,
        "job_id": r.job_id,
        "name": name,
        "folder": folder,
        "size": r.size,
        "kind": r.kind,
        "status": r.status,
        "error": (r.error[:200] if r.error else None),
        "captured_at": _iso(r.captured_at),
        "utc_offset": format_offset(r.utc_offset),
        "precision": r.precision,
        "confidence": r.confidence or "none",
        "review": review_state_of(r.review_state, r.confidence),
        "thumb": bool(r.thumbnail),
        "width": r.width,
        "height": r.height,
        "duration": r.duration,
        "camera": r.model,
        "group_id": r.group_id,
        "similar_group_id": r.similar_group_id,
    }


# ----------------------------------------------------------------- summary --

def _state_counts(total: int, needs: int, reviewed: int) -> dict[str, int]:
    return {"all": total, "needs_review": needs, "reviewed": reviewed, "auto": total - needs - reviewed}


def summary(flt: Filter) -> dict[str, Any]:
    """Count of matching files, per review state, and files per month.

    The state counts ignore the state filter and the histogram ignores the
    year/month filter, so the page can show what clicking them would give.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        out = _summary_sqlite(flt)
    else:
        out = _summary_grouped(flt)
    db.session.commit()
    return out


# Every analysed file sits in exactly one (review_state, confidence) cell; a
# state is a set of cells. Counting a cell is a seek on ix_media_files_review_time
# plus a range of capture times: SQLite steps through index entries without
# evaluating an expression per row, several times cheaper than a CASE per row.
# The importer writes confidence and capture time together with the final
# status, so a file that has either is analysed (not PENDING); only the
# no-confidence cell needs the status test.
_CONFIDENCES_OR_NONE: tuple[str | None, ...] = ("high", "medium", "low", "none", None)
_STATE_CELLS: dict[str, list[tuple[str | None, tuple[str | None, ...]]]] = {
    "needs_review": [(None, ("low", "none")), (None, (None,))],
    "auto": [(None, ("high", "medium"))],
    "reviewed": [(ReviewState.REVIEWED, ("high", "medium", "low", "none")), (ReviewState.REVIEWED, (None,))],
}


def _cells(state: str, flt: Filter) -> list[tuple[str | None, tuple[str | None, ...]]]:
    wanted: set[str | None] = set(_CONFIDENCES_OR_NONE)
    if flt.confidence:
        wanted = {c for c in flt.confidence} | ({None} if "none" in flt.confidence else set())
    states = ("needs_review", "auto", "reviewed") if state == "all" else (state,)
    out = []
    for st in states:
        for rs, confs in _STATE_CELLS[st]:
            kept = tuple(c for c in confs if c in wanted)
            if kept:
                out.append((rs, kept))
    return out


def _cell_count(rs: str | None, confs: tuple[str | None, ...], other: list, dates: list):
    m = MediaFile
    conds: list[ColumnElement] = [m.review_state.is_(None) if rs is None else m.review_state == rs]
    if confs == (None,):
        conds += [m.confidence.is_(None), _u(m.status) != FileStatus.PENDING]  # not analysed yet: not in the grid
    else:
        conds.append(m.confidence.in_(confs))
    return _indexed(select(func.count()).where(*conds, *other, *dates), REVIEW_INDEX).scalar_subquery()


def _summary_sqlite(flt: Filter) -> dict[str, Any]:
    m = MediaFile
    s = db.session
    other = flt.other_conditions()
    if flt.no_date:
        dates: list[ColumnElement] = [m.captured_at.is_(None)]
    elif flt.year is not None:
        lo, hi = month_range(flt.year, flt.month)
        dates = [m.captured_at >= lo, m.captured_at < hi]
    else:
        dates = []
    states = {}
    for st in ("needs_review", "auto", "reviewed"):
        cells = _cells(st, flt)
        states[st] = sum(s.execute(select(*[_cell_count(rs, c, other, dates) for rs, c in cells])).one()) \
            if cells else 0
    states["all"] = states["needs_review"] + states["auto"] + states["reviewed"]
    cells = _cells(flt.state, flt)
    months: list[dict[str, Any]] = []
    no_date = 0
    if cells:
        first = s.execute(select(func.min(m.captured_at))).scalar()
        last = s.execute(select(func.max(m.captured_at))).scalar()
        if first is not None:
            span = select(literal(f"{first.year:04d}-{first.month:02d}-01").label("start")).cte("months", recursive=True)
            span = span.union_all(select(func.date(span.c.start, "+1 month"))
                                  .where(span.c.start < literal(f"{last.year:04d}-{last.month:02d}-01")))
            in_month = [m.captured_at >= span.c.start, m.captured_at < func.date(span.c.start, "+1 month")]
            if flt.state == "all" and not flt.confidence:
                # Every dated file: one range of the capture-time index per month.
                total = _indexed(select(func.count()).where(*in_month, *other), GRID_INDEX).scalar_subquery()
            else:
                total = sum((_cell_count(rs, c, other, in_month) for rs, c in cells[1:]),
                            _cell_count(*cells[0], other, in_month))
            months = [{"month": start[:7], "count": n}
                      for start, n in s.execute(select(span.c.start, total)).all() if n]
        no_date = sum(s.execute(select(*[_cell_count(rs, c, other, [m.captured_at.is_(None)])
                                         for rs, c in cells])).one())
    return {"count": states[flt.state], "states": states, "months": months, "no_date": no_date}


def _summary_grouped(flt: Filter) -> dict[str, Any]:
    """The same figures from one GROUP BY pass (PostgreSQL's hash aggregate is quick at it)."""
    m = MediaFile
    s = db.session
    base = flt.conditions(with_state=False, with_dates=False)
    needs = case((needs_review_clause(), 1), else_=0)
    reviewed = case((_u(m.review_state) == ReviewState.REVIEWED, 1), else_=0)
    month = func.to_char(m.captured_at, "YYYY-MM").label("month")
    q = (select(month, func.count(), func.sum(needs), func.sum(reviewed))
         .where(*base, m.captured_at.is_not(None)).group_by(month).order_by(month))
    per_month = [(mo, n, nr or 0, rv or 0) for mo, n, nr, rv in s.execute(q).all()]
    nd = s.execute(select(func.count(), func.coalesce(func.sum(needs), 0), func.coalesce(func.sum(reviewed), 0))
                   .where(*base, m.captured_at.is_(None))).one()
    no_date = _state_counts(*(int(x) for x in nd))
    if flt.no_date:
        in_range = [no_date["all"], no_date["needs_review"], no_date["reviewed"]]
    else:
        prefix = None
        if flt.year is not None:
            prefix = f"{flt.year:04d}-" + (f"{flt.month:02d}" if flt.month is not None else "")
        in_range = [0, 0, 0]
        for mo, n, nr, rv in per_month:
            if prefix is None or mo.startswith(prefix):
                in_range[0] += n
                in_range[1] += nr
                in_range[2] += rv
        if prefix is None:
            in_range = [in_range[0] + no_date["all"], in_range[1] + no_date["needs_review"],
                        in_range[2] + no_date["reviewed"]]
    states = _state_counts(*in_range)
    months = []
    for mo, n, nr, rv in per_month:
        c = _state_counts(n, nr, rv)[flt.state]
        if c:
            months.append({"month": mo, "count": c})
    return {"count": states[flt.state], "states": states, "months": months, "no_date": no_date[flt.state]}


def cameras(flt: Filter, limit: int = 100) -> list[dict[str, Any]]:
    m = MediaFile
    q = (select(m.model, func.count()).where(*flt.conditions(), m.model.is_not(None))
         .group_by(m.model).order_by(func.count().desc()).limit(limit))
    out = [{"camera": cam, "count": n} for cam, n in db.session.execute(q).all()]
    db.session.commit()
    return out


# --------------------------------------------------------------- one file --

def file_detail(file_id: int, default_zone: str = "UTC") -> dict[str, Any] | None:
    f = db.session.get(MediaFile, file_id, populate_existing=True)
    if f is None or f.status == FileStatus.PENDING:
        db.session.commit()
        return None
    folder, name = _split(f.rel_path)
    cands = []
    for i, c in enumerate(f.candidates or []):
        info = source_info(c.get("source", ""))
        local, note = _candidate_local(c, f.utc_offset, default_zone)
        cands.append({
            "index": i, "source": c.get("source"), "label": info.label, "value": c.get("value"),
            "utc_offset": c.get("utc_offset"), "precision": c.get("precision"), "basis": c.get("basis"),
            "accepted": bool(c.get("accepted")), "reason": c.get("reason"), "raw": c.get("raw"),
            "local": _iso(local), "local_note": note,
            "chosen": bool(f.time_source == c.get("source") and local is not None and local == f.captured_at),
        })
    history = db.session.execute(
        select(ReviewDecision.before, ReviewDecision.after, ReviewBatch)
        .join(ReviewBatch, ReviewBatch.id == ReviewDecision.batch_id)
        .where(ReviewDecision.file_id == file_id).order_by(ReviewDecision.id.desc()).limit(20)
    ).all()
    out = {
        "id": f.id, "job_id": f.job_id, "name": name, "folder": folder, "rel_path": f.rel_path,
        "size": f.size, "status": f.status, "error": f.error, "kind": f.kind, "type": f.file_type, "mime": f.mime,
        "extension": f.extension, "width": f.width, "height": f.height, "duration": f.duration,
        "make": f.make, "camera": f.model, "captured_at": _iso(f.captured_at),
        "utc_offset": format_offset(f.utc_offset), "offset_assumed": bool(f.offset_assumed),
        "precision": f.precision, "time_source": f.time_source,
        "time_source_label": _source_words(f.time_source),
        "confidence": f.confidence or "none", "review": review_state_of(f.review_state, f.confidence),
        "reviewed_at": _iso(f.reviewed_at), "review_note": f.review_note,
        "reasons": list(f.reasons or []), "warnings": list(f.warnings or []), "sidecars": list(f.sidecars or []),
        "candidates": cands, "thumb": bool(f.thumbnail), "group_id": f.group_id,
        "similar_group_id": f.similar_group_id,
        "history": [_history_item(b, before, after) for before, after, b in history],
    }
    db.session.commit()
    return out


def _source_words(source: str | None) -> str | None:
    if source is None:
        return None
    if source == "person":
        return "typed by a person"
    return source_info(source).label if source in SOURCES else source


def _history_item(b: ReviewBatch, before: dict, after: dict) -> dict[str, Any]:
    return {"batch_id": b.id, "action": b.action, "actor": b.actor, "at": _iso(b.created_at) + "Z",
            "summary": b.summary, "before": before, "after": after, "undone": b.undone_at is not None}


def _candidate_local(c: Mapping[str, Any], file_offset: int | None, zone: str) -> tuple[datetime | None, str | None]:
    """The local wall-clock time a candidate stands for, and the offset used."""
    if not c.get("value"):
        return None, None
    value = datetime.fromisoformat(c["value"])
    offset = parse_offset(c.get("utc_offset"))
    if c.get("basis") != "utc":
        return value, None
    if offset is None and file_offset is not None:
        offset, note = file_offset, f"UTC value shown with this file's offset {format_offset(file_offset)}"
    elif offset is None:
        tz = resolve_zone(zone)
        from datetime import timezone as _tz
        off = value.replace(tzinfo=_tz.utc).astimezone(tz).utcoffset() or timedelta(0)
        offset = int(off.total_seconds() // 60)
        note = f"UTC value shown in the default time zone {zone} ({format_offset(offset)})"
    else:
        note = f"UTC value shown with offset {format_offset(offset)}"
    return value + timedelta(minutes=offset), note


def neighbours(file_id: int, flt: Filter, order: Order) -> dict[str, Any]:
    """Previous and next file in grid order, and the next one needing review.

    The next needing review wraps around to the start of the view, so Enter
    keeps going until the view has nothing left to look at.
    """
    cols = (MediaFile.id, MediaFile.captured_at, MediaFile.rel_path, MediaFile.size)
    row = db.session.execute(select(*cols).where(MediaFile.id == file_id)).one_or_none()
    if row is None:
        db.session.commit()
        raise LookupError(f"file {file_id} does not exist")
    here = _cursor_of(row, order)
    nxt = _ordered_rows(flt, order, here, 1, cols)
    prev = _previous(flt, order, here, cols)
    needing = replace(flt, state="needs_review")
    nr = _ordered_rows(needing, order, here, 1, cols)
    if not nr:
        nr = [r for r in _ordered_rows(needing, order, None, 2, cols) if r.id != file_id][:1]
    db.session.commit()
    return {"previous": prev[0].id if prev else None, "next": nxt[0].id if nxt else None,
            "next_needing_review": nr[0].id if nr else None}


def _previous(flt: Filter, order: Order, here: Cursor, cols) -> list:
    """The row just before `here` in grid order (rows without a value come last)."""
    conds = flt.conditions()
    rev = replace(order, desc=not order.desc)
    pin = (lambda q: _indexed(q, GRID_INDEX)) if order.sort == "time" else (lambda q: q)
    if here.phase == 1:
        ident = MediaFile.id
        q = (select(*cols).where(*conds, order.column.is_(None), ident > here.id if order.desc else ident < here.id)
             .order_by(ident.asc() if order.desc else ident.desc()).limit(1))
        rows = db.session.execute(pin(q)).all()
        if rows:
            return rows
        here = None  # the last row that has a value
    q = select(*cols).where(*conds, *_after(rev, here, 0)).order_by(*_ordering(rev, 0)).limit(1)
    return db.session.execute(pin(q)).all()


# --------------------------------------------------------------- decisions --

_REVIEW_FIELDS = ("captured_at", "utc_offset", "offset_assumed", "precision", "time_source",
                  "review_state", "reviewed_at", "review_note")


def _snapshot(row) -> dict[str, Any]:
    out = {}
    for name in _REVIEW_FIELDS:
        v = getattr(row, name)
        out[name] = v.isoformat() if isinstance(v, datetime) else v
    return out


def _unsnapshot(snap: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name in _REVIEW_FIELDS:
        v = snap.get(name)
        if name in ("captured_at", "reviewed_at") and v is not None:
            v = datetime.fromisoformat(v)
        out[name] = v
    return out


@dataclass
class Target:
    """The files an action is about: explicit ids, or everything matching a filter minus exceptions."""

    ids: list[int] = field(default_factory=list)
    filter: Filter | None = None
    exclude: frozenset[int] = frozenset()

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> "Target":
        sel = body.get("selection")
        if isinstance(sel, Mapping) and sel.get("all_matching"):
            args = sel.get("filter") or {}
            if not isinstance(args, Mapping):
                raise ReviewError("selection.filter must be an object of grid filters")
            exclude = sel.get("except") or []
            if not isinstance(exclude, list) or not all(isinstance(i, int) for i in exclude):
                raise ReviewError("selection.except must be a list of file ids")
            return cls(filter=Filter.from_args({k: str(v) for k, v in args.items() if v is not None}),
                       exclude=frozenset(exclude))
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise ReviewError("say which files: \"ids\": [1, 2, …] or \"selection\": {\"all_matching\": true, …}")
        if len(ids) > MAX_BULK:
            raise ReviewError(f"at most {MAX_BULK:,} files at once")
        return cls(ids=list(dict.fromkeys(ids)))

    def resolve(self) -> list[int]:
        if self.filter is None:
            return self.ids
        q = select(MediaFile.id).where(*self.filter.conditions()).order_by(MediaFile.id).limit(MAX_BULK + 1)
        ids = [i for (i,) in db.session.execute(q).all() if i not in self.exclude]
        db.session.commit()
        if len(ids) > MAX_BULK:
            raise ReviewError(f"the filter matches more than {MAX_BULK:,} files; narrow it down first")
        return ids


@dataclass
class ActionResult:
    batch_id: int | None
    changed: int
    skipped: int
    summary: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "changed": self.changed, "skipped": self.skipped,
                "summary": self.summary, "notes": self.notes}


@dataclass
class Actor:
    name: str
    remote_addr: str | None = None


def _fmt_local(dt: datetime, precision: str | None = "second") -> str:
    if precision == "day":
        return dt.strftime("%Y-%m-%d")
    if precision == "month":
        return dt.strftime("%Y-%m")
    if precision == "minute":
        return dt.strftime("%Y-%m-%d %H:%M")
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def shift_words(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "−"
    return f"{sign}{describe_delta(seconds)}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def apply_action(action: str, target: Target, params: Mapping[str, Any], actor: Actor,
                 default_zone: str = "UTC") -> ActionResult:
    """Run one person's action over the target files; see the module docstring."""
    if action not in ACTIONS:
        raise ReviewError(f"action must be one of {', '.join(ACTIONS)}")
    now = utcnow()
    compute, summary, notes = _planner(action, params, now, default_zone, target)
    ids = target.resolve()
    if not ids:
        raise ReviewError("no files are selected")
    batch_id: int | None = None
    changed = skipped = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        with write_transaction() as s:
            # Read inside the write transaction: nobody changes these rows
            # between what we saw and what we write.
            rows = s.execute(select(MediaFile).where(MediaFile.id.in_(chunk), MediaFile.status != FileStatus.PENDING)
                             .execution_options(populate_existing=True)).scalars().all()
            updates, decisions = [], []
            for row in rows:
                new = compute(row)
                before = _snapshot(row)
                if new is None:
                    skipped += 1
                    continue
                after = dict(before)
                after.update({k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in new.items()})
                if after == before:
                    skipped += 1
                    continue
                updates.append({"_id": row.id, **_unsnapshot(after)})
                decisions.append({"file_id": row.id, "before": before, "after": after})
            skipped += len(chunk) - len(rows)
            if not updates:
                continue
            if batch_id is None:
                batch = ReviewBatch(action=action, actor=actor.name[:128], remote_addr=actor.remote_addr,
                                    created_at=now, summary=summary, file_count=0)
                s.add(batch)
                s.flush()
                batch_id = batch.id
            _write(s, updates, decisions, batch_id)
            changed += len(updates)
    if batch_id is not None:
        with write_transaction() as s:
            s.execute(update(ReviewBatch).where(ReviewBatch.id == batch_id).values(file_count=changed))
    if skipped and action == "shift":
        notes.append(f"{_plural(skipped, 'file')} without a capture time or unchanged were left as they were.")
    elif skipped and action == "confirm":
        notes.append(f"{_plural(skipped, 'file')} had already been reviewed.")
    elif skipped:
        notes.append(f"{_plural(skipped, 'file')} did not change.")
    return ActionResult(batch_id, changed, skipped, summary, notes)


_UPDATE = (update(MediaFile.__table__).where(MediaFile.__table__.c.id == bindparam("_id"))
           .values({c: bindparam(c) for c in _REVIEW_FIELDS}))


def _write(s, updates: list[dict], decisions: list[dict], batch_id: int) -> None:
    s.connection().execute(_UPDATE, updates)
    s.execute(ReviewDecision.__table__.insert(), [{"batch_id": batch_id, **d} for d in decisions])


def _planner(action: str, params: Mapping[str, Any], now: datetime, zone: str, target: Target):
    """(per-row function returning the new review fields or None to skip, summary, notes)."""
    reviewed = {"review_state": ReviewState.REVIEWED, "reviewed_at": now}
    notes: list[str] = []
    if action == "confirm":
        def confirm(row):
            return None if row.review_state == ReviewState.REVIEWED else dict(reviewed)
        return confirm, "Confirmed the capture time", notes
    if action == "clear":
        def clear(row):
            return None if row.review_state is None else {"review_state": None, "reviewed_at": None}
        return clear, "Marked as not reviewed", notes
    if action == "set_date":
        text = params.get("value")
        if not isinstance(text, str):
            raise ReviewError("value must be the date and time as text, e.g. 2019-08-12 14:30")
        interp = interpret_date(text)
        p = interp.parsed
        words = _fmt_local(p.value, p.precision.value)
        if p.utc_offset is not None:
            words += f" {format_offset(p.utc_offset)}"

        def set_date(row):
            new = dict(reviewed, captured_at=p.value, precision=p.precision.value, time_source="person",
                       review_note=f"Date set by hand to {words}")
            if p.utc_offset is not None:
                new.update(utc_offset=p.utc_offset, offset_assumed=False)
            return new
        return set_date, f"Set the date to {words}", interp.notes
    if action == "shift":
        secs = params.get("seconds")
        if not isinstance(secs, int) or isinstance(secs, bool) or secs == 0 or abs(secs) > MAX_SHIFT_SECONDS:
            raise ReviewError("seconds must be a whole, non-zero number of seconds (negative moves earlier)")
        words = shift_words(secs)

        def shift(row):
            if row.captured_at is None:
                return None
            moved = row.captured_at + timedelta(seconds=secs)
            if moved.year < MIN_YEAR or moved.year > now.year + 1:
                return None
            note = f"Shifted by {words} (was {_fmt_local(row.captured_at, row.precision)})"
            return dict(reviewed, captured_at=moved, review_note=note)
        return shift, f"Shifted the time by {words}", notes
    # pick
    if target.filter is not None or len(target.ids) != 1:
        raise ReviewError("pick a candidate for one file at a time")
    index = params.get("candidate")
    if not isinstance(index, int) or isinstance(index, bool):
        raise ReviewError("candidate must be the index of one of the file's candidates")

    def pick(row):
        cands = row.candidates or []
        if not 0 <= index < len(cands):
            raise ReviewError("that candidate does not exist for this file")
        c = cands[index]
        local, _note = _candidate_local(c, row.utc_offset, zone)
        if local is None:
            raise ReviewError("that candidate has no usable date")
        offset = parse_offset(c.get("utc_offset"))
        assumed = False
        if c.get("basis") == "utc" and offset is None:
            offset = row.utc_offset if row.utc_offset is not None else int(((local - datetime.fromisoformat(c["value"])).total_seconds()) // 60)
            assumed = row.utc_offset is None or bool(row.offset_assumed)
        label = source_info(c.get("source", "")).label
        return dict(reviewed, captured_at=local, utc_offset=offset, offset_assumed=assumed,
                    precision=c.get("precision") or "second", time_source=c.get("source"),
                    review_note=f"Picked {label}: {_fmt_local(local, c.get('precision'))}")
    return pick, "Picked a capture-time candidate", notes


# -------------------------------------------------------------------- undo --

def undo(batch_id: int, actor: Actor) -> ActionResult:
    """Revert a batch for the files still in the state it left them in."""
    batch = db.session.get(ReviewBatch, batch_id, populate_existing=True)
    db.session.commit()
    if batch is None:
        raise LookupError(f"change {batch_id} does not exist")
    if batch.undone_at is not None:
        raise ReviewError("this change has already been undone")
    now = utcnow()
    undo_id: int | None = None
    changed = skipped = 0
    last = 0
    summary = f"Undid: {batch.summary}"
    while True:
        with write_transaction() as s:
            decisions = s.execute(select(ReviewDecision.id, ReviewDecision.file_id, ReviewDecision.before,
                                         ReviewDecision.after)
                                  .where(ReviewDecision.batch_id == batch_id, ReviewDecision.id > last)
                                  .order_by(ReviewDecision.id).limit(CHUNK)).all()
            if not decisions:
                if undo_id is None:
                    b = ReviewBatch(action="undo", actor=actor.name[:128], remote_addr=actor.remote_addr,
                                    created_at=now, summary=summary, file_count=0, undoes=batch_id)
                    s.add(b)
                    s.flush()
                    undo_id = b.id
                s.execute(update(ReviewBatch).where(ReviewBatch.id == batch_id)
                          .values(undone_at=now, undone_by=undo_id))
                s.execute(update(ReviewBatch).where(ReviewBatch.id == undo_id).values(file_count=changed))
                break
            last = decisions[-1].id
            rows = {r.id: r for r in s.execute(select(MediaFile).where(
                MediaFile.id.in_([d.file_id for d in decisions])).execution_options(populate_existing=True)).scalars()}
            updates, new_decisions = [], []
            for d in decisions:
                row = rows.get(d.file_id)
                if row is None:
                    skipped += 1
                    continue
                current = _snapshot(row)
                if current != d.after:
                    skipped += 1  # changed again since: leave the later decision alone
                    continue
                updates.append({"_id": row.id, **_unsnapshot(d.before)})
                new_decisions.append({"file_id": row.id, "before": current, "after": dict(d.before)})
            if updates:
                if undo_id is None:
                    b = ReviewBatch(action="undo", actor=actor.name[:128], remote_addr=actor.remote_addr,
                                    created_at=now, summary=summary, file_count=0, undoes=batch_id)
                    s.add(b)
                    s.flush()
                    undo_id = b.id
                _write(s, updates, new_decisions, undo_id)
                changed += len(updates)
    notes = []
    if skipped:
        notes.append(f"{_plural(skipped, 'file')} were changed again afterwards and kept their later decision.")
    return ActionResult(undo_id, changed, skipped, summary, notes)


def batches(*, before: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    limit = max(1, min(limit, PAGE_MAX))
    q = select(ReviewBatch).order_by(ReviewBatch.id.desc()).limit(limit)
    if before is not None:
        q = q.where(ReviewBatch.id < before)
    out = [{"id": b.id, "action": b.action, "actor": b.actor, "remote_addr": b.remote_addr,
            "at": _iso(b.created_at) + "Z", "summary": b.summary, "file_count": b.file_count,
            "undone_at": _iso(b.undone_at) + "Z" if b.undone_at else None, "undone_by": b.undone_by,
            "undoes": b.undoes} for b in db.session.execute(q).scalars()]
    db.session.commit()
    return out


def batch_files(batch_id: int, limit: int = 12) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(ReviewDecision.file_id, MediaFile.rel_path, ReviewDecision.before, ReviewDecision.after)
        .join(MediaFile, MediaFile.id == ReviewDecision.file_id)
        .where(ReviewDecision.batch_id == batch_id).order_by(ReviewDecision.id).limit(limit)).all()
    db.session.commit()
    return [{"file_id": r.file_id, "path": r.rel_path, "before": r.before.get("captured_at"),
             "after": r.after.get("captured_at")} for r in rows]


# ------------------------------------------------------------ typed dates --

@dataclass
class Interpretation:
    parsed: ParsedDate
    text: str  # what we understood, in words
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.parsed.value.isoformat(timespec="seconds"),
                "utc_offset": format_offset(self.parsed.utc_offset), "precision": self.parsed.precision.value,
                "text": self.text, "notes": self.notes}


_MONTH_NAMES = {name: i for i, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")], 1) for name in names}
_TIME = r"(?:[ ,T]+(?:at\s+)?(?P<h>\d{1,2})(?:[:.](?P<mi>\d{2})(?:[:.](?P<s>\d{2}))?)?\s*(?P<ampm>[ap]\.?m\.?)?)?"
_TZ = r"(?:\s*(?P<tz>Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?))?"
_DMY = re.compile(r"^(?P<d>\d{1,2})[./-](?P<mo>\d{1,2})[./-](?P<y>\d{4})" + _TIME + _TZ + "$", re.I)
_D_MON_Y = re.compile(r"^(?:[a-z]+,?\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?P<mon>[a-z]+)\.?,?\s+(?P<y>\d{4})"
                      + _TIME + _TZ + "$", re.I)
_MON_D_Y = re.compile(r"^(?:[a-z]+,?\s+)?(?P<mon>[a-z]+)\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"
                      + _TIME + _TZ + "$", re.I)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?:[ _T-]?(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?)?"
                      + _TZ + "$", re.I)
_ISO_12H = re.compile(r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})" + _TIME + _TZ + "$", re.I)


def _to_iso(m: re.Match, month: int) -> str:
    g = m.groupdict()
    text = f"{int(g['y']):04d}-{month:02d}-{int(g['d']):02d}"
    if g.get("h") is not None:
        h = int(g["h"])
        ampm = (g.get("ampm") or "").lower().replace(".", "")
        if ampm:
            if not 1 <= h <= 12:
                raise DateParseError("with am/pm the hour must be 1 to 12")
            h = (h % 12) + (12 if ampm == "pm" else 0)
        text += f" {h:02d}:{int(g.get('mi') or 0):02d}"
        if g.get("s") is not None:
            text += f":{int(g['s']):02d}"
    if g.get("tz"):
        text += g["tz"] if g["tz"][0] in "+-" else "Z"
    return text


def interpret_date(text: str) -> Interpretation:
    """Understand a date/time a person typed; raises ReviewError saying why not.

    Accepts what `parse_date_string` accepts (2019-08-12 14:30, 2019:08:12
    14:30:25, 2019-08-12T14:30+02:00, 2019-08-12, 2019-08) and also
    12.08.2019 14:30, 12/08/2019 (day first), 12 Aug 2019 2:30 pm,
    August 12, 2019 14:30, 20190812_143025.
    """
    raw = " ".join((text or "").split())
    if not raw:
        raise ReviewError("type a date, for example 2019-08-12 14:30")
    if len(raw) > 64:
        raise ReviewError("that is too long to be a date")
    notes: list[str] = []
    candidates: list[str] = []
    m = _ISO_12H.match(raw)
    if m and m.group("ampm"):
        candidates.append(_try(lambda: _to_iso(m, int(m.group("mo")))))
    candidates.append(raw)
    m = _DMY.match(raw)
    if m:
        d, mo = int(m.group("d")), int(m.group("mo"))
        if d <= 12 and mo <= 12 and d != mo:
            notes.append("Read as day, month, year.")
        candidates.insert(0, _try(lambda: _to_iso(m, mo)))
    for rx in (_D_MON_Y, _MON_D_Y):
        m = rx.match(raw)
        if m and m.group("mon").lower() in _MONTH_NAMES:
            candidates.insert(0, _try(lambda: _to_iso(m, _MONTH_NAMES[m.group("mon").lower()])))
    m = _COMPACT.match(raw)
    if m:
        candidates.insert(0, _try(lambda: _to_iso(m, int(m.group("mo")))))
    error: str | None = None
    for cand in candidates:
        if cand is None:
            continue
        if cand.startswith("!"):
            error = cand[1:]
            continue
        try:
            parsed = parse_date_string(cand)
        except DateParseError as exc:
            error = error or str(exc)
            continue
        checked = check_plausible(Candidate("person", parsed.value, parsed.utc_offset, parsed.precision))
        if not checked.accepted:
            raise ReviewError(checked.reason.replace("rejected: ", "").capitalize())
        return Interpretation(parsed, _words(parsed), notes)
    if error and error.startswith("unrecognised date"):
        error = None
    raise ReviewError((error.capitalize() + ". " if error else "")
                      + "Try a form like 2019-08-12 14:30, 12.08.2019 14:30 or 12 Aug 2019 2:30 pm.")


def _try(fn) -> str | None:
    try:
        return fn()
    except DateParseError as exc:
        return "!" + str(exc)


def _words(p: ParsedDate) -> str:
    v = p.value
    if p.precision == Precision.MONTH:
        out = v.strftime("%B %Y") + " (month only)"
    elif p.precision == Precision.DAY:
        out = f"{v.strftime('%A')} {v.day} {v.strftime('%B %Y')} (day only, time set to 00:00)"
    else:
        fmt = "%H:%M" if p.precision == Precision.MINUTE else "%H:%M:%S"
        out = f"{v.strftime('%A')} {v.day} {v.strftime('%B %Y')}, {v.strftime(fmt)}"
    if p.utc_offset is not None:
        out += f", UTC{format_offset(p.utc_offset)}"
    return out
