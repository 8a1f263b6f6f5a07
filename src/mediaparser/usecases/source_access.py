"""Where an import may reach, and whether a file row's source may be read now.

The one owner of two rules:

- An import's *boundary*: the folders its walk may enter and its links may
  lead into. For an import started from the web UI or the API, the import
  roots and the upload folder; for one started from the operator's shell
  (the CLI), the folder being imported. It is stored on the job
  (`Job.options["boundary"]`) when the job is created, so a resumed job, the
  analysis and the file endpoints all judge by the same folders.
- `open_source`: a row's bytes are read (served, previewed) only while its
  path still resolves inside that boundary — and, for a web import, inside
  the import roots as configured now — to a regular file with the device,
  inode and size the import recorded. Anything else (gone, now a link out,
  swapped for another file) is a `SourceUnavailable` with an HTTP-style
  status and a sentence for the user, never the bytes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from mediaparser.config import Settings
from mediaparser.store.db import db
from mediaparser.media.fsguard import (FileReplaced, NotRegularFile, in_system_folder, is_inside, open_regular, resolve_boundary)
from mediaparser.media.livephoto import appended_video_length, looks_like_mp4
from mediaparser.store.models import FileStatus, Job, MediaFile

GONE = "the original file is no longer there"
OUTSIDE = "the original file now lies outside the folders it was imported from"
CHANGED = "the original file was replaced or changed since it was imported"


class SourceUnavailable(Exception):
    """A row's source may not be read; `status` is 404 (gone, outside) or 410 (replaced, changed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class OpenSource:
    """A verified, open source file. Close it (or use `with`) when done."""

    path: str  # the real path (no links left in it)
    file: BinaryIO  # opened read-only on exactly the verified file
    size: int
    mtime: float

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "OpenSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def boundary_options(settings: Settings, folder: str | os.PathLike, *, check_roots: bool) -> dict[str, Any]:
    """The job options that fix an import's boundary (see the module doc)."""
    if check_roots:
        folders = [*settings.import_roots, settings.upload_dir]
    else:
        folders = [folder]
    return {"boundary": resolve_boundary(folders), "within_import_roots": bool(check_roots)}


def job_boundary(job: Job) -> list[str]:
    """The folders `job`'s walk may reach; an import made before boundaries were
    recorded is held to its own folder."""
    opts = job.options or {}
    boundary = opts.get("boundary")
    if isinstance(boundary, list) and boundary and all(isinstance(b, str) for b in boundary):
        return boundary
    return resolve_boundary([job.source_path]) if job.source_path else []


def open_source(settings: Settings, row: MediaFile) -> OpenSource:
    """Open `row`'s source file if it may be read now, else raise `SourceUnavailable`.

    Holds for every status (a FAILED row's path is no safer than a DONE
    one's). Rows imported before identities were recorded (no device/inode)
    are checked by boundary, type and size only; a FAILED one of those is
    never read.
    """
    job = db.session.get(Job, row.job_id)
    boundary = job_boundary(job) if job is not None else []
    within_roots = bool(job is not None and (job.options or {}).get("within_import_roots"))
    db.session.commit()  # no read transaction held while the file is sent
    identity = (row.dev, row.inode) if row.dev is not None and row.inode is not None else None
    if identity is None and row.status != FileStatus.DONE:
        raise SourceUnavailable(404, GONE)
    real = os.path.realpath(row.source_path)
    if not boundary or not is_inside(real, boundary) or in_system_folder(real) \
            or (within_roots and settings.path_in_import_roots(real) is None):
        raise SourceUnavailable(404, OUTSIDE)
    try:
        # The real path, not following a link swapped in since realpath: open_regular
        # re-checks the opened descriptor against the identity.
        f = open_regular(real, expect=identity) if identity else open_regular(real)
    except FileNotFoundError:
        raise SourceUnavailable(404, GONE) from None
    except (FileReplaced, NotRegularFile):
        raise SourceUnavailable(410, CHANGED) from None
    except OSError:
        raise SourceUnavailable(404, GONE) from None
    st = os.fstat(f.fileno())
    # Same device and inode but a different size: rewritten in place, not the file we analysed.
    if row.size is not None and st.st_size != row.size:
        f.close()
        raise SourceUnavailable(410, CHANGED)
    return OpenSource(path=real, file=f, size=st.st_size, mtime=st.st_mtime)


NO_MOTION = "this photo holds no moving picture"


class _Window:
    """A read-only view of bytes [start, start + length) of an open file, as a file of its own
    (seekable, so Range requests are answered by seeking; no fileno, so a server never sends
    the whole file with sendfile)."""

    def __init__(self, f: BinaryIO, start: int, length: int) -> None:
        self._f, self._start, self._length, self._pos = f, start, length, 0

    def read(self, n: int = -1) -> bytes:
        left = self._length - self._pos
        n = left if n is None or n < 0 else min(n, left)
        if n <= 0:
            return b""
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        self._pos += len(data)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._length}[whence]
        self._pos = max(0, min(self._length, base + pos))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()


def open_motion_clip(settings: Settings, row: MediaFile) -> tuple[OpenSource, BinaryIO, int]:
    """A Motion Photo's appended video, read from its source under `open_source`'s rules:
    (the open source, a file-like window on the MP4's bytes, the MP4's length). The source
    is only read; the photo stays one whole file."""
    if row.motion_offset is None:
        raise SourceUnavailable(404, NO_MOTION)
    src = open_source(settings, row)
    try:
        src.file.seek(row.motion_offset)
        if not looks_like_mp4(src.file.read(8)):
            raise SourceUnavailable(410, CHANGED)
        length = appended_video_length(src.file, row.motion_offset, src.size)
    except BaseException:
        src.close()
        raise
    return src, _Window(src.file, row.motion_offset, length), length
