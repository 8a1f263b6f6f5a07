"""Walking an import's source folder: which entries are media, and why not.

Every entry the walk meets ends up in exactly one place: a media file to
analyse, a per-file error (broken link, symlink loop, unreadable folder, a
name that is not valid UTF-8, a pipe or device with a media name), or a
skipped entry with its reason (sidecars, system files, other documents).
The walk never raises for one bad entry.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Iterator

from ..media.probe import UNKNOWN, sniff

MEDIA_EXTENSIONS = frozenset(
    """jpg jpeg jpe jfif png gif webp heic heif hif avif tif tiff bmp
    dng nef nrw cr2 cr3 crw arw srf sr2 raf orf rw2 pef srw x3f erf kdc mrw 3fr iiq
    mp4 m4v mov qt avi mkv webm mts m2ts ts 3gp 3g2 mpg mpeg wmv flv""".split()
)
SIDECAR_EXTENSIONS = frozenset("xmp json aae thm".split())
SYSTEM_NAMES = frozenset(".ds_store thumbs.db desktop.ini .nomedia picasa.ini .picasa.ini".split())


@dataclass(frozen=True)
class Entry:
    path: str  # absolute path as the OS sees it (may hold surrogate escapes)
    rel_path: str  # path below the import root, always valid UTF-8 for display
    error: str | None = None  # set: the entry is recorded as a failed file
    size: int | None = None
    mtime: float | None = None


@dataclass(frozen=True)
class Skipped:
    rel_path: str
    reason: str


def display(path: str) -> str:
    """A printable, storable form of a path whose name may not be valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _valid_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _looks_like_media(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return sniff(head) is not UNKNOWN


def walk_source(root: str) -> Iterator[Entry | Skipped]:
    """Yield every entry below `root`, depth first, in a stable (sorted) order."""
    root = os.path.abspath(root)
    root_st = os.stat(root)
    # Folders on the current path and all folders seen: a symlink to an
    # ancestor is a loop; a second link to a folder already walked is a
    # duplicate route to the same files.
    seen: set[tuple[int, int]] = {(root_st.st_dev, root_st.st_ino)}
    stack: list[str] = [root]
    while stack:
        folder = stack.pop()
        rel_folder = os.path.relpath(folder, root)
        prefix = "" if folder == root else rel_folder + os.sep
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Entry(folder, display(rel_folder), f"folder cannot be read: {exc.strerror or exc}")
            continue
        subfolders: list[str] = []
        for e in entries:
            rel = display(prefix + e.name)
            lower = e.name.lower()
            ext = os.path.splitext(lower)[1].lstrip(".")
            try:
                is_link = e.is_symlink()
                st = e.stat()  # follows links; cached by scandir for plain entries
            except FileNotFoundError:
                if is_link:
                    yield Entry(e.path, rel, "broken symbolic link: its target does not exist")
                continue  # vanished between listing and stat: nothing to account for
            except OSError as exc:
                if getattr(exc, "errno", None) == 40:  # ELOOP: a link that points at itself
                    yield Entry(e.path, rel, "symbolic link loop")
                else:
                    yield Entry(e.path, rel, f"cannot be read: {exc.strerror or exc}")
                continue
            if not _valid_utf8(e.name):
                yield Entry(e.path, rel, "the name is not valid UTF-8; rename the file and import it again")
                continue
            if stat.S_ISDIR(st.st_mode):
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    if is_link:
                        yield Entry(e.path, rel, "symbolic link loop: it points to a folder that is already being imported")
                    continue
                seen.add(key)
                subfolders.append(e.path)
                continue
            if lower in SYSTEM_NAMES or e.name.startswith("._"):
                yield Skipped(rel, "system file")
                continue
            if not stat.S_ISREG(st.st_mode):
                if ext in MEDIA_EXTENSIONS:
                    yield Entry(e.path, rel, "not a regular file (a pipe, socket or device)")
                else:
                    yield Skipped(rel, "not a regular file")
                continue
            if ext in MEDIA_EXTENSIONS:
                yield Entry(e.path, rel, size=st.st_size, mtime=st.st_mtime)
            elif ext in SIDECAR_EXTENSIONS:
                yield Skipped(rel, "sidecar metadata (read together with its photo)")
            elif st.st_size > 0 and _looks_like_media(e.path):
                yield Entry(e.path, rel, size=st.st_size, mtime=st.st_mtime)  # a photo or video behind an unusual extension
            else:
                yield Skipped(rel, "not a photo or video")
        # Depth first, in name order.
        stack.extend(reversed(subfolders))
