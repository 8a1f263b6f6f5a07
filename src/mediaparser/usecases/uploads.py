"""Uploads from the browser: chunked, resumable, never overwriting.

One upload (a batch the person dropped or chose) becomes one import job over
its own folder, so the import, its progress and its errors work exactly like
an import of a server folder. Its files that the library already has (the
same content, analysed by an earlier import or upload) are skipped with the
same reason a server folder's unchanged files are (importing._already_imported).

On disk::

    HOME/uploads/<upload id>/<relative path>     complete files: the import's folder
    HOME/uploads/.parts/<upload id>/<file id>    bytes received so far

The protocol (see web/uploads_api.py): create an upload, register its files
(relative path, size, last-modified time), send each file's bytes in chunks
at explicit offsets, then finish, which creates the import job (the web layer
submits it to the queue).

Retry safety. The key (upload id, cleaned relative path, size, last-modified)
names one file entry: registering it again returns the same entry and how
many bytes the server already holds, so a client that lost its connection —
or the person who drops the same folder again after a reload — only sends
what is missing. The bytes on disk are the truth for "received": nothing can
disagree with them after a crash. A chunk at an offset below what we hold (a
retry whose answer was lost) rewrites the same bytes; a chunk beyond the end
is refused with the current offset so the client resynchronises. A file is
moved into place when its last byte arrives, under a name no other entry of
the upload holds ("IMG_0001.JPG", "IMG_0001 (2).JPG", …), so same-named files
never overwrite each other. Its modification time is set to the one the
browser reported: it is a (weak) capture-time candidate.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import shutil
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, Mapping

from sqlalchemy import func, select, update

from mediaparser.config import Settings
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import Job, Upload, UploadFile, UploadStatus, utcnow

UPLOAD_ID_RE = re.compile(r"^[0-9a-f]{32}$")
COPY_BLOCK = 1024 * 1024
MAX_PATH_CHARS = 4096
MAX_DEPTH = 32
MAX_NAME_BYTES = 255


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 64 * 1024**3
    max_files: int = 20_000  # per upload
    max_upload_bytes: int = 2 * 1024**4
    max_chunk_bytes: int = 32 * 1024**2
    chunk_bytes: int = 8 * 1024**2  # what the page sends
    register_batch: int = 1000  # files per registration request
    free_space_margin: int = 512 * 1024**2

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Limits":
        """Defaults, overridden by app.config keys UPLOAD_MAX_FILE_BYTES, … (tests, operators)."""
        values = {}
        for f in cls.__dataclass_fields__:
            key = "UPLOAD_" + f.upper()
            if key in config:
                values[f] = int(config[key])
        return cls(**values)

    def to_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


class UploadError(Exception):
    """Refused; `status` is the HTTP status, the message is for the person."""

    def __init__(self, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


# -------------------------------------------------------------------- names --

def clean_relative_path(raw: Any) -> str:
    """The browser's relative path as a safe relative path, or UploadError.

    Unicode names are kept (normalised to NFC, so a name typed on a Mac and
    on Windows is the same name); separators are '/', and '\\' is treated as
    one. Absolute paths, drive letters, '.' and '..' segments, control
    characters and over-long names are refused: a name can never point
    outside the upload's own folder.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise UploadError("every file needs its name")
    if len(raw) > MAX_PATH_CHARS:
        raise UploadError("the file's path is too long")
    text = unicodedata.normalize("NFC", raw).replace("\\", "/")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise UploadError(f"{raw!r}: absolute paths are not accepted, only names inside the dropped folder")
    parts = [p for p in text.split("/") if p != ""]
    if not parts:
        raise UploadError("every file needs its name")
    if len(parts) > MAX_DEPTH:
        raise UploadError(f"{raw!r}: folders nested more than {MAX_DEPTH} deep are not accepted")
    for p in parts:
        if p in (".", ".."):
            raise UploadError(f"{raw!r}: '.' and '..' are not allowed in names")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in p):
            raise UploadError(f"{raw!r}: control characters are not allowed in names")
        if len(p.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
            raise UploadError(f"{raw!r}: a name is longer than {MAX_NAME_BYTES} bytes")
        try:
            p.encode("utf-8")
        except UnicodeEncodeError:
            raise UploadError(f"{raw!r}: the name is not valid Unicode") from None
    return "/".join(parts)


def _fit_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 form has at most `limit` bytes
    (never cutting a character in half)."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:max(limit, 0)].decode("utf-8", "ignore")


def _numbered(path: str, n: int) -> str:
    """`path` with " (n)" before its extension, its name kept within MAX_NAME_BYTES.

    A name that already uses the whole limit loses the end of its stem, never
    its extension (the type of the file), so the numbered name can always be
    created. An "extension" too long to leave room for any stem is not one:
    the whole name is then shortened.
    """
    folder, slash, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:  # no extension, or a dot-file such as ".hidden"
        stem, ext, dot = name, "", ""
    tail = f" ({n}){dot}{ext}"
    room = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    if room < 1:
        stem, tail = name, f" ({n})"
        room = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    return f"{folder}{slash}{_fit_bytes(stem, room)}{tail}"


def _folders_of(path: str) -> list[str]:
    """The folders a relative path needs: "a/b/c.jpg" -> ["a", "a/b"]."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


class _Names:
    """The names an upload has given out: the rule that keeps its folder buildable.

    On disk one name is either a file or a folder, so the stored paths of an
    upload must never use a file's name as a folder ("a.jpg" and
    "a.jpg/b.jpg"), nor the same name twice. Registration picks every stored
    path through this book, so moving a complete file into place never meets
    a clash it would have to resolve by guessing.
    """

    def __init__(self, stored: list[str]) -> None:
        self.files = set(stored)
        self.folders = {d for path in stored for d in _folders_of(path)}

    def clashing_file(self, path: str) -> str | None:
        """A folder of `path` that is already a file of this upload, if any."""
        return next((d for d in _folders_of(path) if d in self.files), None)

    def pick(self, path: str, *, also_folders: set[str] = frozenset()) -> str:
        """A free stored name for `path`: itself, else "name (2).ext", "name (3).ext", …

        `also_folders` are folders that other files of the same request will
        need: a file does not take such a name, the folder keeps it.
        """
        taken = len(self.files) + len(self.folders) + len(also_folders)
        # Distinct numbers give distinct names, so one of the first taken+2 is free.
        for n in range(1, taken + 3):
            stored = path if n == 1 else _numbered(path, n)
            if stored not in self.files and stored not in self.folders and stored not in also_folders:
                return stored
        raise AssertionError("unreachable: more numbered names than names taken")

    def take(self, stored: str) -> None:
        self.files.add(stored)
        self.folders.update(_folders_of(stored))


# ----------------------------------------------------------------- numbers --

# Sizes and times are stored in BIGINT columns, and a modification time must
# also be a date Python can represent (years 1..9999); the browser sends
# milliseconds since 1970.
MAX_BIGINT = 2**63 - 1
MAX_LAST_MODIFIED_MS = 253_402_300_799_000  # 9999-12-31 23:59:59 UTC


def _size_of(raw: Any, path: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise UploadError(f"{path}: size must be a whole number of bytes")
    if raw > MAX_BIGINT:
        raise UploadError(f"{path}: a size of {raw} bytes is not possible for a file")
    return raw


def _last_modified_of(raw: Any, path: str) -> int:
    """Milliseconds since 1970; 0 means unknown (also for values a browser may leave out or send negative)."""
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        return 0
    if raw > MAX_LAST_MODIFIED_MS:
        raise UploadError(f"{path}: the modification time {raw} is not a date (it lies after the year 9999)")
    return raw


# -------------------------------------------------------------------- paths --

def upload_folder(settings: Settings, upload_id: str) -> Path:
    return settings.upload_dir / upload_id


def _parts_folder(settings: Settings, upload_id: str) -> Path:
    return settings.upload_dir / ".parts" / upload_id


def _part_path(settings: Settings, upload_id: str, file_id: int) -> Path:
    return _parts_folder(settings, upload_id) / str(file_id)


def _check_id(upload_id: str) -> str:
    if not isinstance(upload_id, str) or not UPLOAD_ID_RE.match(upload_id):
        raise UploadError("no such upload", 404)
    return upload_id


# -------------------------------------------------------------- operations --

STALE_AFTER = timedelta(days=7)


def _newest_mtime(*folders: Path) -> float:
    newest = 0.0
    for folder in folders:
        for dirpath, _dirs, files in os.walk(folder):
            for name in files + [""]:
                try:
                    newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
                except OSError:
                    pass
    return newest


def purge_stale(settings: Settings, *, older_than: timedelta = STALE_AFTER) -> list[str]:
    """Discard uploads that were never finished and saw no activity for a week.

    Their files were never imported, so nothing else refers to them; without
    this an abandoned upload would keep its bytes on disk for ever.
    """
    cutoff = utcnow() - older_than
    stale = db.session.execute(select(Upload.id).where(Upload.status == UploadStatus.OPEN,
                                                       Upload.updated_at < cutoff)).scalars().all()
    db.session.commit()
    gone = []
    for upload_id in stale:
        # Chunks do not touch the row; the files' times say whether bytes still arrive.
        newest = _newest_mtime(upload_folder(settings, upload_id), _parts_folder(settings, upload_id))
        if newest and newest > (cutoff - datetime(1970, 1, 1)).total_seconds():
            continue
        try:
            discard(settings, upload_id)
            gone.append(upload_id)
        except UploadError:
            pass  # finished or discarded meanwhile
    return gone


def create_upload(settings: Settings) -> Upload:
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    purge_stale(settings)
    with write_transaction() as s:
        up = Upload(id=secrets.token_hex(16), status=UploadStatus.OPEN)
        s.add(up)
    upload_folder(settings, up.id).mkdir(parents=True, exist_ok=True)
    return up


def _get_open(s, upload_id: str, *, lock: bool = False) -> Upload:
    up = s.get(Upload, _check_id(upload_id), populate_existing=True, with_for_update=lock or None)
    if up is None:
        raise UploadError("no such upload", 404)
    if up.status == UploadStatus.DISCARDED:
        raise UploadError("this upload was discarded; start a new one", 410)
    if up.status != UploadStatus.OPEN:
        raise UploadError("this upload has already been handed to an import; start a new upload to add files",
                          409, job_id=up.job_id)
    return up


def _received(settings: Settings, f: UploadFile) -> int:
    if f.complete:
        return f.size
    try:
        return os.path.getsize(_part_path(settings, f.upload_id, f.id))
    except OSError:
        return 0


def _entry(settings: Settings, index: int, f: UploadFile) -> dict[str, Any]:
    return {"index": index, "id": f.id, "path": f.stored_path, "received": _received(settings, f),
            "complete": f.complete, "renamed": f.stored_path != f.client_path}


def register_files(settings: Settings, upload_id: str, entries: Any, limits: Limits) -> list[dict[str, Any]]:
    """Register files of an upload; per-file refusals come back as {"index", "error"}."""
    if not isinstance(entries, list) or not entries:
        raise UploadError("send {\"files\": [{\"path\": …, \"size\": …, \"last_modified\": …}, …]}")
    if len(entries) > limits.register_batch:
        raise UploadError(f"register at most {limits.register_batch} files per request")
    out: list[dict[str, Any]] = []
    created_zero: list[UploadFile] = []
    paths: list[str | UploadError] = []
    for e in entries:
        try:
            if not isinstance(e, Mapping):
                raise UploadError("each file must be an object with path and size")
            paths.append(clean_relative_path(e.get("path")))
        except UploadError as exc:
            paths.append(exc)
    # Folders the files of this request need: a file of the request does not take such a name.
    wanted_folders = {d for p in paths if isinstance(p, str) for d in _folders_of(p)}
    with write_transaction() as s:
        # Locked (on PostgreSQL) so that two requests of one upload give out names one after the other.
        up = _get_open(s, upload_id, lock=True)
        names = _Names(list(s.execute(select(UploadFile.stored_path)
                                      .where(UploadFile.upload_id == up.id)).scalars()))
        for index, (e, path) in enumerate(zip(entries, paths)):
            try:
                if isinstance(path, UploadError):
                    raise path
                size = _size_of(e.get("size"), path)
                lm = _last_modified_of(e.get("last_modified", 0), path)
                existing = s.execute(select(UploadFile).where(
                    UploadFile.upload_id == up.id, UploadFile.client_path == path, UploadFile.size == size,
                    UploadFile.last_modified == lm)).scalar_one_or_none()
                if existing is not None:
                    out.append(_entry(settings, index, existing))
                    continue
                if size > limits.max_file_bytes:
                    raise UploadError(f"{path} is {human_bytes(size)}; files up to "
                                      f"{human_bytes(limits.max_file_bytes)} are accepted", 413)
                if up.file_count + 1 > limits.max_files:
                    raise UploadError(f"one upload takes at most {limits.max_files:,} files; "
                                      "send the rest as a second upload", 413)
                if up.declared_bytes + size > limits.max_upload_bytes:
                    raise UploadError(f"one upload takes at most {human_bytes(limits.max_upload_bytes)}; "
                                      "send the rest as a second upload", 413)
                free = shutil.disk_usage(settings.upload_dir).free
                if size + limits.free_space_margin > free:
                    raise UploadError(f"not enough free space on the server for {path} "
                                      f"({human_bytes(size)} needed, {human_bytes(free)} free)", 507)
                clash = names.clashing_file(path)
                if clash is not None:
                    raise UploadError(f"{path}: {clash} is already a file of this upload, so it cannot also be "
                                      "a folder; rename the folder and send it again")
                stored = names.pick(path, also_folders=wanted_folders)
                names.take(stored)
                f = UploadFile(upload_id=up.id, client_path=path, stored_path=stored, size=size,
                               last_modified=lm, complete=False)
                s.add(f)
                s.flush()
                up.file_count += 1
                up.declared_bytes += size
                up.updated_at = utcnow()
                if size == 0:
                    created_zero.append(f)
                out.append(_entry(settings, index, f))
            except UploadError as exc:
                out.append({"index": index, "error": str(exc), "status": exc.status})
    for f in created_zero:  # nothing to send: in place at once
        _complete(settings, f)
        for item in out:
            if item.get("id") == f.id:
                item.update(complete=True, received=0)
    return out


def write_chunk(settings: Settings, upload_id: str, file_id: int, offset: int, stream: IO[bytes],
                length: int | None, limits: Limits) -> dict[str, Any]:
    """Write one chunk of a file at `offset`; returns {"received", "complete"}."""
    _check_id(upload_id)
    if not 0 < file_id <= MAX_BIGINT:  # the URL's number must fit the id column before it is looked up
        raise UploadError("no such file in this upload", 404)
    up = _get_open(db.session, upload_id)
    f = db.session.get(UploadFile, file_id, populate_existing=True)
    db.session.commit()
    if f is None or f.upload_id != up.id:
        raise UploadError("no such file in this upload", 404)
    if f.complete:
        return {"received": f.size, "complete": True}
    if length is None:
        raise UploadError("send the chunk with a Content-Length", 411)
    if length > limits.max_chunk_bytes:
        raise UploadError(f"chunks are at most {human_bytes(limits.max_chunk_bytes)}", 413)
    if offset < 0 or offset + length > f.size:
        raise UploadError(f"this chunk goes past the end of the file ({f.size} bytes)", 416,
                          received=_received(settings, f))
    part = _part_path(settings, upload_id, f.id)
    part.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as fh:
        # One writer per file at a time, across threads and processes; the
        # file is completed while the lock is held, so a retry that waited
        # for it sees the completion instead of an empty part file.
        fcntl.flock(fh, fcntl.LOCK_EX)
        done = db.session.execute(select(UploadFile.complete).where(UploadFile.id == f.id)).scalar_one()
        db.session.commit()
        if done:
            return {"received": f.size, "complete": True}
        current = os.fstat(fh.fileno()).st_size
        if offset > current:
            raise UploadError("a piece of this file is missing; continue from the offset given", 409,
                              received=current)
        fh.seek(offset)
        written = 0
        while written < length:
            block = stream.read(min(COPY_BLOCK, length - written))
            if not block:
                break
            fh.write(block)
            written += len(block)
        fh.flush()
        received = max(current, offset + written)
        if written < length:
            raise UploadError("the chunk arrived incomplete; send the rest again", 400, received=received)
        if received >= f.size:
            os.fsync(fh.fileno())
            _complete(settings, f)
            return {"received": f.size, "complete": True}
    return {"received": received, "complete": False}


def _complete(settings: Settings, f: UploadFile) -> None:
    """Move a fully received file into the upload folder without overwriting anything.

    Registration gave the file a name no other entry of the upload holds,
    as a file or as a folder (_Names), so the name is normally free. It is
    taken already only when an earlier attempt was cut off between placing
    the file and recording it (then it is this very file), or when something
    else wrote into the folder: then the next free number is used, a bounded
    number of times, and anything else is refused with the reason.
    """
    folder = upload_folder(settings, f.upload_id)
    part = _part_path(settings, f.upload_id, f.id)
    if f.size == 0 and not part.exists():
        part.parent.mkdir(parents=True, exist_ok=True)
        part.touch()
    same_folder = f"{f.client_path}: a file and a folder of this upload have the same name"
    try:
        (folder / f.stored_path).parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UploadError(same_folder, 409) from None
    stored = f.stored_path
    for n in range(1, _PLACE_ATTEMPTS + 1):
        stored = f.stored_path if n == 1 else _numbered(f.stored_path, n)
        if n > 1 and db.session.execute(select(UploadFile.id).where(
                UploadFile.upload_id == f.upload_id, UploadFile.stored_path == stored)).first() is not None:
            db.session.commit()
            continue  # another entry's name
        db.session.commit()
        target = folder / stored
        try:
            os.link(part, target)  # fails when the name exists: never overwrite
            break
        except FileExistsError:
            if _same_file(part, target):
                break  # placed by an attempt that was cut off before it was recorded
        except (NotADirectoryError, IsADirectoryError):
            raise UploadError(same_folder, 409) from None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                raise UploadError(f"{f.client_path}: the name is too long for the server's file system") from None
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP):  # else: no hard links here
                raise
            if not os.path.lexists(target):
                os.rename(part, target)
                break
    else:
        raise UploadError(f"{f.client_path}: no free name for this file in the upload's folder", 409)
    if part.exists():
        part.unlink()
    if f.last_modified:
        try:
            os.utime(target, (f.last_modified / 1000, f.last_modified / 1000))
        except (OSError, OverflowError, ValueError):
            pass  # only a weak capture-time candidate is lost
    with write_transaction() as s:
        s.execute(update(UploadFile).where(UploadFile.id == f.id)
                  .values(complete=True, completed_at=utcnow(), stored_path=stored))
    f.complete, f.stored_path = True, stored


_PLACE_ATTEMPTS = 100


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samestat(os.stat(a), os.lstat(b))
    except OSError:
        return False


def upload_summary(settings: Settings, upload_id: str, *, incomplete_limit: int = 50) -> dict[str, Any]:
    up = db.session.get(Upload, _check_id(upload_id), populate_existing=True)
    if up is None:
        db.session.commit()
        raise UploadError("no such upload", 404)
    complete, complete_bytes = db.session.execute(
        select(func.count(), func.coalesce(func.sum(UploadFile.size), 0))
        .where(UploadFile.upload_id == up.id, UploadFile.complete.is_(True))).one()
    waiting = db.session.execute(select(UploadFile).where(UploadFile.upload_id == up.id,
                                                          UploadFile.complete.is_(False))
                                 .order_by(UploadFile.id).limit(incomplete_limit)).scalars().all()
    db.session.commit()
    return {"id": up.id, "status": up.status, "job_id": up.job_id, "file_count": up.file_count,
            "complete_count": complete, "declared_bytes": up.declared_bytes, "complete_bytes": int(complete_bytes),
            "incomplete": [{"id": f.id, "path": f.stored_path, "size": f.size, "received": _received(settings, f)}
                           for f in waiting]}


@dataclass(frozen=True)
class Handover:
    """What `finish` did: the import job's id, and the job row when it was created
    now (the caller submits it to the queue); None on a retried "finish"."""

    job_id: int
    new_job: Job | None


def finish(settings: Settings, upload_id: str, *, skip_incomplete: bool = False) -> Handover:
    """Create the import of the upload's folder (the caller submits `new_job`). Idempotent."""
    from mediaparser.usecases import jobs as job_service

    _check_id(upload_id)
    stale = utcnow() - timedelta(seconds=60)
    with write_transaction() as s:
        claimed = s.execute(update(Upload).where(
            Upload.id == upload_id,
            (Upload.status == UploadStatus.OPEN) | ((Upload.status == UploadStatus.STARTING) & (Upload.updated_at < stale)))
            .values(status=UploadStatus.STARTING, updated_at=utcnow())).rowcount
        up = s.get(Upload, upload_id, populate_existing=True)
    if up is None:
        raise UploadError("no such upload", 404)
    if not claimed:
        if up.status == UploadStatus.IMPORTED and up.job_id is not None:
            return Handover(up.job_id, None)  # a retried "finish": the same job
        if up.status == UploadStatus.DISCARDED:
            raise UploadError("this upload was discarded", 410)
        raise UploadError("this upload is being handed to an import right now", 409)
    try:
        incomplete = db.session.execute(select(UploadFile).where(
            UploadFile.upload_id == upload_id, UploadFile.complete.is_(False)).order_by(UploadFile.id)).scalars().all()
        complete = db.session.execute(select(func.count()).where(
            UploadFile.upload_id == upload_id, UploadFile.complete.is_(True))).scalar_one()
        db.session.commit()
        if incomplete and not skip_incomplete:
            names = ", ".join(f.stored_path for f in incomplete[:5])
            more = f" and {len(incomplete) - 5} more" if len(incomplete) > 5 else ""
            raise UploadError(f"{len(incomplete)} file(s) have not arrived completely yet: {names}{more}", 409,
                              incomplete=len(incomplete))
        if complete == 0:
            raise UploadError("no file has arrived completely, so there is nothing to import", 400)
        job = job_service.start_import(settings, str(upload_folder(settings, upload_id)), upload=upload_id)
    except BaseException:
        with write_transaction() as s:
            s.execute(update(Upload).where(Upload.id == upload_id).values(status=UploadStatus.OPEN, updated_at=utcnow()))
        raise
    with write_transaction() as s:
        s.execute(update(Upload).where(Upload.id == upload_id)
                  .values(status=UploadStatus.IMPORTED, job_id=job.id, updated_at=utcnow()))
    shutil.rmtree(_parts_folder(settings, upload_id), ignore_errors=True)
    return Handover(job.id, job)


def discard(settings: Settings, upload_id: str) -> None:
    """Throw away an upload that has not been imported (its files are deleted)."""
    with write_transaction() as s:
        up = _get_open(s, upload_id)
        up.status = UploadStatus.DISCARDED
        up.updated_at = utcnow()
    shutil.rmtree(_parts_folder(settings, upload_id), ignore_errors=True)
    shutil.rmtree(upload_folder(settings, upload_id), ignore_errors=True)
