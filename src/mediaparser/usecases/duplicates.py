"""Duplicate groups of the library, kept in step with imports.

media.similarity decides what is a group; this module feeds it database rows
and stores its answer:

* `regroup()` runs at the end of every import job. Files not yet grouped
  (`MediaFile.grouped` false) are compared with the whole library — across
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

Regrouping holds the database's write lock (BEGIN IMMEDIATE on SQLite, a
row lock on PostgreSQL) for its duration, so two imports finishing together
group one after the other rather than over each other.
"""
from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import or_, select, update

from mediaparser.store.db import db, write_transaction
from mediaparser.library.in_archive import archive_rows
from mediaparser.media.isotime import iso_local
from mediaparser.media.keeper import KeeperRecommendation, QualityFacts, recommend_keeper
from mediaparser.media.similarity import Group, GroupMember, Grouping, HashItem, SimilarityParams, update_grouping
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


def _stored_grouping(session, params: SimilarityParams) -> tuple[Grouping, dict[tuple[str, int], DupGroup]]:
    groups = {(g.kind, g.representative_id): g
              for g in session.execute(select(DupGroup).where(DupGroup.kind.in_(GroupKind.DUPLICATES))).scalars()}
    members: dict[int, list[DupMember]] = defaultdict(list)
    for m in session.execute(select(DupMember)).scalars():
        members[m.group_id].append(m)
    exact, similar = [], []
    for g in groups.values():
        (exact if g.kind == GroupKind.EXACT else similar).append(_as_group(g, members[g.id]))
    exact.sort(key=lambda g: g.representative)
    similar.sort(key=lambda g: g.representative)
    return Grouping(tuple(exact), tuple(similar), params), groups


@dataclass
class RegroupReport:
    new_files: int = 0
    library_files: int = 0
    exact_groups: int = 0
    similar_groups: int = 0
    created: int = 0
    changed: int = 0
    removed: int = 0


def regroup(params: SimilarityParams | None = None) -> RegroupReport:
    """Group the files that are not grouped yet against the library; store the result."""
    params = params or SimilarityParams()
    report = RegroupReport()
    with write_transaction() as s:
        new_rows = s.execute(select(*_HASH_COLUMNS).where(*_groupable(), MediaFile.grouped.is_(False))).all()
        if not new_rows:
            return report
        lib_rows = s.execute(select(*_HASH_COLUMNS).where(*_groupable(), MediaFile.grouped.is_(True))).all()
        report.new_files, report.library_files = len(new_rows), len(lib_rows)
        previous, stored = _stored_grouping(s, params)
        grouping = update_grouping([hash_item(r) for r in lib_rows], previous,
                                   [hash_item(r) for r in new_rows], params)
        report.exact_groups, report.similar_groups = len(grouping.exact), len(grouping.similar)
        _store(s, grouping, stored, report)
        new_ids = [r.id for r in new_rows]
        for i in range(0, len(new_ids), 500):
            s.execute(update(MediaFile).where(MediaFile.id.in_(new_ids[i:i + 500])).values(grouped=True)
                      .execution_options(synchronize_session=False))
    log.info("regrouped: %s", report)
    return report


def _store(s, grouping: Grouping, stored: dict[tuple[str, int], DupGroup], report: RegroupReport) -> None:
    now = utcnow()
    wanted = {(g.kind, g.representative): g for g in grouping.groups}
    existing_members: dict[int, dict[int, DupMember]] = defaultdict(dict)
    for m in s.execute(select(DupMember)).scalars():
        existing_members[m.group_id][m.file_id] = m
    _follow_moved_representatives(wanted, stored, existing_members)
    for key, row in list(stored.items()):
        if key not in wanted:
            s.delete(row)
            report.removed += 1
    s.flush()
    for key, g in wanted.items():
        row = stored.get(key)
        if row is None:
            row = DupGroup(kind=g.kind, representative_id=g.representative, sha256=g.sha256,
                           confidence=g.confidence, confidence_label=g.confidence_label, status=GroupStatus.OPEN,
                           created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            report.created += 1
        have = existing_members.get(row.id, {})
        want = {m.id: m for m in g.members}
        if set(have) == set(want) and all(
                (h.distance, h.phash_distance, h.dhash_distance, h.rotation) ==
                (want[i].distance, want[i].phash_distance, want[i].dhash_distance, want[i].rotation)
                for i, h in have.items()):
            continue
        if have:
            report.changed += 1
            if set(want) - set(have) and row.status == GroupStatus.RESOLVED:
                row.status, row.resolved_at = GroupStatus.OPEN, None  # a new copy needs a decision
        for fid, m in have.items():
            if fid not in want:
                s.delete(m)
        for fid, gm in want.items():
            m = have.get(fid)
            if m is None:
                s.add(DupMember(group_id=row.id, file_id=fid, distance=gm.distance, phash_distance=gm.phash_distance,
                                dhash_distance=gm.dhash_distance, rotation=gm.rotation))
            else:
                m.distance, m.phash_distance, m.dhash_distance, m.rotation = (
                    gm.distance, gm.phash_distance, gm.dhash_distance, gm.rotation)
        row.confidence, row.confidence_label, row.updated_at = g.confidence, g.confidence_label, now
    s.flush()
    _point_files_at_groups(s)


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


def _point_files_at_groups(s) -> None:
    """Keep MediaFile.group_id / similar_group_id (the grid's filter hook) equal to the groups."""
    desired: dict[int, list[int | None]] = defaultdict(lambda: [None, None])
    for gid, kind, fid in s.execute(select(DupGroup.id, DupGroup.kind, DupMember.file_id)
                                    .join(DupMember, DupMember.group_id == DupGroup.id)
                                    .where(DupGroup.kind.in_(GroupKind.DUPLICATES))):
        desired[fid][0 if kind == GroupKind.EXACT else 1] = gid
    current = {r.id: [r.group_id, r.similar_group_id] for r in s.execute(
        select(MediaFile.id, MediaFile.group_id, MediaFile.similar_group_id)
        .where(or_(MediaFile.group_id.is_not(None), MediaFile.similar_group_id.is_not(None))))}
    changes = []
    for fid in set(desired) | set(current):
        want = desired.get(fid, [None, None])
        if current.get(fid, [None, None]) != want:
            changes.append({"_id": fid, "g": want[0], "sg": want[1]})
    if changes:
        t = MediaFile.__table__
        s.connection().execute(
            t.update().where(t.c.id == db.bindparam("_id")).values(group_id=db.bindparam("g"),
                                                                   similar_group_id=db.bindparam("sg")),
            changes)


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
