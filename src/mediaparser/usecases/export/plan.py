"""The export's plan (also the dry run): where each file of an import goes, or why it is skipped.

Each kept file's destination comes from the layout template (media/layout.py,
the one place that knows the layout) by its LOCAL capture time — a time known
only to the day, month, year or decade gets `layout.partial_name`'s numbered
name (the first number free on disk, in the manifest and in this plan) —
`MediaFile.captured_at` is stored as local wall-clock time and is used as it
is (docs/capture-time.md §11) — and its corrected lower-case extension; files
without a capture time go to `unknown/` under their original name. Skipped
with a reason: files set aside as duplicates, files whose analysis failed,
files of the archive. Collisions: the same content already at a name (in this
plan, on disk, or per the manifest) is "already present" and not copied twice;
different content gets `_2`, `_3`…. Stacks: a Live Photo's clip, a RAW beside its
JPEG and an edited copy are named after their stack's lead (`stack_name`), and
a clash renumbers the whole stack together; burst frames keep their own names. Warnings: files still needing review,
unresolved duplicate groups. While groups are unresolved the export refuses
to start unless overridden — here, so every caller (page, API, CLI) gets the
same rule. `create_export_job` checks the plan and creates the job row; the
caller submits it to the queue.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import distinct, func, select

from mediaparser.config import Settings
from mediaparser.library.in_archive import archive_rows
from mediaparser.media import layout
from mediaparser.media.probe import sha256_file
from mediaparser.media.tags import strip_tag_groups
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import (DupGroup, DupMember, FileStatus, GroupKind, GroupStatus, Job, JobStatus, JobType,
                                      MediaFile, StackRole, utcnow)
from mediaparser.usecases import settings_store
from mediaparser.usecases.export.manifest import archived_in
from mediaparser.usecases.stacks import ONE_PHOTO_KINDS

UNKNOWN_FOLDER = "unknown"
SKIP_ASIDE = "set aside as a duplicate"
SKIP_ASIDE_BURST = "set aside from its burst"  # "keep the cover only" / "keep the sharpest N"
SKIP_FAILED = "analysis failed"
SKIP_IN_ARCHIVE = "it is a file of the archive, not an original"
PLAN_EXAMPLES = 5


class ExportRefused(ValueError):
    """The export cannot start; the message is for the user."""


class UnresolvedGroups(ExportRefused):
    pass


@dataclass
class PlannedFile:
    file_id: int
    source_path: str
    destination: str | None  # relative to the output folder; None when skipped
    action: str  # "copy", "present" or "skip"
    reason: str | None = None
    collision_of: str | None = None  # the name it would have had, when renamed _2, _3…


@dataclass
class Plan:
    import_job_id: int
    output: str
    layout: str
    files: list[PlannedFile] = field(default_factory=list)
    needs_review: int = 0
    open_groups: int = 0

    def to_dict(self, examples: int = PLAN_EXAMPLES) -> dict[str, Any]:
        folders: dict[str, dict[str, Any]] = {}
        skipped: dict[str, dict[str, Any]] = {}
        collisions: list[dict[str, str]] = []
        counts = {"copy": 0, "present": 0, "skip": 0}
        for f in self.files:
            counts[f.action] += 1
            if f.action == "skip":
                slot = skipped.setdefault(f.reason or "", {"count": 0, "examples": []})
                slot["count"] += 1
                if len(slot["examples"]) < examples:
                    slot["examples"].append(f.source_path)
                continue
            assert f.destination is not None
            folder = os.path.dirname(f.destination) or "."
            slot = folders.setdefault(folder, {"folder": folder, "count": 0, "example": f.destination})
            slot["count"] += 1
            if f.collision_of and len(collisions) < 50:
                collisions.append({"source": f.source_path, "wanted": f.collision_of, "destination": f.destination})
        warnings = []
        if self.needs_review:
            warnings.append(f"{self.needs_review} file(s) still need review of their capture time.")
        if self.open_groups:
            warnings.append(f"{self.open_groups} duplicate group(s) are not resolved yet; resolve them first, "
                            "or start the export anyway (every member of an open group is exported).")
        return {
            "import_job_id": self.import_job_id, "output": self.output, "layout": self.layout,
            "total": len(self.files), "to_copy": counts["copy"], "already_present": counts["present"],
            "skipped_count": counts["skip"],
            "unknown": sum(1 for f in self.files if f.destination and f.destination.startswith(UNKNOWN_FOLDER + "/")),
            "folders": sorted(folders.values(), key=lambda d: d["folder"]),
            "collisions": collisions,
            "collision_count": sum(1 for f in self.files if f.collision_of),
            "skipped": skipped,
            "needs_review": self.needs_review, "open_groups": self.open_groups, "warnings": warnings,
            "can_start": self.open_groups == 0,
        }


def with_suffix(destination: str, n: int) -> str:
    """`2019/20190812_143025.jpg` → `2019/20190812_143025_2.jpg` (n ≥ 2)."""
    head, tail = os.path.split(destination)
    stem, ext = os.path.splitext(tail)
    return os.path.join(head, f"{stem}_{n}{ext}")


EDITED_SUFFIX = "_edited"


def stack_name(lead_dest: str, member) -> str:
    """A stack member's archive name from its lead's: the lead's name with the member's own
    extension (`20190812_143025.heic` → `20190812_143025.mov`), and `_edited` before it for
    an edited copy (`20190812_143025_edited.jpg`)."""
    stem = os.path.splitext(lead_dest)[0]
    suffix = EDITED_SUFFIX if member.stack_role == StackRole.EDITED else ""
    return f"{stem}{suffix}.{member.extension}" if member.extension else f"{stem}{suffix}"


def _own_name(dest: str) -> str:
    return dest


def stack_followers(rows) -> dict[int, list]:
    """Lead id → the other members of its stack among `rows` that are named after it
    (stacks of one photo, usecases/stacks.py ONE_PHOTO_KINDS; burst frames keep their own names)."""
    ids = {r.id for r in rows}
    out: dict[int, list] = {}
    for r in rows:
        if r.stack_kind in ONE_PHOTO_KINDS and r.stack_id is not None and r.stack_id != r.id and r.stack_id in ids:
            out.setdefault(r.stack_id, []).append(r)
    for ms in out.values():
        ms.sort(key=lambda m: m.id)
    return out


def _import_job(import_job_id: int) -> Job:
    job = db.session.get(Job, import_job_id, populate_existing=True)
    db.session.commit()
    if job is None:
        raise LookupError(f"job {import_job_id} does not exist")
    if job.job_type != JobType.IMPORT:
        raise ExportRefused(f"job {import_job_id} is not an import; give the import job to export")
    if job.status != JobStatus.COMPLETED:
        raise ExportRefused(f"import job {import_job_id} is {job.status}; export it once it has completed")
    return job


def output_dir(settings: Settings, output: str | None) -> Path:
    """The real output folder, once the output rule (output_rule.py) allows it: every export —
    planned, started from the web or the CLI, or run by a worker long after — goes through here."""
    out = Path(output).expanduser() if output else settings.output
    if out is None:
        raise ExportRefused("no output folder is configured (set MEDIAPARSER_OUTPUT)")
    if not out.is_absolute():
        raise ExportRefused(f"the output folder {out} must be a full path, starting with /")
    problem = settings.output_problem(out)
    if problem:
        raise ExportRefused(f"the output folder {out} cannot hold the archive: {problem}")
    return Path(os.path.realpath(out))


def destination_in(output: str | Path, dest_rel: str) -> Path | None:
    """`output`/`dest_rel`, or None when that would not lie strictly inside the output folder
    (a `..` that came through, or a link inside the output that leads elsewhere)."""
    out = os.path.realpath(output)
    dest = os.path.normpath(os.path.join(out, dest_rel))
    if not dest.startswith(out.rstrip("/") + "/"):
        return None
    folder = os.path.realpath(os.path.dirname(dest))
    if folder != out and not folder.startswith(out.rstrip("/") + "/"):
        return None
    return Path(folder) / os.path.basename(dest)


OUTSIDE_OUTPUT = "its archive name would lie outside the output folder"


def _status_counts(import_job_id: int) -> tuple[int, int]:
    """(files needing review, unresolved groups) among the import's files."""
    from mediaparser.library.filters import needs_review_clause

    needs = db.session.execute(select(func.count()).select_from(MediaFile).where(
        MediaFile.job_id == import_job_id, MediaFile.status == FileStatus.DONE, needs_review_clause())).scalar_one()
    groups = db.session.execute(
        select(func.count(distinct(DupGroup.id))).select_from(DupGroup)
        .join(DupMember, DupMember.group_id == DupGroup.id)
        .join(MediaFile, MediaFile.id == DupMember.file_id)
        .where(MediaFile.job_id == import_job_id, DupGroup.status == GroupStatus.OPEN)).scalar_one()
    return needs, groups


def _set_aside(import_job_id: int) -> dict[int, str]:
    """Files a person set aside, each with the reason the plan gives (a duplicate, or a burst's choice)."""
    rows = db.session.execute(
        select(DupMember.file_id, DupGroup.kind).join(MediaFile, MediaFile.id == DupMember.file_id)
        .join(DupGroup, DupGroup.id == DupMember.group_id)
        .where(MediaFile.job_id == import_job_id, DupMember.decision == "discard")).all()
    aside: dict[int, str] = {}
    for file_id, kind in rows:
        if kind != GroupKind.BURST or file_id not in aside:  # a duplicate's decision says the most
            aside[file_id] = SKIP_ASIDE_BURST if kind == GroupKind.BURST else SKIP_ASIDE
    return aside


def build_plan(settings: Settings, import_job_id: int, *, output: str | None = None,
               layout_template: str | None = None) -> Plan:
    """What an export of `import_job_id` would do. Reads only (hashes existing files on a name clash)."""
    _import_job(import_job_id)
    out = output_dir(settings, output)
    tpl = layout.check(layout_template or settings_store.get_layout()).template
    rows = db.session.execute(
        select(MediaFile.id, MediaFile.source_path, MediaFile.rel_path, MediaFile.status, MediaFile.error,
               MediaFile.sha256, MediaFile.captured_at, MediaFile.extension, MediaFile.model, MediaFile.precision,
               MediaFile.stack_id, MediaFile.stack_kind, MediaFile.stack_role)
        .where(MediaFile.job_id == import_job_id)
        .order_by(MediaFile.captured_at.is_(None), MediaFile.captured_at, MediaFile.id)).all()
    aside = _set_aside(import_job_id)
    archived_rows = archive_rows(r for r in rows if r.status == FileStatus.DONE)
    needs, groups = _status_counts(import_job_id)
    by_dest, by_sha = archived_in(str(out))
    db.session.commit()
    plan = Plan(import_job_id, str(out), tpl, needs_review=needs, open_groups=groups)
    taken: dict[str, str] = {}  # destination → sha of the content this plan puts there
    disk_sha: dict[str, str | None] = {}
    next_number: dict[str, int] = {}  # partial-date name (number 1) → the next number to try

    def content_at(dest: str) -> str | None:
        """The (source) sha of what is at `dest` already: this plan, the manifest, or the disk."""
        if dest in taken:
            return taken[dest]
        if dest in by_dest:
            return by_dest[dest]
        if dest not in disk_sha:
            p = destination_in(out, dest)
            if p is not None and p.is_symlink():  # never followed: the name is taken by something else
                disk_sha[dest] = "link"
            else:
                disk_sha[dest] = sha256_file(p) if p is not None and p.is_file() else None
        return disk_sha[dest]

    def early(r) -> PlannedFile | None:
        """The file's plan when the layout does not name it: skipped, or its content archived already."""
        if r.status != FileStatus.DONE or not r.sha256:
            return PlannedFile(r.id, r.source_path, None, "skip",
                               SKIP_FAILED if r.status == FileStatus.FAILED else "not analysed yet")
        if r.id in aside:
            return PlannedFile(r.id, r.source_path, None, "skip", aside[r.id])
        if r.id in archived_rows:  # never exported again, whatever its bytes
            return PlannedFile(r.id, r.source_path, None, "skip", SKIP_IN_ARCHIVE)
        if r.sha256 in by_sha:  # this very content is archived already (an earlier export)
            return PlannedFile(r.id, r.source_path, by_sha[r.sha256], "present")
        return None

    def is_partial(r) -> bool:
        return r.captured_at is not None and layout.partial_name(
            tpl, r.captured_at, r.precision, r.extension or "", 1, camera=r.model) is not None

    def name(r, n: int) -> str:
        """The file's n-th name by the layout: n = 1 is its plain name; a full capture time
        gets `_n` on a collision, a partial date numbers its names itself (no invented time)."""
        if is_partial(r):
            return layout.partial_name(tpl, r.captured_at, r.precision, r.extension or "", n, camera=r.model)
        if r.captured_at is not None:
            base = layout.render(tpl, r.captured_at, r.extension or "", camera=r.model)
        else:
            # Its original name — without `{tag}` groups, which became tags.
            base = f"{UNKNOWN_FOLDER}/{strip_tag_groups(os.path.basename(r.rel_path))}"
        return base if n == 1 else with_suffix(base, n)

    def fits(row, dest: str) -> str | None | bool:
        """What is at `dest` (None: free) when it may take `row`; False when other content is there."""
        there = content_at(dest)
        return there if there is None or there == row.sha256 else False

    def place(group: list[tuple[Any, Callable[[str], str]]]) -> None:
        """Name `group` — (row, its name from its lead's name) pairs, the lead first — at the first
        number n where every member's name is free or holds its very content: a stack is
        renumbered as one (`…_2.heic` + `…_2.mov`), never split across numbers."""
        lead = group[0][0]
        partial = is_partial(lead)
        first = name(lead, 1)
        n = next_number.get(first, 1) if partial else 1
        while True:
            dests = [follow(name(lead, n)) for _row, follow in group]
            there = [fits(row, d) for (row, _f), d in zip(group, dests)]
            if False not in there:
                break
            n += 1
        if partial:  # the next partial-date file of this period starts after the number taken
            next_number[first] = n + 1 if there[0] is None else next_number.get(first, 1)
        for (row, follow), dest, t in zip(group, dests, there):
            taken.setdefault(dest, row.sha256)
            wanted = follow(first) if n > 1 and not partial else None
            plan.files.append(PlannedFile(row.id, row.source_path, dest, "copy" if t is None else "present",
                                          collision_of=wanted))

    def join_archived(m, lead_dest: str) -> None:
        """A stack member whose lead is archived already: beside it under its name (the member
        alone takes `_n` when that name holds other content)."""
        base = stack_name(lead_dest, m)
        dest, n = base, 1
        while (t := fits(m, dest)) is False:
            n += 1
            dest = with_suffix(base, n)
        taken.setdefault(dest, m.sha256)
        plan.files.append(PlannedFile(m.id, m.source_path, dest, "copy" if t is None else "present",
                                      collision_of=base if n > 1 else None))

    followers = stack_followers(rows)
    following = {m.id for ms in followers.values() for m in ms}
    for r in rows:
        if r.id in following:
            continue  # planned with its lead
        mine = followers.get(r.id, [])
        alone = early(r)
        group: list[tuple[Any, Callable[[str], str]]] = [] if alone else [(r, _own_name)]
        if alone:
            plan.files.append(alone)
        seen: dict[str, int] = {}
        for m in mine:
            skip = early(m)
            if skip is not None:
                plan.files.append(skip)
            elif alone is not None and alone.action == "present" and alone.destination:
                join_archived(m, alone.destination)
            elif alone is not None:
                place([(m, _own_name)])  # the lead is not exported: the member on its own
            else:
                # Two edited copies of one original: `…_edited.jpg` and `…_edited_2.jpg`.
                k = seen[stack_name("", m)] = seen.get(stack_name("", m), 0) + 1
                group.append((m, lambda lead_dest, m=m, k=k: stack_name(lead_dest, m) if k == 1
                              else with_suffix(stack_name(lead_dest, m), k)))
        if group:
            place(group)
    return plan


# ------------------------------------------------------------- the job --

def create_export_job(settings: Settings, import_job_id: int, *, output: str | None = None,
                      allow_unresolved: bool = False) -> tuple[Job, Plan]:
    """Check the plan and create a PENDING export job (the caller enqueues it)."""
    plan = build_plan(settings, import_job_id, output=output)
    if plan.open_groups and not allow_unresolved:
        raise UnresolvedGroups(f"{plan.open_groups} duplicate group(s) of import {import_job_id} are not resolved; "
                               "resolve them, or start the export with the override")
    out = Path(plan.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportRefused(f"the output folder {out} cannot be created: {e.strerror or e}") from None
    if not os.access(out, os.W_OK):
        raise ExportRefused(f"the output folder {out} is not writable")
    opts = {"import_job_id": import_job_id, "output": plan.output, "layout": plan.layout,
            "allow_unresolved": bool(allow_unresolved)}
    with write_transaction() as s:
        job = Job(job_type=JobType.EXPORT, status=JobStatus.PENDING, options=opts,
                  max_attempts=settings.max_attempts, enqueued_at=utcnow(), progress_total=len(plan.files))
        s.add(job)
    return job, plan


def start_export(settings: Settings, import_job_id: int, *, output: str | None = None,
                 allow_unresolved: bool = False) -> Job:
    """Create the export job (PENDING) and return it; the caller — the web or the CLI — submits it."""
    job, _plan = create_export_job(settings, import_job_id, output=output, allow_unresolved=allow_unresolved)
    return job
