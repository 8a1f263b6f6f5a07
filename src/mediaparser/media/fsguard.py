"""The file-system rules every reader of a source obeys.

Sources live in folders that other people and programs can change while we
work. Three rules keep a walk and a read inside what the user chose:

- A link is followed only when its real target stays inside the allowed
  folders (the *boundary*: the folder being imported, or the import roots).
  `link_refusal` says why one is not.
- Only regular files are opened, never a pipe, socket or device, and never a
  file of the kernel's pseudo file systems (/proc, /sys, /dev): opening a
  FIFO blocks, reading /proc/kmsg blocks and consumes the kernel log.
  `open_regular` checks with `stat` first (which opens nothing), opens
  without blocking, and checks the opened descriptor again.
- A file is identified by device and inode (`file_identity`), so a reader
  handed the identity the walk saw refuses a file swapped in afterwards.

Pure: no Flask, no database. `media.walk` (the one walker of an import,
`analyze` and `duplicates`), the analysis and the file endpoints use it.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from typing import BinaryIO

# Kernel pseudo file systems: nothing in them is a photo, and some of their
# "regular files" block or change state when read.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")

LINK_OUTSIDE = "a link that leads outside the folders being imported: not followed"
LINK_TO_SYSTEM = "a link into a system folder (/proc, /sys or /dev): not followed"
NOT_REGULAR = "not a regular file (a pipe, socket or device)"
REPLACED = "the file was replaced after it was listed; import the folder again"

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class NotRegularFile(OSError):
    """The path is not a regular file we may read; str() is the user's message."""

    def __str__(self) -> str:
        return self.args[0] if self.args else NOT_REGULAR


class FileReplaced(OSError):
    """The file at the path is no longer the one that was listed."""

    def __str__(self) -> str:
        return self.args[0] if self.args else REPLACED


def _signed(v: int) -> int:
    # Stored in signed 64-bit columns; the same mapping as models.to_signed64.
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= (1 << 63) else v


def file_identity(st: os.stat_result) -> tuple[int, int]:
    """(device, inode) of a stat result, as signed 64-bit values (what the database stores)."""
    return _signed(st.st_dev), _signed(st.st_ino)


def is_inside(real: str, boundary: Iterable[str]) -> bool:
    """True when the real (resolved) path `real` is one of the `boundary` folders or below one."""
    for root in boundary:
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return True
    return False


def in_system_folder(real: str) -> bool:
    return is_inside(real, SYSTEM_FOLDERS)


def resolve_boundary(folders: Iterable[str | os.PathLike]) -> list[str]:
    """The real paths of `folders`, the form `is_inside` compares against."""
    out: list[str] = []
    for f in folders:
        real = os.path.realpath(os.fspath(f))
        if real not in out:
            out.append(real)
    return out


def link_refusal(real_target: str, boundary: Iterable[str]) -> str | None:
    """Why a link whose target resolves to `real_target` must not be followed, or None."""
    if in_system_folder(real_target):
        return LINK_TO_SYSTEM
    if not is_inside(real_target, boundary):
        return LINK_OUTSIDE
    return None


def open_regular(path: str | os.PathLike, *, expect: tuple[int, int] | None = None) -> BinaryIO:
    """Open a regular file for reading, never blocking and never opening anything else.

    `expect` is the (device, inode) the walk saw (see `file_identity`): the
    file opened must be that one, otherwise `FileReplaced`. Without it, a
    file whose real path lies in /proc, /sys or /dev is refused. Raises
    `NotRegularFile`, `FileReplaced` or the OSError of the failed call.
    """
    path = os.fspath(path)
    st = os.stat(path)  # follows links but opens nothing
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile("this is a folder, not a file" if stat.S_ISDIR(st.st_mode) else NOT_REGULAR)
    if expect is not None:
        if file_identity(st) != tuple(expect):
            raise FileReplaced(REPLACED)
    elif in_system_folder(os.path.realpath(path)):
        raise NotRegularFile("a system file (/proc, /sys or /dev): never read")
    fd = os.open(path, _OPEN_FLAGS)
    try:
        fst = os.fstat(fd)
        # Swapped between the stat and the open: whatever was opened is not what we checked.
        if not stat.S_ISREG(fst.st_mode) or file_identity(fst) != file_identity(st):
            raise FileReplaced(REPLACED)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # harmless for regular files; ordinary semantics for readers
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def fd_path(f: BinaryIO, fallback: str) -> str:
    """A path that reopens exactly the file `f` is open on, for readers that take a
    path (FFmpeg, the video box readers): /proc/self/fd/N on Linux, else `fallback`."""
    candidate = f"/proc/self/fd/{f.fileno()}"
    return candidate if os.path.exists(candidate) else fallback
