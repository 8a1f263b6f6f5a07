"""Duplicate groups of the library, kept in step with imports.

media.similarity decides what is a group; this module feeds it database rows
and stores its answer:

* `regroup()` runs at the end of every import job. Files not yet grouped
  (an `UngroupedFile` row each) are compared with the whole library — across
  all imports, not just the job's — through `similarity.update_grouping`,
  which only searches pairs involving the new files and gives the same groups
  as grouping everything from scratch. Groups are stored by (kind,
  representative): earlier representatives never change, so a group keeps
  its id and its decision while later imports add members (a resolved group
  that gains a member is opened again).
* Files whose content is already in the archive (`ManifestEntry`, written by
  the export) are reported by `archived_copies()`: importing the same phone
  backup twice shows everything as already known.
* `group_views()` gives each group with its members' quality facts and the
  recommended keeper (media.keeper) for the CLI and the UI.

Regrouping scales to a million files without stalling the web: hashes are
read in chunks of short read transactions straight into numpy arrays
(`similarity.HashColumns`, no Python object per file), grouped with no
transaction open, and the difference from the stored groups is written in
batches of short write transactions that each re-read what they change. Two
regroupings never run at once (`store.db.exclusive`), so two imports
finishing together group one after the other rather than over each other.
"""
from __future__ import annotations

import gc
import logging
import os
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
from sqlalchemy import bindparam, case, delete, func, insert, or_, select, update

from mediaparser.store.db import FOREIGN_KEY_VIOLATION, TRANSIENT, db, exclusive, run_write, write_transaction
from mediaparser.library import hash_blocks
from mediaparser.library.in_archive import archive_rows
from mediaparser.media.isotime import iso_local
from mediaparser.media.keeper import KeeperRecommendation, QualityFacts, recommend_keeper
from mediaparser.media.similarity import (Group, GroupMember, Grouping, HashColumns, HashItem, SimilarityParams,
                                          update_grouping)
from mediaparser.store.models import (DupGroup, DupMember, FileStatus, GroupKind, GroupStatus, ManifestEntry, MediaFile, StackRole, Tag, to_unsigned64, utcnow)
from mediaparser.usecases import history
from mediaparser.usecases.history import Actor

log = logging.getLogger(__name__)

_HASH_COLUMNS = (MediaFile.id, MediaFile.sha256, MediaFile.phash, MediaFile.dhash, MediaFile.low_detail,
                 MediaFile.phash90, MediaFile.dhash90, MediaFile.phash180, MediaFile.dhash180, MediaFile.stack_role)
# A stack is judged on its lead: a RAW beside its JPEG, a Live Photo's clip and a burst's other frames
# take part in exact groups only (a burst is not a pile of near-duplicates).
_JUDGED_ON_LEAD = frozenset((StackRole.RAW, StackRole.CLIP, StackRole.FRAME))


def hash_item(row: Any) -> HashItem:
    """A HashItem from a row with the _HASH_COLUMNS (files without hashes take part in exact groups only)."""
    ph, dh = to_unsigned64(row.phash), to_unsigned64(row.dhash)
    rot90 = (to_unsigned64(row.phash90), to_unsigned64(row.dhash90)) if row.phash90 is not None else None
    rot180 = (to_unsigned64(row.phash180), to_unsigned64(row.dhash180)) if row.phash180 is not None else None
    no_hash = ph is None or dh is None or getattr(row, "stack_role", None) in _JUDGED_ON_LEAD
    return HashItem(id=row.id, sha256=row.sha256, phash=ph or 0, dhash=dh or 0,
                    low_detail=bool(row.low_detail) or no_hash, rot90=rot90, rot180=rot180)


def _groupable():
    return (MediaFile.status == FileStatus.DONE, MediaFile.sha256.is_not(None))


def _as_group(g: DupGroup, members: list[DupMember]) -> Group:
    """A stored group as media.similarity's Group (representative first)."""
    ms = sorted(members, key=lambda m: (m.file_id != g.representative_id, m.file_id))
    return Group(g.kind, g.representative_id,  # type: ignore[arg-type]
                 tuple(GroupMember(m.file_id, m.distance, m.phash_distance, m.dhash_distance, m.rotation) for m in ms),
                 g.confidence, g.confidence_label, g.sha256)  # type: ignore[arg-type]


@dataclass
class _StoredGroup:
    """A stored group as read before grouping (plain values, no ORM object to keep in step)."""

    id: int
    kind: str
    representative_id: int
    sha256: str | None
    confidence: float
    confidence_label: str
    members: dict[int, tuple[int, int, int, int]]  # file id -> (distance, phash, dhash distance, rotation)


def _stored_groups(s) -> dict[tuple[str, int], _StoredGroup]:
    groups = {gid: _StoredGroup(gid, kind, rep, sha, conf, label, {}) for gid, kind, rep, sha, conf, label in
              hash_blocks.fetch_rows(select(DupGroup.id, DupGroup.kind, DupGroup.representative_id, DupGroup.sha256,
                                            DupGroup.confidence, DupGroup.confidence_label)
                                     .where(DupGroup.kind.in_(GroupKind.DUPLICATES)), session=s)}
    members = hash_blocks.fetch_array(select(DupMember.group_id, DupMember.file_id, DupMember.distance,
                                             DupMember.phash_distance, DupMember.dhash_distance,
                                             DupMember.rotation), 6, session=s)
    for gid, fid, dist, pd, dd, rot in members.tolist():  # (all integers: no Row object per member)
        if gid in groups:
            groups[gid].members[fid] = (dist, pd, dd, rot)
    return {(g.kind, g.representative_id): g for g in groups.values()}


def _as_previous(stored: dict[tuple[str, int], _StoredGroup], params: SimilarityParams) -> Grouping:
    """The stored similar groups as media.similarity's Grouping. Its exact groups are left out:
    with the files as HashColumns `update_grouping` finds them from the SHA-256s again."""
    similar = []
    for g in stored.values():
        if g.kind == GroupKind.EXACT:
            continue
        rep, m = g.representative_id, g.members
        # The representative first, then by id (plain int sorts: ~10,000 groups on every regroup).
        order = ([rep] if rep in m else []) + sorted(fid for fid in m if fid != rep)
        members = tuple([GroupMember(fid, *m[fid]) for fid in order])
        similar.append((rep, Group(g.kind, rep, members, g.confidence, g.confidence_label,  # type: ignore[arg-type]
                                   g.sha256)))
    similar.sort(key=lambda rg: rg[0])
    return Grouping((), tuple(g for _, g in similar), params)


@dataclass
class RegroupReport:
    new_files: int = 0
    library_files: int = 0
    exact_groups: int = 0
    similar_groups: int = 0
    created: int = 0
    changed: int = 0
    removed: int = 0
    write_batches: int = 0  # short write transactions the result was stored in
    library_read_from_files: int = 0  # grouped files read row by row (their packed block was out of date)


# Rows per read while loading new files' hashes, groups per write transaction,
# ids per statement. A write batch of 200 groups (their members and the files'
# group pointers), or one hash block's files marked grouped (hash_blocks.BLOCK
# ids), takes tens of milliseconds: the web's writes wait at most that long.
_LOAD_ROWS = 50_000
_GROUPS_PER_WRITE = 200
_IDS_PER_STATEMENT = 2_000
# Flags packed into one column of the hash query (one Python int a row, not three).
_LOW, _HAS90, _HAS180 = 1, 2, 4


def _rows(*conditions):
    """The grouping columns of groupable files (library.hash_blocks' row query): id, the six
    hashes (0 where absent), flags."""
    f = MediaFile
    # (hash_item's rule, in SQL: no hashes, low detail, or judged on its stack's lead.)
    low = or_(f.phash.is_(None), f.dhash.is_(None), func.coalesce(f.low_detail, False),
              func.coalesce(f.stack_role.in_(_JUDGED_ON_LEAD), False))
    flags = (case((low, _LOW), else_=0) + case((f.phash90.is_not(None), _HAS90), else_=0)
             + case((f.phash180.is_not(None), _HAS180), else_=0))
    cols = [f.id, *(func.coalesce(c, 0) for c in (f.phash, f.dhash, f.phash90, f.dhash90, f.phash180, f.dhash180)),
            flags]
    return select(*cols).where(*_groupable(), *conditions).order_by(f.id)


def _columns(a: np.ndarray) -> HashColumns:
    """HashColumns over the row query's columns as a column-major (WIDTH, n) array (views, no copy)."""
    u = a.view(np.uint64)  # BIGINT columns hold the hashes' two's complement
    f = a[7]
    return HashColumns(a[0], u[1], u[2], u[3:5].T, u[5:7].T, (f & _HAS90) != 0, (f & _HAS180) != 0, (f & _LOW) != 0)


def _packed(c: HashColumns) -> np.ndarray:
    """The inverse of _columns: the row query's (n, WIDTH) int64 rows of these files."""
    out = np.empty((len(c), hash_blocks.WIDTH), np.int64)
    out[:, 0] = c.ids
    u = out.view(np.uint64)
    u[:, 1], u[:, 2], u[:, 3:5], u[:, 5:7] = c.phash, c.dhash, c.rot90, c.rot180
    out[:, 7] = c.low_detail * _LOW + c.has90 * _HAS90 + c.has180 * _HAS180
    return out


def _block_rows(lib: HashColumns, new: HashColumns):
    """Block b's rows among the library and the new files, in id order (rebuilt from the
    columns, so the loaded rows need not be kept beside them)."""

    def rows(b: int) -> np.ndarray:
        lo, hi = b * hash_blocks.BLOCK, (b + 1) * hash_blocks.BLOCK
        i0, i1 = np.searchsorted(lib.ids, [lo, hi])
        j0, j1 = np.searchsorted(new.ids, [lo, hi])
        both = np.concatenate([_packed(lib.take(np.arange(i0, i1))), _packed(new.take(np.arange(j0, j1)))])
        return both[np.argsort(both[:, 0], kind="stable")]
    return rows


def _among(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which `keys` are in the sorted array `ids`."""
    if not ids.size:
        return np.zeros(keys.size, bool)
    found = np.minimum(np.searchsorted(ids, keys), ids.size - 1)
    return ids[found] == keys


def _shared_content(lib: HashColumns, new: HashColumns, stored: dict[tuple[str, int], _StoredGroup],
                    waiting) -> dict[int, str]:
    """The SHA-256 of every groupable file whose content another one has.

    From scratch one GROUP BY finds them. Afterwards the stored exact groups
    hold the library's copies, and only the SHA-256s of the files still to
    group (`waiting`, a subquery of their ids) are looked up (through the
    sha256 index), so most SHA-256s are never read.
    """
    f = MediaFile
    out: dict[int, str] = {}
    if len(lib) == 0:
        dup = select(f.sha256).where(*_groupable()).group_by(f.sha256).having(func.count() > 1)
        out.update(db.session.execute(select(f.id, f.sha256).where(*_groupable(), f.sha256.in_(dup))).all())
    else:
        for g in stored.values():
            if g.kind == GroupKind.EXACT and g.sha256:
                out.update((fid, g.sha256) for fid in g.members)
        shas = select(f.sha256).where(f.id.in_(waiting), *_groupable())
        out.update(db.session.execute(select(f.id, f.sha256).where(*_groupable(), f.sha256.in_(shas))).all())
    db.session.commit()
    keys = np.fromiter(out, np.int64, len(out))
    ok = _among(lib.ids, keys) | _among(new.ids, keys)
    kept = {int(k): out[int(k)] for k in keys[ok]}
    counts = Counter(kept.values())
    return {k: sha for k, sha in kept.items() if counts[sha] > 1}


def regroup(params: SimilarityParams | None = None) -> RegroupReport:
    """Group the files that are not grouped yet against the library; store the result.

    Never holds the write lock for long: hashes and groups are read in
    short read transactions, grouped with no transaction open, and the
    result is written in batches of short write transactions, each of which
    re-reads what it changes (a decision taken meanwhile, a file removed
    meanwhile). Runs one at a time (`exclusive`), so two imports finishing
    together group one after the other.
    """
    # The search's band combinations run on every core (numpy lets go of the GIL while it sorts).
    params = params or SimilarityParams(workers=min(4, os.cpu_count() or 1))
    report = RegroupReport()
    with exclusive("regroup"), _collector_paused():
        loaded = hash_blocks.load(_rows, limit=_LOAD_ROWS)
        lib, new = _columns(loaded.library), _columns(loaded.new)
        loaded.library = loaded.new = None  # type: ignore[assignment]  # one copy of a million files is enough
        report.new_files, report.library_files = len(new), len(lib)
        report.write_batches += loaded.writes
        if len(new):
            stored = _stored_groups(db.session)
            db.session.commit()
            shared = _shared_content(lib, new, stored, hash_blocks.waiting(loaded))
            lib.shared = {k: v for k, v in shared.items() if k <= (int(lib.ids[-1]) if len(lib) else -1)}
            new.shared = {k: v for k, v in shared.items() if k not in lib.shared}
            grouping = update_grouping(lib, _as_previous(stored, params), new, params)
            report.exact_groups, report.similar_groups = len(grouping.exact), len(grouping.similar)
            _store(grouping, stored, report)
            del grouping, stored
        # The new files marked grouped a block at a time, each block's packed hashes written with them.
        report.write_batches += hash_blocks.mark_and_write(loaded, _block_rows(lib, new), new.ids)
        report.library_read_from_files = loaded.files_read
    log.info("regrouped: %s", report)
    return report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the length of a regroup.

    A regroup makes some 100,000 small objects that live for its length (the stored groups and
    their members, as read and as media.similarity's Groups), and every so many allocations the
    collector walked everything the process holds: 0.4 s of a 1.6 s regroup of 10,000 files onto
    a million. Nothing of it is cyclic garbage to reclaim early; what other threads leave meanwhile
    is collected once it is on again.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _store(grouping: Grouping, stored: dict[tuple[str, int], _StoredGroup], report: RegroupReport) -> None:
    """Write the difference between `stored` (read before grouping) and the new groups, a batch at a time."""
    wanted = {(g.kind, g.representative): g for g in grouping.groups}
    was_rep = {g.id: g.representative_id for g in stored.values()}
    _follow_moved_representatives(wanted, stored, {g.id: g.members for g in stored.values()})
    removed = [g for key, g in stored.items() if key not in wanted]
    todo: list[tuple[Group, _StoredGroup | None]] = []
    for key, g in wanted.items():
        old = stored.get(key)
        if old is None:
            todo.append((g, None))
        elif (old.representative_id != was_rep[old.id]
              or old.members != {m.id: (m.distance, m.phash_distance, m.dhash_distance, m.rotation) for m in g.members}
              or (old.confidence, old.confidence_label) != (g.confidence, g.confidence_label)):
            todo.append((g, old))
    for i in range(0, len(removed), _GROUPS_PER_WRITE):
        run_write(lambda s, batch=removed[i:i + _GROUPS_PER_WRITE]: _remove_groups(s, batch), retry_on=_RETRY)
        report.removed += len(removed[i:i + _GROUPS_PER_WRITE])
        report.write_batches += 1
    for i in range(0, len(todo), _GROUPS_PER_WRITE):
        created, changed = run_write(lambda s, batch=todo[i:i + _GROUPS_PER_WRITE]: _write_groups(s, batch),
                                     retry_on=_RETRY)
        report.created += created
        report.changed += changed
        report.write_batches += 1


# A file removed between reading and writing makes an insert fail its foreign
# key on PostgreSQL; the batch then runs again and re-reads which files exist.
_RETRY = TRANSIENT | {FOREIGN_KEY_VIOLATION}


def _pointer(kind: str):
    return MediaFile.group_id if kind == GroupKind.EXACT else MediaFile.similar_group_id


def _remove_groups(s, groups: list[_StoredGroup]) -> None:
    ids = [g.id for g in groups]
    for kind in (GroupKind.EXACT, GroupKind.SIMILAR):
        col = _pointer(kind)
        gids = [g.id for g in groups if g.kind == kind]
        if gids:
            s.execute(update(MediaFile).where(col.in_(gids)).values({col.key: None})
                      .execution_options(synchronize_session=False))
    s.execute(delete(DupMember).where(DupMember.group_id.in_(ids)).execution_options(synchronize_session=False))
    s.execute(delete(DupGroup).where(DupGroup.id.in_(ids)).execution_options(synchronize_session=False))


def _write_groups(s, batch: list[tuple[Group, _StoredGroup | None]]) -> tuple[int, int]:
    """Create or update these groups in one write transaction; (created, changed).

    Re-reads, inside the transaction, which member files still exist and each
    stored group's members and status as they are now, so a person's
    decision or a file removed since the grouping's reads is respected.
    """
    now = utcnow()
    file_ids = sorted({m.id for g, _ in batch for m in g.members})
    exists: set[int] = set()
    for k in range(0, len(file_ids), _IDS_PER_STATEMENT):
        exists.update(s.execute(select(MediaFile.id).where(MediaFile.id.in_(file_ids[k:k + _IDS_PER_STATEMENT])))
                      .scalars())
    old_ids = [old.id for _, old in batch if old is not None]
    status = dict(s.execute(select(DupGroup.id, DupGroup.status).where(DupGroup.id.in_(old_ids))).all()) \
        if old_ids else {}
    have: dict[int, dict[int, tuple[int, int, int, int]]] = defaultdict(dict)
    if old_ids:
        for gid, fid, dist, pd, dd, rot in s.execute(
                select(DupMember.group_id, DupMember.file_id, DupMember.distance, DupMember.phash_distance,
                       DupMember.dhash_distance, DupMember.rotation).where(DupMember.group_id.in_(old_ids))):
            have[gid][fid] = (dist, pd, dd, rot)
    created = changed = 0
    new_rows: list[tuple[Group, dict]] = []
    adds = _Additions()
    for g, old in batch:
        if g.representative not in exists:
            continue  # the representative left the library meanwhile: the next regrouping decides
        if old is None or old.id not in status:
            new_rows.append((g, {"kind": g.kind, "representative_id": g.representative, "sha256": g.sha256,
                                 "confidence": g.confidence, "confidence_label": g.confidence_label,
                                 "status": GroupStatus.OPEN, "created_at": now, "updated_at": now}))
            continue
        changed += 1
        cur = have.get(old.id, {})
        want = {m.id: (m.distance, m.phash_distance, m.dhash_distance, m.rotation) for m in g.members if m.id in exists}
        values: dict[str, Any] = {"representative_id": g.representative, "confidence": g.confidence,
                                  "confidence_label": g.confidence_label, "updated_at": now}
        if set(want) - set(cur) and status[old.id] == GroupStatus.RESOLVED:
            values.update(status=GroupStatus.OPEN, resolved_at=None)  # a new copy needs a decision
        s.execute(update(DupGroup).where(DupGroup.id == old.id).values(**values)
                  .execution_options(synchronize_session=False))
        gone = [fid for fid in cur if fid not in want]
        if gone:
            s.execute(delete(DupMember).where(DupMember.group_id == old.id, DupMember.file_id.in_(gone))
                      .execution_options(synchronize_session=False))
            col = _pointer(g.kind)
            s.execute(update(MediaFile).where(MediaFile.id.in_(gone), col == old.id).values({col.key: None})
                      .execution_options(synchronize_session=False))
        for fid, vals in want.items():
            if fid in cur and cur[fid] != vals:
                s.execute(update(DupMember).where(DupMember.group_id == old.id, DupMember.file_id == fid)
                          .values(distance=vals[0], phash_distance=vals[1], dhash_distance=vals[2], rotation=vals[3])
                          .execution_options(synchronize_session=False))
        adds.add(old.id, g.kind, {fid: v for fid, v in want.items() if fid not in cur})
    if new_rows:
        gids = s.execute(insert(DupGroup).returning(DupGroup.id, sort_by_parameter_order=True),
                         [row for _, row in new_rows]).scalars().all()
        for (g, _), gid in zip(new_rows, gids):
            adds.add(gid, g.kind, {m.id: (m.distance, m.phash_distance, m.dhash_distance, m.rotation)
                                   for m in g.members if m.id in exists})
        created = len(new_rows)
    adds.write(s)
    return created, changed


class _Additions:
    """Members to insert and file pointers to set for a whole write batch:
    one executemany each, not two statements per group."""

    def __init__(self) -> None:
        self.members: list[dict[str, int]] = []
        self.pointers: dict[str, list[dict[str, int]]] = defaultdict(list)

    def add(self, gid: int, kind: str, members: dict[int, tuple[int, int, int, int]]) -> None:
        for fid, v in members.items():
            self.members.append({"group_id": gid, "file_id": fid, "distance": v[0], "phash_distance": v[1],
                                 "dhash_distance": v[2], "rotation": v[3]})
            self.pointers[kind].append({"_fid": fid, "_gid": gid})

    def write(self, s) -> None:
        if self.members:
            s.execute(insert(DupMember), self.members)
        t = MediaFile.__table__
        for kind, rows in self.pointers.items():
            col = _pointer(kind).key
            s.connection().execute(t.update().where(t.c.id == bindparam("_fid")).values({col: bindparam("_gid")}),
                                   rows)


def _follow_moved_representatives(wanted: dict[tuple[str, int], Group], stored: dict[tuple[str, int], DupGroup],
                                  existing_members: dict[int, dict[int, DupMember]]) -> None:
    """A later import can make another copy the representative of a group
    (media.similarity ranks copies by how connected they are): the stored
    group that shares most members with it takes the new representative, so
    the group keeps its id, status and the members' decisions."""
    loose = {key: row for key, row in stored.items() if key not in wanted}
    if not loose:
        return
    for key, g in wanted.items():
        if key in stored:
            continue
        ids = set(g.ids)
        best = max(((len(ids & set(existing_members.get(row.id, ()))), okey) for okey, row in loose.items()
                    if okey[0] == key[0]), default=(0, None))
        if best[0]:
            row = loose.pop(best[1])
            del stored[best[1]]
            row.representative_id = key[1]
            stored[key] = row
            if not loose:
                return


# ------------------------------------------------------------------ reading --

def archived_copies(sha256s: Iterable[str]) -> dict[str, list[str]]:
    """For each SHA-256 already in the archive: where (output-relative destinations)."""
    wanted = list({s for s in sha256s if s})
    out: dict[str, list[str]] = defaultdict(list)
    for i in range(0, len(wanted), 500):
        for sha, dest in db.session.execute(select(ManifestEntry.sha256, ManifestEntry.destination)
                                            .where(ManifestEntry.sha256.in_(wanted[i:i + 500]),
                                                   ManifestEntry.verified.is_(True))):
            out[sha].append(dest)
    return dict(out)


def quality_facts(row: Any) -> QualityFacts:
    """media.keeper's view of a MediaFile row (or anything with the same attributes)."""
    has_time = bool(row.captured_at) and (row.time_source or "").split(":")[0] not in ("filesystem", "")
    return QualityFacts(id=row.id, width=row.width, height=row.height, size_bytes=row.size, format=row.file_type,
                        bit_depth=row.bit_depth, has_capture_time=has_time, capture_time=row.captured_at,
                        has_gps=bool(row.has_gps), make=row.make, model=row.model)


@dataclass
class MemberView:
    file_id: int
    path: str
    sha256: str | None
    distance: int
    rotation: int
    facts: QualityFacts
    archived_as: list[str] = field(default_factory=list)

    def to_dict(self, rec: KeeperRecommendation) -> dict[str, Any]:
        q = next(m for m in rec.members if m.id == self.file_id)
        f = self.facts
        return {
            "file_id": self.file_id, "path": self.path, "sha256": self.sha256, "distance": self.distance,
            "rotation": self.rotation, "width": f.width, "height": f.height, "megapixels": f.megapixels,
            "bytes": f.size_bytes, "format": f.format, "bit_depth": f.bit_depth,
            "has_capture_time": f.has_capture_time,
            "capture_time": iso_local(f.capture_time),
            "gps": f.has_gps, "camera": f.camera, "earliest_dated": q.earliest_dated,
            "recommended_keeper": self.file_id == rec.keeper, "archived_as": self.archived_as,
        }


@dataclass
class GroupView:
    kind: str
    confidence: float
    confidence_label: str
    members: list[MemberView]
    recommendation: KeeperRecommendation
    group_id: int | None = None
    status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "group_id": self.group_id, "kind": self.kind, "status": self.status,
            "confidence": self.confidence, "confidence_label": self.confidence_label,
            "keeper": self.recommendation.keeper, "keeper_reasons": list(self.recommendation.reasons),
            "keeper_notes": list(self.recommendation.notes),
            "members": [m.to_dict(self.recommendation) for m in self.members],
        }


def unavailable_keepers(rows: dict[int, Any]) -> dict[int, str]:
    """Library rows that must never be recommended as the keeper, with the reason.

    A file of the archive (library/in_archive.py) is not an original, and a
    copy whose original no longer exists (deleted by a clean-up, moved away)
    cannot be kept: recommending either would steer a person into setting
    aside the one original there is.
    """
    archive = archive_rows(rows.values())
    out: dict[int, str] = {}
    for i, r in rows.items():
        if i in archive:
            out[i] = "it is a file of the archive, not an original"
        elif not os.path.isfile(r.source_path):
            out[i] = "its original no longer exists"
    return out


def build_views(groups: Sequence[Group], rows: dict[Any, Any], *, paths: dict[Any, str],
                archived: dict[str, list[str]], unavailable: dict[Any, str] | None = None) -> list[GroupView]:
    """GroupViews from similarity Groups and rows keyed by the groups' item ids.

    A member's `file_id` is its item id in the grouping: the database id for
    library groups, the position in the walk for `groups_for_paths`.
    """
    from dataclasses import replace

    views = []
    for g in groups:
        members = [MemberView(file_id=m.id, path=paths[m.id], sha256=rows[m.id].sha256, distance=m.distance,
                              rotation=m.rotation, facts=replace(quality_facts(rows[m.id]), id=m.id,
                                                                 unavailable=(unavailable or {}).get(m.id)),
                              archived_as=archived.get(rows[m.id].sha256, []))
                   for m in g.members]
        rec = recommend_keeper([m.facts for m in members])
        views.append(GroupView(g.kind, g.confidence, g.confidence_label, members, rec))
    return views


def library_group_views(*, kind: str | None = None, limit: int = 100, after: int = 0) -> list[GroupView]:
    """Stored groups (exact first, then similar), paged by group id."""
    q = (select(DupGroup).where(DupGroup.id > after, DupGroup.kind.in_(GroupKind.DUPLICATES))
         .order_by(DupGroup.kind, DupGroup.id).limit(limit))
    if kind:
        q = q.where(DupGroup.kind == kind)
    groups = list(db.session.execute(q).scalars())
    if not groups:
        return []
    members = defaultdict(list)
    for m in db.session.execute(select(DupMember).where(DupMember.group_id.in_([g.id for g in groups]))).scalars():
        members[m.group_id].append(m)
    file_ids = {m.file_id for ms in members.values() for m in ms}
    rows = {r.id: r for r in db.session.execute(select(MediaFile).where(MediaFile.id.in_(file_ids))).scalars()}
    archived = archived_copies(r.sha256 for r in rows.values())
    unavailable = unavailable_keepers(rows)
    views = []
    for g in groups:
        v = build_views([_as_group(g, members[g.id])], rows, paths={i: r.source_path for i, r in rows.items()},
                        archived=archived, unavailable=unavailable)[0]
        v.group_id, v.status = g.id, g.status
        views.append(v)
    return views


# ------------------------------------------------------------ any folders --

@dataclass
class PathsReport:
    files: int
    from_library: int
    analysed: int
    errors: list[dict[str, str]]
    groups: list[GroupView]
    stacks: list[dict[str, Any]] = field(default_factory=list)  # media.stacking.stack_dict of each stack found


def _row_from_analysis(i: int, d: dict[str, Any]) -> Any:
    from types import SimpleNamespace
    from datetime import datetime

    from mediaparser.media.hashes import from_hex

    rot = d.get("rotated_hashes") or {}
    r90, r180 = rot.get("90"), rot.get("180")
    return SimpleNamespace(
        id=i, sha256=d.get("sha256"), width=d.get("width"), height=d.get("height"), size=d.get("size"),
        file_type=d.get("type"), bit_depth=d.get("bit_depth"), has_gps=d.get("has_gps"),
        captured_at=datetime.fromisoformat(d["captured_at"]) if d.get("captured_at") else None,
        time_source=d.get("source"), make=d.get("make"), model=d.get("model"),
        phash=from_hex(d["phash"]) if d.get("phash") else None, dhash=from_hex(d["dhash"]) if d.get("dhash") else None,
        low_detail=d.get("low_detail"),
        rot90=tuple(from_hex(h) for h in r90) if r90 else None,
        rot180=tuple(from_hex(h) for h in r180) if r180 else None)


def groups_for_paths(paths: Sequence[str], params: SimilarityParams, *, timezone: str, workers: int,
                     use_library: bool = True) -> PathsReport:
    """Groups among the files under `paths`.

    Files the library already analysed (same path, size and modification
    time) are read from it; the rest are analysed now, in parallel.
    """
    import os
    from functools import partial

    from mediaparser.media.analyze import DEFAULT_TIME_LIMIT, analysis_dict, analysis_dicts
    from mediaparser.media.errors import explain
    from mediaparser.media.walk import iter_media_paths_with_roots

    from dataclasses import replace

    from mediaparser.media.stacking import facts_from_analysis, find_stacks, stack_dict
    from mediaparser.usecases.stacks import facts_of as stack_facts_of

    found = [(os.path.abspath(p), root) for p, root in iter_media_paths_with_roots(paths)]
    rows: dict[int, Any] = {}
    facts: dict[int, Any] = {}  # what media.stacking reads of each file
    items: dict[int, HashItem] = {}
    if use_library:
        by_path: dict[str, int] = {p: i for i, (p, _r) in enumerate(found)}
        keys = list(by_path)
        for k in range(0, len(keys), 500):
            for r in db.session.execute(select(MediaFile).where(MediaFile.source_path.in_(keys[k:k + 500]),
                                                                 MediaFile.status == FileStatus.DONE)).scalars():
                i = by_path[r.source_path]
                try:
                    st = os.stat(r.source_path)
                except OSError:
                    continue
                if st.st_size == r.size and st.st_mtime == r.mtime and i not in rows:
                    rows[i] = r
                    items[i] = _replace_id(hash_item(r), i)
                    facts[i] = replace(stack_facts_of(r), id=i)
        db.session.commit()
    todo = [(i, found[i]) for i in range(len(found)) if i not in rows]
    errors: list[dict[str, str]] = []
    work = partial(analysis_dict, timezone=timezone, thumb_dir=None, with_thumbnail=True)
    results = analysis_dicts(work, (f for _i, f in todo), workers, time_limit_s=DEFAULT_TIME_LIMIT)
    for (i, _f), d in zip(todo, results):
        if d.get("error") or not d.get("sha256"):
            e = explain(d.get("error") or "no content hash")
            errors.append({"path": d["path"], "error": e.sentence, "error_detail": e.detail})
            continue
        row = _row_from_analysis(i, d)
        rows[i] = row
        facts[i] = facts_from_analysis(i, {**d, "path": found[i][0]})
        ph, dh = row.phash, row.dhash
        items[i] = HashItem(id=i, sha256=row.sha256, phash=ph or 0, dhash=dh or 0,
                            low_detail=bool(row.low_detail) or ph is None or dh is None,
                            rot90=row.rot90, rot180=row.rot180)
    from mediaparser.media.similarity import group_items

    stacks = find_stacks(facts.values())
    for st in stacks:  # judged on the lead, as in the library (hash_item)
        for i, role in st.roles.items():
            if role in _JUDGED_ON_LEAD and i in items:
                items[i] = replace(items[i], low_detail=True)
    grouping = group_items(list(items.values()), params)
    archived = archived_copies(r.sha256 for r in rows.values()) if use_library else {}
    paths_of = {i: found[i][0] for i in rows}
    views = build_views(grouping.groups, rows, paths=paths_of, archived=archived)
    return PathsReport(files=len(found), from_library=len(found) - len(todo), analysed=len(todo) - len(errors),
                       errors=errors, groups=views, stacks=[stack_dict(st, paths_of) for st in stacks])


def _replace_id(item: HashItem, new_id: int) -> HashItem:
    from dataclasses import replace

    return replace(item, id=new_id)


# --------------------------------------------------------------- deciding --

class GroupDecisionError(ValueError):
    """The decision does not fit the group (the message says why)."""


class GroupNotFound(LookupError):
    """No stored group has that id."""


def file_tags(file_ids: Iterable[int]) -> dict[int, set[str]]:
    from mediaparser.store.models import FileTag, Tag

    ids = list(file_ids)
    out: dict[int, set[str]] = {i: set() for i in ids}
    for fid, name in db.session.execute(select(FileTag.file_id, Tag.name).join(Tag, Tag.id == FileTag.tag_id)
                                        .where(FileTag.file_id.in_(ids))):
        out[fid].add(name)
    return out


def resolve_group(group_id: int, keep_ids: Sequence[int], *, timezone: str, actor: Actor | None = None) -> DupGroup:
    """A person's decision: keep `keep_ids`, set the other members aside.

    Keeping every member means "these are not duplicates". Each kept file
    receives the tags of the set-aside members and any capture-time candidate
    of theirs stronger than its own (media.keeper.carry_over); its capture
    time is then decided again from the enlarged evidence, unless a person
    already set it in review.

    The decision is one batch in the history (usecases/history.py): its undo
    brings back the members' earlier decisions, the group's status, and the
    kept files' tags and times as they were before the carry-over.
    """
    with write_transaction() as s:
        group = s.get(DupGroup, group_id, populate_existing=True)
        if group is None:
            raise GroupNotFound(f"group {group_id} does not exist")
        items: list[dict[str, Any]] = []
        names: dict[int, str] = {}
        kept, aside = _decide(s, group, keep_ids, timezone=timezone, items=items, names=names)
        keep_names = [names[f] for f in sorted(set(keep_ids))]
        if aside:
            summary = (f"Kept {history.names_in_words(keep_names)}, set aside "
                       f"{history.plural(aside, 'copy', 'copies')}")
        else:
            summary = f"Not duplicates: kept all {kept} files ({history.names_in_words(keep_names)})"
        history.record(s, "dup_resolve", actor, summary, kept + aside, items)
    return group


def _decide(s, group: DupGroup, keep_ids: Sequence[int], *, timezone: str, items: list[dict[str, Any]],
            names: dict[int, str]) -> tuple[int, int]:
    """resolve_group's work inside the caller's write transaction: (files kept, files set aside).

    Appends to `items` what the decision changed, before and after, for the history (one unit per group),
    and fills `names` with the members' file names.
    """
    from mediaparser.library import capture_time
    from mediaparser.media.keeper import MemberMetadata, carry_over
    from mediaparser.usecases import tagging as tag_service

    keep = set(keep_ids)
    group_id = group.id
    members = {m.file_id: m for m in s.execute(select(DupMember).where(DupMember.group_id == group_id)).scalars()}
    if not keep:
        raise GroupDecisionError("keep at least one file: nothing is set aside without a keeper")
    if not keep <= set(members):
        raise GroupDecisionError(f"files {sorted(keep - set(members))} are not in group {group_id}")
    rows = {r.id: r for r in s.execute(select(MediaFile).where(MediaFile.id.in_(list(members)))).scalars()}
    tags = file_tags(members)
    aside = [fid for fid in members if fid not in keep]
    unit = f"group:{group_id}"
    group_before = history.group_state(group)
    names.update({fid: history.file_name(r.rel_path) for fid, r in rows.items()})
    for fid, m in members.items():
        before = {"decision": m.decision}
        m.decision = "keep" if fid in keep else "discard"
        items.append({"kind": "member", "unit": unit, "group_id": group_id, "file_id": fid, "before": before,
                      "after": {"decision": m.decision}})
    if aside:
        others = [MemberMetadata(fid, frozenset(tags[fid]), tuple(rows[fid].candidates or ())) for fid in aside]
        for fid in sorted(keep):
            row = rows[fid]
            result = carry_over(MemberMetadata(fid, frozenset(tags[fid]), tuple(row.candidates or ())), others)
            # The one tag upsert: its lock order, and a name merged away meanwhile is created again.
            new = tag_service.new_links(s, [(fid, name, "carried") for name in sorted(result.tags_added)])
            tag_names = dict(s.execute(select(Tag.id, Tag.name).where(Tag.id.in_([r.tag_id for r in new])))
                             .all()) if new else {}
            items.extend({"kind": "link", "unit": unit, "file_id": r.file_id, "tag_id": r.tag_id, "before": None,
                          "after": history.link_state(r.id, r.origin, r.created_at, tag_names.get(r.tag_id, ""))}
                         for r in new)
            if result.candidates_added:
                carried = ", ".join(sorted({str(c["source"]) for c in result.candidates_added}))
                before = history.choice_state(row)
                capture_time.add_evidence(row, result.candidates_added, timezone,
                                          f"evidence carried over from a set-aside duplicate: {carried}")
                items.append({"kind": "choice", "unit": unit, "file_id": fid, "before": before,
                              "after": history.choice_state(row)})
    s.flush()  # the carried tags are read by the next group's decision in the same transaction
    group.status, group.resolved_at, group.updated_at = GroupStatus.RESOLVED, utcnow(), utcnow()
    items.append({"kind": "group", "unit": unit, "group_id": group_id, "before": group_before,
                  "after": history.group_state(group)})
    return len(keep), len(aside)


# ---------------------------------------------------------------- reviewing --
# What the duplicate-review page (web/duplicates_api.py) asks for: groups
# page by page (exact first, then similar), one group with what differs
# between its members, decisions one group or all exact groups at a time,
# and the set-aside files with the way back.

class ReviewConflict(GroupDecisionError):
    """The library changed since the person confirmed (e.g. another count of open groups)."""


_KIND_ORDER = {GroupKind.EXACT: 0, GroupKind.SIMILAR: 1}
_STATUSES = (GroupStatus.OPEN, GroupStatus.RESOLVED)

# The facts compared across a group's members: a fact that differs is shown
# highlighted on the page, so a person sees at a glance what sets copies apart.
_COMPARED = {
    "resolution": lambda m: (m["width"], m["height"]),
    "bytes": lambda m: m["bytes"],
    "format": lambda m: m["format"],
    "bit_depth": lambda m: m["bit_depth"],
    "capture_time": lambda m: m["capture_time"],
    "camera": lambda m: m["camera"],
    "gps": lambda m: m["gps"],
}


def differences(members: Sequence[dict[str, Any]]) -> list[str]:
    """The compared facts (see _COMPARED) whose values are not the same for every member."""
    return [name for name, get in _COMPARED.items() if len({repr(get(m)) for m in members}) > 1]


def _cursor(after: str | None) -> tuple[int, int] | None:
    """'exact:12' -> (0, 12): the position after which a page starts."""
    if not after:
        return None
    kind, _, gid = after.partition(":")
    if kind not in _KIND_ORDER or not gid.isdigit():
        raise GroupDecisionError("after must look like exact:12 or similar:40 (the next_cursor of the last page)")
    return _KIND_ORDER[kind], int(gid)


def _views_of(groups: Sequence[DupGroup]) -> list[GroupView]:
    """GroupViews of stored groups, in the given order (members' rows read in one query per 500)."""
    if not groups:
        return []
    members: dict[int, list[DupMember]] = defaultdict(list)
    gids = [g.id for g in groups]
    for i in range(0, len(gids), 500):
        for m in db.session.execute(select(DupMember).where(DupMember.group_id.in_(gids[i:i + 500]))).scalars():
            members[m.group_id].append(m)
    file_ids = sorted({m.file_id for ms in members.values() for m in ms})
    rows: dict[int, MediaFile] = {}
    for i in range(0, len(file_ids), 500):
        rows.update((r.id, r) for r in db.session.execute(
            select(MediaFile).where(MediaFile.id.in_(file_ids[i:i + 500]))).scalars())
    archived = archived_copies(r.sha256 for r in rows.values())
    unavailable = unavailable_keepers(rows)
    paths = {i: r.source_path for i, r in rows.items()}
    views = []
    for g in groups:
        if not members[g.id]:
            continue  # a group whose files were removed: nothing to show or decide
        v = build_views([_as_group(g, members[g.id])], rows, paths=paths, archived=archived,
                        unavailable=unavailable)[0]
        v.group_id, v.status = g.id, g.status
        views.append(v)
    return views


def _group_query(kind: str | None, status: str | None):
    q = select(DupGroup).where(DupGroup.kind.in_(GroupKind.DUPLICATES))
    if kind:
        q = q.where(DupGroup.kind == kind)
    if status:
        q = q.where(DupGroup.status == status)
    return q


def _check_filters(kind: str | None, status: str | None) -> None:
    if kind and kind not in _KIND_ORDER:
        raise GroupDecisionError(f"kind must be exact or similar, not {kind!r}")
    if status and status not in _STATUSES:
        raise GroupDecisionError(f"status must be open or resolved, not {status!r}")


def _summary(view: GroupView, decisions: dict[int, str | None]) -> dict[str, Any]:
    d = view.to_dict()
    members = d["members"]
    return {
        "group_id": d["group_id"], "kind": d["kind"], "status": d["status"], "confidence": d["confidence"],
        "confidence_label": d["confidence_label"], "size": len(members), "keeper": d["keeper"],
        "keeper_reasons": d["keeper_reasons"],
        "file_ids": [m["file_id"] for m in members][:6],
        "names": [m["path"].replace("\\", "/").rsplit("/", 1)[-1] for m in members][:6],
        "kept": [m["file_id"] for m in members if decisions.get(m["file_id"]) == "keep"],
        "set_aside": [m["file_id"] for m in members if decisions.get(m["file_id"]) == "discard"],
        "differences": differences(members),
    }


def _with_decisions(view: GroupView) -> dict[str, Any]:
    """view.to_dict() plus each member's decision and tags, and what differs between members."""
    d = view.to_dict()
    decisions = dict(db.session.execute(select(DupMember.file_id, DupMember.decision)
                                        .where(DupMember.group_id == view.group_id)).all())
    tags = file_tags(m["file_id"] for m in d["members"])
    rows = {r.id: r for r in db.session.execute(
        select(MediaFile.id, MediaFile.rel_path, MediaFile.time_source, MediaFile.kind, MediaFile.precision)
        .where(MediaFile.id.in_([m["file_id"] for m in d["members"]])))}
    for m in d["members"]:
        r = rows.get(m["file_id"])
        m["decision"] = decisions.get(m["file_id"])
        m["tags"] = sorted(tags.get(m["file_id"], ()))
        m["name"] = m["path"].replace("\\", "/").rsplit("/", 1)[-1]
        m["time_source"] = r.time_source if r else None
        m["media_kind"] = r.kind if r else None
        m["precision"] = r.precision if r else None  # "day": the time of day is unknown, not midnight
    d["differences"] = differences(d["members"])
    return d


def review_page(*, kind: str | None = None, status: str | None = GroupStatus.OPEN, after: str | None = None,
                limit: int = 50) -> dict[str, Any]:
    """One page of groups for the list: exact groups first, then similar, each by id.

    `after` is the previous page's next_cursor; `status` None means any.
    """
    _check_filters(kind, status)
    limit = max(1, min(int(limit), 200))
    pos = _cursor(after)
    q = _group_query(kind, status)
    if pos is not None:
        k, gid = pos
        later_kinds = [name for name, order in _KIND_ORDER.items() if order > k]
        this_kind = next(name for name, order in _KIND_ORDER.items() if order == k)
        q = q.where(or_(DupGroup.kind.in_(later_kinds), (DupGroup.kind == this_kind) & (DupGroup.id > gid)))
    # 'exact' < 'similar' alphabetically, which is the order the page wants.
    groups = list(db.session.execute(q.order_by(DupGroup.kind, DupGroup.id).limit(limit + 1)).scalars())
    more = len(groups) > limit
    groups = groups[:limit]
    decisions: dict[int, dict[int, str | None]] = defaultdict(dict)
    if groups:
        for gid, fid, dec in db.session.execute(select(DupMember.group_id, DupMember.file_id, DupMember.decision)
                                                .where(DupMember.group_id.in_([g.id for g in groups]))):
            decisions[gid][fid] = dec
    items = [_summary(v, decisions[v.group_id]) for v in _views_of(groups)]
    last = groups[-1] if groups else None
    db.session.commit()
    return {"groups": items, "next_cursor": f"{last.kind}:{last.id}" if more and last else None}


def review_counts() -> dict[str, int]:
    """The tabs' figures: open exact groups, open similar groups, decided groups, set-aside files."""
    from sqlalchemy import distinct, func

    by = dict(((k, st), n) for k, st, n in db.session.execute(
        select(DupGroup.kind, DupGroup.status, func.count()).where(DupGroup.kind.in_(GroupKind.DUPLICATES))
        .group_by(DupGroup.kind, DupGroup.status)))
    aside = db.session.execute(select(func.count(distinct(DupMember.file_id)))
                               .where(DupMember.decision == "discard")).scalar_one()
    db.session.commit()
    return {
        "exact": by.get((GroupKind.EXACT, GroupStatus.OPEN), 0),
        "similar": by.get((GroupKind.SIMILAR, GroupStatus.OPEN), 0),
        "resolved": sum(n for (_k, st), n in by.items() if st == GroupStatus.RESOLVED),
        "set_aside": aside,
    }


def _next_open(after: DupGroup | None, *, exclude: int | None = None) -> int | None:
    """The first open group after `after` in list order, else the first open one from the start."""
    base = select(DupGroup.id).where(DupGroup.status == GroupStatus.OPEN)
    if exclude is not None:
        base = base.where(DupGroup.id != exclude)
    order = (DupGroup.kind, DupGroup.id)
    if after is not None:
        later = base.where(or_(DupGroup.kind > after.kind, (DupGroup.kind == after.kind) & (DupGroup.id > after.id)))
        gid = db.session.execute(later.order_by(*order).limit(1)).scalar()
        if gid is not None:
            return gid
    return db.session.execute(base.order_by(*order).limit(1)).scalar()


def review_group(group_id: int) -> dict[str, Any] | None:
    """One group for the side-by-side view, with `next_open` (the group to go on to) and the open count."""
    g = db.session.get(DupGroup, group_id, populate_existing=True)
    if g is None:
        db.session.commit()
        return None
    views = _views_of([g])
    if not views:
        db.session.commit()
        return None
    d = _with_decisions(views[0])
    d["next_open"] = _next_open(g, exclude=g.id)
    counts = review_counts()
    d["open_groups"] = counts["exact"] + counts["similar"]
    db.session.commit()
    return d


def first_open_group(kind: str | None = None) -> int | None:
    _check_filters(kind, None)
    q = select(DupGroup.id).where(DupGroup.status == GroupStatus.OPEN)
    if kind:
        q = q.where(DupGroup.kind == kind)
    gid = db.session.execute(q.order_by(DupGroup.kind, DupGroup.id).limit(1)).scalar()
    db.session.commit()
    return gid


def recommended_keeper(group_id: int) -> int:
    """The file media.keeper recommends keeping in a stored group."""
    g = db.session.get(DupGroup, group_id)
    if g is None:
        raise GroupNotFound(f"group {group_id} does not exist")
    views = _views_of([g])
    if not views:
        raise GroupDecisionError(f"group {group_id} has no files left")
    keeper = views[0].recommendation.keeper
    if keeper is None:
        raise GroupDecisionError(f"no copy in group {group_id} can be recommended: "
                                 + "; ".join(views[0].recommendation.notes) + ". Choose what to keep yourself.")
    return keeper


@dataclass
class BulkResult:
    groups: int
    kept: int
    set_aside: int
    left_open: int = 0  # groups where no copy can be recommended (left for a person)


def accept_all_exact(timezone: str, *, expected: int | None = None, actor: Actor | None = None) -> BulkResult:
    """Resolve every OPEN exact group with its recommended keeper, in one transaction.

    `expected` is the number of groups the person saw and confirmed: when the
    library has changed since (an import finished, someone else decided), the
    request is refused with ReviewConflict rather than deciding groups the
    person never counted.
    """
    result = BulkResult(0, 0, 0)
    items: list[dict[str, Any]] = []
    names: dict[int, str] = {}
    with write_transaction() as s:
        groups = list(s.execute(select(DupGroup).where(DupGroup.kind == GroupKind.EXACT,
                                                       DupGroup.status == GroupStatus.OPEN)
                                .order_by(DupGroup.id)).scalars())
        if expected is not None and expected != len(groups):
            raise ReviewConflict(f"there are now {len(groups)} open exact groups, not the {expected} you confirmed; "
                                 "look again and confirm the new count")
        for i in range(0, len(groups), 200):
            chunk = groups[i:i + 200]
            for v in _views_of(chunk):
                if v.recommendation.keeper is None:
                    result.left_open += 1  # no copy can be recommended: a person decides this one
                    continue
                g = next(x for x in chunk if x.id == v.group_id)
                kept, aside = _decide(s, g, [v.recommendation.keeper], timezone=timezone, items=items, names=names)
                result.groups += 1
                result.kept += kept
                result.set_aside += aside
        if result.groups:
            summary = (f"Kept the recommended copy in {history.plural(result.groups, 'exact-duplicate group')}, "
                       f"set aside {history.plural(result.set_aside, 'copy', 'copies')}")
            history.record(s, "dup_accept", actor, summary, result.kept + result.set_aside, items)
    log.info("accepted the recommendation for %d exact groups (%d files set aside)", result.groups, result.set_aside)
    return result


def set_aside_page(*, after: int = 0, limit: int = 100) -> dict[str, Any]:
    """Files a person set aside (decision "discard" in some group), by file id, each with its group's keepers."""
    limit = max(1, min(int(limit), 500))
    ids = list(db.session.execute(select(DupMember.file_id).where(DupMember.decision == "discard",
                                                                  DupMember.file_id > after)
                                  .group_by(DupMember.file_id).order_by(DupMember.file_id).limit(limit + 1)).scalars())
    more = len(ids) > limit
    ids = ids[:limit]
    items: list[dict[str, Any]] = []
    if ids:
        links = db.session.execute(select(DupMember.file_id, DupMember.group_id, DupGroup.kind)
                                   .join(DupGroup, DupGroup.id == DupMember.group_id)
                                   .where(DupMember.file_id.in_(ids), DupMember.decision == "discard")).all()
        gids = {gid for _f, gid, _k in links}
        keepers: dict[int, list[int]] = defaultdict(list)
        for gid, fid in db.session.execute(select(DupMember.group_id, DupMember.file_id)
                                           .where(DupMember.group_id.in_(gids), DupMember.decision == "keep")
                                           .order_by(DupMember.file_id)):
            keepers[gid].append(fid)
        all_ids = set(ids) | {f for fs in keepers.values() for f in fs}
        rows = {r.id: r for r in db.session.execute(
            select(MediaFile.id, MediaFile.source_path, MediaFile.rel_path, MediaFile.size, MediaFile.width,
                   MediaFile.height, MediaFile.file_type).where(MediaFile.id.in_(all_ids)))}
        by_file: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for fid, gid, kind in links:
            by_file[fid].append((gid, kind))

        def brief(fid: int) -> dict[str, Any]:
            r = rows[fid]
            return {"file_id": fid, "path": r.source_path, "name": r.rel_path.replace("\\", "/").rsplit("/", 1)[-1],
                    "bytes": r.size, "width": r.width, "height": r.height, "format": r.file_type}

        for fid in ids:
            groups = sorted(by_file[fid])
            kept = sorted({k for gid, _kind in groups for k in keepers[gid]})
            items.append({**brief(fid), "groups": [{"group_id": gid, "kind": kind} for gid, kind in groups],
                          "kept_instead": [brief(k) for k in kept]})
    db.session.commit()
    return {"files": items, "next_after": ids[-1] if more and ids else None}


@dataclass
class RestoreResult:
    restored: list[int]
    not_set_aside: list[int]


def restore(file_ids: Sequence[int], actor: Actor | None = None) -> RestoreResult:
    """Bring set-aside files back: their decision becomes "keep" in every group, so they export again.

    The groups stay decided (all their files now kept). Ids that are not set
    aside are reported, not treated as an error for the others. A restore is
    one batch in the history; its undo sets the files aside again.
    """
    wanted = sorted(set(file_ids))
    if not wanted:
        raise GroupDecisionError("name at least one file to restore")
    restored: set[int] = set()
    items: list[dict[str, Any]] = []
    with write_transaction() as s:
        now = utcnow()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            rows = list(s.execute(select(DupMember).where(DupMember.file_id.in_(chunk),
                                                          DupMember.decision == "discard")).scalars())
            for m in rows:
                m.decision = "keep"
                restored.add(m.file_id)
                items.append({"kind": "member", "unit": f"file:{m.file_id}", "group_id": m.group_id,
                              "file_id": m.file_id, "before": {"decision": "discard"}, "after": {"decision": "keep"}})
            gids = {m.group_id for m in rows}
            if gids:
                s.execute(update(DupGroup).where(DupGroup.id.in_(gids)).values(updated_at=now)
                          .execution_options(synchronize_session=False))
        if restored:
            first = sorted(restored)[:3]
            names = [history.file_name(r) for r in s.execute(select(MediaFile.rel_path)
                                                             .where(MediaFile.id.in_(first))
                                                             .order_by(MediaFile.id)).scalars()]
            summary = (f"Brought back {names[0]} from the set-aside copies" if len(restored) == 1 else
                       f"Brought back {history.plural(len(restored), 'set-aside file')} "
                       f"({history.names_in_words(names, total=len(restored))})")
            history.record(s, "dup_restore", actor, summary, len(restored), items)
    log.info("restored %d set-aside files", len(restored))
    return RestoreResult(sorted(restored), [f for f in wanted if f not in restored])
