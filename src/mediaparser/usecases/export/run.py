"""The export job's pieces for the job runner (runtime/runner.py): prepare, place, sync, commit.

The job is resumable and lease-guarded like the import. The plan
(export/plan.py) is stored as `export_items` rows in the job's first
checkpoint (`ExportSteps.begin`); the rows are cut into chunks any worker may
take (runtime/chunks.py), each chunk's run processes its PENDING rows and the
runner commits their outcomes in batches, so a killed worker redoes at most
the batch in flight. Left-over temporary files are removed per chunk (only a
chunk's own: others may be writing theirs), and the manifest is reconciled
once, after the last chunk (`ExportSteps.end`).

Per file (`prepare_file`, on a small thread pool: hashing, reading and writing
release the GIL): read the source once and check it against the analysed
SHA-256 (export/verify.py), write the corrected capture time and tags into
those bytes in memory (media/embed.py: losslessly, or an XMP sidecar for
formats exiv2 does not edit), hash the result, write it once to a temporary
name in the target folder with the capture time as mtime, and read it back
to check the bytes on disk are the bytes intended. (Files too large to hold
in memory, and formats that are not edited, are copied by the kernel and the
copy is hashed instead.) Then, per batch (`ExportWork.take_batch`): one
syncfs makes the batch's temporary copies durable, each is `os.replace`d into
place (`place_file`), the folders are fsynced, and only then are the outcomes
and manifest rows committed — the archive never holds a partial file under a
final name, and the manifest never records a file whose data is not on disk.
Writeback of each copy is started as soon as it is verified, and synced
copies are dropped from the page cache (bench/export.py: the cost per file,
and the comparison with exiftool). A redone file finds its own earlier copy
at the destination (metadata writing is deterministic, so the hashes match)
and is not copied twice.

Disk full (ENOSPC) stops the job with a clear message; the temporary file is
removed; sources are only ever read. Resuming after freeing space continues.
"""
from __future__ import annotations

import errno
import hashlib
import os
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from mediaparser.config import Settings
from mediaparser.media.embed import EmbedError, embeddable, embedded, sidecar_xmp, write_embedded
from mediaparser.media.errors import explain
from mediaparser.media.probe import sha256_file
from mediaparser.store.db import db
from mediaparser.store.dialect import insert_ignore
from mediaparser.store.models import ExportItem, ExportItemStatus, Job, JobType, ManifestEntry, MediaFile, utcnow
from mediaparser.usecases.export.manifest import (KEPT_WITHOUT, METADATA_IN_COPY, METADATA_NONE, METADATA_SIDECAR,
                                                  UNDECODED_NOTE, append_lines, entry_rows, manifest_line,
                                                  reconcile_manifest)
from mediaparser.usecases.stacks import ONE_PHOTO_KINDS
from mediaparser.usecases.export.plan import (OUTSIDE_OUTPUT, ExportRefused, build_plan, destination_in, output_dir,
                                              with_suffix)
from mediaparser.usecases.export.verify import (COPY_MISMATCH, EARLY_WRITEBACK, SOURCE_CHANGED, copy_verified,
                                                matches_on_disk, read_verified, same_content)
from mediaparser.usecases.jobsteps import Batch, Control, JobFailed
from mediaparser.usecases.tagging import tags_of

TEMP_PREFIX = ".mediaparser-part-"
COMMIT_INTERVAL = 0.5  # seconds between checkpoints (and pause/cancel checks)
COMMIT_ITEMS = 200
# Files up to this size are read into memory, edited there and written once;
# larger ones are copied by the kernel and edited in place (a 12 MP JPEG is 2–8 MB).
IN_MEMORY_MAX = 32 << 20
PREPARE_AHEAD = 32  # files in flight per preparing thread (see ExportWork)
# Seconds of sleep per exported file, for tests that must interrupt an export
# mid-way (the import's equivalent lives in the pool).
_DELAY_ENV = "MEDIAPARSER_DEBUG_FILE_DELAY"


class DiskFull(OSError):
    """The output disk is full: the job stops and can be resumed after space is freed."""


def _insert_ignore(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert_ignore(session, ExportItem, ["job_id", "file_id"]), rows)


def _store_plan(control: Control, settings: Settings, job: Job) -> str | None:
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

    control.checkpoint(Batch(total=len(rows), current_item="planning…", apply=apply))
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


def _write_once(tmp: Path, data: bytes | memoryview, mtime: float) -> None:
    """Create `tmp` (never an existing file) holding `data`, modified at `mtime`. Not synced here:
    ExportWork syncs a whole batch before any of it is renamed into place."""
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.utime(fd, (mtime, mtime))
    finally:
        os.close(fd)


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
    precision: str | None
    phash: int | None  # None: the analysis could not decode the picture (see `decoded`)
    stack_id: int | None  # its stack's lead (usecases/stacks.py)
    stack_kind: str | None

    @staticmethod
    def columns() -> tuple:
        """The MediaFile columns, in field order: `_Source(*row)` for each row selected with them."""
        return (MediaFile.id, MediaFile.source_path, MediaFile.sha256, MediaFile.extension, MediaFile.size,
                MediaFile.mtime, MediaFile.captured_at, MediaFile.utc_offset, MediaFile.offset_assumed,
                MediaFile.time_source, MediaFile.precision, MediaFile.phash, MediaFile.stack_id,
                MediaFile.stack_kind)


def decoded(row: MediaFile | _Source) -> bool:
    """The analysis decoded the picture (its perceptual hash comes from the decoded pixels).

    A file kept without a preview (media/analyze.py `NO_PREVIEW`: truncated, a broken HEIF,
    a RAW without a usable preview) is damaged or unknown inside: its copy is byte for byte
    the original, and the capture time and tags go into an XMP sidecar — exiv2's rewrite of
    a damaged container could not be checked by decoding the result."""
    return row.phash is not None


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
    metadata: str  # where the capture time and tags are: manifest.METADATA_*


def _fail_or_disk_full(exc: OSError, folder: Path, item_id: int, file_id: int) -> _Outcome:
    if isinstance(exc, DiskFull):
        raise exc
    if _is_disk_full(exc):
        raise _disk_full(folder, exc) from None
    return _Outcome(item_id, file_id, ExportItemStatus.FAILED, reason=f"could not write the copy: {exc.strerror or exc}")


def prepare_file(item: ExportItem | _Item, row: MediaFile | _Source, tags: list[str], *, output: str,
                 job_id: int, zone: str) -> _Outcome | _Prepared:
    """Read and verify the source, write the metadata, write the copy under a temporary name and
    verify it (module docstring). Touches neither the database nor the session: ExportWork calls it
    from worker threads with plain snapshots (_Item, _Source). Raises DiskFull."""
    dest_rel = item.destination or ""
    inside = destination_in(output, dest_rel)
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
            if embeddable(ext) and decoded(row) and row.size is not None and row.size <= IN_MEMORY_MAX:
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
    data = read_verified(row.source_path, row.sha256 or "", row.size)
    if data is None:
        return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=SOURCE_CHANGED)
    try:
        with embedded(data, ext, row.captured_at, offset, tags, precision=row.precision) as edited:
            return _write_checked(item_id, row, tags, tmp, dest_rel, edited, mtime, None, METADATA_IN_COPY)
    except EmbedError as e:  # the verified bytes are written as they are
        note = f"{e}; {KEPT_WITHOUT}"
    return _write_checked(item_id, row, tags, tmp, dest_rel, data, mtime, note, METADATA_NONE)


def _write_checked(item_id: int, row: MediaFile | _Source, tags: list[str], tmp: Path, dest_rel: str,
                   data: bytes | memoryview, mtime: float, note: str | None, metadata: str) -> _Outcome | _Prepared:
    """Hash `data`, write it to `tmp` and check the copy on disk is exactly `data`."""
    final_sha = hashlib.sha256(data).hexdigest()
    _write_once(tmp, data, mtime)
    if not matches_on_disk(tmp, data):
        _remove(tmp)
        return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=COPY_MISMATCH)
    return _Prepared(item_id, row, tags, tmp, dest_rel, final_sha, None, note, metadata)


def _prepare_on_disk(item_id: int, row: MediaFile | _Source, tags: list[str], tmp: Path, dest_rel: str,
                     ext: str, offset: int | None, mtime: float) -> _Outcome | _Prepared:
    """Formats that are not edited (the copy is the source, sidecar beside it), and files too large
    for memory: a kernel copy, hashed; an embeddable one is then edited in place and hashed again."""
    bad = copy_verified(row.source_path, tmp, row.sha256 or "")
    if bad:
        _remove(tmp)
        return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=bad)
    note = None
    sidecar: bytes | None = None
    final_sha = row.sha256 or ""
    metadata = METADATA_NONE
    if embeddable(ext) and decoded(row):
        metadata = METADATA_IN_COPY
        try:
            write_embedded(str(tmp), ext, row.captured_at, offset, tags, precision=row.precision)
        except EmbedError as e:
            # exiv2 reports a full disk as a plain write error: ask the file system.
            st = os.statvfs(tmp.parent)
            if st.f_bavail * st.f_frsize < (row.size or 0) + (1 << 16):
                raise _disk_full(tmp.parent) from None
            note = f"{e}; {KEPT_WITHOUT}"
            metadata = METADATA_NONE
            if sha256_file(tmp) != row.sha256:  # a half-written rewrite: start from the verified bytes again
                _remove(tmp)
                bad = copy_verified(row.source_path, tmp, row.sha256 or "")
                if bad:
                    _remove(tmp)
                    return _Outcome(item_id, row.id, ExportItemStatus.FAILED, reason=bad)
        final_sha = sha256_file(tmp)
    elif row.captured_at is not None or tags:
        sidecar = sidecar_xmp(row.captured_at, offset, tags, precision=row.precision)
        metadata = METADATA_SIDECAR
    if not decoded(row):
        note = UNDECODED_NOTE if sidecar is not None else UNDECODED_NOTE.split(";")[0]
    os.utime(tmp, (mtime, mtime))
    return _Prepared(item_id, row, tags, tmp, dest_rel, final_sha, sidecar, note, metadata)


def place_file(p: _Prepared, *, output: str, job_id: int, placed: dict[str, tuple[str, str]]) -> _Outcome:
    """Rename a prepared (and already synced) copy into place, or find its content already there."""
    out = Path(output)
    row, dest_rel = p.row, p.dest_rel
    dest = destination_in(out, dest_rel)
    if dest is None:  # a link put in the output since the copy was prepared
        _remove(p.tmp)
        return _Outcome(p.item_id, row.id, ExportItemStatus.FAILED, reason=OUTSIDE_OUTPUT)
    try:
        # A name that is taken: ours from an interrupted run, or identical content → already there;
        # anything else (appeared since the plan) → the next free _N.
        base, n = dest_rel, 1
        while os.path.lexists(dest):
            # A link at this name is never followed: it counts as another file's name.
            there = None if dest.is_symlink() else same_content(dest, dest_rel, p.final_sha, row.sha256 or "",
                                                                 output, placed)
            if there is not None:
                _remove(p.tmp)
                if p.sidecar is not None and not Path(str(dest) + ".xmp").exists():
                    _place_sidecar(dest, p.sidecar, job_id, p.item_id)
                # The manifest records the archive file as it is (it may carry the first copy's tags).
                return _Outcome(p.item_id, row.id, ExportItemStatus.PRESENT, dest_rel, there, p.note,
                                manifest_line(row, dest_rel, there, p.tags, output, job_id, "present",
                                              metadata=p.metadata, note=p.note))
            n += 1
            dest_rel = with_suffix(base, n)
            dest = dest.parent / os.path.basename(dest_rel)  # same folder, checked above
        if p.sidecar is not None:
            _place_sidecar(dest, p.sidecar, job_id, p.item_id)
        os.replace(p.tmp, dest)  # the folder is fsynced before this outcome is committed (ExportWork.take_batch)
        return _Outcome(p.item_id, row.id, ExportItemStatus.DONE, dest_rel, p.final_sha, p.note,
                        manifest_line(row, dest_rel, p.final_sha, p.tags, output, job_id, "copied",
                                      metadata=p.metadata, note=p.note))
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


def _remove_stale_temps(job_id: int, output: str, first_id: int | None = None, last_id: int | None = None) -> int:
    """Temporary files an interrupted run of this job left behind (never the archive's files);
    with first_id..last_id, only those of these items (their names carry the item's id)."""
    prefix = f"{TEMP_PREFIX}{job_id}-"
    q = select(ExportItem.destination).distinct().where(ExportItem.job_id == job_id,
                                                        ExportItem.destination.is_not(None))
    if first_id is not None and last_id is not None:
        q = q.where(ExportItem.id.between(first_id, last_id))
    dests = db.session.execute(q).scalars().all()
    db.session.commit()
    removed = 0
    for folder in {(Path(output) / d).parent for d in dests}:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            if not name.startswith(prefix):
                continue
            if first_id is not None and last_id is not None:
                item = name[len(prefix):].split("-", 1)[0]
                if not (item.isdigit() and first_id <= int(item) <= last_id):
                    continue  # another chunk's, perhaps being written right now
            _remove(folder / name)
            removed += 1
    return removed


# ---------------------------------------------------------------- the run --

def _export_threads() -> int:
    """Threads preparing files: hashing and file I/O release the GIL, so one per core helps (2–4)."""
    return max(2, min(4, os.cpu_count() or 1))


def _failed_disk_full(output: str, exc: OSError) -> JobFailed:
    return JobFailed(str(_disk_full(Path(output), exc)))


class ExportSteps:
    """The export job for the runner: check the output, store the plan, tidy up, then `ExportWork`."""

    def __init__(self, job_id: int, settings: Settings) -> None:
        self.job = db.session.get(Job, job_id, populate_existing=True)
        db.session.commit()
        self.settings = settings
        self.output: str = (self.job.options or {})["output"]

    def begin(self, control: Control) -> str | None:
        job, output = self.job, self.output
        try:  # the output rule again: the roots or the instance may have changed since the job was created
            output_dir(self.settings, output)
        except ExportRefused as e:
            raise JobFailed(str(e)) from None
        Path(output).mkdir(parents=True, exist_ok=True)
        if not job.enumerated:
            refused = _store_plan(control, self.settings, job)
            if refused:
                raise JobFailed(refused)
        # Left-over temporary files are removed by each chunk for its own files (chunk_work), and
        # the manifest is checked at the end: other workers may be writing both meanwhile.
        return None

    def work(self) -> ExportWork:
        """Every PENDING file in one run (the export without chunks)."""
        _remove_stale_temps(self.job.id, self.output)
        self._reconcile()
        return ExportWork(self.job.id, self.output, self.settings.timezone)

    def item_ids(self, session: Session) -> list[int]:
        """The plan's files still to copy, in id order: what the job's chunks are cut from."""
        return list(session.execute(select(ExportItem.id).where(
            ExportItem.job_id == self.job.id, ExportItem.status == ExportItemStatus.PENDING)
            .order_by(ExportItem.id)).scalars())

    def chunk_work(self, first_id: int, last_id: int) -> ExportWork:
        """One chunk: the PENDING items with ids first_id..last_id, after removing what an
        interrupted run of this chunk left (only this chunk's temporary files: it holds them alone)."""
        _remove_stale_temps(self.job.id, self.output, first_id, last_id)
        return ExportWork(self.job.id, self.output, self.settings.timezone, first_id, last_id)

    def end(self, control: Control) -> None:
        """Once every file is copied: the manifest holds every entry of this export exactly once
        (lines a killed worker committed but never appended are added)."""
        control.checkpoint(Batch(current_item="checking the manifest…"))
        self._reconcile()

    def _reconcile(self) -> None:
        try:
            reconcile_manifest(self.job.id, self.output)
        except OSError as e:
            if not _is_disk_full(e):
                raise
            raise _failed_disk_full(self.output, e) from None


class ExportWork:
    """Files are prepared on a few threads, in order, at most `window` ahead of the one being
    collected; placing, the database and the manifest stay in the job's thread."""

    batch_rows = COMMIT_ITEMS
    batch_seconds = COMMIT_INTERVAL

    def __init__(self, job_id: int, output: str, zone: str, first_id: int | None = None,
                 last_id: int | None = None) -> None:
        self.job_id, self.output, self.zone = job_id, output, zone
        self.delay = float(os.environ.get(_DELAY_ENV) or 0)
        self.last_id = (first_id or 1) - 1
        self.upto = last_id  # a chunk's last item id (None: to the end)
        self.no_more = False
        self.todo: deque[tuple[_Item, _Source, list[str]]] = deque()
        self.pending: list[_Outcome] = []
        self.prepared: list[_Prepared] = []
        # What this run put where (dest → source sha, final sha): a second file with the same
        # content but other tags is "already present" even before the first one's entry is committed.
        self.placed: dict[str, tuple[str, str]] = {}
        self.dirty: set[Path] = set()  # folders with renames not yet fsynced
        # A stack's lead that found its planned name taken since the plan (and took `_n`):
        # lead id → (planned name without extension, the name it got) — its members follow it.
        self.moved: dict[int, tuple[str, str]] = {}
        self.current: str | None = None
        threads = _export_threads()
        # A finished future holds only a name and a hash (the bytes are freed once written), so the
        # window can cover a batch sync: the threads keep preparing while this thread waits in syncfs.
        self.window = PREPARE_AHEAD * threads
        self.inflight: deque[tuple[Future, str]] = deque()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"export-{job_id}")

    def _load(self) -> None:
        """The next PENDING items, as plain rows: the threads get frozen snapshots (_Item, _Source)."""
        items = db.session.execute(
            select(ExportItem.id, ExportItem.file_id, ExportItem.destination)
            .where(ExportItem.job_id == self.job_id, ExportItem.status == ExportItemStatus.PENDING,
                   ExportItem.id > self.last_id, *([ExportItem.id <= self.upto] if self.upto is not None else []))
            .order_by(ExportItem.id).limit(COMMIT_ITEMS)).all()
        if not items:
            db.session.commit()
            self.no_more = True
            return
        rows = {r[0]: _Source(*r) for r in db.session.execute(
            select(*_Source.columns()).where(MediaFile.id.in_([i.file_id for i in items])))}
        tags = tags_of(rows)  # commits: no read transaction stays open while copying
        for i in items:
            row = rows[i.file_id]
            self.todo.append((_Item(i.id, i.destination), row, [t["name"] for t in tags[row.id]]))

    def feed(self) -> None:
        # Up to the window, and no further while the oldest file is done: it is collected first.
        while len(self.inflight) < self.window and not (self.inflight and self.inflight[0][0].done()):
            if not self.todo:
                if self.no_more:
                    return
                self._load()
                if not self.todo:
                    return
            item, row, tags = self.todo.popleft()
            self.last_id = item.id
            if self.delay:
                time.sleep(self.delay)
            self.inflight.append((self.pool.submit(prepare_file, item, row, tags, output=self.output,
                                                   job_id=self.job_id, zone=self.zone), row.source_path))

    def collect(self) -> None:
        """The outcome of the oldest file in flight (a full disk while preparing it fails the job)."""
        if not self.inflight:
            return
        fut, self.current = self.inflight.popleft()
        try:
            got = fut.result()
        except DiskFull as e:
            self._discard_inflight()
            raise JobFailed(str(e.args[-1] if e.args else e), flush=True) from None
        (self.prepared if isinstance(got, _Prepared) else self.pending).append(got)

    def busy(self) -> bool:
        return bool(self.inflight)

    def exhausted(self) -> bool:
        return self.no_more and not self.todo

    def ready(self) -> int:
        return len(self.pending) + len(self.prepared)

    def take_batch(self) -> Batch:
        try:
            self._place_prepared()
        except OSError as e:
            if not _is_disk_full(e):
                raise
            raise _failed_disk_full(self.output, e) from None
        batch, self.pending = self.pending, []
        failed = sum(1 for o in batch if o.status == ExportItemStatus.FAILED)
        now = utcnow()
        lines = [o.manifest for o in batch if o.manifest is not None]

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
            if lines:
                s.execute(insert(ManifestEntry.__table__), entry_rows(lines, now))

        # The renames of this batch are made durable before the database says they happened.
        for folder in self.dirty:
            _fsync_dir(folder)
        self.dirty.clear()
        # After the commit: a crash before the append leaves lines missing, which the next run adds.
        return Batch(done=len(batch), errors=failed, current_item=self.current, apply=apply,
                     after=lambda: append_lines(self.output, lines))

    def _place_prepared(self) -> None:
        """Sync the prepared copies once, then give them their archive names."""
        batch, self.prepared = self.prepared, []
        try:
            _sync([p.tmp for p in batch])
        except OSError:
            for p in batch:
                _remove(p.tmp)
            raise
        for i, p in enumerate(batch):
            try:
                p = self._after_lead(p)
                outcome = place_file(p, output=self.output, job_id=self.job_id, placed=self.placed)
                self._note_moved(p, outcome)
            except BaseException:
                for q in batch[i + 1:]:
                    _remove(q.tmp)
                raise
            self.pending.append(outcome)
            if outcome.destination and outcome.final_sha256 and p.row.sha256:
                self.placed.setdefault(outcome.destination, (p.row.sha256, outcome.final_sha256))
                self.dirty.add((Path(self.output) / outcome.destination).parent)

    def _note_moved(self, p: _Prepared, outcome: _Outcome) -> None:
        row = p.row
        if row.stack_kind in ONE_PHOTO_KINDS and row.stack_id == row.id and outcome.destination \
                and outcome.destination != p.dest_rel:
            self.moved[row.id] = (os.path.splitext(p.dest_rel)[0], os.path.splitext(outcome.destination)[0])

    def _after_lead(self, p: _Prepared) -> _Prepared:
        """A stack member whose lead took another number than planned takes the same one: the plan
        renumbers a stack as one, and so does a name taken between the plan and the copy. (The plan
        puts a stack's members right after their lead, so the lead is placed first.)"""
        row = p.row
        if row.stack_kind not in ONE_PHOTO_KINDS or row.stack_id == row.id or row.stack_id not in self.moved:
            return p
        planned, got = self.moved[row.stack_id]
        if not p.dest_rel.startswith(planned):
            return p
        return replace(p, dest_rel=got + p.dest_rel[len(planned):])

    def stop(self) -> None:
        self._discard_inflight()

    def _discard_inflight(self) -> None:
        """Stopping: files still in flight stay PENDING for the next run; their copies are removed."""
        while self.inflight:
            fut, _source = self.inflight.popleft()
            if fut.cancel():
                continue
            try:
                got = fut.result()
            except BaseException:  # noqa: BLE001 — the first error is the one being reported
                continue
            if isinstance(got, _Prepared):
                _remove(got.tmp)

    def close(self) -> None:
        self._discard_inflight()
        self.pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------- results --

def _failed_file(source: str, reason: str | None) -> dict[str, str | None]:
    e = explain(reason)
    return {"source": source, "reason": e.sentence if e else None, "detail": e.detail if e else None}


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
        # Each reason in plain words, with what the export saw behind a "details" toggle.
        "failed_files": [_failed_file(s, r) for s, r in failed],
    }
