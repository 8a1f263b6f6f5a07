"""Stacks of an import: find them (media.stacking decides) and store them on the files.

`stack_job` runs at the end of every import, before duplicate grouping: the
job's analysed files are taken folder by folder, media.stacking.find_stacks
proposes the stacks, and each member gets the stack's lead id, kind and role
(media_files.stack_id / stack_kind / stack_role, migration 0010). The writes go
through the job's checkpoint, so they land only while the job's lease holds,
in short transactions of a few thousand files at most.

Stacks are found among one import's files: a folder imported again later
only adds files whose content is new, which are stacked among themselves.
Running it twice gives the same stacks (a retry after a crash is harmless).

`stack_members` answers the readers (review, export, clean-up): the members of
the stacks of some files, lead first; `with_members` widens a decision's files
to whole stacks (a date set on a stack is set on every member, usecases.review);
`stack_view` is a stack as the examination view lists it.

A burst keeps every frame until a person chooses otherwise: `keep_burst_frames`
keeps the cover only or the sharpest N frames (media.sharpness on the
thumbnails) and sets the others aside the way a duplicate decision does — a
group of kind GroupKind.BURST whose set-aside members the export skips and the
set-aside list can bring back — recorded in the history with its undo.
"""
from __future__ import annotations

import os
from collections import defaultdict
from typing import Callable, Iterable, Sequence

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mediaparser.library.queries import split_path
from mediaparser.media.isotime import iso_local
from mediaparser.media.sharpness import sharpness_of
from mediaparser.media.stacking import LABELS, Stack, StackFacts, find_stacks
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import (DupGroup, DupMember, FileStatus, GroupKind, GroupStatus, MediaFile, StackKind,
                                      utcnow)
from mediaparser.usecases import history
from mediaparser.usecases.history import Actor

# Stacks whose files make one photo: a Live Photo's still and clip, a RAW and
# its JPEG, an original and its edited copy. The export names them after their
# lead and the clean-up deletes their sources together. A burst's frames are
# photos of their own moments: named and deleted one by one.
ONE_PHOTO_KINDS = frozenset({StackKind.LIVE, StackKind.RAW_JPEG, StackKind.EDITED})

# How many files' facts are read and written per checkpoint.
BATCH_FILES = 2000

_FACT_COLUMNS = (MediaFile.id, MediaFile.source_path, MediaFile.kind, MediaFile.extension, MediaFile.captured_at,
                 MediaFile.make, MediaFile.model, MediaFile.content_id, MediaFile.burst_id, MediaFile.phash)


def facts_of(row) -> StackFacts:
    return StackFacts(id=row.id, path=row.source_path, kind=row.kind, extension=row.extension,
                      captured_at=row.captured_at, make=row.make, model=row.model, content_id=row.content_id,
                      burst_id=row.burst_id, phash=row.phash)


def _folder_batches(job_id: int) -> list[list[int]]:
    """The job's analysed file ids, a folder's files always in one batch (batches of whole folders)."""
    rows = db.session.execute(
        select(MediaFile.id, MediaFile.source_path).where(MediaFile.job_id == job_id,
                                                          MediaFile.status == FileStatus.DONE)
    ).all()
    db.session.commit()  # end the read
    by_folder: dict[str, list[int]] = defaultdict(list)
    for r in rows:
        by_folder[os.path.dirname(r.source_path)].append(r.id)
    batches: list[list[int]] = [[]]
    for folder in sorted(by_folder):
        ids = by_folder[folder]
        if batches[-1] and len(batches[-1]) + len(ids) > BATCH_FILES:
            batches.append([])
        batches[-1].extend(ids)
    return [b for b in batches if b]


def _load_facts(ids: Sequence[int]) -> list[StackFacts]:
    out: list[StackFacts] = []
    for i in range(0, len(ids), 900):
        out.extend(facts_of(r) for r in db.session.execute(
            select(*_FACT_COLUMNS).where(MediaFile.id.in_(ids[i:i + 900]))).all())
    db.session.commit()
    return out


def write_stacks(s: Session, ids: Sequence[int], stacks: Iterable[Stack]) -> None:
    """Set the stack columns of `ids`: members of `stacks` get theirs, the rest none."""
    placed: dict[int, tuple[int, str, str]] = {}
    for st in stacks:
        for fid, role in st.roles.items():
            placed[fid] = (st.lead, st.kind, role)
    loose = [i for i in ids if i not in placed]
    for i in range(0, len(loose), 900):
        s.execute(update(MediaFile).where(MediaFile.id.in_(loose[i:i + 900]), MediaFile.stack_id.is_not(None))
                  .values(stack_id=None, stack_kind=None, stack_role=None)
                  .execution_options(synchronize_session=False))
    by_values: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for fid, values in placed.items():
        by_values[values].append(fid)
    for (lead, kind, role), fids in by_values.items():
        s.execute(update(MediaFile).where(MediaFile.id.in_(fids))
                  .values(stack_id=lead, stack_kind=kind, stack_role=role)
                  .execution_options(synchronize_session=False))


def stack_job(job_id: int, commit: Callable[[Callable[[Session], None]], None]) -> int:
    """Find and store the stacks among job `job_id`'s files; the number of stacks.

    `commit(apply)` runs `apply(session)` in one write transaction (the import
    passes its fenced checkpoint)."""
    count = 0
    for ids in _folder_batches(job_id):
        stacks = find_stacks(_load_facts(ids))
        count += len(stacks)
        commit(lambda s, ids=ids, stacks=stacks: write_stacks(s, ids, stacks))
    return count


def stack_members(file_ids: Iterable[int]) -> dict[int, list[MediaFile]]:
    """For each stack touching `file_ids`: its lead id → its members, lead first."""
    ids = list(set(file_ids))
    leads: set[int] = set()
    for i in range(0, len(ids), 900):
        leads.update(db.session.execute(
            select(MediaFile.stack_id).where(MediaFile.id.in_(ids[i:i + 900]), MediaFile.stack_id.is_not(None))
        ).scalars())
    out: dict[int, list[MediaFile]] = {}
    lead_list = sorted(leads)
    for i in range(0, len(lead_list), 900):
        for f in db.session.execute(select(MediaFile).where(MediaFile.stack_id.in_(lead_list[i:i + 900]))
                                    .order_by(MediaFile.id)).scalars():
            out.setdefault(f.stack_id, []).append(f)
    for members in out.values():
        members.sort(key=lambda f: (f.id != f.stack_id, f.id))
    return out


def with_members(file_ids: Sequence[int]) -> list[int]:
    """`file_ids` and every other member of the stacks they touch (the given ids first, in their order)."""
    ids = list(dict.fromkeys(file_ids))
    extra: list[int] = []
    seen = set(ids)
    for members in stack_members(ids).values():
        for m in members:
            if m.id not in seen:
                seen.add(m.id)
                extra.append(m.id)
    db.session.commit()
    return ids + extra


def set_aside_frames(lead_id: int) -> set[int]:
    """The frames of burst `lead_id` a person set aside."""
    return set(db.session.execute(
        select(DupMember.file_id).join(DupGroup, DupGroup.id == DupMember.group_id)
        .where(DupGroup.kind == GroupKind.BURST, DupGroup.representative_id == lead_id,
               DupMember.decision == "discard")).scalars())


def stack_view(file_id: int) -> dict[str, Any] | None:
    """The stack `file_id` belongs to, for the examination view: kind, lead and members (lead first), or None.
    Reads in the caller's transaction (review.file_detail ends it)."""
    found = stack_members([file_id])
    if not found:
        return None
    lead_id, members = next(iter(found.items()))
    aside = set_aside_frames(lead_id) if members[0].stack_kind == StackKind.BURST else set()
    kind = members[0].stack_kind
    out = {
        "lead": lead_id, "kind": kind, "label": LABELS.get(kind, kind), "count": len(members),
        "set_aside": len(aside),
        "members": [{"id": m.id, "name": split_path(m.rel_path)[1], "role": m.stack_role, "thumb": bool(m.thumbnail),
                     "kind": m.kind, "captured_at": iso_local(m.captured_at), "set_aside": m.id in aside}
                    for m in members],
    }
    return out


class BurstError(ValueError):
    """The burst choice does not fit (the message says why, for the person)."""


@dataclass
class BurstChoice:
    lead: int
    kept: list[int]
    set_aside: list[int]
    batch_id: int | None
    summary: str

    def to_dict(self) -> dict[str, Any]:
        return {"lead": self.lead, "kept": self.kept, "set_aside": self.set_aside, "batch_id": self.batch_id,
                "summary": self.summary}


def frame_sharpness(frames: Sequence[MediaFile]) -> dict[int, float]:
    """Each frame's sharpness from its thumbnail (media.sharpness); a frame without one gets its `detail`
    figure scaled below every measured one, so a measured frame is always preferred."""
    out: dict[int, float] = {}
    for f in frames:
        value = sharpness_of(f.thumbnail) if f.thumbnail else None
        out[f.id] = value if value is not None else -1e9 + (f.detail or 0.0)
    return out


def keep_burst_frames(file_id: int, *, keep: str, count: int | None = None,
                      actor: Actor | None = None) -> BurstChoice:
    """A person's choice for the burst `file_id` belongs to: keep "cover" (the lead only) or the
    "sharpest" `count` frames; the other frames are set aside (they stay in the library, leave the
    export, and come back from the set-aside list or by undoing the choice in the history).
    Choosing again replaces the earlier choice."""
    found = stack_members([file_id])
    members = next(iter(found.values()), [])
    db.session.commit()
    if not members or members[0].stack_kind != StackKind.BURST:
        raise BurstError("that file is not part of a burst")
    lead = members[0].id
    if keep == "cover":
        kept = [lead]
        words = "Kept the cover only"
    elif keep == "sharpest":
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= len(members):
            raise BurstError(f"say how many frames to keep, 1 to {len(members)}")
        sharp = frame_sharpness(members)
        order = sorted(members, key=lambda m: (-sharp[m.id], m.id))
        kept = sorted(m.id for m in order[:count])
        words = f"Kept the sharpest {history.plural(count, 'frame')}"
    elif keep == "all":
        kept = [m.id for m in members]
        words = "Kept every frame"
    else:
        raise BurstError("keep must be cover, sharpest or all")
    aside = sorted(m.id for m in members if m.id not in kept)
    name = history.file_name(members[0].rel_path)
    summary = f"{words} of the burst {name} ({history.plural(len(aside), 'frame')} set aside)"
    with write_transaction() as s:
        group = s.execute(select(DupGroup).where(DupGroup.kind == GroupKind.BURST,
                                                 DupGroup.representative_id == lead)).scalar_one_or_none()
        if group is None:
            # Created decided: a burst choice is never an open question on the duplicates page.
            group = DupGroup(kind=GroupKind.BURST, representative_id=lead, status=GroupStatus.RESOLVED,
                             resolved_at=utcnow(), confidence=1.0, confidence_label="high")
            s.add(group)
            s.flush()
        existing = {m.file_id: m for m in s.execute(select(DupMember).where(DupMember.group_id == group.id))
                    .scalars()}
        items: list[dict[str, Any]] = []
        for m in members:
            row = existing.get(m.id)
            if row is None:
                row = DupMember(group_id=group.id, file_id=m.id, decision=None)
                s.add(row)
            before = {"decision": row.decision}
            row.decision = "keep" if m.id in kept else "discard"
            items.append({"kind": "member", "unit": f"group:{group.id}", "group_id": group.id, "file_id": m.id,
                          "before": before, "after": {"decision": row.decision}})
        group.updated_at = utcnow()
        s.flush()
        batch_id = history.record(s, "burst_keep", actor, summary, len(members), items)
    return BurstChoice(lead, kept, aside, batch_id, summary)
