"""Reads of the catalogue in grid order: pages, neighbours, counts, histogram.

This module owns

- keyset paging (`grid_page`): the grid is ordered by (sort column, id) and a
  page continues after the last (value, id) seen, so page 500 costs what page
  1 costs. NULL values (files without a capture time) come after all others
  in both directions, as a second "phase" of the same ordering.
- `neighbours`: previous, next and next-needing-review in that order.
- `summary`: counts per review state and files per month: from the
  pre-counted table (`library.counts`) for the filters it answers; else
  index seeks per (review state, confidence) cell and month — on SQLite, and
  on PostgreSQL for a camera (its cells in the camera-led index) — or one
  GROUP BY (PostgreSQL's other filters).
- `cameras` and `grid_item` (one grid row as JSON).
- `start_cursor` (a page that starts at a date: the date scrubber's jumps) and
  `day_counts` (files per day for the days a page shows: the day headers).
- stacks (usecases.stacks): the grid pages by *tiles* — a stack is one tile,
  its lead's — while every count counts files; `stack_counts` says how many
  of the counted files sit in how many stacks ("12 files in 1 burst").

Every query takes its conditions from `library.filters`, and ends its read
transaction at once (a long-open read blocks SQLite's WAL checkpoints).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, inspect, distinct, exists, func, or_, select, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from mediaparser.library import counts
from mediaparser.library.filters import (CAMERA_INDEX, GRID_INDEX, PAGE_DEFAULT, PAGE_MAX, REVIEW_INDEX, Cursor, Filter, FilterError, Order, indexed_by as _indexed, month_range, needs_review_clause, review_state_of, unindexed as _u)
from mediaparser.media.errors import stored as stored_error
from mediaparser.media.isotime import iso_local
from mediaparser.media.stacking import LABELS as STACK_LABELS, NOUNS as STACK_NOUNS
from mediaparser.media.timestamps import format_offset
from mediaparser.store.db import db
from mediaparser.store.dialect import is_sqlite, month_starts, next_month
from mediaparser.store.models import FileStatus, MediaFile, ReviewState

_GRID_COLUMNS = (
    MediaFile.id, MediaFile.job_id, MediaFile.rel_path, MediaFile.size, MediaFile.status, MediaFile.error,
    MediaFile.error_detail,
    MediaFile.kind, MediaFile.captured_at, MediaFile.utc_offset, MediaFile.precision, MediaFile.confidence,
    MediaFile.review_state, MediaFile.thumbnail, MediaFile.width, MediaFile.height, MediaFile.duration,
    MediaFile.model, MediaFile.group_id, MediaFile.similar_group_id, MediaFile.file_type, MediaFile.takeout_flag,
    MediaFile.motion_offset,
    MediaFile.stack_id, MediaFile.stack_kind, MediaFile.stack_role,
)


def tile_condition(flt: Filter) -> ColumnElement:
    """A file is its own tile unless its stack's lead is shown (the lead matches `flt` too).

    A member whose lead the filter leaves out shows on its own, so whatever a
    filter counts can be found in its grid (a RAW that needs review beside a
    JPEG that does not). The lead's conditions are the filter's, rewritten onto
    an alias of the table; only members of a stack pay for the look-up."""
    m = MediaFile
    lead = aliased(MediaFile, name="stack_lead")
    adapter = ClauseAdapter(inspect(lead).selectable)
    lead_matches = [adapter.traverse(c) for c in flt.conditions()]
    return or_(m.stack_id.is_(None), m.stack_id == m.id,
               ~exists().where(lead.id == m.stack_id, *lead_matches))


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


def tile_conditions(flt: Filter) -> list[ColumnElement]:
    """The grid's conditions: the filter's, and one tile per shown stack."""
    return [*flt.conditions(), tile_condition(flt)]


def ordered_rows(flt: Filter, order: Order, cursor: Cursor | None, limit: int, columns=_GRID_COLUMNS):
    """Up to `limit` tiles (rows) after `cursor` in grid order."""
    conds = tile_conditions(flt)
    rows: list = []
    phases = (0, 1) if order.nullable else (0,)
    for phase in phases:
        if cursor is not None and cursor.phase > phase:
            continue
        need = limit - len(rows)
        if need <= 0:
            break
        here = cursor if cursor and cursor.phase == phase else None
        if phase == 0 and order.sort == "time" and _by_cells(flt):
            rows.extend(_rows_by_cell(flt, order, here, need, columns))
            continue
        q = (select(*columns).where(*conds, *_after(order, here, phase))
             .order_by(*_ordering(order, phase)).limit(need))
        if order.sort == "time":
            q = _indexed(q, GRID_INDEX)
        rows.extend(db.session.execute(q).all())
    return rows


def _by_cells(flt: Filter) -> bool:
    """Whether time-ordered reads of `flt` go cell by cell (it names review states, confidences
    or a camera)."""
    return flt.state != "all" or bool(flt.confidence) or bool(flt.camera)


def _cell_index(flt: Filter) -> tuple[str, list[ColumnElement]]:
    """The index a cell of `flt` is read from, and the seek before the cell's own columns:
    a camera's cells sit together in the camera-led index (its files only, a tenth of a
    library or far fewer), every other filter's in the review index."""
    if flt.camera:
        return CAMERA_INDEX, [MediaFile.model == flt.camera]
    return REVIEW_INDEX, []


def _filter_cells(flt: Filter) -> list[list[ColumnElement]]:
    """The conditions of each (review state, confidence) cell `flt` admits: the leading columns of
    `_cell_index`'s index, as seeks (each cell is one value of each)."""
    m = MediaFile
    lead = _cell_index(flt)[1]
    return [[*lead, m.review_state.is_(None) if rs is None else m.review_state == rs,
             m.confidence.is_(None) if conf is None else m.confidence == conf]
            for rs, confs in _cells(flt.state, flt) for conf in confs]


def _rows_by_cell(flt: Filter, order: Order, cursor: Cursor | None, need: int, columns) -> list:
    """Dated rows in time order for a filter that names review states or confidences.

    Walking the capture-time index and testing the filters on the way reads
    the whole index when few files match (reviewed + low confidence + videos
    + one camera: 0.01 % of a library), so instead each (review state,
    confidence) cell the filter admits is read on its own, in time order,
    from the review index — which starts with those two columns — with the
    other filters tested on the way: a sparse filter then reads only its
    cells. The first `need` of each cell are merged and the page's rows are
    fetched by id.
    """
    m = MediaFile
    conds = tile_conditions(flt)
    after = _after(order, cursor, 0)
    if cursor is not None:  # the same bound on the column alone: a seek into the cell, not a walk to it
        after.append(m.captured_at <= cursor.value if order.desc else m.captured_at >= cursor.value)
    keys: list = []
    index = _cell_index(flt)[0]
    for cell in _filter_cells(flt):
        q = select(m.id, m.captured_at).where(*cell, *conds, *after).order_by(*_ordering(order, 0)).limit(need)
        keys.extend(db.session.execute(_indexed(q, index)).all())
    keys.sort(key=lambda r: (r.captured_at, r.id), reverse=order.desc)
    ids = [r.id for r in keys[:need]]
    if not ids:
        return []
    found = {r.id: r for r in db.session.execute(select(*columns).where(m.id.in_(ids))).all()}
    return [found[i] for i in ids if i in found]


def cursor_of(row, order: Order) -> Cursor:
    value = getattr(row, order.column.key)
    return Cursor(0 if value is not None else 1, value, row.id)

@dataclass
class GridPage:
    """One page of the grid: its rows as JSON items, the cursor of the next page, and
    the position of its first row (paging backwards: the same cursor in the opposite order)."""

    files: list[dict[str, Any]]
    next_cursor: str | None
    limit: int
    first_cursor: str | None = None


def grid_page(flt: Filter, order: Order, cursor: str | None = None, limit: int | None = None) -> GridPage:
    """One page of the grid and the cursor of the next (None at the end)."""
    limit = max(1, min(PAGE_DEFAULT if limit is None else limit, PAGE_MAX))
    cur = Cursor.decode(cursor, order) if cursor else None
    rows = ordered_rows(flt, order, cur, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    sizes = stack_sizes([r.id for r in rows if r.stack_id == r.id])
    db.session.commit()  # end the read snapshot at once (WAL checkpoints)
    return GridPage([grid_item(r, sizes.get(r.id)) for r in rows],
                    cursor_of(rows[-1], order).encode() if more and rows else None, limit,
                    cursor_of(rows[0], order).encode() if rows else None)


_AT = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def start_cursor(order: Order, at: str) -> str:
    """The cursor of a page that starts at `at` ("2019", "2019-08", "2019-08-12", or "none"
    for the files without a date) in time order: ascending, the first file taken on or after
    it; descending, the first taken before its end. The keyset comparison on (time, id) with
    id 0 puts the position just before (or after) every file of that instant."""
    if order.sort != "time":
        raise FilterError("a page can start at a date only in time order")
    if at == "none":
        return Cursor(1, None, 2**62 if order.desc else 0).encode()
    m = _AT.match(at or "")
    try:
        if not m:
            raise ValueError
        y, mo, d = int(m.group(1)), m.group(2), m.group(3)
        if d is not None:
            start = datetime(y, int(mo), int(d))
            end = start + timedelta(days=1)
        else:
            start, end = month_range(y, int(mo) if mo is not None else None)
    except (ValueError, OverflowError):
        raise FilterError("at must be a date like 2019, 2019-08 or 2019-08-12, or none") from None
    return Cursor(0, end if order.desc else start, 0).encode()


def day_counts(flt: Filter, first: date, last: date) -> dict[str, int]:
    """Matching files per day ("2019-08-12": 14) from `first` to `last` (the days a page shows)."""
    m = MediaFile
    lo, hi = min(first, last), max(first, last)
    day = (func.date(m.captured_at) if is_sqlite(db.session) else func.to_char(m.captured_at, "YYYY-MM-DD")).label("day")
    days = [m.captured_at >= datetime(lo.year, lo.month, lo.day),
            m.captured_at < datetime(hi.year, hi.month, hi.day) + timedelta(days=1)]
    out: dict[str, int] = {}
    index = _cell_index(flt)[0]
    # A sparse filter's page may span years: count its cells (as _rows_by_cell reads them), not every file.
    for cell in (_filter_cells(flt) if _by_cells(flt) else [[]]):
        q = select(day, func.count()).where(*cell, *flt.conditions(), *days).group_by(day)
        for d, n in db.session.execute(_indexed(q, index) if cell else q).all():
            out[str(d)] = out.get(str(d), 0) + n
    db.session.commit()
    return out


def split_path(rel_path: str) -> tuple[str, str]:
    folder, _, name = rel_path.replace("\\", "/").rpartition("/")
    return folder, name


def _error_sentence(r) -> str | None:
    """The plain sentence of a row's error (older rows hold raw text: explained by media/errors.py)."""
    e = stored_error(r.error, getattr(r, "error_detail", None))
    return e.sentence[:200] if e else None


def stack_sizes(lead_ids: list[int]) -> dict[int, int]:
    """The number of files in each stack led by `lead_ids`."""
    if not lead_ids:
        return {}
    m = MediaFile
    return dict(db.session.execute(select(m.stack_id, func.count()).where(m.stack_id.in_(lead_ids))
                                   .group_by(m.stack_id)).all())


STACK_INDEX = "ix_media_files_stack_id"


def stack_counts(flt: Filter) -> dict[str, dict[str, int]]:
    """Of the files matching `flt`, how many sit in stacks, per kind:
    {"burst": {"files": 12, "stacks": 1, "noun": "burst"}} (the page says "12 files in 1 burst")."""
    m = MediaFile
    # Most libraries have no stacks: the first stacked file in stack_id order is one index look-up on
    # either database, statistics or not (PostgreSQL without them scans the table for the count below).
    if db.session.execute(select(m.stack_id).where(m.stack_id.is_not(None)).order_by(m.stack_id).limit(1)).first() \
            is None:
        db.session.commit()
        return {}
    # Pinned on SQLite: without statistics its planner takes "stack_id IS NOT NULL" for most
    # rows and scans the whole table (600 ms at a million files) instead of the few in stacks.
    q = _indexed(select(m.stack_kind, func.count(), func.count(distinct(m.stack_id)))
                 .where(*flt.conditions(), m.stack_id.is_not(None)).group_by(m.stack_kind), STACK_INDEX)
    out = {kind: {"files": n, "stacks": k, "noun": STACK_NOUNS.get(kind, (kind, kind))[k != 1]}
           for kind, n, k in db.session.execute(q).all() if kind}
    db.session.commit()
    return out


def grid_item(r, stack_size: int | None = None) -> dict[str, Any]:
    """One tile's facts; a stack's lead carries `stack` (its kind and how many files it holds)."""
    folder, name = split_path(r.rel_path)
    return {
        "id": r.id,
        "job_id": r.job_id,
        "name": name,
        "folder": folder,
        "size": r.size,
        "kind": r.kind,
        "status": r.status,
        "error": _error_sentence(r),
        "captured_at": iso_local(r.captured_at),
        "utc_offset": format_offset(r.utc_offset),
        "precision": r.precision,
        "confidence": r.confidence or "none",
        "review": review_state_of(r.review_state, r.confidence),
        # False: there is no picture to show (the thumbnail URL answers 404) — the page draws
        # a "no preview" tile with the facts instead (a file kept undecodable, a failure).
        "thumb": bool(r.thumbnail),
        "type": r.file_type,
        "width": r.width,
        "height": r.height,
        "duration": r.duration,
        "camera": r.model,
        "group_id": r.group_id,
        "similar_group_id": r.similar_group_id,
        # Google Photos kept it in its Trash, Archive or Locked Folder (media/takeout.py).
        "takeout_flag": getattr(r, "takeout_flag", None),
        # A Motion Photo: one file, a photo with a short video inside (media/livephoto.py).
        "motion": getattr(r, "motion_offset", None) is not None,
        "stack": ({"kind": r.stack_kind, "label": STACK_LABELS.get(r.stack_kind, r.stack_kind), "role": r.stack_role,
                   "lead": r.stack_id,
                   "count": stack_size if r.stack_id == r.id else None}
                  if getattr(r, "stack_id", None) is not None else None),
    }


# ----------------------------------------------------------------- summary --

def _state_counts(total: int, needs: int, reviewed: int) -> dict[str, int]:
    return {"all": total, "needs_review": needs, "reviewed": reviewed, "auto": total - needs - reviewed}


def summary(flt: Filter) -> dict[str, Any]:
    """Count of matching files, per review state, files per month, and stacks among them (`stack_counts`).

    The state counts ignore the state filter and the histogram ignores the
    year/month filter, so the page can show what clicking them would give.
    """
    if counts.answers(flt):
        out = counts.summary(flt)  # a few thousand pre-counted rows instead of every file
    else:
        # A camera's files sit together in the camera-led index: on PostgreSQL too, counting its cells
        # there (20 ms at a million files) beats grouping them by month (a sort of ~90,000 rows, 150 ms).
        out = _summary_by_cells(flt) if is_sqlite(db.session) or flt.camera else _summary_grouped(flt)
        db.session.commit()
    # Read from the stack_id index: only the files in stacks (none in most libraries) are visited.
    out["stacks"] = stack_counts(flt)
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


def _cell_count(rs: str | None, confs: tuple[str | None, ...], other: list, dates: list,
                flt: Filter = Filter()):
    m = MediaFile
    index, lead = _cell_index(flt)
    conds: list[ColumnElement] = [*lead, m.review_state.is_(None) if rs is None else m.review_state == rs]
    if confs == (None,):
        conds += [m.confidence.is_(None), _u(m.status) != FileStatus.PENDING]  # not analysed yet: not in the grid
    else:
        conds.append(m.confidence.in_(confs))
    return _indexed(select(func.count()).where(*conds, *other, *dates), index).scalar_subquery()


def _summary_by_cells(flt: Filter) -> dict[str, Any]:
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
        states[st] = sum(s.execute(select(*[_cell_count(rs, c, other, dates, flt) for rs, c in cells])).one()) \
            if cells else 0
    states["all"] = states["needs_review"] + states["auto"] + states["reviewed"]
    cells = _cells(flt.state, flt)
    months: list[dict[str, Any]] = []
    no_date = 0
    if cells:
        first = s.execute(select(func.min(m.captured_at))).scalar()
        last = s.execute(select(func.max(m.captured_at))).scalar()
        if first is not None:
            span = month_starts(s, first, last)
            in_month = [m.captured_at >= span.c.start, m.captured_at < next_month(s, span.c.start)]
            if flt.state == "all" and not flt.confidence and not flt.camera:
                # Every dated file: one range of the capture-time index per month (a camera's
                # files are fewer: counted cell by cell from the camera-led index).
                total = _indexed(select(func.count()).where(*in_month, *other), GRID_INDEX).scalar_subquery()
            else:
                total = sum((_cell_count(rs, c, other, in_month, flt) for rs, c in cells[1:]),
                            _cell_count(*cells[0], other, in_month, flt))
            months = [{"month": start[:7] if isinstance(start, str) else f"{start:%Y-%m}", "count": n}
                      for start, n in s.execute(select(span.c.start, total)).all() if n]
        no_date = sum(s.execute(select(*[_cell_count(rs, c, other, [m.captured_at.is_(None)], flt)
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
    here = cursor_of(row, order)
    nxt = ordered_rows(flt, order, here, 1, cols)
    prev = _previous(flt, order, here, cols)
    needing = replace(flt, state="needs_review")
    nr = ordered_rows(needing, order, here, 1, cols)
    if not nr:
        nr = [r for r in ordered_rows(needing, order, None, 2, cols) if r.id != file_id][:1]
    db.session.commit()
    return {"previous": prev[0].id if prev else None, "next": nxt[0].id if nxt else None,
            "next_needing_review": nr[0].id if nr else None}


def _previous(flt: Filter, order: Order, here: Cursor, cols) -> list:
    """The row just before `here` in grid order (rows without a value come last)."""
    conds = tile_conditions(flt)
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
    if order.sort == "time" and _by_cells(flt):
        return _rows_by_cell(flt, rev, here, 1, cols)  # as the pages of such a filter do
    q = select(*cols).where(*conds, *_after(rev, here, 0)).order_by(*_ordering(rev, 0)).limit(1)
    return db.session.execute(pin(q)).all()
