"""Walking an import's source folder: which entries are media, and why not.

Every entry the walk meets ends up in exactly one place: a media file to
analyse, a per-file error (broken link, symlink loop, unreadable folder, a
name that is not valid UTF-8, a pipe or device with a media name), or a
skipped entry with its reason (sidecars, system files, other documents, a
link leading outside the import's boundary or into /proc, /sys or /dev).
The walk never raises for one bad entry.

It opens nothing but regular files: special files are judged by `stat`
alone, and the content sniff for unusual extensions goes through
`fsguard.open_regular`. Each media entry carries the device and inode the
walk saw, which the analysis and the file endpoints hold the file to.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Iterator, Sequence

from mediaparser.media.fsguard import file_identity, in_system_folder, link_refusal, open_regular
from mediaparser.media.probe import UNKNOWN, sniff

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
    identity: tuple[int, int] | None = None  # (device, inode) as fsguard.file_identity gives it


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


def _looks_like_media(path: str, identity: tuple[int, int]) -> bool:
    try:
        with open_regular(path, expect=identity) as f:
            head = f.read(256)
    except OSError:
        return False
    return sniff(head) is not UNKNOWN


def walk_source(root: str, boundary: Sequence[str] | None = None) -> Iterator[Entry | Skipped]:
    """Yield every entry below `root`, depth first, in a stable (sorted) order.

    `boundary`: the real paths of the folders links may lead into
    (`source_access.job_boundary`); by default `root` itself. A link whose
    real target lies outside, or in /proc, /sys or /dev, is skipped with
    the reason and never followed or opened.
    """
    root = os.path.abspath(root)
    real_root = os.path.realpath(root)
    bounds = list(boundary) if boundary else [real_root]
    root_st = os.stat(root)
    # Folders on the current path and all folders seen: a symlink to an
    # ancestor is a loop; a second link to a folder already walked is a
    # duplicate route to the same files.
    seen: set[tuple[int, int]] = {(root_st.st_dev, root_st.st_ino)}
    # (path as walked, its real path): the real path of a plain entry is its
    # folder's real path plus its name, so only links need resolving.
    stack: list[tuple[str, str]] = [(root, real_root)]
    while stack:
        folder, real_folder = stack.pop()
        rel_folder = os.path.relpath(folder, root)
        prefix = "" if folder == root else rel_folder + os.sep
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield Entry(folder, display(rel_folder), f"folder cannot be read: {exc.strerror or exc}")
            continue
        subfolders: list[tuple[str, str]] = []
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
            if is_link:
                real = os.path.realpath(e.path)
                refusal = link_refusal(real, bounds)
                if refusal:
                    yield Skipped(rel, refusal)
                    continue
            else:
                real = os.path.join(real_folder, e.name)
                if stat.S_ISDIR(st.st_mode) and in_system_folder(real):
                    yield Skipped(rel, "a system folder (/proc, /sys or /dev): not walked")
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
                subfolders.append((e.path, real))
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
            identity = file_identity(st)
            if ext in MEDIA_EXTENSIONS:
                yield Entry(e.path, rel, size=st.st_size, mtime=st.st_mtime, identity=identity)
            elif ext in SIDECAR_EXTENSIONS:
                yield Skipped(rel, "sidecar metadata (read together with its photo)")
            elif st.st_size > 0 and _looks_like_media(e.path, identity):
                # a photo or video behind an unusual extension
                yield Entry(e.path, rel, size=st.st_size, mtime=st.st_mtime, identity=identity)
            else:
                yield Skipped(rel, "not a photo or video")
        # Depth first, in name order.
        stack.extend(reversed(subfolders))
