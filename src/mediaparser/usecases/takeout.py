"""Google Takeout parts in an import: one working copy, matched across parts.

An import whose folder (a server folder or an upload) holds Takeout parts
(`takeout-…-001.zip` … `-0NN.zip` or `.tgz`, media/takeout.py) unpacks them
here, before its files are listed:

- Each export (the parts sharing one time stamp) has one working copy in the
  instance folder, `HOME/uploads/.takeout/<export>/`. Every part is streamed
  into it member by member (a member at a time in memory, never a whole part;
  a `.tgz` read front to back once), so the parts' trees land side by side
  and a photo meets its JSON whatever part each came in. Nothing is
  extracted twice: a part already unpacked (same size and modification time)
  is not read again, a member already in place is not written again (an
  unpack cut off by a crash goes on where it stopped; members are written
  under a temporary name and renamed when complete). The parts themselves
  are only read.
- The import then lists the working copy like any folder: the analysis, the
  review, the previews and the export read those files (source_access puts the
  working copy inside the import's boundary), and `clean-sources
  --working-copies` removes them once their archive copies are verified, as
  it does for uploaded files.
- What is there and what is missing is written on the job
  (`options["takeout"]`): the parts of each export, the numbers missing below
  the highest one, and how many photo JSON files have no photo yet ("part 003
  of 7 is missing: 41 JSON files have no photo yet").
- A part imported later (the missing 003) lands in the same working copy:
  its photos meet the JSON files already there, and photos imported earlier
  whose JSON came only now get its capture time and facts as evidence
  (`capture_time.add_evidence`, which leaves a time a person reviewed alone).

The state of an export's unpacking is `HOME/uploads/.takeout/<export>.json`.
"""
from __future__ import annotations

import json
import os
import shutil
import tarfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mediaparser.config import Settings
from mediaparser.library import capture_time
from mediaparser.media.atomic import atomic_write
from mediaparser.media.fsguard import file_identity
from mediaparser.media.kinds import kind_of
from mediaparser.media.sidecars import json_index, match_takeout_json, takeout_candidates
from mediaparser.media.takeout import (NoSpace, PartName, Refused, classify_json, describe_missing, main_flag,
                                       missing_numbers, open_part, orphan_jsons, parse_part_name, read_json,
                                       takeout_facts, unpack_member)
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import FileStatus, Job, MediaFile
from mediaparser.usecases import tagging
from mediaparser.usecases.jobsteps import Batch, Control, JobFailed

WORKING_DIR = ".takeout"
PROGRESS_SECONDS = 0.5
FREE_SPACE_MARGIN = 256 * 1024 * 1024


@dataclass(frozen=True)
class FoundPart:
    path: str
    rel_path: str
    part: PartName
    size: int
    mtime: float
    identity: tuple[int, int]


def working_root(settings: Settings) -> Path:
    """Where every export's working copy lives (inside the upload folder, so the
    web import's boundary and the clean-up's working-copy rule cover it)."""
    return settings.upload_dir / WORKING_DIR


def working_copy(settings: Settings, export: str) -> Path:
    return working_root(settings) / export


# ---------------------------------------------------------- the importer's --

def facts_columns(facts: dict | None) -> dict[str, Any]:
    """The MediaFile columns of a file's Takeout facts."""
    return {"takeout": facts, "takeout_flag": main_flag(facts.get("flags") or ()) if facts else None}


def album_of(result: Any) -> str | None:
    """The Takeout album title an analysis result found (for the automatic tags)."""
    facts = getattr(result, "takeout", None)
    return facts.get("album") if isinstance(facts, dict) else None


def working_copies(job: Job) -> list[str]:
    """The working copies this import lists besides its own folder."""
    info = (job.options or {}).get("takeout") or {}
    return [e["copy"] for e in info.get("exports", []) if isinstance(e, dict) and e.get("copy")]


def analysis_extra(job: Job, path: str) -> dict[str, Any]:
    """Per-file analysis arguments: a working copy's file dates its folders from the
    working copy's root (not from the instance folder's path)."""
    for copy in working_copies(job):
        if path.startswith(copy.rstrip(os.sep) + os.sep):
            return {"root": copy}
    return {}


def part_found(root: str, rel_path: str) -> FoundPart | None:
    """The part the walk skipped at `rel_path` (None when it is gone or not a regular file)."""
    part = parse_part_name(rel_path)
    if part is None:
        return None
    path = os.path.join(root, rel_path)
    try:
        st = os.stat(path)
    except OSError:
        return None
    return FoundPart(path, rel_path, part, st.st_size, st.st_mtime, file_identity(st))


# ---------------------------------------------------------------- unpacking --

class _State:
    """What has been unpacked of one export: `<export>.json` next to its working copy."""

    def __init__(self, settings: Settings, export: str) -> None:
        self.path = working_root(settings) / f"{export}.json"
        data: dict[str, Any] = {}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            pass
        self.parts: dict[str, dict[str, Any]] = data.get("parts", {}) if isinstance(data, dict) else {}

    def done(self, p: FoundPart) -> bool:
        d = self.parts.get(str(p.part.number))
        return bool(d and d.get("done") and d.get("size") == p.size and d.get("mtime") == p.mtime)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, text=True) as fh:
            fh.write(json.dumps({"parts": self.parts}, indent=1, sort_keys=True))


@dataclass(frozen=True)
class UnpackResult:
    stop: str | None  # paused or cancelled part-way: unpacking resumes where it stopped
    damaged: list[tuple[FoundPart, str]]  # parts that could not be read to the end, and why


# What a part cut short or damaged raises while it is streamed.
DAMAGED = (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, ValueError)


def unpack(control: Control, settings: Settings, job: Job, parts: list[FoundPart]) -> UnpackResult:
    """Unpack `parts` into their exports' working copies, record the report on the job."""
    exports: dict[str, list[FoundPart]] = {}
    for p in sorted(parts, key=lambda p: (p.part.export, p.part.number, p.path)):
        exports.setdefault(p.part.export, []).append(p)
    report: list[dict[str, Any]] = []
    new_jsons: list[tuple[str, str]] = []  # (working copy, relative path) of photo JSON files written now
    damaged: list[tuple[FoundPart, str]] = []
    for export, found in exports.items():
        dest = working_copy(settings, export)
        dest.mkdir(parents=True, exist_ok=True)
        state = _State(settings, export)
        highest = max([p.part.number for p in found] + [int(n) for n in state.parts])
        for p in found:
            if state.done(p):
                continue
            counts = {"files": 0, "bytes": 0, "refused": 0}
            examples: list[str] = []
            label = f"unpacking Google Takeout part {p.part.label} of {highest}"
            try:
                stop = _unpack_part(control, p, dest, label, counts, examples, new_jsons)
            except DAMAGED as exc:
                # A download cut short or a damaged part: what could be read stays unpacked; the
                # part is a failed file of the import, and importing it again (mended) goes on.
                damaged.append((p, f"this Google Takeout part could not be read to the end "
                                   f"(a damaged or incomplete download): {exc or type(exc).__name__}"))
                continue
            except OSError as exc:  # the part itself (gone, replaced, unreadable): unpacking writes its own errors
                damaged.append((p, f"this Google Takeout part could not be read: {exc.strerror or exc}"))
                continue
            if stop is not None:
                return UnpackResult(stop, damaged)
            state.parts[str(p.part.number)] = {"done": True, "name": os.path.basename(p.path), "size": p.size,
                                               "mtime": p.mtime, **counts, "not_unpacked": examples}
            state.save()
        orphans = count_orphans(dest)
        numbers = sorted(int(n) for n in state.parts)
        broken = sorted(p.part.number for p, _why in damaged if p.part.export == export)
        report.append({"export": export, "copy": os.path.realpath(dest), "parts": numbers,
                       "highest": max(numbers + broken, default=0),
                       "missing": [n for n in missing_numbers(numbers + broken) if n not in broken],
                       "damaged": broken,
                       "this_import": [p.part.number for p in found], "orphan_jsons": orphans,
                       "files": sum(d.get("files", 0) for d in state.parts.values()),
                       "not_unpacked": sum(d.get("refused", 0) for d in state.parts.values()),
                       "message": describe_missing(numbers + broken, orphans)})
    refreshed = complete_earlier_matches(settings, job, new_jsons)
    for r in report:
        r["completed_earlier"] = refreshed.get(r["copy"], 0)
    info = {"exports": report}
    opts = dict(job.options or {})
    opts["takeout"] = info
    # The working copies join the import's boundary: its walk, analysis and file endpoints read them.
    opts["boundary"] = list(dict.fromkeys(list(opts.get("boundary") or []) + [r["copy"] for r in report]))

    def apply(s: Session) -> None:
        s.execute(update(Job).where(Job.id == job.id).values(options=opts)
                  .execution_options(synchronize_session=False))
    stop = control.stop_reason(control.checkpoint(Batch(current_item="listing the unpacked files…", apply=apply)))
    db.session.refresh(job)  # the options as written, for the listing and the analysis
    db.session.commit()
    return UnpackResult(stop, damaged)


def _unpack_part(control: Control, p: FoundPart, dest: Path, label: str, counts: dict[str, int],
                 examples: list[str], new_jsons: list[tuple[str, str]]) -> str | None:
    """Stream one part into `dest`; a stop reason when paused or cancelled part-way."""
    last = time.monotonic()
    with open_part(p.path, expect=p.identity) as members:
        for m in members:
            if isinstance(m, Refused):
                counts["refused"] += 1
                if len(examples) < 5:
                    examples.append(f"{m.name}: {m.reason}")
                continue
            try:
                problem = unpack_member(dest, m, margin=FREE_SPACE_MARGIN)
            except NoSpace as exc:
                raise JobFailed(f"{exc}; free some space and resume the import") from None
            if problem:
                counts["refused"] += 1
                if len(examples) < 5:
                    examples.append(f"{m.name}: {problem}")
                continue
            if m.name.lower().endswith(".json"):
                new_jsons.append((os.path.realpath(dest), m.name))
            counts["files"] += 1
            counts["bytes"] += m.size
            if time.monotonic() - last > PROGRESS_SECONDS:
                last = time.monotonic()
                stop = control.stop_reason(control.checkpoint(Batch(
                    current_item=f"{label}: {counts['files']:,} file{'' if counts['files'] == 1 else 's'}")))
                if stop is not None:
                    return stop
    return None


def _is_photo_json(folder: str):
    return lambda name: classify_json(name, read_json(os.path.join(folder, name))) == "photo"


def count_orphans(copy: str | os.PathLike) -> int:
    """Photo JSON files in a working copy with no photo beside them."""
    n = 0
    for folder, _dirs, names in os.walk(copy):
        if any(name.lower().endswith(".json") for name in names):
            n += len(orphan_jsons(names, _is_photo_json(folder)))
    return n


def complete_earlier_matches(settings: Settings, job: Job, new_jsons: list[tuple[str, str]]) -> dict[str, int]:
    """Photos imported before whose JSON arrived only now: add its evidence to their rows.

    Returns how many rows were completed per working copy."""
    by_folder: dict[tuple[str, str], set[str]] = {}
    for copy, rel in new_jsons:
        folder, name = os.path.split(os.path.join(copy, rel))
        by_folder.setdefault((copy, folder), set()).add(name)
    wanted: dict[str, tuple[str, str]] = {}  # media path -> (json path, working copy)
    for (copy, folder), names in by_folder.items():
        try:
            listing = os.listdir(folder)
        except OSError:
            continue
        index = json_index(listing)
        for name in listing:
            if kind_of(name) in ("image", "video"):
                js = match_takeout_json(name, index)
                if js in names:
                    wanted[os.path.join(folder, name)] = (os.path.join(folder, js), copy)
    done: dict[str, int] = {}
    paths = list(wanted)
    for i in range(0, len(paths), 500):
        with write_transaction() as s:
            rows = s.execute(select(MediaFile).where(MediaFile.source_path.in_(paths[i:i + 500]),
                                                     MediaFile.job_id != job.id,
                                                     MediaFile.status == FileStatus.DONE)).scalars().all()
            albums: list[tuple[int, str, str | None]] = []
            for row in rows:
                js, copy = wanted[row.source_path]
                if js in (row.sidecars or []):
                    continue
                cands = [c.to_dict() for c in takeout_candidates(js)]
                capture_time.add_evidence(row, cands, settings.timezone,
                                          "Its Google Takeout JSON arrived with a later part; the time was chosen again.")
                row.sidecars = list(row.sidecars or []) + [js]
                facts = takeout_facts(row.source_path, js)
                for k, v in facts_columns(facts).items():
                    setattr(row, k, v)
                if facts and facts.get("geo"):
                    row.has_gps = True
                albums.append((row.id, row.rel_path, (facts or {}).get("album")))
                done[copy] = done.get(copy, 0) + 1
            tagging.record_auto_tags(s, albums)
    return done


def remove_emptied_copies(settings: Settings, import_job_id: int) -> list[str]:
    """Remove the working copies of an import that hold no photo or video any more
    (the clean-up deleted them after their export was verified): their JSON files,
    album metadata and folders, and the export's unpacking state. A copy that
    still holds one media file stays whole. Returns the copies removed."""
    job = db.session.get(Job, import_job_id)
    db.session.commit()
    root = os.path.realpath(working_root(settings))
    removed = []
    for copy in working_copies(job) if job is not None else []:
        real = os.path.realpath(copy)
        if os.path.dirname(real) != root or not os.path.isdir(real):
            continue  # only ever a copy of ours, right inside the working-copy folder
        if any(kind_of(name) in ("image", "video") or kind_of(name) == "other"
               for _folder, _dirs, names in os.walk(real) for name in names
               if not name.lower().endswith(".json")):
            continue
        shutil.rmtree(real, ignore_errors=True)
        try:
            os.unlink(real + ".json")
        except OSError:
            pass
        removed.append(real)
    return removed
