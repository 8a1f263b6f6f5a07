"""The archive's manifest: a `ManifestEntry` row per archived file and a line in OUTPUT/manifest.jsonl.

The row is committed with the file's outcome (`entry_rows`, in the export's
checkpoint); the line is appended after that commit (`append_lines`). At the
start of every run `reconcile_manifest` adds lines missing from the file (a
crash between commit and append, a disk-full append) and cuts a torn last
line, so the file holds each entry exactly once. `archived_in` is what the
manifest says an output folder already holds (the plan uses it).
"""
from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import select

from mediaparser.library.in_archive import MANIFEST_NAME
from mediaparser.store.db import db
from mediaparser.store.models import ExportItem, ExportItemStatus, ManifestEntry


def archived_in(output: str) -> tuple[dict[str, str], dict[str, str]]:
    """What the manifest says is in this output folder: dest → source sha, source sha → dest."""
    by_dest: dict[str, str] = {}
    by_sha: dict[str, str] = {}
    for dest, sha in db.session.execute(select(ManifestEntry.destination, ManifestEntry.sha256).where(
            ManifestEntry.output_root == output, ManifestEntry.verified.is_(True)).order_by(ManifestEntry.id)):
        by_dest.setdefault(dest, sha)
        by_sha.setdefault(sha, dest)
    return by_dest, by_sha


def manifest_line(row: Any, dest_rel: str, final_sha: str, tags: list[str], output: str, job_id: int,
              action: str) -> dict[str, Any]:
    return {
        "file_id": row.id, "export_job": job_id, "source": row.source_path, "output": output,
        "destination": dest_rel, "sha256": row.sha256, "final_sha256": final_sha,
        "captured_at": row.captured_at.isoformat() if row.captured_at else None,
        "utc_offset": row.utc_offset, "time_source": row.time_source, "tags": tags, "action": action,
    }


# ----------------------------------------------------------- manifest file --

def _manifest_path(output: str) -> Path:
    return Path(output) / MANIFEST_NAME


def append_lines(output: str, entries: Iterable[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
    if not lines:
        return
    with open(_manifest_path(output), "a", encoding="utf-8") as fh:
        fh.write(lines)
        fh.flush()
        os.fsync(fh.fileno())


def _entry_line(m: ManifestEntry, action: str | None = None) -> dict[str, Any]:
    return {
        "file_id": m.file_id, "export_job": m.export_job_id, "source": m.source_path, "output": m.output_root,
        "destination": m.destination, "sha256": m.sha256, "final_sha256": m.final_sha256,
        "captured_at": m.captured_at.isoformat() if m.captured_at else None, "utc_offset": m.utc_offset,
        "time_source": m.time_source, "tags": list(m.tags or []), "action": action or "copied",
    }


def reconcile_manifest(job_id: int, output: str) -> int:
    """Make manifest.jsonl hold every entry of this export exactly once; returns lines added."""
    path = _manifest_path(output)
    seen: set[tuple[Any, Any]] = set()
    if path.exists():
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):  # a torn append: cut it, it is re-added below
            with open(path, "r+b") as fh:
                fh.truncate(data.rfind(b"\n") + 1)
            data = data[: data.rfind(b"\n") + 1]
        for line in data.splitlines():
            try:
                d = json.loads(line)
            except ValueError:
                continue
            seen.add((d.get("export_job"), d.get("file_id")))
    entries = db.session.execute(select(ManifestEntry, ExportItem.status)
                                 .join(ExportItem, (ExportItem.job_id == ManifestEntry.export_job_id)
                                       & (ExportItem.file_id == ManifestEntry.file_id))
                                 .where(ManifestEntry.export_job_id == job_id)
                                 .order_by(ManifestEntry.id)).all()
    db.session.commit()
    missing = [_entry_line(m, "present" if st == ExportItemStatus.PRESENT else "copied")
               for m, st in entries if (job_id, m.file_id) not in seen]
    append_lines(output, missing)
    return len(missing)


def entry_rows(lines: Iterable[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The ManifestEntry rows (for one insert) of a batch's manifest lines."""
    return [{
        "file_id": m["file_id"], "export_job_id": m["export_job"], "source_path": m["source"],
        "output_root": m["output"], "destination": m["destination"], "sha256": m["sha256"],
        "final_sha256": m["final_sha256"],
        "captured_at": datetime.fromisoformat(m["captured_at"]) if m["captured_at"] else None,
        "utc_offset": m["utc_offset"], "time_source": m["time_source"], "tags": m["tags"],
        "verified": True, "exported_at": now} for m in lines]
