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
from mediaparser.media.embed import embeddable
from mediaparser.store.models import ExportItem, ExportItemStatus, ManifestEntry, MediaFile


def archived_in(output: str) -> tuple[dict[str, str], dict[str, str]]:
    """What the manifest says is in this output folder: dest → source sha, source sha → dest."""
    by_dest: dict[str, str] = {}
    by_sha: dict[str, str] = {}
    for dest, sha in db.session.execute(select(ManifestEntry.destination, ManifestEntry.sha256).where(
            ManifestEntry.output_root == output, ManifestEntry.verified.is_(True)).order_by(ManifestEntry.id)):
        by_dest.setdefault(dest, sha)
        by_sha.setdefault(sha, dest)
    return by_dest, by_sha


# Where an archive copy's capture time and tags are ("metadata" in a manifest line).
METADATA_IN_COPY = "in the copy"  # written into the copy's EXIF/XMP/IPTC (media/embed.py)
METADATA_SIDECAR = "sidecar"  # in `name.ext.xmp` beside a copy that is byte for byte the original
METADATA_NONE = "none"  # nowhere but this manifest (the note says why)
KEPT_WITHOUT = "the verified copy was kept without the corrected metadata"
UNDECODED_NOTE = ("the picture could not be decoded, so the copy is byte for byte the original; "
                  "its capture time and tags are in the .xmp sidecar")


def manifest_line(row: Any, dest_rel: str, final_sha: str, tags: list[str], output: str, job_id: int,
                  action: str, *, metadata: str, note: str | None = None) -> dict[str, Any]:
    """One line of manifest.jsonl. `captured_at` is the stored local time and `precision` how much
    of it is known ("second" … "day", "month", "year", "decade"): a partial date's unknown parts
    are filled with the earliest value and are not a time (docs/capture-time.md, "Partial dates")."""
    return {
        "file_id": row.id, "export_job": job_id, "source": row.source_path, "output": output,
        "destination": dest_rel, "sha256": row.sha256, "final_sha256": final_sha,
        "captured_at": row.captured_at.isoformat() if row.captured_at else None,
        "precision": row.precision if row.captured_at else None,
        "utc_offset": row.utc_offset, "time_source": row.time_source, "tags": tags, "action": action,
        "metadata": metadata, "note": note,
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


def _entry_line(m: ManifestEntry, action: str, f: Any, note: str | None) -> dict[str, Any]:
    """The line of a committed entry whose append was lost; `f` is its MediaFile's precision,
    extension and phash, `note` the export item's."""
    if note and KEPT_WITHOUT in note:
        metadata = METADATA_NONE
    elif embeddable(f.extension) and f.phash is not None:
        metadata = METADATA_IN_COPY
    else:
        metadata = METADATA_SIDECAR if (m.captured_at is not None or m.tags) else METADATA_NONE
    return {
        "file_id": m.file_id, "export_job": m.export_job_id, "source": m.source_path, "output": m.output_root,
        "destination": m.destination, "sha256": m.sha256, "final_sha256": m.final_sha256,
        "captured_at": m.captured_at.isoformat() if m.captured_at else None,
        "precision": f.precision if m.captured_at else None, "utc_offset": m.utc_offset,
        "time_source": m.time_source, "tags": list(m.tags or []), "action": action,
        "metadata": metadata, "note": note,
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
    entries = db.session.execute(select(ManifestEntry, ExportItem.status, ExportItem.reason, MediaFile.precision,
                                        MediaFile.extension, MediaFile.phash)
                                 .join(ExportItem, (ExportItem.job_id == ManifestEntry.export_job_id)
                                       & (ExportItem.file_id == ManifestEntry.file_id))
                                 .join(MediaFile, MediaFile.id == ManifestEntry.file_id)
                                 .where(ManifestEntry.export_job_id == job_id)
                                 .order_by(ManifestEntry.id)).all()
    db.session.commit()
    missing = [_entry_line(e[0], "present" if e.status == ExportItemStatus.PRESENT else "copied", e, e.reason)
               for e in entries if (job_id, e[0].file_id) not in seen]
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
