"""Google Takeout archives as they are downloaded: parts, members, JSON facts.

A Google Photos export arrives as `takeout-20240305T181818Z-001.zip` …
`-0NN.zip` (or `.tgz`) parts of up to 50 GB. The parts together hold one
tree (`Takeout/Google Photos/<album>/…`); a photo and its JSON may sit in
different parts, so matching happens after the parts are laid out side by
side (usecases/takeout.py keeps one working copy of the tree), by the one
name matcher in `sidecars.match_takeout_json`.

This module owns, without any database or web:

- `parse_part_name`: which file is a Takeout part, of which export, which number;
- `open_part`: the members of a part, streamed one by one (never the whole
  archive in memory; a `.tgz` is read front to back once), with names made
  safe (no absolute paths, no `..`, no links or devices); `unpack_member`
  writes one into a folder, never overwriting and never leaving half a file;
- `classify_json` / `parse_photo_json`: a photo's JSON (capture time, place,
  Trash/Archive/locked flags, people) versus an album's `metadata.json`;
- `folder_flags`: the Trash/Archive/locked state a folder name says;
- `orphan_jsons`: JSON files of one folder with no photo beside them;
- `takeout_facts`: what the analysis reports for one media file.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from mediaparser.media.fsguard import open_regular
from mediaparser.media.kinds import UNPACKING_SUFFIX, kind_of
from mediaparser.media.sidecars import json_index, match_takeout_json

# takeout-20240305T181818Z-001.zip, takeout-20240305T181818Z-3-001.tgz, ….tar.gz
_PART = re.compile(r"^takeout-(?P<export>\d{8}T\d{6}Z)(?:-\d+)?-(?P<n>\d{3,})\.(?P<ext>zip|tgz|tar\.gz)$",
                   re.IGNORECASE)
COPY_BLOCK = 1024 * 1024  # bytes of a member in memory at a time
MAX_JSON_BYTES = 1 << 20  # a photo's JSON is a few hundred bytes; anything huge is not one

# Folder names Google gives the special places, in the languages seen in exports.
TRASH_FOLDERS = frozenset({"trash", "bin", "papierkorb", "corbeille", "papelera", "cestino", "prullenbak",
                           "lixeira", "kosz", "papirkurv", "papperskorg"})
ARCHIVE_FOLDERS = frozenset({"archive", "archiv", "archives", "archivo", "archivio", "archief", "arquivo",
                             "archiwum", "arkiv"})
LOCKED_FOLDERS = frozenset({"locked folder", "gesperrter ordner", "dossier verrouillé", "carpeta bloqueada",
                            "cartella bloccata", "vergrendelde map", "pasta trancada"})
FLAGS = ("trash", "archive", "locked")
# Album metadata files ("metadata.json" and its translations) describe a folder, not a photo.
_ALBUM_META = frozenset({"metadata.json", "metadaten.json", "métadonnées.json", "metadatos.json", "metadati.json",
                         "metagegevens.json", "metadados.json", "metadane.json"})


@dataclass(frozen=True)
class PartName:
    export: str  # the export's time stamp, shared by all its parts: "20240305T181818Z"
    number: int  # 1, 2, …
    archive: str  # "zip" or "tgz"

    @property
    def label(self) -> str:
        return f"{self.number:03d}"


def parse_part_name(name: str) -> PartName | None:
    """The part a file name says it is, or None for any other file."""
    m = _PART.match(os.path.basename(name))
    if not m:
        return None
    return PartName(m["export"], int(m["n"]), "zip" if m["ext"].lower() == "zip" else "tgz")


def missing_numbers(numbers: Iterable[int]) -> list[int]:
    """Part numbers below the highest one seen that are not there."""
    have = set(numbers)
    return [n for n in range(1, max(have, default=0) + 1) if n not in have]


def describe_missing(numbers: Iterable[int], orphans: int) -> str | None:
    """'part 003 of 7 is missing: 41 JSON files have no photo yet' (None when nothing is)."""
    have = sorted(set(numbers))
    missing = missing_numbers(have)
    highest = have[-1] if have else 0
    photos = f"{orphans} JSON file{'s' if orphans != 1 else ''} {'have' if orphans != 1 else 'has'} no photo yet"
    if missing:
        labels = [f"{n:03d}" for n in missing]
        which = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
        verb = "is" if len(labels) == 1 else "are"
        return f"part{'s' if len(labels) > 1 else ''} {which} of {highest} {verb} missing: {photos}"
    if orphans:
        return f"all {highest} parts are here, but {photos}"
    return None


# ----------------------------------------------------------------- members --

class UnsafeMember(ValueError):
    """A member whose name or type may not be written (absolute, `..`, a link, a device)."""


def safe_member_path(name: str) -> str:
    """A member's name as a relative path inside the working copy, or UnsafeMember."""
    text = name.replace("\\", "/")
    if "\x00" in text or text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise UnsafeMember(f"{name!r}: an absolute path")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts:
        raise UnsafeMember(f"{name!r}: no name")
    if any(p == ".." for p in parts):
        raise UnsafeMember(f"{name!r}: '..' in the path")
    if any(any(ord(ch) < 32 for ch in p) for p in parts):
        raise UnsafeMember(f"{name!r}: control characters in the name")
    return "/".join(parts)


@dataclass
class Member:
    """One regular file of a part: `open()` streams its bytes (valid until the next member)."""

    name: str  # safe relative path (see safe_member_path)
    size: int
    mtime: float | None
    _open: Any = field(repr=False, default=None)

    def open(self) -> IO[bytes]:
        return self._open()


@dataclass(frozen=True)
class Refused:
    """A member that is not unpacked, and why (a link, a device, an unsafe name)."""

    name: str
    reason: str


@contextmanager
def open_part(path: str, expect: tuple[int, int] | None = None) -> Iterator[Iterator[Member | Refused]]:
    """Open a part (only the regular file the import listed) and stream its members.

    A zip's central directory is read once; each member is then decompressed
    as it is read. A `.tgz` is read front to back in one pass (`r|*`), so it
    is never seeked or held whole. Directories are skipped silently; links,
    devices and unsafe names come out as `Refused`.
    """
    part = parse_part_name(path)
    f = open_regular(path, expect=expect) if expect else open_regular(path)
    try:
        if part is not None and part.archive == "zip" or zipfile.is_zipfile(f):
            f.seek(0)
            with zipfile.ZipFile(f) as zf:
                yield _zip_members(zf)
        else:
            f.seek(0)
            with tarfile.open(fileobj=f, mode="r|*") as tf:
                yield _tar_members(tf)
    finally:
        f.close()


def _zip_members(zf: zipfile.ZipFile) -> Iterator[Member | Refused]:
    for info in zf.infolist():
        if info.is_dir():
            continue
        mode = info.external_attr >> 16
        if mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode) != 0:
            yield Refused(info.filename, "a link or special file inside the archive: not unpacked")
            continue
        try:
            name = safe_member_path(info.filename)
        except UnsafeMember as e:
            yield Refused(info.filename, f"unsafe name inside the archive: {e}")
            continue
        try:
            mtime = time.mktime(info.date_time + (0, 0, -1))
        except (OverflowError, ValueError):
            mtime = None
        yield Member(name, info.file_size, mtime, lambda info=info: zf.open(info))


def _tar_members(tf: tarfile.TarFile) -> Iterator[Member | Refused]:
    for info in tf:
        if info.isdir():
            continue
        if not info.isfile():
            yield Refused(info.name, "a link or special file inside the archive: not unpacked")
            continue
        try:
            name = safe_member_path(info.name)
        except UnsafeMember as e:
            yield Refused(info.name, f"unsafe name inside the archive: {e}")
            continue
        yield Member(name, info.size, float(info.mtime) if info.mtime else None,
                     lambda info=info: tf.extractfile(info))


class NoSpace(OSError):
    """The folder a part is unpacked into has no room for the next member."""


def unpack_member(dest: Path, m: Member, *, margin: int = 0) -> str | None:
    """Write one member below `dest` (a sentence when it cannot be, else None).

    The member is written under a temporary name (UNPACKING_SUFFIX, which the
    walk skips) and renamed when complete, so a cut-off unpack never leaves a
    half photo under a photo's name. A member already in place with its size
    (an unpack resumed, the same file in two parts) is not written again; a
    different file of the same name is never overwritten. Raises `NoSpace`
    when fewer than its size plus `margin` bytes are free.
    """
    target = dest / m.name
    try:
        if target.is_file() and target.stat().st_size == m.size:
            return None
        if target.exists():
            return "a different file of the same name came in another part; the first one is kept"
        target.parent.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(dest).free
        if m.size + margin > free:
            raise NoSpace(errno.ENOSPC, f"not enough free space to unpack {m.name} "
                                        f"({m.size:,} bytes needed, {free:,} free)")
        tmp = target.with_name(target.name + UNPACKING_SUFFIX)
        with m.open() as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, COPY_BLOCK)
        if m.mtime:
            os.utime(tmp, (m.mtime, m.mtime))
        os.replace(tmp, target)
    except NoSpace:
        raise
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise NoSpace(errno.ENOSPC, f"the disk filled up while unpacking {m.name}") from None
        return f"could not be unpacked: {exc.strerror or exc}"
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error) as exc:
        return f"the archive is damaged here: {exc}"
    return None


def unpack_parts(parts: Iterable[str], dest: Path) -> dict[str, int]:
    """Unpack whole parts below `dest` (for `mediaparser analyze`): counts of files and refusals."""
    counts = {"files": 0, "refused": 0}
    for path in parts:
        with open_part(path) as members:
            for m in members:
                problem = m.reason if isinstance(m, Refused) else unpack_member(dest, m)
                counts["refused" if problem else "files"] += 1
    return counts


# -------------------------------------------------------------------- JSON --

@dataclass(frozen=True)
class PhotoJson:
    """The facts of one photo's JSON."""

    title: str | None = None
    taken: int | None = None  # photoTakenTime, Unix seconds (UTC)
    created: int | None = None  # creationTime (the upload), Unix seconds
    geo: tuple[float, float, float | None] | None = None  # latitude, longitude, altitude
    flags: tuple[str, ...] = ()  # of FLAGS
    favorited: bool = False
    description: str | None = None
    people: tuple[str, ...] = ()


def classify_json(name: str, data: Any) -> str:
    """'photo' (a media file's JSON), 'album' (a folder's metadata.json) or 'other'."""
    if not isinstance(data, dict):
        return "other"
    if "photoTakenTime" in data or "creationTime" in data and "title" in data and "url" in data:
        return "photo"
    if os.path.basename(name).lower() in _ALBUM_META or ("title" in data and ("date" in data or "access" in data)):
        return "album"
    return "other"


def read_json(path: str) -> Any:
    """A JSON file's content (None when it cannot be read or parsed)."""
    try:
        with open_regular(path) as f:
            raw = f.read(MAX_JSON_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_JSON_BYTES:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _seconds(node: Any) -> int | None:
    if isinstance(node, dict):
        try:
            value = int(str(node.get("timestamp")))
        except ValueError:
            return None
        return value if value > 0 else None
    return None


def _geo(node: Any) -> tuple[float, float, float | None] | None:
    if not isinstance(node, dict):
        return None
    try:
        lat, lon = float(node.get("latitude")), float(node.get("longitude"))
    except (TypeError, ValueError):
        return None
    if (lat == 0 and lon == 0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None  # Google writes 0,0 for "no place"
    try:
        alt = float(node["altitude"]) if node.get("altitude") is not None else None
    except (TypeError, ValueError):
        alt = None
    return (lat, lon, alt)


def parse_photo_json(data: Any) -> PhotoJson | None:
    """The facts of a photo's JSON (None for anything else)."""
    if not isinstance(data, dict):
        return None
    flags = []
    if data.get("trashed") is True:
        flags.append("trash")
    if data.get("archived") is True:
        flags.append("archive")
    if data.get("inLockedFolder") is True or data.get("locked") is True:
        flags.append("locked")
    people = tuple(str(p["name"]) for p in data.get("people") or () if isinstance(p, dict) and p.get("name"))
    title = data.get("title")
    description = data.get("description")
    return PhotoJson(title=title if isinstance(title, str) else None,
                     taken=_seconds(data.get("photoTakenTime")), created=_seconds(data.get("creationTime")),
                     geo=_geo(data.get("geoData")) or _geo(data.get("geoDataExif")),
                     flags=tuple(flags), favorited=data.get("favorited") is True,
                     description=description.strip() or None if isinstance(description, str) else None,
                     people=people)


def folder_flags(folders: list[str]) -> tuple[str, ...]:
    """The flag a file's folder says, `folders` being the folder names above the
    file from the nearest up: Takeout puts trashed photos in 'Google Photos/Trash'
    (archived ones in '…/Archive', locked ones in '…/Locked Folder'). A folder of
    that name anywhere else is only a name."""
    if len(folders) < 2 or not folders[1].strip().casefold().startswith("google"):
        return ()
    key = folders[0].strip().casefold()
    for flag, names in (("trash", TRASH_FOLDERS), ("archive", ARCHIVE_FOLDERS), ("locked", LOCKED_FOLDERS)):
        if key in names:
            return (flag,)
    return ()


def main_flag(flags: Iterable[str]) -> str | None:
    """The one flag the review filters by: locked, then trash, then archive."""
    have = set(flags)
    return next((f for f in ("locked", "trash", "archive") if f in have), None)


def album_title(folder: str) -> str | None:
    """The title in a folder's album metadata file, when it has one."""
    try:
        return _album_title(folder, os.stat(folder).st_mtime_ns)
    except OSError:
        return None


@lru_cache(maxsize=64)
def _album_title(folder: str, mtime_ns: int) -> str | None:
    # Cached per folder (and change of it): an album folder holds thousands of photos.
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    for name in sorted(names):
        if name.lower() in _ALBUM_META:
            data = read_json(os.path.join(folder, name))
            if classify_json(name, data) == "album":
                title = data.get("title")
                if isinstance(title, str) and title.strip():
                    return title.strip()
    return None


def orphan_jsons(names: Iterable[str], is_photo_json) -> list[str]:
    """JSON files among one folder's `names` that no media file of the folder uses.

    `is_photo_json(name)` says whether a JSON describes a photo (an album's
    metadata.json or another Google file is no orphan)."""
    names = list(names)
    index = json_index(names)
    used = {match_takeout_json(n, index) for n in names if kind_of(n) in ("image", "video")}
    return [n for n in names if n.lower().endswith(".json") and n not in used and is_photo_json(n)]


def takeout_facts(media_path: str, json_path: str | None) -> dict[str, Any] | None:
    """What one media file's Takeout data says, for the analysis (None when it has none).

    Keys: json (the JSON's name), taken (UTC ISO time), geo ({latitude,
    longitude, altitude}), flags, favorited, album (the album's title),
    description, people."""
    folder = os.path.dirname(os.path.abspath(media_path))
    flags = list(folder_flags(_folder_names(folder)))
    info = parse_photo_json(read_json(json_path)) if json_path else None
    album = album_title(folder)
    if info is None and not flags and album is None:
        return None
    facts: dict[str, Any] = {"json": os.path.basename(json_path) if json_path else None}
    if info is not None:
        flags += [f for f in info.flags if f not in flags]
        if info.taken is not None:
            facts["taken"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(info.taken))
        if info.geo is not None:
            lat, lon, alt = info.geo
            facts["geo"] = {"latitude": lat, "longitude": lon, "altitude": alt}
        if info.favorited:
            facts["favorited"] = True
        if info.description:
            facts["description"] = info.description
        if info.people:
            facts["people"] = list(info.people)
    facts["flags"] = [f for f in FLAGS if f in flags]
    if album:
        facts["album"] = album
    return facts


def _folder_names(folder: str, depth: int = 2) -> list[str]:
    """The last folder names of a path, nearest first."""
    names = []
    for _ in range(depth):
        folder, name = os.path.split(folder)
        if not name:
            break
        names.append(name)
    return names
