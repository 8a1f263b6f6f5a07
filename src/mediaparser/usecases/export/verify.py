"""Every check that an archive copy is right — the one file to audit for "where is the export verified".

* `read_verified`: the source is read once and its bytes are used only when
  their size and SHA-256 are the analysed ones — what is copied is what was
  analysed (and, for files held in memory, never more than was meant).
* `copy_verified`: for files copied by the kernel instead (too large to hold,
  or formats that are not edited), the copy itself is hashed against the
  analysed SHA-256.
* `matches_on_disk`: the copy written from memory is read back and compared
  byte for byte with the buffer that was hashed — nothing changed, missing or
  added on the way to the disk.
* `same_content`: a name already taken in the archive holds this content
  (these bytes, or the same source with other tags written into it) — then
  the file is "already present", not copied twice.

The export's run (export/run.py) calls these; a failed check fails that file
with SOURCE_CHANGED or COPY_MISMATCH and removes its temporary copy.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

from sqlalchemy import select

from mediaparser.media.probe import sha256_file
from mediaparser.store.db import db
from mediaparser.store.models import ManifestEntry

SOURCE_CHANGED = "the source does not match the analysed file (was it changed after the import?)"
COPY_MISMATCH = "the copy read back from the output disk differs from the bytes written to it"
EARLY_WRITEBACK = True  # hint the kernel to write each verified copy out at once (posix_fadvise)


def copy_verified(src: str, tmp: Path, expected_sha: str) -> str | None:
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


def read_verified(src: str, expected_sha: str, expected_size: int) -> memoryview | None:
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


def matches_on_disk(tmp: Path, data: bytes | memoryview) -> bool:
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


def same_content(dest: Path, dest_rel: str, final_sha: str, source_sha: str, output: str,
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


