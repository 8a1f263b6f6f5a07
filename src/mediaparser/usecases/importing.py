"""The import use case: create an import job, enumerate its source, process files.

`ImportSteps` is the import job, run by runtime/runner.py. It is resumable at
any instant: files are enumerated into rows first (idempotently — a restarted
enumeration only adds what is missing), then every PENDING row is processed in
a process pool and the results are committed in batches with the job's
progress through the job runner's checkpoints (runtime/runner.py), so a crash loses at most the batch in
flight and a restart picks up the remaining PENDING rows.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from mediaparser.config import Settings
from mediaparser.store.db import db, write_transaction
from mediaparser.store.dialect import insert_ignore
from mediaparser.media.pool import TimedOut, shared_pool
from mediaparser.media.analyze import AnalysisResult
from mediaparser.store.models import FileStatus, Job, JobStatus, JobType, MediaFile, to_signed64, utcnow
from mediaparser.usecases import duplicates, stacks, takeout, tagging as tags
from mediaparser.library import capture_time
from mediaparser.library.in_archive import ArchiveIndex
from mediaparser.media.errors import explain
from mediaparser.media.fsguard import in_system_folder
from mediaparser.usecases.jobsteps import Batch, Control
from mediaparser.usecases.source_access import boundary_options, job_boundary
from mediaparser.media.walk import TAKEOUT_PART, Entry, Skipped, display, walk_source
from mediaparser.media.probe import sha256_file

log = logging.getLogger(__name__)

# The per-file work, as "module:function" so pool processes can import it:
# full analysis (type, metadata, capture time, thumbnail, perceptual hashes).
FILE_WORK = "mediaparser.media.analyze:analyze_file"

COMMIT_INTERVAL = 0.5  # seconds between batched commits (and control checks)
COMMIT_ROWS = 500  # or sooner, when this many results are waiting
CHUNK_FILES = 64  # files per pool task at most ...
CHUNK_BYTES = 16 * 1024 * 1024  # ... and about this much data ...
CHUNK_SECONDS = 0.25  # ... and about this much time, so pause/cancel stay prompt
ENUM_BATCH = 1000
CONTENT_BATCH = 32  # files listed per commit when each may be read whole (uploads): pause stays prompt
SKIPPED_EXAMPLES = 5
ALREADY_IMPORTED = "already imported by an earlier import, unchanged since"


class ImportRefused(ValueError):
    """The import cannot start: the message is for the user."""


class PathNotAllowed(ImportRefused):
    pass


def create_import_job(settings: Settings, path: str, *, options: dict | None = None,
                      check_roots: bool = True) -> Job:
    """Validate the source folder and create a PENDING import job.

    `check_roots=False` is for the operator's own shell (the CLI): the
    import-roots rule exists to limit what the web UI can reach.
    """
    if not path:
        raise ImportRefused("give the folder to import")
    _check_path_text(path, must_be_absolute=check_roots)
    try:
        allowed = settings.path_in_import_roots(path) if check_roots else Path(os.path.realpath(path))
        if allowed is None:
            roots = ", ".join(str(r) for r in settings.import_roots) or "none configured (set MEDIAPARSER_IMPORT_ROOTS)"
            raise PathNotAllowed(f"{path} is outside the folders you may import from ({roots})")
        if in_system_folder(str(allowed)):
            raise ImportRefused(f"{path} is a system folder (/proc, /sys or /dev), not photos")
        if not allowed.exists():
            raise ImportRefused(f"{path} does not exist")
        if not allowed.is_dir():
            raise ImportRefused(f"{path} is not a folder")
    except (OSError, ValueError) as exc:  # e.g. a name too long for the file system
        if isinstance(exc, ImportRefused):
            raise
        raise ImportRefused(f"{path} cannot be used as a folder: {getattr(exc, 'strerror', None) or exc}") from None
    opts = dict(options or {})
    opts["path"] = str(allowed)
    # The folders this import's links may lead into, fixed now for every later step.
    opts.update(boundary_options(settings, allowed, check_roots=check_roots))
    with write_transaction() as s:
        job = Job(job_type=JobType.IMPORT, status=JobStatus.PENDING, options=opts,
                  max_attempts=settings.max_attempts, enqueued_at=utcnow())
        s.add(job)
    return job


def _check_path_text(path: str, *, must_be_absolute: bool) -> None:
    """Refuse a path no folder can have, with a sentence instead of a crash.

    A web request's path must be absolute: a relative one would be resolved
    against the server's working folder, which the user neither sees nor chose.
    """
    if "\x00" in path:
        raise ImportRefused("the path contains a NUL character, which no folder name can hold")
    try:
        os.fsencode(path)
    except UnicodeEncodeError:
        raise ImportRefused("the path contains characters that are not valid text") from None
    if must_be_absolute and not os.path.isabs(path):
        raise ImportRefused(f"give the folder's full path, starting with {os.sep} (not {path!r})")


# ------------------------------------------------------------ enumeration --

def _insert_ignore(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert_ignore(session, MediaFile, ["job_id", "source_path"]), rows)


def _listing(control: Control, job: Job, settings: Settings | None):
    """What `_enumerate` lists: the import's folder, then the working copies of
    the Google Takeout parts found in it (unpacked first, usecases/takeout.py).
    A string is a stop reason (paused or cancelled while unpacking)."""
    root = job.source_path
    parts = []
    for item in walk_source(root, job_boundary(job)):
        if isinstance(item, Skipped) and item.reason == TAKEOUT_PART:
            found = takeout.part_found(root, item.rel_path)
            if found is not None:
                parts.append(found)
        yield item
    if parts and settings is not None:
        unpacked = takeout.unpack(control, settings, job, parts)
        if unpacked.stop is not None:
            yield unpacked.stop
            return
        for part, why in unpacked.damaged:  # a failed file of the import, with the reason
            yield Entry(part.path, part.rel_path, why)
        for copy in takeout.working_copies(job):
            yield from walk_source(copy, job_boundary(job))


def _enumerate(control: Control, job: Job, settings: Settings | None = None) -> str | None:
    """List the folder into PENDING rows; a stop reason when stopped part-way (the listing resumes)."""
    root = job.source_path
    if root is None or not os.path.isdir(root):
        raise FileNotFoundError(f"the import folder {root} does not exist or is not a folder")
    skipped: dict[str, dict[str, Any]] = {}
    batch: list[dict] = []
    found = 0
    errors_seen = 0
    last = time.monotonic()

    force = bool((job.options or {}).get("force"))
    # An upload's folder is new every time, so its files are known by content instead of by path.
    by_content = bool((job.options or {}).get("upload"))
    batch_limit = CONTENT_BATCH if by_content else ENUM_BATCH

    def skip(reason: str, rel_path: str) -> None:
        slot = skipped.setdefault(reason, {"count": 0, "examples": []})
        slot["count"] += 1
        if len(slot["examples"]) < SKIPPED_EXAMPLES:
            slot["examples"].append(rel_path)

    archive = ArchiveIndex()

    def flush(final: bool) -> str:
        rows, batch[:] = list(batch), []
        # Files an export wrote are never sources, whatever the import is told (--force included):
        # listed, they could be exported over themselves or deleted by the clean-up as an original.
        real = {r["source_path"]: os.path.realpath(r["source_path"]) for r in rows if r["status"] == FileStatus.PENDING}
        in_archive = archive.reasons(list(real.values()))
        if in_archive:
            for r in rows:
                reason = in_archive.get(real.get(r["source_path"], ""))
                if reason:
                    skip(reason, r["rel_path"])
            rows = [r for r in rows if real.get(r["source_path"]) not in in_archive]
        if not force:
            known = _already_imported(job.id, rows, by_content=by_content)
            for r in rows:
                if r["source_path"] in known:
                    skip(ALREADY_IMPORTED, r["rel_path"])
            rows = [r for r in rows if r["source_path"] not in known]

        def apply(s: Session) -> None:
            _insert_ignore(s, rows)
            if final:
                total = s.execute(select(func.count()).select_from(MediaFile)
                                  .where(MediaFile.job_id == job.id)).scalar_one()
                failed = s.execute(select(func.count()).select_from(MediaFile)
                                   .where(MediaFile.job_id == job.id, MediaFile.status == FileStatus.FAILED)).scalar_one()
                done = s.execute(select(func.count()).select_from(MediaFile)
                                 .where(MediaFile.job_id == job.id, MediaFile.status != FileStatus.PENDING)).scalar_one()
                s.execute(update(Job).where(Job.id == job.id).values(
                    enumerated=True, progress_total=total, progress_current=done, error_count=failed,
                    skipped=skipped, skipped_count=sum(v["count"] for v in skipped.values()))
                    .execution_options(synchronize_session=False))
        return control.checkpoint(Batch(total=None if final else found,
                                        current_item=f"listing files… {found} found", apply=apply))

    for item in _listing(control, job, settings):
        if isinstance(item, str):
            return item
        if isinstance(item, Skipped):
            skip(item.reason, item.rel_path)
            continue
        assert isinstance(item, Entry)
        found += 1
        row = {"job_id": job.id, "source_path": display(item.path), "rel_path": item.rel_path,
               "status": FileStatus.PENDING, "size": item.size, "mtime": item.mtime,
               "dev": item.identity[0] if item.identity else None,
               "inode": item.identity[1] if item.identity else None}
        if item.error:
            errors_seen += 1
            row.update(status=FileStatus.FAILED, **_error_columns(item.error), processed_at=utcnow())
        batch.append(row)
        if len(batch) >= batch_limit or time.monotonic() - last > COMMIT_INTERVAL:
            stop = control.stop_reason(flush(False))
            last = time.monotonic()
            if stop is not None:
                return stop
    flush(True)
    return None


def _already_imported(job_id: int, rows: list[dict], *, by_content: bool = False) -> set[str]:
    """Source paths among `rows` whose file an earlier import already analysed,
    unchanged since: the one rule for "already imported" (ALREADY_IMPORTED).

    A server folder's file is the same file when its path, size and
    modification time are (no file is read for that). An upload's folder is
    new every time, so there (`by_content`) a file is the same when its
    content is: an analysed file of the library has its SHA-256.

    Importing a folder — or uploading it — again then adds only what is new or
    changed, instead of a second row for every file (which would show each
    photo twice and make it an "exact duplicate" of itself). `force` (an
    import option) lists them again.
    """
    listed = {r["source_path"]: r for r in rows if r["status"] == FileStatus.PENDING and r["mtime"] is not None}
    if not listed:
        return set()
    known: set[str] = set()
    paths = list(listed)
    for i in range(0, len(paths), 500):
        for path, size, mtime in db.session.execute(
                select(MediaFile.source_path, MediaFile.size, MediaFile.mtime)
                .where(MediaFile.source_path.in_(paths[i:i + 500]), MediaFile.job_id != job_id,
                       MediaFile.status == FileStatus.DONE)):
            r = listed[path]
            if size == r["size"] and mtime == r["mtime"]:
                known.add(path)
    db.session.commit()  # no read transaction held across the walk
    if by_content:
        known |= _same_content_in_library(job_id, [r for p, r in listed.items() if p not in known])
    return known


def _same_content_in_library(job_id: int, rows: list[dict]) -> set[str]:
    """Source paths among `rows` whose bytes an analysed file of another import has.

    Only files of a size some analysed file has are read (most new photos are
    not), and a file that cannot be read now is left to the analysis, which
    says why."""
    if not rows:
        return set()
    sizes = sorted({r["size"] for r in rows if r["size"] is not None})
    library_sizes: set[int] = set()
    for i in range(0, len(sizes), 500):
        library_sizes.update(db.session.execute(
            select(MediaFile.size).distinct()
            .where(MediaFile.size.in_(sizes[i:i + 500]), MediaFile.job_id != job_id,
                   MediaFile.status == FileStatus.DONE)).scalars())
    db.session.commit()
    digests: dict[str, str] = {}
    for r in rows:
        if r["size"] in library_sizes:
            try:
                digests[r["source_path"]] = sha256_file(r["source_path"])
            except OSError:
                pass
    if not digests:
        return set()
    wanted = sorted(set(digests.values()))
    in_library: set[str] = set()
    for i in range(0, len(wanted), 500):
        in_library.update(db.session.execute(
            select(MediaFile.sha256).distinct()
            .where(MediaFile.sha256.in_(wanted[i:i + 500]), MediaFile.job_id != job_id,
                   MediaFile.status == FileStatus.DONE)).scalars())
    db.session.commit()
    return {path for path, digest in digests.items() if digest in in_library}


# -------------------------------------------------------------- processing --

_RESULT_COLUMNS = (
    "size", "mtime", "sha256", "file_type", "mime", "error", "error_detail", "status", "processed_at",
    "kind", "extension", "extension_ok", "width", "height", "duration", "make", "model", "orientation",
    "captured_at", "utc_offset", "offset_assumed", "precision", "time_source", "confidence", "reasons",
    "candidates", "phash", "dhash", "detail", "low_detail", "thumbnail", "sidecars", "warnings",
    "phash90", "dhash90", "phash180", "dhash180", "has_gps", "bit_depth",
    "content_id", "burst_id", "motion_offset", "takeout", "takeout_flag",
)
_UPDATE_RESULT = (
    update(MediaFile.__table__)
    .where(MediaFile.__table__.c.id == bindparam("_id"))
    .values({c: bindparam(c) for c in _RESULT_COLUMNS})
)


def _row_values(item_id: int, result: Any) -> tuple[dict, bool]:
    """Map a per-file result onto the row's columns; returns (values, failed)."""
    now = utcnow()
    if isinstance(result, TimedOut):
        values = dict.fromkeys(_RESULT_COLUMNS)
        values.update(_id=item_id, status=FileStatus.FAILED, **_error_columns(result.error), processed_at=now)
        return values, True
    values = analysis_columns(result)
    values.update(_id=item_id, processed_at=now,
                  status=FileStatus.FAILED if result.error else FileStatus.DONE)
    return values, bool(result.error)


def _error_columns(raw: str | None) -> dict[str, str | None]:
    """A file's error as stored: the plain sentence and the technical detail (media/errors.py)."""
    e = explain(raw)
    return {"error": e.sentence if e else None, "error_detail": e.detail if e else None}


def analysis_columns(result: AnalysisResult) -> dict[str, Any]:
    """The MediaFile columns for one analysis result (the one mapping of the two)."""
    return {
        "size": result.size,
        "mtime": result.mtime,
        "sha256": result.sha256,
        "file_type": result.type,
        "mime": result.mime,
        **_error_columns(result.error),
        "kind": result.kind,
        "extension": result.extension,
        "extension_ok": result.extension_ok,
        "width": result.width,
        "height": result.height,
        "duration": result.duration,
        "make": (result.make or None) and result.make[:128],
        "model": (result.model or None) and result.model[:128],
        "orientation": result.orientation,
        **capture_time.choice_columns(result),  # the one writer of capture-time fields
        "phash": to_signed64(result.phash),
        "dhash": to_signed64(result.dhash),
        "detail": result.detail,
        "low_detail": result.low_detail,
        "thumbnail": result.thumbnail,
        "sidecars": list(result.sidecars),
        "warnings": list(result.warnings),
        "phash90": to_signed64(result.rot90[0]) if result.rot90 else None,
        "dhash90": to_signed64(result.rot90[1]) if result.rot90 else None,
        "phash180": to_signed64(result.rot180[0]) if result.rot180 else None,
        "dhash180": to_signed64(result.rot180[1]) if result.rot180 else None,
        "has_gps": result.has_gps,
        "bit_depth": result.bit_depth,
        "content_id": result.content_id,
        "burst_id": result.burst_id,
        "motion_offset": result.motion_offset,
        **takeout.facts_columns(result.takeout),
    }


class ImportWork:
    """The import's analysis for the runner: PENDING rows in chunks to the shared process pool.

    Chunks grow or shrink with the measured time per file, so pause and cancel stay
    prompt; results are committed every COMMIT_INTERVAL or COMMIT_ROWS."""

    batch_rows = COMMIT_ROWS
    batch_seconds = COMMIT_INTERVAL

    def __init__(self, job: Job, settings: Settings, first_id: int | None = None,
                 last_id: int | None = None) -> None:
        self.job, self.settings = job, settings
        self.first_id, self.last_id_bound = first_id, last_id  # a chunk's range of file ids (None: all)
        self.pool = shared_pool(settings.workers)
        self.max_in_flight = settings.workers * 2
        # The pool's places are shared by every chunk this worker runs at once, so two chunks
        # in one worker keep the pool as busy as one and no more work is in flight than before.
        self.slots = _pool_slots(self.max_in_flight)
        self.per_file: float | None = _last_per_file  # moving average of seconds per file
        # Files per pool task: grows or shrinks with the measured time per file.
        self.chunk_files = _files_per_task(self.per_file) if self.per_file else 4
        self.in_flight: dict[Future, tuple[list[tuple[int, str, dict]], float]] = {}
        self.results: list[tuple[int, Any]] = []
        self.last_id = 0
        self.no_more = False
        self.kwargs: dict = {"timezone": settings.timezone, "thumb_dir": str(settings.thumbnail_dir),
                             "root": job.source_path, "boundary": job_boundary(job), "exiftool": settings.exiftool}
        # (id, path, size known from the listing, per-file arguments: the identity the walk saw)
        self.queue: list[tuple[int, str, int, dict]] = []
        self.paths: dict[int, str] = {}  # id -> path of files handed out, for "current file"
        self.rels: dict[int, str] = {}  # id -> path under the import root, for automatic tags

    def _refill(self) -> None:
        rows = db.session.execute(
            select(MediaFile.id, MediaFile.source_path, MediaFile.size, MediaFile.mtime, MediaFile.rel_path,
                   MediaFile.dev, MediaFile.inode)
            .where(MediaFile.job_id == self.job.id, MediaFile.status == FileStatus.PENDING,
                   MediaFile.id > max(self.last_id, (self.first_id or 0) - 1),
                   *([MediaFile.id <= self.last_id_bound] if self.last_id_bound is not None else []))
            .order_by(MediaFile.id).limit(ENUM_BATCH)
        ).all()
        db.session.commit()  # never keep a read transaction open across the loop
        if not rows:
            self.no_more = True
            return
        self.last_id = rows[-1][0]
        for r in rows:
            self.paths[r[0]] = r[1]
            self.rels[r[0]] = r[4]
            # The analysis opens only the file the walk listed, not one swapped in since.
            extra = {"expect": (r[5], r[6])} if r[5] is not None and r[6] is not None else {}
            extra.update(takeout.analysis_extra(self.job, r[1]))
            self.queue.append((r[0], r[1], r[2] or 0, extra))

    def feed(self) -> None:
        while len(self.in_flight) < self.max_in_flight:
            if not self.queue and not self.no_more:
                self._refill()
            if not self.queue or not self.slots.take():
                break
            chunk = _take_chunk(self.queue, self.chunk_files)
            try:
                fut = self.pool.submit(FILE_WORK, chunk, self.kwargs, self.settings.file_timeout)
            except BaseException:
                self.slots.give()
                raise
            self.in_flight[fut] = (chunk, time.monotonic())

    def _pop(self, fut: Future) -> list[tuple[int, str, dict]]:
        chunk, _started = self.in_flight.pop(fut)
        self.slots.give()
        return chunk

    def collect(self) -> None:
        global _last_per_file
        settings = self.settings
        if not self.in_flight:
            time.sleep(0.05)  # the pool's places are all taken by this worker's other chunks
            return
        done, _ = wait(list(self.in_flight), timeout=COMMIT_INTERVAL, return_when=FIRST_COMPLETED)
        for fut in done:
            chunk = self._pop(fut)
            if fut.cancelled():
                continue  # never started (we are stopping): its files stay PENDING
            try:
                chunk_results, seconds = fut.result()
                self.results.extend(chunk_results)
                sample = seconds / max(len(chunk), 1)
                self.per_file = sample if self.per_file is None else 0.7 * self.per_file + 0.3 * sample
                _last_per_file = self.per_file
                self.chunk_files = _files_per_task(self.per_file)
            except BrokenProcessPool:
                # A pool process died (out of memory, or killed by a hostile file):
                # the files of this chunk are retried one by one in a fresh pool so
                # the culprit alone gets the error.
                self.pool.recycle()
                self.results.extend(_retry_singly(self.pool, chunk, self.kwargs, settings))
        # A chunk stuck in C code past the time limit: recycle the pool.
        limit = settings.file_timeout * CHUNK_FILES + 30
        stuck = [f for f, (_c, t0) in self.in_flight.items() if time.monotonic() - t0 > limit]
        if stuck:
            for f in list(self.in_flight):
                chunk = self._pop(f)
                if f in stuck:
                    self.results.extend((i, TimedOut("analysis hung and was stopped")) for i, _p, _x in chunk)
                else:
                    self.queue[:0] = [(i, p, 0, x) for i, p, x in chunk]  # innocent: run again
            self.pool.recycle()

    def busy(self) -> bool:
        return bool(self.in_flight)

    def exhausted(self) -> bool:
        return self.no_more and not self.queue

    def ready(self) -> int:
        return len(self.results)

    def take_batch(self) -> Batch:
        batch, self.results = self.results, []
        values, failed = [], 0
        tagged: list[tuple[int, str, str | None]] = []
        for item_id, res in batch:
            v, f = _row_values(item_id, res)
            values.append(v)
            failed += f
            if item_id in self.rels:
                tagged.append((item_id, self.rels.pop(item_id), takeout.album_of(res)))

        def apply(s: Session) -> None:
            if values:
                # Core executemany: several times faster than the ORM's bulk update.
                s.connection().execute(_UPDATE_RESULT, values)
                # Automatic tags in the same transaction as the results: a file
                # is never DONE without its tags, nor tagged without a result.
                tags.record_auto_tags(s, tagged)

        current = None
        for item_id, _res in batch:
            current = self.paths.pop(item_id, current)
        return Batch(done=len(batch), errors=failed, current_item=current, apply=apply)

    def stop(self) -> None:
        for f in self.in_flight:
            f.cancel()  # chunks not started yet are dropped; running ones finish

    def close(self) -> None:
        # The pool is shared by the worker's jobs; only this run's places in it are given back
        # (tasks cancelled or abandoned on a stop or an error).
        for _ in range(len(self.in_flight)):
            self.slots.give()
        self.in_flight.clear()


class _Slots:
    """A worker's places in its shared pool, taken without waiting."""

    def __init__(self, n: int) -> None:
        self.free, self.lock = n, threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.free <= 0:
                return False
            self.free -= 1
            return True

    def give(self) -> None:
        with self.lock:
            self.free += 1


_slots: dict[int, _Slots] = {}
_slots_lock = threading.Lock()
_last_per_file: float | None = None  # the last measured time per file, a chunk's first guess


def _pool_slots(n: int) -> _Slots:
    with _slots_lock:
        return _slots.setdefault(n, _Slots(n))


def _files_per_task(per_file: float) -> int:
    return max(1, min(CHUNK_FILES, int(CHUNK_SECONDS / max(per_file, 1e-6))))


def _take_chunk(queue: list[tuple[int, str, int, dict]], max_files: int) -> list[tuple[int, str, dict]]:
    """Cut the next chunk: up to `max_files` files or CHUNK_BYTES of data.

    Many small, quick files go out together (one round trip to the pool for
    many files), large or slow ones alone (so the work spreads over all
    processes and a pause never waits long for a chunk to finish).
    """
    n, total = 0, 0
    while n < len(queue) and n < max_files and (n == 0 or total + queue[n][2] <= CHUNK_BYTES):
        total += queue[n][2]
        n += 1
    chunk = [(i, p, x) for i, p, _s, x in queue[:n]]
    del queue[:n]
    return chunk


def _retry_singly(pool, chunk, kwargs, settings) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    for item in chunk:
        try:
            out.extend(pool.submit(FILE_WORK, [item], kwargs, settings.file_timeout).result()[0])
        except BrokenProcessPool:
            pool.recycle()
            out.append((item[0], TimedOut("the analysis process crashed on this file")))
    return out


class ImportSteps:
    """The import job for the runner (runtime/runner.py): list the folder, analyse, then group duplicates."""

    def __init__(self, job_id: int, settings: Settings) -> None:
        self.job = db.session.get(Job, job_id, populate_existing=True)
        db.session.commit()
        self.settings = settings

    def begin(self, control: Control) -> str | None:
        if not self.job.enumerated:
            return _enumerate(control, self.job, self.settings)
        return None

    def work(self) -> ImportWork:
        return ImportWork(self.job, self.settings)

    def item_ids(self, session: Session) -> list[int]:
        """The files still to analyse, in id order: what the job's chunks are cut from."""
        return list(session.execute(select(MediaFile.id).where(
            MediaFile.job_id == self.job.id, MediaFile.status == FileStatus.PENDING).order_by(MediaFile.id)).scalars())

    def chunk_work(self, first_id: int, last_id: int) -> ImportWork:
        """One chunk's analysis: the PENDING files with ids first_id..last_id."""
        return ImportWork(self.job, self.settings, first_id, last_id)

    def end(self, control: Control) -> None:
        # Files that belong together (Live Photos, RAW+JPEG, bursts, edited copies), written under the lease.
        stacks.stack_job(self.job.id, lambda apply: control.checkpoint(
            Batch(current_item="finding Live Photos, RAW+JPEG pairs and bursts…", apply=apply)))
        # Still ours? Then compare the new files with the whole library.
        control.checkpoint(Batch(current_item="looking for duplicates…"))
        duplicates.regroup()
