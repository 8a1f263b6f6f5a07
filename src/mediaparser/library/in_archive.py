"""Which files are the archive's own: the one place that tells an archive copy from a source.

The archive and the sources must never be confused: a file an export wrote
is not an original. If it were taken for one, it could be exported again
over itself, recommended as the copy to keep in a duplicate group, or — worst
— deleted by the clean-up as "a source whose export is verified", which loses
the only copy (PRODUCT.md, "Promises").

A file is *in the archive* when

* its real path is where a verified export put a file: a `ManifestEntry`'s
  output folder + destination (whatever output folder that export used), or
  a file listed in the `manifest.jsonl` of a folder above it (an archive this
  database never wrote, e.g. one made by another instance or copied over); or
* its bytes are bytes only an export writes: its SHA-256 is an entry's
  `final_sha256` that differs from that entry's source `sha256` (the export
  wrote the corrected date and tags into the copy), so it is a copy of an
  archive file, wherever it lies now.

The import skips files of the first kind ("already in the archive") before
they become rows; rows of either kind that exist anyway (older imports,
copies of the archive found elsewhere) are never exported again, never a
deletion candidate and never recommended as the keeper over a source
(exporter, cleanup and duplicates ask `archive_rows`).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.store.models import ManifestEntry

MANIFEST_NAME = "manifest.jsonl"
ALREADY_IN_ARCHIVE = "already in the archive (an export wrote this file; it is not an original)"
ARCHIVE_COPY = "a copy of a file in the archive (it holds the date and tags an export wrote)"
_CHUNK = 500


def _parents(path: str) -> Iterable[str]:
    d = os.path.dirname(path)
    while True:
        yield d
        up = os.path.dirname(d)
        if up == d:
            return
        d = up


class ArchiveIndex:
    """Answers "is this real path an archive file?" for many paths, reading each manifest once.

    Made per use (an enumeration, a clean-up, a page of groups): it caches
    the database's output folders and the `manifest.jsonl` files it read.
    """

    def __init__(self) -> None:
        self._roots: list[str] | None = None
        self._manifests: dict[str, frozenset[str] | None] = {}

    def _output_roots(self) -> list[str]:
        if self._roots is None:
            roots = db.session.execute(select(ManifestEntry.output_root).distinct()).scalars().all()
            db.session.commit()
            self._roots = sorted({os.path.realpath(r) for r in roots if r}, key=len, reverse=True)
        return self._roots

    def _manifest_in(self, folder: str) -> frozenset[str] | None:
        """Destinations listed by `folder/manifest.jsonl` when it is one of our manifests, else None."""
        if folder in self._manifests:
            return self._manifests[folder]
        found: frozenset[str] | None = None
        path = os.path.join(folder, MANIFEST_NAME)
        try:
            with open(path, "rb") as fh:
                dests = set()
                ours = False
                for line in fh:
                    try:
                        d = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(d, dict) and isinstance(d.get("destination"), str) and "sha256" in d:
                        ours = True
                        dests.add(os.path.normpath(d["destination"]))
                found = frozenset(dests) if ours else None
        except (FileNotFoundError, NotADirectoryError):
            found = None
        except OSError:
            found = None  # unreadable: the database's own entries still apply
        self._manifests[folder] = found
        return found

    def reasons(self, real_paths: Sequence[str]) -> dict[str, str]:
        """real path → why it is an archive file, for those of `real_paths` that are."""
        out: dict[str, str] = {}
        by_root: dict[str, dict[str, str]] = {}
        for p in real_paths:
            for root in self._output_roots():
                if p.startswith(root.rstrip(os.sep) + os.sep):
                    by_root.setdefault(root, {})[os.path.relpath(p, root)] = p
                    break
        for root, rels in by_root.items():
            names = list(rels)
            for i in range(0, len(names), _CHUNK):
                for dest in db.session.execute(select(ManifestEntry.destination).where(
                        ManifestEntry.output_root.in_({root, root.rstrip(os.sep)}),
                        ManifestEntry.destination.in_(names[i:i + _CHUNK]))).scalars():
                    if dest in rels:
                        out[rels[dest]] = ALREADY_IN_ARCHIVE
        db.session.commit()
        for p in real_paths:
            if p in out:
                continue
            for folder in _parents(p):
                dests = self._manifest_in(folder)
                if dests is not None and os.path.relpath(p, folder) in dests:
                    out[p] = ALREADY_IN_ARCHIVE
                    break
        return out


def archive_copy_shas(sha256s: Iterable[str | None]) -> set[str]:
    """The SHA-256s among these that only an export writes (an edited archive copy's own hash)."""
    wanted = sorted({s for s in sha256s if s})
    out: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        for final, src in db.session.execute(select(ManifestEntry.final_sha256, ManifestEntry.sha256).where(
                ManifestEntry.final_sha256.in_(wanted[i:i + _CHUNK]), ManifestEntry.verified.is_(True))):
            if final and final != src:
                out.add(final)
    db.session.commit()
    return out


def archive_rows(rows: Iterable[Any], index: ArchiveIndex | None = None) -> dict[int, str]:
    """file id → why that row is an archive file, for rows (with id, source_path, sha256) that are."""
    rows = list(rows)
    index = index or ArchiveIndex()
    real = {r.id: os.path.realpath(r.source_path) for r in rows}
    by_path = index.reasons(list(real.values()))
    copies = archive_copy_shas(r.sha256 for r in rows)
    out: dict[int, str] = {}
    for r in rows:
        if real[r.id] in by_path:
            out[r.id] = by_path[real[r.id]]
        elif r.sha256 in copies:
            out[r.id] = ARCHIVE_COPY
    return out
