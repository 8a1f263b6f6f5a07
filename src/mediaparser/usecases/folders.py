"""The server-folder browser: what the web UI may show of the server's disks.

Only folders inside the configured import roots are listed. A request names
a root by its number and a path *relative* to it; the path is resolved (so
`..` and symlinks are judged by where they really lead) and refused when it
ends up outside that root. The UI never sends a free-text path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediaparser.config import Settings
from mediaparser.media.kinds import is_media
from mediaparser.media.takeout import parse_part_name

MAX_LISTED = 2000  # sub-folders shown for one folder
MAX_COUNTED = 10_000  # entries looked at to count media files in a folder


class FolderRefused(ValueError):
    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Place:
    root_index: int
    root: Path
    path: Path  # resolved, inside root

    @property
    def rel(self) -> str:
        r = os.path.relpath(self.path, self.root)
        return "" if r == "." else r


def roots(settings: Settings) -> list[dict[str, Any]]:
    return [{"root": i, "path": str(r), "name": r.name or str(r), "exists": r.is_dir()}
            for i, r in enumerate(settings.import_roots)]


def resolve(settings: Settings, root_index: int, rel: str = "") -> Place:
    if not 0 <= root_index < len(settings.import_roots):
        raise FolderRefused("no such import folder", 404)
    root = Path(os.path.realpath(settings.import_roots[root_index]))
    rel = (rel or "").strip()
    if rel.startswith("/") or "\x00" in rel:
        raise FolderRefused("give a folder inside the import folder, not a full path", 400)
    real = Path(os.path.realpath(root / rel))
    if real != root and root not in real.parents:
        raise FolderRefused("that folder is outside the folders you may import from")
    if not real.is_dir():
        raise FolderRefused("that folder does not exist (any more)", 404)
    return Place(root_index, root, real)


def listing(settings: Settings, root_index: int, rel: str = "") -> dict[str, Any]:
    place = resolve(settings, root_index, rel)
    home = Path(os.path.realpath(settings.home))
    folders: list[dict[str, Any]] = []
    media = 0
    other = 0
    parts = 0
    truncated = False
    try:
        with os.scandir(place.path) as it:
            for n, entry in enumerate(it):
                if n >= MAX_COUNTED:
                    truncated = True
                    break
                name = entry.name
                try:
                    name.encode("utf-8")
                except UnicodeEncodeError:
                    continue  # cannot be shown or sent back faithfully; the import still sees it
                try:
                    if entry.is_dir(follow_symlinks=True):
                        if name.startswith(".") or len(folders) >= MAX_LISTED:
                            continue
                        # A link that leads outside the root is not offered.
                        target = Path(os.path.realpath(entry.path))
                        if target != place.root and place.root not in target.parents:
                            continue
                        if target == home:  # MediaParser's own instance folder is not a photo folder
                            continue
                        folders.append({"name": name, "path": os.path.relpath(target, place.root)})
                    elif is_media(name):  # the import's table, by name only: nothing is opened
                        media += 1
                    elif parse_part_name(name) is not None:  # imported as it is (usecases/takeout.py)
                        parts += 1
                    else:
                        other += 1
                except OSError:
                    continue
    except PermissionError:
        raise FolderRefused("the server may not read that folder", 403) from None
    folders.sort(key=lambda f: f["name"].lower())
    parent = None
    if place.path != place.root:
        parent = os.path.relpath(place.path.parent, place.root)
        parent = "" if parent == "." else parent
    crumbs = [{"name": place.root.name or str(place.root), "path": ""}]
    acc: list[str] = []
    for part in Path(place.rel).parts if place.rel else ():
        acc.append(part)
        crumbs.append({"name": part, "path": "/".join(acc)})
    return {"root": root_index, "path": place.rel, "absolute": str(place.path), "parent": parent,
            "breadcrumbs": crumbs, "folders": folders, "media_here": media, "other_here": other, "takeout_parts": parts,
            "truncated": truncated}
