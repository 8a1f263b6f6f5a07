"""Source clean-up after an export: the one step that deletes originals.

Promise (PRODUCT.md): originals are never deleted except here, and only after
a verified export; no sequence of ordinary steps may lose a picture. A source
file of an import is listed as deletable (`plan_cleanup`) only when all hold:

1. it was analysed (DONE, with a SHA-256) and is not itself a file of the
   archive (library/in_archive.py: an export's destination, a file listed
   in a manifest.jsonl above it, or a copy of an edited archive file);
2. it lies inside the import's own folder AND inside an import root or the
   upload folder, on resolved real paths (so a CLI import of some other
   folder, another import's files, or a link leading elsewhere are never
   touched);
3. its content is verified in the archive — its own verified ManifestEntry
   with the same SHA-256, or, only when a person set it aside as a duplicate,
   a verified entry of a file a person kept in the same group (a file kept
   with "keep all" never goes through a group-mate's export);
4. uploaded working copies (files in the upload folder) only when asked for
   (`working_copies=True`), which also removes the thumbnails of the files
   deleted;
5. it is still a regular file (not replaced by a link) with the analysed size
   and modification time, and its archive copy exists and is a different
   file: another real path and another device + inode (an output folder
   pointed at the sources, or a hard link, makes the "copy" the source itself).

Right before each deletion (`delete_sources`) the decisive checks run again
on the bytes, not on size and time: the source is opened without following a
link and re-hashed to the analysed SHA-256 (an edit that kept size and
modification time is caught), its archive copy is opened, must be a different
file (device + inode, real path) and must still hash to what the manifest
recorded, the source must still lie inside the roots, and the path must still
name the very file that was hashed when it is unlinked. Anything else is kept
and reported with the reason.

6. Stacks of one photo (usecases/stacks.py ONE_PHOTO_KINDS: a Live Photo's
   still and clip, a RAW and its JPEG, an original and its edited copy) go
   together: a member is deletable only when every member of its stack is,
   and at deletion every member passes the checks on its bytes before any of
   them is unlinked — a half-verified pair stays whole. (A burst's frames are
   photos of their own: each goes by its own copy.)
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from mediaparser.config import Settings
from mediaparser.store.db import db
from mediaparser.media.probe import sha256_stream
from mediaparser.store.models import DupMember, FileStatus, Job, JobType, ManifestEntry, MediaFile
from mediaparser.library.in_archive import archive_rows
from mediaparser.usecases.stacks import ONE_PHOTO_KINDS
from mediaparser.usecases import takeout

EXAMPLES = 5

KEEP_NOT_ANALYSED = "not analysed (failed or pending): never exported"
KEEP_IN_ARCHIVE = "a file of the archive itself, not an original"
KEEP_OUTSIDE = "outside the import roots and the upload folder"
KEEP_NOT_VERIFIED = "no verified export (of the file or of a duplicate a person set it aside for)"
KEEP_WORKING_COPY = "uploaded working copy (removed only on request)"
KEEP_GONE = "already gone"
KEEP_NOT_REGULAR = "no longer a regular file (replaced by a link or something else)"
KEEP_CHANGED = "changed since the import"
KEEP_COPY_MISSING = "its archive copy is missing"
KEEP_SAME_FILE = "its archive copy is this very file (the archive and the sources overlap)"
KEEP_STACK = ("another file of its stack (a Live Photo's clip, a RAW's JPEG, an edited copy) "
              "has no verified copy: the stack's files are removed together or not at all")


class CleanupRefused(ValueError):
    """The clean-up cannot run; the message is for the user."""


@dataclass
class Deletable:
    file_id: int
    path: str  # real path of the source
    archived_as: str  # real path of the verified archive copy
    final_sha256: str  # what the archive copy must hash to
    via_keeper: bool  # verified through the kept duplicate's export
    working_copy: bool  # an uploaded file in the upload folder
    source_sha256: str = ""  # what the source must still hash to
    job_root: str = ""
    stack_id: int | None = None  # the lead of its stack of one photo: deleted together


@dataclass
class CleanupPlan:
    import_job_id: int
    deletable: list[Deletable] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)  # reason → source paths

    def keep(self, reason: str, path: str) -> None:
        self.kept.setdefault(reason, []).append(path)

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        items = self.deletable if limit is None else self.deletable[:limit]
        return {
            "import_job_id": self.import_job_id,
            "count": len(self.deletable),
            "bytes": sum(_size(d.path) for d in self.deletable),
            "files": [{"file_id": d.file_id, "path": d.path, "archived_as": d.archived_as,
                       "via_kept_duplicate": d.via_keeper, "working_copy": d.working_copy} for d in items],
            "kept": {reason: {"count": len(paths), "examples": paths[:EXAMPLES]} for reason, paths in self.kept.items()},
        }


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _in_roots(settings: Settings, real: Path, job_root: Path) -> bool:
    """Condition 2: inside the import's folder and inside an import root or the upload folder."""
    return _inside(real, job_root) and settings.path_in_import_roots(real) is not None


def _verified_copies(file_ids: list[int]) -> dict[int, ManifestEntry]:
    """file_id → a verified manifest entry of that very file."""
    out: dict[int, ManifestEntry] = {}
    for i in range(0, len(file_ids), 500):
        for m in db.session.execute(select(ManifestEntry).where(
                ManifestEntry.file_id.in_(file_ids[i:i + 500]), ManifestEntry.verified.is_(True))
                .order_by(ManifestEntry.id)).scalars():
            out.setdefault(m.file_id, m)
    return out


def _keepers(file_ids: list[int]) -> dict[int, list[int]]:
    """For each file a person set aside: the files a person kept in its groups."""
    mine, other = aliased(DupMember), aliased(DupMember)
    out: dict[int, list[int]] = {}
    for i in range(0, len(file_ids), 500):
        rows = db.session.execute(
            select(mine.file_id, other.file_id).join(other, other.group_id == mine.group_id)
            .where(mine.file_id.in_(file_ids[i:i + 500]), mine.decision == "discard", other.decision == "keep"))
        for fid, keeper in rows:
            out.setdefault(fid, []).append(keeper)
    return out


def _copy_problem(source: os.stat_result, source_real: str, copy_path: str) -> str | None:
    """Why `copy_path` cannot stand for the source (missing, or the very same file), or None."""
    try:
        cst = os.stat(copy_path)
    except OSError:
        return KEEP_COPY_MISSING
    if not stat.S_ISREG(cst.st_mode):
        return KEEP_COPY_MISSING
    if os.path.realpath(copy_path) == source_real or (cst.st_dev, cst.st_ino) == (source.st_dev, source.st_ino):
        return KEEP_SAME_FILE
    return None


def plan_cleanup(settings: Settings, import_job_id: int, *, working_copies: bool = False) -> CleanupPlan:
    """Which source files of an import may be deleted, and why the others stay."""
    job = db.session.get(Job, import_job_id, populate_existing=True)
    if job is None or job.job_type != JobType.IMPORT:
        db.session.commit()
        raise LookupError(f"import job {import_job_id} does not exist")
    job_root = Path(os.path.realpath(job.source_path or "/nonexistent"))
    upload_root = Path(os.path.realpath(settings.upload_dir))
    # A Google Takeout import's files lie in its parts' working copy (usecases/takeout.py), a working copy like an upload's.
    copies = [Path(c) for c in takeout.working_copies(job)]
    rows = db.session.execute(select(MediaFile).where(MediaFile.job_id == import_job_id)
                              .order_by(MediaFile.id)).scalars().all()
    ids = [r.id for r in rows]
    own = _verified_copies(ids)
    keepers = _keepers(ids)
    via = _verified_copies(sorted({k for ks in keepers.values() for k in ks}))
    archived = archive_rows(r for r in rows if r.status == FileStatus.DONE)
    db.session.commit()
    plan = CleanupPlan(import_job_id)
    for r in rows:
        real = Path(os.path.realpath(r.source_path))
        if r.status != FileStatus.DONE or not r.sha256:
            plan.keep(KEEP_NOT_ANALYSED, r.source_path)
            continue
        if r.id in archived:
            plan.keep(KEEP_IN_ARCHIVE, r.source_path)
            continue
        root = next((c for c in copies if _inside(real, c)), job_root)
        if not _in_roots(settings, real, root):
            plan.keep(KEEP_OUTSIDE, r.source_path)
            continue
        entry, by_keeper = own.get(r.id), False
        if entry is None or entry.sha256 != r.sha256:
            entry = next((via[k] for k in keepers.get(r.id, []) if k in via), None)
            by_keeper = entry is not None
        if entry is None:
            plan.keep(KEEP_NOT_VERIFIED, r.source_path)
            continue
        working = _inside(real, upload_root)
        if working and not working_copies:
            plan.keep(KEEP_WORKING_COPY, r.source_path)
            continue
        try:
            st = os.lstat(r.source_path)
        except OSError:
            plan.keep(KEEP_GONE, r.source_path)
            continue
        if not stat.S_ISREG(st.st_mode):
            plan.keep(KEEP_NOT_REGULAR, r.source_path)
            continue
        if st.st_size != r.size or (r.mtime is not None and abs(st.st_mtime - r.mtime) > 1e-3):
            plan.keep(KEEP_CHANGED, r.source_path)
            continue
        archived_as = os.path.realpath(os.path.join(entry.output_root, entry.destination))
        problem = _copy_problem(st, str(real), archived_as)
        if problem:
            plan.keep(problem, r.source_path)
            continue
        plan.deletable.append(Deletable(r.id, str(real), archived_as, entry.final_sha256 or entry.sha256, by_keeper,
                                        working, source_sha256=r.sha256, job_root=str(root),
                                        stack_id=r.stack_id if r.stack_kind in ONE_PHOTO_KINDS else None))
    _whole_stacks_only(plan, rows)
    return plan


def _whole_stacks_only(plan: CleanupPlan, rows) -> None:
    """Condition 6: keep every member of a stack one of whose members is not deletable."""
    members: dict[int, set[int]] = {}
    for r in rows:
        if r.stack_id is not None and r.stack_kind in ONE_PHOTO_KINDS:
            members.setdefault(r.stack_id, set()).add(r.id)
    ready = {d.file_id for d in plan.deletable}
    broken = {lead for lead, ids in members.items() if not ids <= ready}
    if not broken:
        return
    kept = [d for d in plan.deletable if d.stack_id in broken]
    plan.deletable = [d for d in plan.deletable if d.stack_id not in broken]
    for d in kept:
        plan.keep(KEEP_STACK, d.path)


@dataclass
class CleanupResult:
    deleted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # path → why it was left at the last check
    thumbnails_removed: int = 0
    working_copies_removed: list[str] = field(default_factory=list)  # Takeout working copies left without photos

    def to_dict(self, limit: int = 50) -> dict[str, Any]:
        return {"deleted_count": len(self.deleted), "deleted": self.deleted[:limit],
                "refused": dict(list(self.refused.items())[:limit]), "refused_count": len(self.refused),
                "thumbnails_removed": self.thumbnails_removed,
                "working_copies_removed": self.working_copies_removed}


def _shared_thumbnail(path: str, file_id: int) -> bool:
    """A re-import reuses an earlier analysis and its thumbnail: never remove one another row still shows."""
    other = db.session.execute(select(MediaFile.id).where(MediaFile.thumbnail == path, MediaFile.id != file_id)
                               .limit(1)).first()
    db.session.commit()
    return other is not None


def _hash_copy(path: str) -> tuple[os.stat_result, str] | None:
    try:
        with open(path, "rb") as fh:
            return os.fstat(fh.fileno()), sha256_stream(fh)
    except OSError:
        return None


def _check_one(settings: Settings, d: Deletable) -> str | os.stat_result:
    """The decisive checks on the bytes: the reason the source stays, or the stat of the file checked."""
    if not _in_roots(settings, Path(os.path.realpath(d.path)), Path(d.job_root)):
        return KEEP_OUTSIDE
    try:
        # Never through a link (O_NOFOLLOW), never blocking on a special file (O_NONBLOCK).
        fd = os.open(d.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return KEEP_GONE
    except OSError as exc:
        return f"could not be read to check it again: {exc.strerror or exc}"
    with os.fdopen(fd, "rb") as fh:
        src = os.fstat(fh.fileno())
        if not stat.S_ISREG(src.st_mode):
            return KEEP_NOT_REGULAR
        try:
            if sha256_stream(fh) != d.source_sha256:
                return KEEP_CHANGED + " (its content no longer matches the analysed SHA-256)"
        except OSError as exc:
            return f"could not be read to check it again: {exc.strerror or exc}"
        problem = _copy_problem(src, os.path.realpath(d.path), d.archived_as)
        if problem:
            return problem
        copy = _hash_copy(d.archived_as)
        if copy is None or copy[1] != d.final_sha256:
            return "the archive copy is missing or no longer matches the manifest"
        if (copy[0].st_dev, copy[0].st_ino) == (src.st_dev, src.st_ino):
            return KEEP_SAME_FILE
    return src


def _unlink_checked(d: Deletable, src: os.stat_result) -> str | None:
    """Unlink the source if its path still names the very file `_check_one` hashed."""
    try:
        now = os.lstat(d.path)
    except FileNotFoundError:
        return KEEP_GONE
    if (now.st_dev, now.st_ino) != (src.st_dev, src.st_ino):
        return KEEP_NOT_REGULAR  # the name was pointed at another file while we checked
    try:
        os.unlink(d.path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"could not delete: {exc.strerror or exc}"
    return None


def delete_sources(settings: Settings, import_job_id: int, *, working_copies: bool = False) -> CleanupResult:
    """Delete the deletable set of `plan_cleanup`, checking each source and archive copy again first."""
    plan = plan_cleanup(settings, import_job_id, working_copies=working_copies)
    result = CleanupResult()
    thumbs: dict[int, str | None] = {}
    if working_copies and plan.deletable:
        thumbs = dict(db.session.execute(select(MediaFile.id, MediaFile.thumbnail).where(
            MediaFile.id.in_([d.file_id for d in plan.deletable]))).all())
        db.session.commit()
    thumb_root = Path(os.path.realpath(settings.thumbnail_dir))
    for unit in _deletion_units(plan.deletable):
        checked = [(d, _check_one(settings, d)) for d in unit]
        failed = next((c for _d, c in checked if isinstance(c, str)), None)
        if failed is not None and len(unit) > 1:  # one member fails its check: the whole stack stays
            for d, c in checked:
                result.refused[d.path] = c if isinstance(c, str) else f"{KEEP_STACK} ({failed})"
            continue
        for d, c in checked:
            reason = c if isinstance(c, str) else _unlink_checked(d, c)
            if reason is not None:
                result.refused[d.path] = reason
                continue
            result.deleted.append(d.path)
            _remove_thumbnail(d, thumbs, thumb_root, result)
    if working_copies and result.deleted:
        # A Google Takeout working copy whose every photo went: its JSON files and folders go too.
        result.working_copies_removed = takeout.remove_emptied_copies(settings, import_job_id)
    return result


def _deletion_units(deletable: list[Deletable]) -> list[list[Deletable]]:
    """The files deleted together: a stack's members as one unit, every other file alone."""
    units: list[list[Deletable]] = []
    by_stack: dict[int, list[Deletable]] = {}
    for d in deletable:
        if d.stack_id is None:
            units.append([d])
        elif d.stack_id in by_stack:
            by_stack[d.stack_id].append(d)
        else:
            by_stack[d.stack_id] = [d]
            units.append(by_stack[d.stack_id])
    return units


def _remove_thumbnail(d: Deletable, thumbs: dict[int, str | None], thumb_root: Path, result: CleanupResult) -> None:
    t = thumbs.get(d.file_id)
    if t and _inside(Path(os.path.realpath(t)), thumb_root) and not _shared_thumbnail(t, d.file_id):
        try:
            os.unlink(t)
            result.thumbnails_removed += 1
        except OSError:
            pass
