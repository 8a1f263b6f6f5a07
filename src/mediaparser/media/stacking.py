"""Stacks: which files of one folder belong together, decided from facts alone.

A stack is a few files a person thinks of as one photo: a Live Photo's still
and its clip, a RAW and the camera's JPEG of the same shot, the frames of a
burst, an edited copy beside its original. The review shows a stack as one
tile and the export names its members together (usecases/stacks.py stores
what this module decides; store/models.py StackKind/StackRole name the kinds
and roles).

Each detector takes the facts of the files of ONE folder and proposes stacks.
`find_stacks` runs the detectors in priority order; a file joins at most one
stack, the first that claims it (a Live Photo's still is not also a burst
frame). Detectors never see the database or the disk.

Pure: no Flask, no database.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Sequence

from mediaparser.media.kinds import RAW_EXTENSIONS

# Kinds and roles (the same strings as store.models.StackKind / StackRole).
LIVE, RAW_JPEG, BURST, EDITED = "live", "raw_jpeg", "burst", "edited"

JPEG_LIKE = frozenset("jpg jpeg jpe heic heif hif".split())
RAW_JPEG_SECONDS = 1.0  # a RAW and its JPEG are written by one shutter press


@dataclass(frozen=True)
class StackFacts:
    """What the detectors read about one file."""

    id: int
    path: str  # where the file came from (its folder groups it with its neighbours)
    kind: str | None = None  # image / video
    extension: str | None = None  # corrected, lower case, no dot
    captured_at: datetime | None = None
    make: str | None = None
    model: str | None = None
    content_id: str | None = None  # Apple ContentIdentifier (Live Photo still ↔ clip)
    burst_id: str | None = None  # Apple BurstUUID, or a burst name's key
    phash: int | None = None

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def stem(self) -> str:
        """The name without its last extension, case-folded: IMG_1234.CR2 → img_1234."""
        return os.path.splitext(self.name)[0].casefold()

    @property
    def ext(self) -> str:
        return (self.extension or os.path.splitext(self.name)[1].lstrip(".")).lower()


@dataclass(frozen=True)
class Stack:
    kind: str
    lead: int  # the file the tile shows and the export names the others after
    roles: dict[int, str] = field(default_factory=dict)  # every member's id → its role (the lead's too)

    @property
    def members(self) -> list[int]:
        return sorted(self.roles)


Detector = Callable[[Sequence[StackFacts]], list[Stack]]


def seconds_apart(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return abs((a - b).total_seconds())


def raw_jpeg_stacks(files: Sequence[StackFacts]) -> list[Stack]:
    """A RAW and a JPEG/HEIC of the same base name, taken within a second of each other.

    When either has no capture time, the shared name alone pairs them (a camera
    writes both at once; a copy tool that dropped the RAW's date does not make them
    two shots). The JPEG leads: it is what the review shows and duplicates compare.
    """
    by_stem: dict[str, list[StackFacts]] = defaultdict(list)
    for f in files:
        by_stem[raw_stem(f)].append(f)
    out: list[Stack] = []
    for group in by_stem.values():
        raws = sorted((f for f in group if f.ext in RAW_EXTENSIONS), key=lambda f: f.id)
        jpegs = sorted((f for f in group if f.ext in JPEG_LIKE), key=lambda f: f.id)
        for raw in raws:
            match = next((j for j in jpegs if _same_moment(raw, j, RAW_JPEG_SECONDS)), None)
            if match is None:
                continue
            jpegs.remove(match)
            out.append(Stack(RAW_JPEG, match.id, {match.id: "jpeg", raw.id: "raw"}))
    return out


def raw_stem(f: StackFacts) -> str:
    """The base name a RAW shares with its JPEG (the detectors' one rule for it)."""
    return f.stem


def _same_moment(a: StackFacts, b: StackFacts, seconds: float) -> bool:
    apart = seconds_apart(a.captured_at, b.captured_at)
    return apart is None or apart <= seconds


# In priority order: a file is taken by the first detector that stacks it.
DETECTORS: list[Detector] = [raw_jpeg_stacks]


def find_stacks(files: Iterable[StackFacts], detectors: Sequence[Detector] | None = None) -> list[Stack]:
    """Every stack among `files`, folder by folder; each file in at most one stack."""
    detectors = DETECTORS if detectors is None else detectors
    by_folder: dict[str, list[StackFacts]] = defaultdict(list)
    for f in files:
        by_folder[f.folder].append(f)
    stacks: list[Stack] = []
    for folder in sorted(by_folder):
        free = sorted(by_folder[folder], key=lambda f: f.id)
        for detect in detectors:
            found = detect(free)
            taken: set[int] = set()
            for st in found:
                if taken.intersection(st.roles):
                    continue  # a detector proposed one file twice: the first stack keeps it
                taken.update(st.roles)
                stacks.append(st)
            free = [f for f in free if f.id not in taken]
    return stacks
