"""The one folder walker: which entries of a folder are media, and why not.

An import, `mediaparser analyze` and `mediaparser duplicates` all walk here,
so they see exactly the same files in a folder. Every entry the walk meets
ends up in exactly one place: a media file to analyse, a per-file error
(broken link, symlink loop, unreadable folder, a name that is not valid
UTF-8, a pipe or device with a media name), or a skipped entry with its
reason (sidecars, system files, other documents, a link leading outside the
boundary or into /proc, /sys or /dev). The walk never raises for one bad
entry. Which names are media, sidecars or clutter is `media.kinds`' table.

It opens nothing but regular files: special files are judged by `stat`
alone, and the content sniff for unusual extensions goes through
`fsguard.open_regular`. Each media entry carries the device and inode the
walk saw, which the analysis and the file endpoints hold the file to.

Pure: no Flask, no database, nothing of the project outside `media/`.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from mediaparser.media.fsguard import file_identity, in_system_folder, link_refusal, open_regular
from mediaparser.media.kinds import kind_of
from mediaparser.media.probe import UNKNOWN, sniff
from mediaparser.media.takeout import parse_part_name

# Skip reasons an import counts and shows; the first three are routine (a
# folder of photos is full of them), the others are worth telling a person.
SIDECAR = "sidecar metadata (read together with its photo)"
SYSTEM_FILE = "system file"
NOT_MEDIA = "not a photo or video"
NOT_REGULAR = "not a regular file"
SYSTEM_FOLDER = "a system folder (/proc, /sys or /dev): not walked"
# A Google Takeout part (media/takeout.py): an import unpacks it into its
# working copy and imports the photos inside (usecases/takeout.py).
TAKEOUT_PART = "Google Takeout part (the photos inside are imported)"
ROUTINE_SKIPS = frozenset({SIDECAR, SYSTEM_FILE, NOT_MEDIA})


@dataclass(frozen=True)
class Entry:
    path: str  # absolute path as the OS sees it (may hold surrogate escapes)
    rel_path: str  # path below the walked root, always valid UTF-8 for display
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
    """Yield every entry below `root`, depth first, in a stable (sorted) order:
    a folder's files in name order, then its sub-folders in name order.

    `boundary`: the real paths of the folders links may lead into (for an
    import, `source_access.job_boundary`); by default `root` itself. A link
    whose real target lies outside, or in /proc, /sys or /dev, is skipped
    with the reason and never followed or opened.
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
                    yield Skipped(rel, SYSTEM_FOLDER)
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
            kind = kind_of(e.name)
            if parse_part_name(e.name) is not None and stat.S_ISREG(st.st_mode):
                yield Skipped(rel, TAKEOUT_PART)
                continue
            if kind == "system":
                yield Skipped(rel, SYSTEM_FILE)
                continue
            media = kind in ("image", "video")
            if not stat.S_ISREG(st.st_mode):
                if media:
                    yield Entry(e.path, rel, "not a regular file (a pipe, socket or device)")
                else:
                    yield Skipped(rel, NOT_REGULAR)
                continue
            identity = file_identity(st)
            if media:
                yield Entry(e.path, rel, size=st.st_size, mtime=st.st_mtime, identity=identity)
            elif kind == "sidecar":
                yield Skipped(rel, SIDECAR)
            elif st.st_size > 0 and _looks_like_media(e.path, identity):
                # a photo or video behind an unusual extension
                yield Entry(e.path, rel, size=st.st_size, mtime=st.st_mtime, identity=identity)
            else:
                yield Skipped(rel, NOT_MEDIA)
        # Depth first, in name order.
        stack.extend(reversed(subfolders))


def iter_media_paths_with_roots(paths: Iterable[str | os.PathLike],
                                on_skip: Callable[[str, str], None] | None = None) -> Iterator[tuple[str, str]]:
    """(file path, the argument it was found under), in a stable order: what
    `analyze` and `duplicates` analyse of their command-line arguments.

    A folder argument is walked by `walk_source` with the folder itself as the
    boundary, so these commands see exactly the files an import of that
    folder would: the same media, sidecar and system decisions, links followed
    only while they stay inside. Entries the import would record as failed
    (broken links, loops, pipes, unreadable folders, names that are not
    UTF-8) and skips worth telling (links out of the folder, special files)
    go to `on_skip(path, reason)`; routine skips (sidecars, system files,
    other documents) pass silently. Paths keep the form the argument was
    given in. A file named directly is the caller's choice and is yielded as
    given, unless its name is a sidecar's or system clutter.
    """
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            top = os.path.abspath(p)
            for item in walk_source(p):
                if isinstance(item, Entry) and item.error is None:
                    yield os.path.join(p, os.path.relpath(item.path, top)), p
                elif on_skip is not None and (isinstance(item, Entry) or item.reason not in ROUTINE_SKIPS):
                    on_skip(os.path.join(p, item.rel_path), item.error if isinstance(item, Entry) else item.reason)
        elif kind_of(os.path.basename(p)) not in ("sidecar", "system"):
            yield p, os.path.dirname(os.path.abspath(p))


def iter_media_paths(paths: Iterable[str | os.PathLike]) -> Iterator[str]:
    """Files under `paths` that are analysed as media (sidecars skipped)."""
    for path, _root in iter_media_paths_with_roots(paths):
        yield path
