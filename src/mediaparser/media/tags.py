"""Automatic tags: the rule that turns a file's place and name into tags.

Pure (no database, no Flask): a relative path in, tag names out. The importer
applies it to every file it records (usecases/importing.py); people add and
remove tags afterwards (usecases/tagging.py), and the export writes them into the
copies.

Two sources, both case-folded and trimmed so one tag has one spelling:

* folder names between the import (or upload) root and the file —
  `Holidays/Beach 2019/IMG_1.jpg` → "holidays", "beach 2019" — except names
  that say nothing about the content: camera and phone folders (DCIM, Camera,
  100APPLE, 101_PANA, 100CANON …), numbers only (2019, 08), one-letter names;
* `{tag1,tag2}` groups in the file name — `IMG_1 {beach, Family}.jpg` →
  "beach", "family". The braces never reach the archive: the export names
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
    "bdmv", "stream", "clip", "100media",
})
# DCF camera folders: three digits then five characters (100APPLE, 101_PANA, 100CANON, 100MSDCF).
_CAMERA_FOLDER = re.compile(r"^\d{3}[0-9a-z_]{5}$", re.IGNORECASE)
_NUMERIC = re.compile(r"^[\d\s._-]+$")
_BRACES = re.compile(r"\{([^{}]*)\}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class AutoTag:
    name: str
    origin: str  # "folder" or "filename"


def normalize(name: str) -> str:
    """The one spelling of a tag: whitespace collapsed, trimmed, case-folded ('' when nothing is left)."""
    return _SPACES.sub(" ", name or "").strip().casefold()[:MAX_TAG_LEN]


def is_generic_folder(name: str) -> bool:
    n = normalize(name)
    return (len(n) <= 1 or n in GENERIC_FOLDERS or bool(_CAMERA_FOLDER.match(n))
            or bool(_NUMERIC.match(n)))


def folder_tags(rel_path: str) -> list[str]:
    """Tags from the folders of a path relative to the import root (the file name excluded)."""
    out: list[str] = []
    for part in PurePosixPath(rel_path.replace("\\", "/")).parts[:-1]:
        if part in ("", ".", "..", "/") or is_generic_folder(part):
            continue
        tag = normalize(part)
        if tag and tag not in out:
            out.append(tag)
    return out


def filename_tags(name: str) -> list[str]:
    """Tags from `{a,b}` groups in a file name (only the last path component is read)."""
    out: list[str] = []
    for group in _BRACES.findall(PurePosixPath(name.replace("\\", "/")).name):
        for raw in group.split(","):
            tag = normalize(raw)
            if tag and tag not in out:
                out.append(tag)
    return out


def strip_tag_groups(name: str) -> str:
    """A file name without its `{…}` tag groups (`scan {oma}.png` → `scan.png`), for archive names."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    cleaned = _SPACES.sub(" ", _BRACES.sub("", stem)).strip(" _-")
    return f"{cleaned or 'unnamed'}{dot}{ext}"


def auto_tags(rel_path: str) -> list[AutoTag]:
    """Every automatic tag of a file, once each; a name tag wins over the same folder tag."""
    names = filename_tags(rel_path)
    tags = [AutoTag(t, "filename") for t in names]
    tags += [AutoTag(t, "folder") for t in folder_tags(rel_path) if t not in names]
    return tags
