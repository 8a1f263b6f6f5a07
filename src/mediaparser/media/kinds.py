"""The one table of file kinds: which names are media, sidecars or system clutter.

Every reader of a folder asks here — the walk of an import, the `analyze`
and `duplicates` commands (both through `media.walk`) and the server-folder
browser's count of photos — so a folder means the same thing everywhere.

A name's kind is decided by the name alone (nothing is opened):

- ``system``: clutter that operating systems and photo tools leave behind
  (Finder's ``.DS_Store`` and its ``._*`` AppleDouble twins, Windows'
  ``Thumbs.db``, Picasa's ini files, …). Checked first, so ``._IMG_1.jpg``
  is clutter even though it ends in ``.jpg``.
- ``image`` / ``video``: the extensions we import without looking inside.
- ``sidecar``: metadata files that belong to a media file next to them and
  are read together with it (`media.sidecars` reads the XMP and Takeout
  JSON ones), never imported on their own.
- ``other``: anything else; a walker may still look at the content, since a
  photo can hide behind an unusual extension.

Pure: no Flask, no database, nothing of the project outside `media/`.
"""
from __future__ import annotations

import os
from typing import Literal

Kind = Literal["image", "video", "sidecar", "system", "other"]

IMAGE_EXTENSIONS = frozenset(
    """jpg jpeg jpe jfif png gif webp heic heif hif avif jxl tif tiff bmp
    dng nef nrw cr2 cr3 crw arw srf sr2 raf orf rw2 pef srw x3f erf kdc mrw 3fr iiq""".split()
)
# Camera raw formats (a subset of IMAGE_EXTENSIONS): a RAW beside a JPEG of the same shot is a RAW+JPEG pair.
RAW_EXTENSIONS = frozenset(
    "dng nef nrw cr2 cr3 crw arw srf sr2 raf orf rw2 pef srw x3f erf kdc mrw 3fr iiq".split()
)
VIDEO_EXTENSIONS = frozenset("mp4 m4v mov qt avi mkv webm mts m2ts ts 3gp 3g2 mpg mpeg wmv flv".split())
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
# Lower case, without the dot. AAE (iOS edits) and THM (camera thumbnails of
# a video) are not read, but they describe a media file and are no media.
SIDECAR_EXTENSIONS = frozenset("xmp json aae thm".split())
# Lower-case full names; "icon\r" is the macOS folder-icon file (split on
# spaces only: "\r" is whitespace to str.split()).
SYSTEM_NAMES = frozenset(".ds_store thumbs.db desktop.ini .nomedia picasa.ini .picasa.ini icon\r".split(" "))
APPLEDOUBLE_PREFIX = "._"  # macOS resource forks copied to non-Apple disks
# A member of a Google Takeout part being written into the working copy
# (usecases/takeout.py); one left by a crash is not a photo yet.
UNPACKING_SUFFIX = ".mp-unpacking"


def extension(name: str) -> str:
    """The lower-case extension of `name` without the dot ("" for none, and for ".hidden")."""
    return os.path.splitext(name)[1].lower().lstrip(".")


def is_system(name: str) -> bool:
    return name.startswith(APPLEDOUBLE_PREFIX) or name.lower() in SYSTEM_NAMES or name.endswith(UNPACKING_SUFFIX)


def is_sidecar(name: str) -> bool:
    return not is_system(name) and extension(name) in SIDECAR_EXTENSIONS


def is_media(name: str) -> bool:
    """True when the name alone says photo or video (the content may still disagree)."""
    return not is_system(name) and extension(name) in MEDIA_EXTENSIONS


def kind_of(name: str) -> Kind:
    """The kind of a file named `name` (a base name, not a path)."""
    if is_system(name):
        return "system"
    ext = extension(name)
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in SIDECAR_EXTENSIONS:
        return "sidecar"
    return "other"
