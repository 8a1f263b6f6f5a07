"""The export use case: the plan (dry run), the export job, and the manifest.

An export takes the files of one import job to the archive folder:

* **Plan** (`build_plan`, also the dry run): each kept file's destination from
  the layout template (services/layout.py, the one place that knows the
  layout) by its LOCAL capture time — `MediaFile.captured_at` is stored as
  local wall-clock time and is used as it is (DATE-PITFALLS rule 11) — and
  its corrected lower-case extension; files without a capture time go to
  `unknown/` under their original name. Skipped with a reason: files set
  aside as duplicates, files whose analysis failed. Collisions: the same
  content already at a name (in this plan, on disk, or per the manifest) is
  "already present" and not copied twice; different content gets `_2`, `_3`….
  Warnings: files still needing review, unresolved duplicate groups. While
  groups are unresolved the export refuses to start unless overridden — here,
  in the service, so every caller (page, API, CLI) gets the same rule.
* **Job** (`run_export`, the body of `process_export_job`): resumable and
  lease-guarded like the import (services/importer.run_import). The plan is
  stored as `export_items` rows in the job's first checkpoint; each run
  processes the PENDING rows and commits outcomes in batches through
  `lifecycle.checkpoint`, so a killed worker redoes at most the batch in
  flight. Per file (`prepare_file`, on a small thread pool: hashing, reading
  and writing release the GIL): read the source once and check its SHA-256
  against the analysed one — so what is copied is what was analysed —, write
  the corrected capture time and tags into those bytes in memory
  (media/embed.py: losslessly, or an XMP sidecar for formats exiv2 does not
  edit), hash the result, write it once to a temporary name in the target
  folder with the capture time as mtime, and read it back to check the bytes
  on disk are the bytes intended. (Files too large to hold in memory, and
  formats that are not edited, are copied by the kernel and the copy is
  hashed instead.) Then, per batch (`place_prepared` in `run_export`): one
  syncfs makes the batch's temporary copies durable, each is `os.replace`d
  into place, the folders are fsynced, and only then are the outcomes and
  manifest rows committed — the archive never holds a partial file under a
  final name, and the manifest never records a file whose data is not on
  disk. Writeback of each copy is started as soon as it is verified, and
  synced copies are dropped from the page cache (bench/export.py: the cost
  per file, and the comparison with exiftool). A redone file finds its own
  earlier copy at the destination (metadata writing is deterministic, so the
  hashes match) and is not copied twice.
* **Manifest**: a `ManifestEntry` row per archived file (committed with the
  item's outcome) and a line in `OUTPUT/manifest.jsonl`, appended after the
  commit; at the start of every run lines missing from the file (a crash
  between commit and append, a disk-full append) are added and a torn last
  line is cut, so the file holds each entry exactly once.

Disk full (ENOSPC) stops the job with a clear message; the temporary file is
removed; sources are only ever read. Resuming after freeing space continues.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, distinct, func, insert, select, update
from sqlalchemy.orm import Session

from mediaparser.config import Settings
from mediaparser.store.db import db, write_transaction
from mediaparser.store.dialect import insert_ignore
from mediaparser.runtime import lifecycle
from mediaparser.media.embed import EmbedError, embeddable, embedded, sidecar_xmp, write_embedded
from mediaparser.media.probe import sha256_file
from mediaparser.media.tags import strip_tag_groups
from mediaparser.store.models import (DupGroup, DupMember, ExportItem, ExportItemStatus, FileStatus, GroupStatus, Job, JobStatus, JobType, ManifestEntry, MediaFile, utcnow)
from mediaparser.media import layout
from mediaparser.usecases import settings_store
from mediaparser.library.in_archive import MANIFEST_NAME, archive_rows
from mediaparser.usecases.tagging import tags_of

log = logging.getLogger(__name__)

TEMP_PREFIX = ".mediaparser-part-"
UNKNOWN_FOLDER = "unknown"
SKIP_ASIDE = "set aside as a duplicate"
SKIP_FAILED = "analysis failed"
SKIP_IN_ARCHIVE = "it is a file of the archive, not an original"
COMMIT_INTERVAL = 0.5  # seconds between checkpoints (and pause/cancel checks)
COMMIT_ITEMS = 200
PLAN_EXAMPLES = 5
# Files up to this size are read into memory, edited there and written once;
# larger ones are copied by the kernel and edited in place (a 12 MP JPEG is 2–8 MB).
IN_MEMORY_MAX = 32 << 20
PREPARE_AHEAD = 32  # files in flight per preparing thread (see run_export)
EARLY_WRITEBACK = True  # hint the kernel to write each verified copy out at once (posix_fadvise)
SOURCE_CHANGED = "the source does not match the analysed file (was it changed after the import?)"
COPY_MISMATCH = "the copy read back from the output disk differs from the bytes written to it"
# Seconds of sleep per exported file, for tests that must interrupt an export
# mid-way (the import's equivalent lives in jobs/pool.py).
_DELAY_ENV = "MEDIAPARSER_DEBUG_FILE_DELAY"


class ExportRefused(ValueError):
    """The export cannot start; the message is for the user."""


class UnresolvedGroups(ExportRefused):
    pass


class DiskFull(OSError):
    """The output disk is full: the job stops and can be resumed after space is freed."""


# ------------------------------------------------------------------ plan --

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


def _output_dir(settings: Settings, output: str | None) -> Path:
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


def _destination(output: str | Path, dest_rel: str) -> Path | None:
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
    from mediaparser.usecases.review import needs_review_clause

    needs = db.session.execute(select(func.count()).select_from(MediaFile).where(
        MediaFile.job_id == import_job_id, MediaFile.status == FileStatus.DONE, needs_review_clause())).scalar_one()
    groups = db.session.execute(
        select(func.count(distinct(DupGroup.id))).select_from(DupGroup)
        .join(DupMember, DupMember.group_id == DupGroup.id)
        .join(MediaFile, MediaFile.id == DupMember.file_id)
        .where(MediaFile.job_id == import_job_id, DupGroup.status == GroupStatus.OPEN)).scalar_one()
    return needs, groups


def _set_aside(import_job_id: int) -> set[int]:
    return set(db.session.execute(
        select(DupMember.file_id).join(MediaFile, MediaFile.id == DupMember.file_id)
        .where(MediaFile.job_id == import_job_id, DupMember.decision == "discard")).scalars())


def _archived(output: str) -> tuple[dict[str, str], dict[str, str]]:
    """What the manifest says is in this output folder: dest → source sha, source sha → dest."""
    by_dest: dict[str, str] = {}
    by_sha: dict[str, str] = {}
    for dest, sha in db.session.execute(select(ManifestEntry.destination, ManifestEntry.sha256).where(
            ManifestEntry.output_root == output, ManifestEntry.verified.is_(True)).order_by(ManifestEntry.id)):
        by_dest.setdefault(dest, sha)
        by_sha.setdefault(sha, dest)
    return by_dest, by_sha


def build_plan(settings: Settings, import_job_id: int, *, output: str | None = None,
               layout_template: str | None = None) -> Plan:
    """What an export of `import_job_id` would do. Reads only (hashes existing files on a name clash)."""
    _import_job(import_job_id)
    out = _output_dir(settings, output)
    tpl = layout.check(layout_template or settings_store.get_layout()).template
    rows = db.session.execute(
        select(MediaFile.id, MediaFile.source_path, MediaFile.rel_path, MediaFile.status, MediaFile.error,
               MediaFile.sha256, MediaFile.captured_at, MediaFile.extension, MediaFile.model)
        .where(MediaFile.job_id == import_job_id)
        .order_by(MediaFile.captured_at.is_(None), MediaFile.captured_at, MediaFile.id)).all()
    aside = _set_aside(import_job_id)
    archived_rows = archive_rows(r for r in rows if r.status == FileStatus.DONE)
    needs, groups = _status_counts(import_job_id)
    by_dest, by_sha = _archived(str(out))
    db.session.commit()
    plan = Plan(import_job_id, str(out), tpl, needs_review=needs, open_groups=groups)
    taken: dict[str, str] = {}  # destination → sha of the content this plan puts there
    disk_sha: dict[str, str | None] = {}

    def content_at(dest: str) -> str | None:
        """The (source) sha of what is at `dest` already: this plan, the manifest, or the disk."""
        if dest in taken:
            return taken[dest]
        if dest in by_dest:
            return by_dest[dest]
        if dest not in disk_sha:
            p = _destination(out, dest)
            if p is not None and p.is_symlink():  # never followed: the name is taken by something else
                disk_sha[dest] = "link"
            else:
                disk_sha[dest] = sha256_file(p) if p is not None and p.is_file() else None
        return disk_sha[dest]

    for r in rows:
        if r.status != FileStatus.DONE or not r.sha256:
            plan.files.append(PlannedFile(r.id, r.source_path, None, "skip",
                                          SKIP_FAILED if r.status == FileStatus.FAILED else "not analysed yet"))
            continue
        if r.id in aside:
            plan.files.append(PlannedFile(r.id, r.source_path, None, "skip", SKIP_ASIDE))
            continue
        if r.id in archived_rows:  # never exported again, whatever its bytes
            plan.files.append(PlannedFile(r.id, r.source_path, None, "skip", SKIP_IN_ARCHIVE))
            continue
        if r.sha256 in by_sha:  # this very content is archived already (an earlier export)
            plan.files.append(PlannedFile(r.id, r.source_path, by_sha[r.sha256], "present"))
            continue
        if r.captured_at is not None:
            base = layout.render(tpl, r.captured_at, r.extension or "", camera=r.model)
        else:
            # Its original name — without `{tag}` groups, which became tags.
            base = f"{UNKNOWN_FOLDER}/{strip_tag_groups(os.path.basename(r.rel_path))}"
        dest, n = base, 1
        while True:
            there = content_at(dest)
            if there is None:
                action = "copy"
                break
            if there == r.sha256:
                action = "present"
                break
            n += 1
            dest = with_suffix(base, n)
        taken.setdefault(dest, r.sha256)
        plan.files.append(PlannedFile(r.id, r.source_path, dest, action, collision_of=base if n > 1 else None))
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
    """Create the export job and put it in the queue."""
    from mediaparser.runtime.tasks import enqueue_job

    job, _plan = create_export_job(settings, import_job_id, output=output, allow_unresolved=allow_unresolved)
    lifecycle.record_task_id(job.id, enqueue_job(job))
    return db.session.get(Job, job.id, populate_existing=True)


def _insert_ignore(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert_ignore(session, ExportItem, ["job_id", "file_id"]), rows)


def _store_plan(lease: lifecycle.Lease, settings: Settings, job: Job) -> str | None:
    """First run: compute the plan again (things may have changed since the dry run) and store it."""
    opts = job.options
    plan = build_plan(settings, opts["import_job_id"], output=opts["output"], layout_template=opts["layout"])
    if plan.open_groups and not opts.get("allow_unresolved"):
        return (f"{plan.open_groups} duplicate group(s) are not resolved; resolve them, "
                "or start the export with the override")
    rows = [{"job_id": job.id, "file_id": f.file_id, "destination": f.destination,
             "status": ExportItemStatus.SKIPPED if f.action == "skip" else ExportItemStatus.PENDING,
             "reason": f.reason} for f in plan.files]
    skipped = sum(1 for f in plan.files if f.action == "skip")

    def apply(s: Session) -> None:
        _insert_ignore(s, rows)
        s.execute(update(Job).where(Job.id == job.id).values(enumerated=True, progress_current=skipped,
                                                            skipped_count=skipped)
                  .execution_options(synchronize_session=False))

    lifecycle.checkpoint(lease, total=len(rows), current_item="planning…", apply=apply)
    return None


@dataclass
class _Outcome:
    item_id: int
    file_id: int
    status: str
    destination: str | None = None
    final_sha256: str | None = None
    reason: str | None = None
    manifest: dict[str, Any] | None = None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _disk_full(folder: Path, exc: BaseException | None = None) -> DiskFull:
    detail = f" ({exc.strerror})" if isinstance(exc, OSError) and exc.strerror else ""
    return DiskFull(errno.ENOSPC, f"the output disk is full{detail} while writing to {folder}: "
                                  "free some space, then resume the export — it continues where it stopped")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def capture_timestamp(captured_at: datetime, utc_offset: int | None, zone: str) -> float:
    """The POSIX time of a local capture time: by its offset when known, else in the default zone."""
    if utc_offset is not None:
        return (captured_at - timedelta(minutes=utc_offset)).replace(tzinfo=timezone.utc).timestamp()
    try:
        tz = ZoneInfo(zone)
    except Exception:  # a zone the system does not know: UTC, rather than failing the file
        tz = timezone.utc
    return captured_at.replace(tzinfo=tz).timestamp()


def _write_verified(src: str, tmp: Path, expected_sha: str) -> str | None:
    """Copy `src` to `tmp` by the kernel (copy_file_range/sendfile) and hash the copy; a reason when
    it does not match the analysed content. For files that are not held in memory."""
    shutil.copyfile(src, tmp)
    if sha256_file(tmp) != expected_sha:
        return SOURCE_CHANGED
    return None


_BUFFERS = threading.local()  # per preparing thread: reused, so no fresh pages per file


def _buffer(slot: str, size: int) -> bytearray:
    buf = getattr(_BUFFERS, slot, None)
    if buf is None or len(buf) < size:
        buf = bytearray(max(size, 1 << 20))
        setattr(_BUFFERS, slot, buf)
    return buf


def _read_into(fh, buf: bytearray) -> int:
    """Fill `buf` from `fh` (until the end of the file or of `buf`); the byte count."""
    view = memoryview(buf)
    n = 0
    while n < len(buf):
        got = fh.readinto(view[n:])
        if not got:
            break
        n += got
    return n


def _read_verified(src: str, expected_sha: str, expected_size: int) -> memoryview | None:
    """The source's bytes, read once, when their SHA-256 is the analysed one; else None.

    The bytes live in this thread's reused buffer: valid until its next call."""
    with open(src, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size != expected_size:  # not the analysed file (and never more than we meant to hold)
            return None
        buf = _buffer("source", size + 1)
        n = _read_into(fh, buf)
    if n > size:  # it grew while being read: not the analysed file
        return None
    data = memoryview(buf)[:n]
    return data if hashlib.sha256(data).hexdigest() == expected_sha else None


def _write_once(tmp: Path, data: bytes | memoryview, mtime: float) -> None:
    """Create `tmp` (never an existing file) holding `data`, modified at `mtime`. Not synced here:
    run_export syncs a whole batch before any of it is renamed into place."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.utime(fd, (mtime, mtime))
    finally:
        os.close(fd)


def _matches_on_disk(tmp: Path, data: bytes | memoryview) -> bool:
    """Read the written copy back: exactly `data`, nothing missing, nothing more.

    Comparing bytes with the buffer that was hashed is the hash check without a
    second hash: the copy's SHA-256 is then the buffer's."""
    buf = _buffer("check", len(data) + 1)
    with open(tmp, "rb", buffering=0) as fh:
        n = _read_into(fh, buf)
        if EARLY_WRITEBACK:
            # Start writing the copy to disk now, so the batch's syncfs has little left to wait for.
            try:
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:  # only a hint; some file systems do not take it
                pass
    return n == len(data) and buf.startswith(data)


def _same_content(dest: Path, dest_rel: str, final_sha: str, source_sha: str, output: str,
                  placed: dict[str, tuple[str, str]]) -> str | None:
    """The hash of what is at `dest` when it already holds this content — these bytes, or a copy of
    the same source content with other tags written into it (this run's `placed`, or the
    manifest) — else None."""
    have = sha256_file(dest)
    if have in (final_sha, source_sha) or placed.get(dest_rel) == (source_sha, have):
        return have
    known = db.session.execute(select(ManifestEntry.id).where(
        ManifestEntry.output_root == output, ManifestEntry.destination == dest_rel,
        ManifestEntry.sha256 == source_sha, ManifestEntry.final_sha256 == have,
        ManifestEntry.verified.is_(True)).limit(1)).first()
    db.session.commit()
    return have if known is not None else None


@dataclass(frozen=True)
class _Item:
    """What prepare_file needs of an ExportItem (worker threads never see ORM objects)."""

    id: int
    destination: str | None


@dataclass(frozen=True)
class _Source:
    """What the export needs of a MediaFile, read in the job's thread."""

    id: int
    source_path: str
    sha256: str | None
    extension: str | None
    size: int | None
    mtime: float | None
    captured_at: datetime | None
    utc_offset: int | None
    offset_assumed: bool | None
    time_source: str | None

    @staticmethod
    def columns() -> tuple:
        """The MediaFile columns, in field order: `_Source(*row)` for each row selected with them."""
        return (MediaFile.id, MediaFile.source_path, MediaFile.sha256, MediaFile.extension, MediaFile.size,
                MediaFile.mtime, MediaFile.captured_at, MediaFile.utc_offset, MediaFile.offset_assumed,
                MediaFile.time_source)


@dataclass
class _Prepared:
    """A verified copy with its metadata written, under its temporary name, waiting to be placed."""

    item_id: int
    row: MediaFile | _Source
    tags: list[str]
    tmp: Path
    dest_rel: str
    final_sha: str
    sidecar: bytes | None
    note: str | None


def _fail_or_disk_full(exc: OSError, folder: Path, item_id: int, file_id: int) -> _Outcome:
    if isinstance(exc, DiskFull):
        raise exc
    if _is_disk_full(exc):
        raise _disk_full(folder, exc) from None
    return _Outcome(item_id, file_id, ExportItemStatus.FAILED, reason=f"could not write the copy: {exc.strerror or exc}")


def prepare_file(item: ExportItem | _Item, row: MediaFile | _Source, tags: list[str], *, output: str,
                 job_id: int, zone: str) -> _Outcome | _Prepared:
    """Read and verify the source, write the metadata, write the copy under a temporary name and
    verify it (module docstring). Touches neither the database nor the session: run_export calls it
    from worker threads with plain snapshots (_Item, _Source). Raises DiskFull."""
    dest_rel = item.destination or ""
    inside = _destination(output, dest_rel)
    if inside is None:
        return _Outcome(item.id, row.id, ExportItemStatus.FAILED, reason=OUTSIDE_OUTPUT)
    folder = inside.parent
    ext = (row.extension or os.path.splitext(dest_rel)[1]).lower().lstrip(".")
    # The random part keeps a frozen worker that wakes up after a takeover
    # from writing into the new owner's temporary file.
    tmp = folder / f"{TEMP_PREFIX}{job_id}-{item.id}-{uuid.uuid4().hex[:8]}.{ext or 'bin'}"
    offset = None if row.offset_assumed else row.utc_offset  # never write a guessed offset
    mtime = capture_timestamp(row.captured_at, row.utc_offset, zone) if row.captured_at is not None \
        else (row.mtime or time.time())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            if embeddable(ext) and row.size is not None and row.size <= IN_MEMORY_MAX:
                return _prepare_in_memory(item.id, row, tags, tmp, dest_rel, ext, offset, mtime)
            return _prepare_on_disk(item.id, row, tags, tmp, dest_rel, ext, offset, mtime)
        except FileNotFoundError:
            if not os.path.exists(row.source_path):
                _remove(tmp)
                return _Outcome(item.id, row.id, ExportItemStatus.FAILED, reason="the source file is gone")
            raise
        except PermissionError:
            if not os.access(row.source_path, os.R_OK):
                _remove(tmp)
                return _Outcome(item.id, row.id, ExportItemStatus.FAILED, reason="the source file cannot be read")
            raise
    except OSError as e:
        _remove(tmp)
        return _fail_or_disk_full(e, folder, item.id, row.id)


def _prepare_in_memory(item_id: int, row: MediaFile | _Source, tags: list[str], tmp: Path, dest_rel: str,
                       ext: str, offset: int | None, mtime: float) -> _Outcome | _Prepared:
    """The usual path: the source is read once and the copy written once. `row.size` is set."""
    data = _read_verified(row.source_path, row.sha256 or "", row.size)
    if data is None:
        return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=SOURCE_CHANGED)
    try:
        with embedded(data, ext, row.captured_at, offset, tags) as edited:
            return _write_checked(item_id, row, tags, tmp, dest_rel, edited, mtime, None)
    except EmbedError as e:  # the verified bytes are written as they are
        note = f"{e}; the verified copy was kept without the corrected metadata"
    return _write_checked(item_id, row, tags, tmp, dest_rel, data, mtime, note)


def _write_checked(item_id: int, row: MediaFile | _Source, tags: list[str], tmp: Path, dest_rel: str,
                   data: bytes | memoryview, mtime: float, note: str | None) -> _Outcome | _Prepared:
    """Hash `data`, write it to `tmp` and check the copy on disk is exactly `data`."""
    final_sha = hashlib.sha256(data).hexdigest()
    _write_once(tmp, data, mtime)
    if not _matches_on_disk(tmp, data):
        _remove(tmp)
        return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=COPY_MISMATCH)
    return _Prepared(item_id, row, tags, tmp, dest_rel, final_sha, None, note)


def _prepare_on_disk(item_id: int, row: MediaFile | _Source, tags: list[str], tmp: Path, dest_rel: str,
                     ext: str, offset: int | None, mtime: float) -> _Outcome | _Prepared:
    """Formats that are not edited (the copy is the source, sidecar beside it), and files too large
    for memory: a kernel copy, hashed; an embeddable one is then edited in place and hashed again."""
    bad = _write_verified(row.source_path, tmp, row.sha256 or "")
    if bad:
        _remove(tmp)
        return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=bad)
    note = None
    sidecar: bytes | None = None
    final_sha = row.sha256 or ""
    if embeddable(ext):
        try:
            write_embedded(str(tmp), ext, row.captured_at, offset, tags)
        except EmbedError as e:
            # exiv2 reports a full disk as a plain write error: ask the file system.
            st = os.statvfs(tmp.parent)
            if st.f_bavail * st.f_frsize < (row.size or 0) + (1 << 16):
                raise _disk_full(tmp.parent) from None
            note = f"{e}; the verified copy was kept without the corrected metadata"
            if sha256_file(tmp) != row.sha256:  # a half-written rewrite: start from the verified bytes again
                _remove(tmp)
                bad = _write_verified(row.source_path, tmp, row.sha256 or "")
                if bad:
                    _remove(tmp)
                    return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=bad)
        final_sha = sha256_file(tmp)
    elif row.captured_at is not None or tags:
        sidecar = sidecar_xmp(row.captured_at, offset, tags)
    os.utime(tmp, (mtime, mtime))
    return _Prepared(item_id, row, tags, tmp, dest_rel, final_sha, sidecar, note)


def place_file(p: _Prepared, *, output: str, job_id: int, placed: dict[str, tuple[str, str]]) -> _Outcome:
    """Rename a prepared (and already synced) copy into place, or find its content already there."""
    out = Path(output)
    row, dest_rel = p.row, p.dest_rel
    dest = _destination(out, dest_rel)
    if dest is None:  # a link put in the output since the copy was prepared
        _remove(p.tmp)
        return _Outcome(p.item_id, row.id, ExportItemStatus.FAILED, reason=OUTSIDE_OUTPUT)
    try:
        # A name that is taken: ours from an interrupted run, or identical content → already there;
        # anything else (appeared since the plan) → the next free _N.
        base, n = dest_rel, 1
        while os.path.lexists(dest):
            # A link at this name is never followed: it counts as another file's name.
            there = None if dest.is_symlink() else _same_content(dest, dest_rel, p.final_sha, row.sha256 or "",
                                                                 output, placed)
            if there is not None:
                _remove(p.tmp)
                if p.sidecar is not None and not Path(str(dest) + ".xmp").exists():
                    _place_sidecar(dest, p.sidecar, job_id, p.item_id)
                # The manifest records the archive file as it is (it may carry the first copy's tags).
                return _Outcome(p.item_id, row.id, ExportItemStatus.PRESENT, dest_rel, there, p.note,
                                _manifest(row, dest_rel, there, p.tags, output, job_id, "present"))
            n += 1
            dest_rel = with_suffix(base, n)
            dest = dest.parent / os.path.basename(dest_rel)  # same folder, checked above
        if p.sidecar is not None:
            _place_sidecar(dest, p.sidecar, job_id, p.item_id)
        os.replace(p.tmp, dest)  # the folder is fsynced before this outcome is committed (run_export)
        return _Outcome(p.item_id, row.id, ExportItemStatus.DONE, dest_rel, p.final_sha, p.note,
                        _manifest(row, dest_rel, p.final_sha, p.tags, output, job_id, "copied"))
    except OSError as e:
        _remove(p.tmp)
        return _fail_or_disk_full(e, dest.parent, p.item_id, row.id)


def _sync(paths: list[Path]) -> None:
    """Make the temporary copies durable before any gets its archive name.

    One syncfs per file system instead of an fsync per file: on this kind of
    disk an fsync costs more than the copy itself. Falls back to fsync.
    """
    if not paths:
        return
    _sync_data(paths)
    if EARLY_WRITEBACK:
        _drop_cached(paths)


def _drop_cached(paths: list[Path]) -> None:
    """Once on disk, the copies leave the page cache: an export of many gigabytes neither evicts
    what the machine is using nor needs fresh memory for every file (the next copies reuse it)."""
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            pass
        finally:
            os.close(fd)


def _sync_data(paths: list[Path]) -> None:
    syncfs = _libc_syncfs()
    if syncfs is not None:
        done: set[int] = set()
        for p in paths:
            dev = os.stat(p).st_dev
            if dev in done:
                continue
            fd = os.open(p, os.O_RDONLY)
            try:
                if syncfs(fd) != 0:
                    break
            finally:
                os.close(fd)
            done.add(dev)
        else:
            return
    for p in paths:
        with open(p, "rb+") as fh:
            os.fsync(fh.fileno())


_SYNCFS: list = []


def _libc_syncfs():
    if not _SYNCFS:
        try:
            import ctypes

            fn = ctypes.CDLL(None, use_errno=True).syncfs
            fn.argtypes = [ctypes.c_int]
            _SYNCFS.append(fn)
        except (OSError, AttributeError):
            _SYNCFS.append(None)
    return _SYNCFS[0]


def _place_sidecar(dest: Path, data: bytes, job_id: int, item_id: int) -> None:
    """Write `name.ext.xmp` beside the copy, through a temporary name like the copy itself."""
    tmp = dest.parent / f"{TEMP_PREFIX}{job_id}-{item_id}-{uuid.uuid4().hex[:8]}.xmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, str(dest) + ".xmp")
    except BaseException:
        _remove(tmp)
        raise


def _manifest(row: MediaFile | _Source, dest_rel: str, final_sha: str, tags: list[str], output: str, job_id: int,
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


def _append_lines(output: str, entries: Iterable[dict[str, Any]]) -> None:
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
    _append_lines(output, missing)
    return len(missing)


def _remove_stale_temps(job_id: int, output: str) -> int:
    """Temporary files an interrupted run of this job left behind (never the archive's files)."""
    prefix = f"{TEMP_PREFIX}{job_id}-"
    dests = db.session.execute(select(ExportItem.destination).distinct().where(
        ExportItem.job_id == job_id, ExportItem.destination.is_not(None))).scalars().all()
    db.session.commit()
    removed = 0
    for folder in {(Path(output) / d).parent for d in dests}:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if name.startswith(prefix):
                _remove(folder / name)
                removed += 1
    return removed


# ---------------------------------------------------------------- the run --

def _export_threads() -> int:
    """Threads preparing files: hashing and file I/O release the GIL, so one per core helps (2–4)."""
    return max(2, min(4, os.cpu_count() or 1))


def run_export(lease: lifecycle.Lease, settings: Settings, stop_requested: Callable[[], bool]) -> str:
    """Body of an export job holding `lease`. Returns the status it left the job in."""
    job = db.session.get(Job, lease.job_id, populate_existing=True)
    db.session.commit()
    opts = job.options or {}
    output = opts["output"]
    try:  # the output rule again: the roots or the instance may have changed since the job was created
        _output_dir(settings, output)
    except ExportRefused as e:
        lifecycle.finish(lease, JobStatus.FAILED, message=str(e))
        return JobStatus.FAILED
    Path(output).mkdir(parents=True, exist_ok=True)
    if not job.enumerated:
        refused = _store_plan(lease, settings, job)
        if refused:
            lifecycle.finish(lease, JobStatus.FAILED, message=refused)
            return JobStatus.FAILED
    _remove_stale_temps(job.id, output)
    try:
        reconcile_manifest(job.id, output)
    except OSError as e:
        if not _is_disk_full(e):
            raise
        lifecycle.finish(lease, JobStatus.FAILED, message=str(_disk_full(Path(output), e)))
        return JobStatus.FAILED
    delay = float(os.environ.get(_DELAY_ENV) or 0)
    last_id = 0
    pending: list[_Outcome] = []
    # What this run put where (dest → source sha, final sha): a second file with the same
    # content but other tags is "already present" even before the first one's entry is committed.
    placed: dict[str, tuple[str, str]] = {}
    dirty: set[Path] = set()  # folders with renames not yet fsynced
    last_commit = time.monotonic()
    stop: str | None = None

    prepared: list[_Prepared] = []

    def place_prepared() -> None:
        """Sync the prepared copies once, then give them their archive names."""
        batch, prepared[:] = list(prepared), []
        try:
            _sync([p.tmp for p in batch])
        except OSError:
            for p in batch:
                _remove(p.tmp)
            raise
        for i, p in enumerate(batch):
            try:
                outcome = place_file(p, output=output, job_id=job.id, placed=placed)
            except BaseException:
                for q in batch[i + 1:]:
                    _remove(q.tmp)
                raise
            pending.append(outcome)
            if outcome.destination and outcome.final_sha256 and p.row.sha256:
                placed.setdefault(outcome.destination, (p.row.sha256, outcome.final_sha256))
                dirty.add((Path(output) / outcome.destination).parent)

    def commit(current: str | None) -> str:
        nonlocal pending, last_commit
        place_prepared()
        batch, pending = pending, []
        failed = sum(1 for o in batch if o.status == ExportItemStatus.FAILED)
        now = utcnow()

        def apply(s: Session) -> None:
            # Two executemany statements per batch rather than a statement per file.
            if batch:
                t = ExportItem.__table__
                s.execute(update(t).where(t.c.id == bindparam("item_id"))
                          .values(status=bindparam("status"), destination=bindparam("destination"),
                                  final_sha256=bindparam("final_sha256"), reason=bindparam("reason"),
                                  processed_at=now),
                          [{"item_id": o.item_id, "status": o.status, "destination": o.destination,
                            "final_sha256": o.final_sha256, "reason": o.reason} for o in batch])
            entries = [{
                "file_id": m["file_id"], "export_job_id": m["export_job"], "source_path": m["source"],
                "output_root": m["output"], "destination": m["destination"], "sha256": m["sha256"],
                "final_sha256": m["final_sha256"],
                "captured_at": datetime.fromisoformat(m["captured_at"]) if m["captured_at"] else None,
                "utc_offset": m["utc_offset"], "time_source": m["time_source"], "tags": m["tags"],
                "verified": True, "exported_at": now} for m in (o.manifest for o in batch) if m is not None]
            if entries:
                s.execute(insert(ManifestEntry.__table__), entries)

        # The renames of this batch are made durable before the database says they happened.
        for folder in dirty:
            _fsync_dir(folder)
        dirty.clear()
        status = lifecycle.checkpoint(lease, done=len(batch), errors=failed, current_item=current, apply=apply)
        last_commit = time.monotonic()
        # After the commit: a crash here leaves lines missing, which the next run adds.
        _append_lines(output, [o.manifest for o in batch if o.manifest is not None])
        return status

    # Files are prepared on a few threads, in order, at most `window` ahead of the one being
    # collected; placing, the database and the manifest stay in this thread.
    threads = _export_threads()
    # A finished future holds only a name and a hash (the bytes are freed once written), so the
    # window can cover a batch sync: the threads keep preparing while this thread waits in syncfs.
    window = PREPARE_AHEAD * threads
    inflight: deque[tuple[Future, str]] = deque()

    def collect() -> None:
        """The outcome of the oldest file in flight (raises what preparing it raised: DiskFull)."""
        fut, _source = inflight.popleft()
        got = fut.result()
        (prepared if isinstance(got, _Prepared) else pending).append(got)

    def discard_inflight() -> None:
        """Stopping: files still in flight stay PENDING for the next run; their copies are removed."""
        while inflight:
            fut, _source = inflight.popleft()
            if fut.cancel():
                continue
            try:
                got = fut.result()
            except BaseException:  # noqa: BLE001 — the first error is the one being reported
                continue
            if isinstance(got, _Prepared):
                _remove(got.tmp)

    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"export-{job.id}")
    try:
        while stop is None:
            # Plain rows, not ORM objects: the threads get frozen snapshots (_Item, _Source).
            items = db.session.execute(
                select(ExportItem.id, ExportItem.file_id, ExportItem.destination)
                .where(ExportItem.job_id == job.id, ExportItem.status == ExportItemStatus.PENDING,
                       ExportItem.id > last_id).order_by(ExportItem.id).limit(COMMIT_ITEMS)).all()
            if not items:
                db.session.commit()
                break
            rows = {r[0]: _Source(*r) for r in db.session.execute(
                select(*_Source.columns()).where(MediaFile.id.in_([i.file_id for i in items])))}
            tags = tags_of(rows)  # commits: no read transaction stays open while copying
            work = [(_Item(i.id, i.destination), rows[i.file_id]) for i in items]
            for item, row in work:
                last_id = item.id
                if delay:
                    time.sleep(delay)
                inflight.append((pool.submit(prepare_file, item, row, [t["name"] for t in tags[row.id]],
                                             output=output, job_id=job.id, zone=settings.timezone),
                                 row.source_path))
                while len(inflight) >= window or (inflight and inflight[0][0].done()):
                    source = inflight[0][1]
                    try:
                        collect()
                    except DiskFull as e:
                        discard_inflight()
                        commit(source)  # what was prepared before is placed and recorded
                        lifecycle.finish(lease, JobStatus.FAILED, message=str(e.args[-1] if e.args else e))
                        return JobStatus.FAILED
                    if len(pending) + len(prepared) >= COMMIT_ITEMS or \
                            time.monotonic() - last_commit >= COMMIT_INTERVAL:
                        status = commit(source)
                        if status in (JobStatus.PAUSED, JobStatus.CANCELLED):
                            stop = status
                        elif stop_requested():
                            stop = "shutdown"
                        if stop is not None:
                            break
                if stop is not None:
                    break
        if stop is None:
            while inflight:
                source = inflight[0][1]
                try:
                    collect()
                except DiskFull as e:
                    discard_inflight()
                    commit(source)
                    lifecycle.finish(lease, JobStatus.FAILED, message=str(e.args[-1] if e.args else e))
                    return JobStatus.FAILED
        discard_inflight()
        commit(None)
    except OSError as e:
        if not _is_disk_full(e):
            raise
        lifecycle.finish(lease, JobStatus.FAILED, message=str(_disk_full(Path(output), e)))
        return JobStatus.FAILED
    finally:
        discard_inflight()
        pool.shutdown(wait=True, cancel_futures=True)
    if stop is None:
        lifecycle.finish(lease, JobStatus.COMPLETED)
        return JobStatus.COMPLETED
    if stop == "shutdown":
        lifecycle.finish(lease, JobStatus.PENDING)
        return JobStatus.PENDING
    lifecycle.finish(lease, "released")
    return stop


# --------------------------------------------------------------- results --

def export_summary(job_id: int) -> dict[str, Any]:
    """Counts by outcome, the output folder and the year folders (for the done screen and the CLI)."""
    job = db.session.get(Job, job_id, populate_existing=True)
    if job is None or job.job_type != JobType.EXPORT:
        db.session.commit()
        raise LookupError(f"export job {job_id} does not exist")
    counts = dict(db.session.execute(select(ExportItem.status, func.count()).where(ExportItem.job_id == job_id)
                                     .group_by(ExportItem.status)).all())
    dests = db.session.execute(select(ExportItem.destination).where(
        ExportItem.job_id == job_id, ExportItem.status.in_((ExportItemStatus.DONE, ExportItemStatus.PRESENT)))
    ).scalars().all()
    failed = db.session.execute(select(MediaFile.source_path, ExportItem.reason)
                                .join(MediaFile, MediaFile.id == ExportItem.file_id)
                                .where(ExportItem.job_id == job_id, ExportItem.status == ExportItemStatus.FAILED)
                                .limit(50)).all()
    db.session.commit()
    years: dict[str, int] = {}
    for d in dests:
        top = (d or "").split("/", 1)[0]
        years[top] = years.get(top, 0) + 1
    return {
        "job_id": job_id, "status": job.status, "import_job_id": (job.options or {}).get("import_job_id"),
        "output": (job.options or {}).get("output"), "error_message": job.error_message,
        "copied": counts.get(ExportItemStatus.DONE, 0), "already_present": counts.get(ExportItemStatus.PRESENT, 0),
        "skipped": counts.get(ExportItemStatus.SKIPPED, 0), "failed": counts.get(ExportItemStatus.FAILED, 0),
        "pending": counts.get(ExportItemStatus.PENDING, 0),
        "folders": [{"folder": k, "count": v} for k, v in sorted(years.items())],
        "failed_files": [{"source": s, "reason": r} for s, r in failed],
    }
