"""The one atomic file write: a reader sees the old file or the new one, never half.

The new content goes to a temporary file in the destination's own folder (so
the final rename never crosses file systems), which is then `os.replace`d over
the destination. On any failure the temporary file is removed and the old file
is left as it was.

`fsync=True` also flushes the file to disk before the rename, for state whose
loss after a power cut matters (the sign-in generation); `fsync_folder=True`
then flushes the folder so the rename itself survives. Caches (thumbnails,
previews) skip both: they can be made again, and an fsync per thumbnail costs
more than the thumbnail.

This sits in the pure layer because thumbnails need it and media/ imports
nothing outside itself; every layer above may use it. The export's copies do
not come through here: they batch their syncs (one syncfs per batch, one
fsync per folder) and verify before the rename, which is its own pipeline.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

__all__ = ["atomic_write", "fsync_folder"]


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries (a rename into it) to disk, where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename is still atomic
    finally:
        os.close(fd)


@contextmanager
def atomic_write(path: str | os.PathLike[str], *, text: bool = False, encoding: str = "utf-8",
                 prefix: str = ".tmp-", suffix: str = ".part", fsync: bool = False,
                 fsync_folder: bool = False, file_mode: int | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file next to `path`; on a clean exit it replaces `path`.

    `text` opens it for text in `encoding`, else binary. `file_mode` sets the
    permissions of the new file (a temporary file starts as 0600). The
    destination's folder must exist.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=target.parent)
    try:
        with (os.fdopen(fd, "w", encoding=encoding) if text else os.fdopen(fd, "wb")) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        if file_mode is not None:
            os.chmod(tmp, file_mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync_folder:
        _sync_folder(target.parent)


_sync_folder = fsync_folder  # the keyword argument above hides the function's name
