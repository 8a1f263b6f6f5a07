"""Which files: the catalogue's filters and selections, as SQL conditions.

This module owns

- `Filter`: the review grid's filters, parsed from query arguments into SQL
  conditions. Paging, counts, the month histogram, "next file that needs
  review", bulk review actions, tags on a selection and the export's "files
  still needing review" all use the same conditions, so what a person sees is
  what an action touches.
- `needs_review_clause` / `state_clause`: "needs review" is not a stored
  flag: a file needs review while no person has decided on it and its
  confidence is low or none (or it has no analysis). HIGH and MEDIUM files
  are "looks right" until someone says otherwise.
- `Order` and `Cursor`: the grid's ordering and keyset position (used by
  `library.queries`).
- `Target`: the files an action is about — explicit ids, or everything
  matching a filter minus exceptions (review actions and tags alike).
- the SQLite planner hints the grid's queries need (`unindexed`,
  `indexed_by`; `store.dialect.indexed` does the pinning).

`FilterError` is what a bad filter or selection raises; its message is for
the person (the review and tags APIs answer 400 with it).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from mediaparser.media.tags import normalize as normalize_tag, tag_key
from mediaparser.store.db import db
from mediaparser.store.dialect import indexed
from mediaparser.store.models import FileStatus, FileTag, MediaFile, ReviewState, Tag

PAGE_DEFAULT = 100
PAGE_MAX = 200
MAX_BULK = 200_000  # files one action may touch (select-all over a huge filter)

CONFIDENCES = ("high", "medium", "low", "none")
STATES = ("needs_review", "reviewed", "auto", "all")
KINDS = ("image", "video", "other")
SORTS = ("time", "name", "size")
# Where Google Photos kept a file (media/takeout.py): its Trash, Archive or
# Locked Folder; "none" is every file outside those three.
TAKEOUT_FLAGS = ("trash", "archive", "locked", "none")

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


def unindexed(col) -> _Unindexed:
    """`col` in a condition the SQLite planner must not pick an index for."""
    return _Unindexed(col.expression if hasattr(col, "expression") else col)


# Pages and counts pin these indexes on SQLite (store.dialect.indexed says why):
# the narrow (captured_at, id) index would read the table row of every file it
# passes over.
GRID_INDEX = "ix_media_files_grid_time"
REVIEW_INDEX = "ix_media_files_review_time"
CAMERA_INDEX = "ix_media_files_camera_time"  # the review index's columns behind the camera (model)


def indexed_by(stmt, index: str):
    """`stmt` told to use `index` on SQLite (an instance migrated by an earlier
    draft of 0003 may lack it: slower then, not broken)."""
    return indexed(db.session, stmt, MediaFile, index)


_u = unindexed  # the conditions below use it on nearly every column


class FilterError(ValueError):
    """A filter or selection the library refuses; the message is for the person."""


# ----------------------------------------------------------------- filters --

def _flag(raw: str | None, name: str) -> bool | None:
    if raw is None or raw == "" or raw == "any":
        return None
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise FilterError(f"{name} must be 1 or 0")


def _int(raw: str | None, name: str, lo: int, hi: int) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        v = int(raw)
    except ValueError:
        raise FilterError(f"{name} must be a whole number") from None
    if not lo <= v <= hi:
        raise FilterError(f"{name} must be between {lo} and {hi}")
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
    tag: str | None = None  # a tag name (usecases.tagging), normalised like the stored ones
    takeout: str | None = None  # one of TAKEOUT_FLAGS

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "Filter":
        state = args.get("state") or "all"
        if state not in STATES:
            raise FilterError(f"state must be one of {', '.join(STATES)}")
        conf_raw = args.get("confidence") or ""
        conf = tuple(c for c in (x.strip() for x in str(conf_raw).split(",")) if c)
        bad = [c for c in conf if c not in CONFIDENCES]
        if bad:
            raise FilterError(f"confidence must be among {', '.join(CONFIDENCES)}")
        no_date = False
        year_raw = args.get("year")
        if year_raw == "none":
            no_date, year = True, None
        else:
            year = _int(year_raw, "year", 1, 9999)
        month = _int(args.get("month"), "month", 1, 12)
        if month is not None and year is None:
            raise FilterError("month needs a year")
        kind = args.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise FilterError(f"kind must be one of {', '.join(KINDS)}")
        camera = args.get("camera") or None
        if camera is not None and len(camera) > 128:
            raise FilterError("camera is too long")
        tag = normalize_tag(args.get("tag") or "") or None
        if tag is not None and len(tag) > 200:
            raise FilterError("tag is too long")
        takeout = args.get("takeout") or None
        if takeout is not None and takeout not in TAKEOUT_FLAGS:
            raise FilterError(f"takeout must be one of {', '.join(TAKEOUT_FLAGS)}")
        return cls(state=state, confidence=tuple(sorted(set(conf), key=CONFIDENCES.index)), year=year,
                   month=month, no_date=no_date, kind=kind, error=_flag(args.get("error"), "error"),
                   group=_flag(args.get("group"), "group"), job=_int(args.get("job"), "job", 1, 2**62),
                   camera=camera, tag=tag, takeout=takeout)

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
        for name in ("kind", "camera", "tag", "takeout"):
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
        # A file is "in a group" when usecases.duplicates put it in an exact
        # (group_id) or a near-duplicate (similar_group_id) group.
        if self.group is True:
            conds.append(or_(_u(m.group_id).is_not(None), _u(m.similar_group_id).is_not(None)))
        elif self.group is False:
            conds.append(and_(_u(m.group_id).is_(None), _u(m.similar_group_id).is_(None)))
        if self.job is not None:
            conds.append(_u(m.job_id) == self.job)
        if self.camera:
            conds.append(_u(m.model) == self.camera)
        if self.takeout == "none":
            conds.append(m.takeout_flag.is_(None))
        elif self.takeout:
            conds.append(m.takeout_flag == self.takeout)
        if self.tag:
            tag_id = select(Tag.id).where(Tag.key == tag_key(self.tag)).scalar_subquery()
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
    raise FilterError(f"unknown state {state!r}")


def review_state_of(review_state: str | None, confidence: str | None) -> str:
    if review_state == ReviewState.REVIEWED:
        return "reviewed"
    return "auto" if confidence in ("high", "medium") else "needs_review"


_SORT_COLUMNS = {"time": MediaFile.captured_at, "name": MediaFile.rel_path, "size": MediaFile.size}


@dataclass(frozen=True)
class Order:
    sort: str = "time"
    desc: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "Order":
        sort = args.get("sort") or "time"
        if sort not in SORTS:
            raise FilterError(f"sort must be one of {', '.join(SORTS)}")
        order = args.get("order") or "asc"
        if order not in ("asc", "desc"):
            raise FilterError("order must be asc or desc")
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
            raise FilterError("the page cursor is not valid; start again from the first page") from None
        return cls(phase, value, ident)


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
                raise FilterError("selection.filter must be an object of grid filters")
            exclude = sel.get("except") or []
            if not isinstance(exclude, list) or not all(isinstance(i, int) for i in exclude):
                raise FilterError("selection.except must be a list of file ids")
            return cls(filter=Filter.from_args({k: str(v) for k, v in args.items() if v is not None}),
                       exclude=frozenset(exclude))
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise FilterError("say which files: \"ids\": [1, 2, …] or \"selection\": {\"all_matching\": true, …}")
        if len(ids) > MAX_BULK:
            raise FilterError(f"at most {MAX_BULK:,} files at once")
        return cls(ids=list(dict.fromkeys(ids)))

    def resolve(self) -> list[int]:
        if self.filter is None:
            return self.ids
        q = select(MediaFile.id).where(*self.filter.conditions()).order_by(MediaFile.id).limit(MAX_BULK + 1)
        ids = [i for (i,) in db.session.execute(q).all() if i not in self.exclude]
        db.session.commit()
        if len(ids) > MAX_BULK:
            raise FilterError(f"the filter matches more than {MAX_BULK:,} files; narrow it down first")
        return ids
