"""What the archive pages read: which imports can be exported, each import's exports, and
the files one export put into one folder of the archive.

usecases/export/ owns making an export (plan, job, manifest) and its
summary; this module only reads what it wrote — the export jobs (whose
options name their import), the `ManifestEntry` rows — so the pages can find
the running or last export of an import again after a reload, and list a
year folder of the archive with each file's source, capture time and tags.
"""
from __future__ import annotations

import os
from typing import Any

from sqlalchemy import case, func, select

from mediaparser.media.isotime import iso_local, iso_utc
from mediaparser.store.db import db
from mediaparser.store.models import (ExportItem, ExportItemStatus, FileStatus, Job, JobStatus, JobType, ManifestEntry, MediaFile)
from mediaparser.usecases.jobs import job_summary

PAGE_MAX = 500


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _exports_by_import(import_ids: list[int] | None = None) -> dict[int, list[Job]]:
    """Export jobs grouped by the import they export, newest first.

    The import's id lives in the export job's JSON options; export jobs are
    few (one per export a person starts), so they are read and grouped here
    rather than queried through a JSON path that differs per database.
    """
    jobs = db.session.execute(select(Job).where(Job.job_type == JobType.EXPORT).order_by(Job.id.desc())).scalars().all()
    out: dict[int, list[Job]] = {}
    wanted = set(import_ids) if import_ids is not None else None
    for j in jobs:
        imp = (j.options or {}).get("import_job_id")
        if isinstance(imp, int) and (wanted is None or imp in wanted):
            out.setdefault(imp, []).append(j)
    return out


def _brief(job: Job) -> dict[str, Any]:
    """An export job in a few words, for lists."""
    return {"id": job.id, "status": job.status, "output": (job.options or {}).get("output"),
            "progress": {"current": job.progress_current, "total": job.progress_total},
            "created_at": iso_utc(job.created_at), "completed_at": iso_utc(job.completed_at),
            "error_message": job.error_message}


def exportable_imports(upload_dir: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Finished (completed) imports, newest first, with their file counts and latest export.

    `uploaded` says whether the import's folder lies in `upload_dir` (files sent from a browser).
    """
    imports = db.session.execute(select(Job).where(Job.job_type == JobType.IMPORT, Job.status == JobStatus.COMPLETED)
                                 .order_by(Job.id.desc()).limit(limit)).scalars().all()
    ids = [j.id for j in imports]
    counts: dict[int, dict[str, int]] = {}
    if ids:
        rows = db.session.execute(
            select(MediaFile.job_id, func.count(),
                   func.sum(case((MediaFile.status == FileStatus.DONE, 1), else_=0)),
                   func.sum(case((MediaFile.status == FileStatus.FAILED, 1), else_=0)))
            .where(MediaFile.job_id.in_(ids)).group_by(MediaFile.job_id)).all()
        counts = {jid: {"files": n, "analysed": int(ok or 0), "failed": int(bad or 0)} for jid, n, ok, bad in rows}
    exports = _exports_by_import(ids)
    db.session.commit()
    out = []
    for j in imports:
        mine = exports.get(j.id, [])
        out.append({
            "id": j.id, "path": j.source_path, "completed_at": iso_utc(j.completed_at),
            "uploaded": is_upload(j.source_path, upload_dir),
            **counts.get(j.id, {"files": 0, "analysed": 0, "failed": 0}),
            "exports": len(mine),
            "latest_export": _brief(mine[0]) if mine else None,
        })
    return out


def exports_of(import_job_id: int) -> list[dict[str, Any]]:
    """Every export of one import, newest first, each as the jobs API shows a job (state, progress, rate)."""
    imp = db.session.get(Job, import_job_id, populate_existing=True)
    if imp is None or imp.job_type != JobType.IMPORT:
        db.session.commit()
        raise LookupError(f"import job {import_job_id} does not exist")
    jobs = _exports_by_import([import_job_id]).get(import_job_id, [])
    out = []
    for j in jobs:
        s = job_summary(j)  # an export's summary names its output folder
        s["allow_unresolved"] = bool((j.options or {}).get("allow_unresolved"))
        out.append(s)
    db.session.commit()
    return out


def is_upload(path: str | None, upload_dir: str | None) -> bool:
    """Whether an import's folder lies in the upload folder (files sent from a browser)."""
    return bool(upload_dir and path and _inside(os.path.realpath(path), os.path.realpath(upload_dir)))


def latest_export_id(import_job_id: int, *, completed: bool = False) -> int | None:
    """The newest export of an import (optionally only a completed one), or None."""
    for j in _exports_by_import([import_job_id]).get(import_job_id, []):
        if not completed or j.status == JobStatus.COMPLETED:
            db.session.commit()
            return j.id
    db.session.commit()
    return None


def folder_files(export_job_id: int, folder: str, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
    """The files one export put into (or found already in) one top folder of the archive, by name.

    From the manifest: destination, capture time and where it came from,
    source path, tags. `folder` is the first part of the destination
    (a year such as "2019", or "unknown"), as in the export's summary.
    """
    job = db.session.get(Job, export_job_id, populate_existing=True)
    if job is None or job.job_type != JobType.EXPORT:
        db.session.commit()
        raise LookupError(f"export job {export_job_id} does not exist")
    limit = max(1, min(limit, PAGE_MAX))
    offset = max(0, offset)
    # LIKE with the folder escaped: a folder name may hold % or _.
    esc = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    where = (ManifestEntry.export_job_id == export_job_id,
             ManifestEntry.destination.like(esc + "/%", escape="\\"))
    total = db.session.execute(select(func.count()).select_from(ManifestEntry).where(*where)).scalar_one()
    rows = db.session.execute(
        select(ManifestEntry, ExportItem.status)
        .outerjoin(ExportItem, (ExportItem.job_id == ManifestEntry.export_job_id)
                   & (ExportItem.file_id == ManifestEntry.file_id))
        .where(*where).order_by(ManifestEntry.destination, ManifestEntry.id).offset(offset).limit(limit)).all()
    db.session.commit()
    files = [{
        "file_id": m.file_id, "destination": m.destination, "name": m.destination.rsplit("/", 1)[-1],
        "path": f"{m.output_root.rstrip('/')}/{m.destination}", "source": m.source_path,
        "captured_at": iso_local(m.captured_at), "utc_offset": m.utc_offset, "time_source": m.time_source,
        "tags": list(m.tags or []),
        "action": "already present" if status == ExportItemStatus.PRESENT else "copied",
    } for m, status in rows]
    nxt = offset + len(files)
    return {"export_job_id": export_job_id, "import_job_id": (job.options or {}).get("import_job_id"),
            "output": (job.options or {}).get("output"), "folder": folder, "total": total,
            "offset": offset, "files": files, "next_offset": nxt if nxt < total else None}
