"""Automatic tags: the rule that turns a file's place and name into tags.

Pure (no database, no Flask): a relative path in, tag names out. The importer
applies it to every file it records (usecases/importing.py); people add and
remove tags afterwards (usecases/tagging.py), and the export writes them into the
copies.

A tag keeps the spelling it was first given ("Holiday 2019", a folder "Summer
Trip 2019"): `normalize` only collapses whitespace and trims. Two spellings
that differ only in case are one tag: `tag_key` (the case-folded spelling) is
what tags are matched, filtered and kept unique by.

Two sources:

* folder names between the import (or upload) root and the file —
  `Holidays/Beach 2019/IMG_1.jpg` → "Holidays", "Beach 2019" — except names
  that say nothing about the content (`is_generic_folder`):
  - camera, phone and sync-tool folders: DCIM, Camera, Camera Roll, Pictures,
    Photos, Images, img, Videos, Screenshots, Downloads, WhatsApp Images, …
    (GENERIC_FOLDERS) and DCF camera folders: three digits then five
    letters, digits or underscores (100APPLE, 101_PANA, 100CANON, 100MSDCF);
  - file-type names (jpg, jpeg, heic, raw, mp4, mov, …: FILE_TYPE_FOLDERS);
  - work folders: tmp, temp, test, testdata, export, import, upload, new, old,
    … (WORK_FOLDERS), and backup dumps: any name with the word "backup"
    ("Handy Backup", "iPhone Backup 2019", "backups");
  - numbers only (2019, 08, 2019-08) and one-letter names;
  - Google Takeout's own folders: "Takeout", "Google Photos", the year folders
    ("Photos from 2019", "Fotos von 2019"), Trash/Archive/Locked Folder (those
    are flags, media/takeout.py) — TAKEOUT_FOLDERS;
* a Google Takeout album's title (its metadata.json), when it differs from
  the folder name;
* `{tag1,tag2}` groups in the file name — `IMG_1 {beach, Family}.jpg` →
  "beach", "Family". The braces never reach the archive: the export names
  files by capture time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

MAX_TAG_LEN = 200  # the tags.name column

# Folder names cameras, phones and sync tools create: they carry no meaning.
GENERIC_FOLDERS = frozenset({
    "dcim", "camera", "camera roll", "pictures", "photos", "images", "videos", "movies", "img", "misc",
    "screenshots", "download", "downloads", "whatsapp images", "whatsapp video", "sent", "private",
    "media", "thumbnails", ".thumbnails", "new folder", "untitled folder", "mp_root", "avchd",
    "bdmv", "stream", "clip", "100media", "all photos", "camera uploads", "icloud photos", "photo library",
    "google photos", "takeout", "sdcard", "sd card", "internal storage", "storage", "emulated", "phone",
    "originals", "pics", "pictures and videos", "photos and videos",
})
FILE_TYPE_FOLDERS = frozenset({
    "jpg", "jpeg", "jpe", "png", "gif", "bmp", "tif", "tiff", "webp", "heic", "heif", "avif", "raw", "dng",
    "cr2", "cr3", "nef", "arw", "orf", "rw2", "raf", "mp4", "mov", "m4v", "avi", "mkv", "mts", "3gp",
    "wmv", "mpg", "mpeg", "webm", "video", "jpgs", "jpegs", "raws",
})
# Google Takeout's own places: an export's top folders, the Trash, Archive and
# Locked Folder (shown as flags, not tags), in the languages seen in exports.
TAKEOUT_FOLDERS = frozenset({
    "google fotos", "google photos backup", "trash", "bin", "papierkorb", "corbeille", "papelera", "cestino",
    "prullenbak", "archiv", "archivo", "archivio", "locked folder", "gesperrter ordner", "failed videos",
})
WORK_FOLDERS = frozenset({
    "tmp", "temp", "test", "tests", "testdata", "test data", "sample", "samples", "export", "exports",
    "exported", "import", "imports", "imported", "upload", "uploads", "new", "old", "unsorted", "sorted",
    "to sort", "inbox", "copy", "copies", "dump", "data", "files", "archive", "output", "input",
})
# DCF camera folders: three digits then five characters (100APPLE, 101_PANA, 100CANON, 100MSDCF).
# Google Takeout's year folders ("Photos from 2019", "Fotos von 2019", "Photos de 2019", …).
_TAKEOUT_YEAR = re.compile(r"^(photos|fotos|foto's|foto|zdjęcia) (from|von|de|del|dal|uit|z) \d{4}$")
_CAMERA_FOLDER = re.compile(r"^\d{3}[0-9a-z_]{5}$", re.IGNORECASE)
_NUMERIC = re.compile(r"^[\d\s._-]+$")
_BACKUP = re.compile(r"\bbackups?\b")
_BRACES = re.compile(r"\{([^{}]*)\}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AutoTag:
    name: str
    origin: str  # "folder" or "filename"


def normalize(name: str) -> str:
    """A tag as it is shown and stored: whitespace collapsed and trimmed, the case kept ('' when nothing is left)."""
    return _SPACES.sub(" ", name or "").strip()[:MAX_TAG_LEN]


def tag_key(name: str) -> str:
    """What a tag is matched by: its spelling case-folded, so "Holiday 2019" and "holiday 2019" are one tag."""
    return normalize(name).casefold()


def is_generic_folder(name: str) -> bool:
    n = tag_key(name)
    return (len(n) <= 1 or n in GENERIC_FOLDERS or n in FILE_TYPE_FOLDERS or n in WORK_FOLDERS
            or bool(_CAMERA_FOLDER.match(n)) or bool(_NUMERIC.match(n)) or bool(_BACKUP.search(n))
            or n in TAKEOUT_FOLDERS or bool(_TAKEOUT_YEAR.match(n)))


def _add_once(out: list[str], tag: str) -> None:
    if tag and tag_key(tag) not in {tag_key(t) for t in out}:
        out.append(tag)


def folder_tags(rel_path: str) -> list[str]:
    """Tags from the folders of a path relative to the import root (the file name excluded)."""
    out: list[str] = []
    for part in PurePosixPath(rel_path.replace("\\", "/")).parts[:-1]:
        if part in ("", ".", "..", "/") or is_generic_folder(part):
            continue
        _add_once(out, normalize(part))
    return out


def filename_tags(name: str) -> list[str]:
    """Tags from `{a,b}` groups in a file name (only the last path component is read)."""
    out: list[str] = []
    for group in _BRACES.findall(PurePosixPath(name.replace("\\", "/")).name):
        for raw in group.split(","):
            _add_once(out, normalize(raw))
    return out


def strip_tag_groups(name: str) -> str:
    """A file name without its `{…}` tag groups (`scan {oma}.png` → `scan.png`), for archive names."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    cleaned = _SPACES.sub(" ", _BRACES.sub("", stem)).strip(" _-")
    return f"{cleaned or 'unnamed'}{dot}{ext}"


def auto_tags(rel_path: str, album: str | None = None) -> list[AutoTag]:
    """Every automatic tag of a file, once each; a name tag wins over the same folder tag,
    a folder tag over the same album title.

    `album`: the title a Google Takeout album's metadata.json gives the file's
    folder (the folder name is often a shortened or cleaned form of it: "Paris_
    Rome 2019" for "Paris/Rome 2019")."""
    names = filename_tags(rel_path)
    tags = [AutoTag(t, "filename") for t in names]
    keys = {tag_key(t) for t in names}
    for t in folder_tags(rel_path):
        if tag_key(t) not in keys:
            tags.append(AutoTag(t, "folder"))
            keys.add(tag_key(t))
    title = normalize(album or "")
    if title and tag_key(title) not in keys and not is_generic_folder(title):
        tags.append(AutoTag(title, "album"))
    return tags
