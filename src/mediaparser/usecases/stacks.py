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
the stacks of some files, lead first.
"""
from __future__ import annotations

import os
from collections import defaultdict
from typing import Callable, Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mediaparser.media.stacking import Stack, StackFacts, find_stacks
from mediaparser.store.db import db
from mediaparser.store.models import FileStatus, MediaFile, StackKind

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
