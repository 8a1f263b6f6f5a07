"""Source clean-up after an export: the one step that deletes originals.

Promise (PRODUCT.md): originals are never deleted except here, and only after
a verified export. A source file of an import is deletable only when all hold:

* its content is verified in the archive — its own ManifestEntry (verified,
  same SHA-256), or, when it was set aside as a duplicate, a verified entry of
  a file a person kept in the same group;
* the archive copy is still there and still hashes to what the manifest
  recorded (checked again right before deleting);
* it lies inside the import's own folder AND inside the import roots or the
  upload folder (so a CLI import of some other folder, or another import's
  files, are never touched), and it is unchanged since the import (size and
  modification time);
* uploaded working copies (files in the upload folder) only when asked for
  (`working_copies=True`), which also removes the thumbnails of the files
  deleted.

Listing (`plan_cleanup`) and deleting (`delete_sources`) use the same rule.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from ..config import Settings
from ..db import db
from ..media.probe import sha256_file
from ..models import DupMember, FileStatus, Job, JobType, ManifestEntry, MediaFile

EXAMPLES = 5


class CleanupRefused(ValueError):
    """The clean-up cannot run; the message is for the user."""


@dataclass
class Deletable:
    file_id: int
    path: str
    archived_as: str  # absolute path of the verified archive copy
    final_sha256: str
    via_keeper: bool  # verified through the kept duplicate's export
    working_copy: bool  # an uploaded file in the upload folder


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
    """For each set-aside file: the files a person kept in its groups."""
    mine, other = aliased(DupMember), aliased(DupMember)
    out: dict[int, list[int]] = {}
    for i in range(0, len(file_ids), 500):
        rows = db.session.execute(
            select(mine.file_id, other.file_id).join(other, other.group_id == mine.group_id)
            .where(mine.file_id.in_(file_ids[i:i + 500]), mine.decision == "discard", other.decision == "keep"))
        for fid, keeper in rows:
            out.setdefault(fid, []).append(keeper)
    return out


def plan_cleanup(settings: Settings, import_job_id: int, *, working_copies: bool = False) -> CleanupPlan:
    """Which source files of an import may be deleted, and why the others stay."""
    job = db.session.get(Job, import_job_id, populate_existing=True)
    if job is None or job.job_type != JobType.IMPORT:
        db.session.commit()
        raise LookupError(f"import job {import_job_id} does not exist")
    job_root = Path(os.path.realpath(job.source_path or "/nonexistent"))
    upload_root = Path(os.path.realpath(settings.upload_dir))
    rows = db.session.execute(select(MediaFile).where(MediaFile.job_id == import_job_id)
                              .order_by(MediaFile.id)).scalars().all()
    ids = [r.id for r in rows]
    own = _verified_copies(ids)
    keepers = _keepers(ids)
    via = _verified_copies(sorted({k for ks in keepers.values() for k in ks}))
    db.session.commit()
    plan = CleanupPlan(import_job_id)
    for r in rows:
        path = Path(os.path.realpath(r.source_path))
        if r.status != FileStatus.DONE or not r.sha256:
            plan.keep("not analysed (failed or pending): never exported", r.source_path)
            continue
        entry, by_keeper = own.get(r.id), False
        if entry is None or entry.sha256 != r.sha256:
            entry = next((via[k] for k in keepers.get(r.id, []) if k in via), None)
            by_keeper = entry is not None
        if entry is None:
            plan.keep("no verified export (of the file or of a duplicate a person kept)", r.source_path)
            continue
        if not _inside(path, job_root) or settings.path_in_import_roots(path) is None:
            plan.keep("outside the import roots and the upload folder", r.source_path)
            continue
        working = _inside(path, upload_root)
        if working and not working_copies:
            plan.keep("uploaded working copy (removed only on request)", r.source_path)
            continue
        try:
            st = os.stat(path)
        except OSError:
            plan.keep("already gone", r.source_path)
            continue
        if st.st_size != r.size or (r.mtime is not None and abs(st.st_mtime - r.mtime) > 1e-3):
            plan.keep("changed since the import", r.source_path)
            continue
        archived = str(Path(entry.output_root) / entry.destination)
        plan.deletable.append(Deletable(r.id, str(path), archived, entry.final_sha256 or entry.sha256, by_keeper,
                                        working))
    return plan


@dataclass
class CleanupResult:
    deleted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # path → why it was left at the last check
    thumbnails_removed: int = 0

    def to_dict(self, limit: int = 50) -> dict[str, Any]:
        return {"deleted_count": len(self.deleted), "deleted": self.deleted[:limit],
                "refused": dict(list(self.refused.items())[:limit]), "refused_count": len(self.refused),
                "thumbnails_removed": self.thumbnails_removed}


def _shared_thumbnail(path: str, file_id: int) -> bool:
    """A re-import reuses an earlier analysis and its thumbnail: never remove one another row still shows."""
    other = db.session.execute(select(MediaFile.id).where(MediaFile.thumbnail == path, MediaFile.id != file_id)
                               .limit(1)).first()
    db.session.commit()
    return other is not None


def delete_sources(settings: Settings, import_job_id: int, *, working_copies: bool = False) -> CleanupResult:
    """Delete the deletable set of `plan_cleanup`, verifying each archive copy again first."""
    plan = plan_cleanup(settings, import_job_id, working_copies=working_copies)
    result = CleanupResult()
    thumbs: dict[int, str | None] = {}
    if working_copies and plan.deletable:
        thumbs = dict(db.session.execute(select(MediaFile.id, MediaFile.thumbnail).where(
            MediaFile.id.in_([d.file_id for d in plan.deletable]))).all())
        db.session.commit()
    thumb_root = Path(os.path.realpath(settings.thumbnail_dir))
    for d in plan.deletable:
        try:
            ok = sha256_file(d.archived_as) == d.final_sha256
        except OSError:
            ok = False
        if not ok:
            result.refused[d.path] = "the archive copy is missing or no longer matches the manifest"
            continue
        try:
            os.unlink(d.path)
        except FileNotFoundError:
            pass
        except OSError as e:
            result.refused[d.path] = f"could not delete: {e.strerror or e}"
            continue
        result.deleted.append(d.path)
        t = thumbs.get(d.file_id)
        if t and _inside(Path(os.path.realpath(t)), thumb_root) and not _shared_thumbnail(t, d.file_id):
            try:
                os.unlink(t)
                result.thumbnails_removed += 1
            except OSError:
                pass
    return result
