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
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime
from typing import Callable, Iterable, Sequence

from mediaparser.media.kinds import IMAGE_EXTENSIONS, RAW_EXTENSIONS
from mediaparser.media.sidecars import EDITED_SUFFIXES

# Kinds and roles (the same strings as store.models.StackKind / StackRole).
LIVE, RAW_JPEG, BURST, EDITED = "live", "raw_jpeg", "burst", "edited"

# What the review calls each kind (a tile's badge), and its noun for "12 files in 1 burst".
LABELS = {LIVE: "Live", RAW_JPEG: "RAW+JPEG", BURST: "Burst", EDITED: "Edited"}
NOUNS = {LIVE: ("Live Photo", "Live Photos"), RAW_JPEG: ("RAW+JPEG pair", "RAW+JPEG pairs"),
         BURST: ("burst", "bursts"), EDITED: ("edited photo", "edited photos")}

JPEG_LIKE = frozenset("jpg jpeg jpe heic heif hif".split())
RAW_JPEG_SECONDS = 1.0  # a RAW and its JPEG are written by one shutter press
LIVE_SECONDS = 3.0  # a Live Photo's clip starts up to ~1.5 s before the still; copies round times
LIVE_CLIP_EXTENSIONS = frozenset({"mov", "mp4"})  # iPhones write MOV; Google Takeout hands some back as MP4


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

    # Each detector reads these again: computed once per file (cached_property stores beside the
    # frozen fields without going through __setattr__).
    @cached_property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    @cached_property
    def name(self) -> str:
        return os.path.basename(self.path)

    @cached_property
    def stem(self) -> str:
        """The name without its last extension, case-folded: IMG_1234.CR2 → img_1234."""
        return os.path.splitext(self.name)[0].casefold()

    @cached_property
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


def live_stacks(files: Sequence[StackFacts]) -> list[Stack]:
    """An iPhone Live Photo: a still and its short clip. The still leads.

    Paired by Apple's ContentIdentifier when both carry it. Many copy tools drop
    it, so a still and a clip of the same base name taken within LIVE_SECONDS of
    each other are paired too — unless both carry identifiers that differ (two
    different Live Photos that happen to share a name)."""
    stills = [f for f in files if f.kind == "image" and f.ext in JPEG_LIKE]
    clips = [f for f in files if f.kind == "video" and f.ext in LIVE_CLIP_EXTENSIONS]
    out: list[Stack] = []
    used: set[int] = set()

    def pair(still: StackFacts, clip: StackFacts) -> None:
        used.update((still.id, clip.id))
        out.append(Stack(LIVE, still.id, {still.id: "still", clip.id: "clip"}))

    clips_by_id: dict[str, list[StackFacts]] = defaultdict(list)
    for c in clips:
        if c.content_id:
            clips_by_id[c.content_id].append(c)
    for still in stills:
        match = next((c for c in clips_by_id.get(still.content_id or "", ()) if c.id not in used), None)
        if match is not None:
            pair(still, match)
    clips_by_stem: dict[str, list[StackFacts]] = defaultdict(list)
    for c in clips:
        if c.id not in used:
            clips_by_stem[c.stem].append(c)
    for still in stills:
        if still.id in used:
            continue
        match = next((c for c in clips_by_stem.get(still.stem, ()) if c.id not in used
                      and not (still.content_id and c.content_id and still.content_id != c.content_id)
                      and (apart := seconds_apart(still.captured_at, c.captured_at)) is not None
                      and apart <= LIVE_SECONDS), None)
        if match is not None:
            pair(still, match)
    return out


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


# Pixel names the two halves of a RAW shot `PXL_20230101_120000123.RAW-02.ORIGINAL.dng` and
# `PXL_20230101_120000123.RAW-01.COVER.jpg` (sometimes `.RAW-01.MP.COVER.jpg`): the part from
# `.RAW-nn` on is the camera's label, not the shot's name.
_PIXEL_RAW = re.compile(r"\.raw-\d+(?:\.[a-z]+)*$")


def raw_stem(f: StackFacts) -> str:
    """The base name a RAW shares with its JPEG (the detectors' one rule for it)."""
    return _PIXEL_RAW.sub("", f.stem)


def _same_moment(a: StackFacts, b: StackFacts, seconds: float) -> bool:
    apart = seconds_apart(a.captured_at, b.captured_at)
    return apart is None or apart <= seconds


# --- bursts -------------------------------------------------------------------
# A burst's frames are named by the phone or share Apple's BurstUUID:
#   Samsung  20190812_143025_BURST001_COVER.jpg, 20190812_143025_BURST002.jpg
#   Pixel    00000IMG_00000_BURST20190812143025123_COVER.jpg, 00001IMG_00001_BURST20190812143025123.jpg
#            PXL_20211120_101010123.BURST-01.COVER.jpg (or _BURST-01 …)
# and, unnamed, they are frames of one camera taken a moment apart that look
# the same (usecases.duplicates would otherwise call them near-duplicates).
_BURST_STAMP = re.compile(r"burst(\d{12,})")  # Pixel: the burst's start time is its key
_BURST_NUMBERED = re.compile(r"^(?P<key>.+?)[._-]?burst[-_]?(?P<n>\d{1,4})(?![\d])")
_COVER = re.compile(r"[._-]cover(?![a-z])")
BURST_GAP_SECONDS = 1.0  # consecutive unnamed frames at most this far apart …
# … and this close in pHash bits (of 64). Frames a moment apart differ by a few
# bits where the subject moved; two different scenes differ by ~30.
BURST_PHASH_DISTANCE = 8
_MASK64 = (1 << 64) - 1


def burst_name_key(f: StackFacts) -> str | None:
    """The key a burst's file names share, or None for a name outside a burst."""
    stem = f.stem
    if "burst" not in stem:
        return None
    m = _BURST_STAMP.search(stem)
    if m:
        return "burst-" + m[1]
    m = _BURST_NUMBERED.match(stem)
    return "burst-" + m["key"] if m else None


def is_marked_cover(f: StackFacts) -> bool:
    return bool(_COVER.search(f.stem))


def _is_still(f: StackFacts) -> bool:
    return f.kind == "image" if f.kind else f.ext in IMAGE_EXTENSIONS


def _frame_order(f: StackFacts) -> tuple:
    return (f.captured_at is None, f.captured_at or datetime.min, f.name.casefold(), f.id)


def _burst(frames: Sequence[StackFacts]) -> Stack:
    """One burst stack: the file marked cover leads, else the first frame."""
    ordered = sorted(frames, key=_frame_order)
    cover = next((x for x in ordered if is_marked_cover(x)), ordered[0])
    return Stack(BURST, cover.id, {x.id: ("cover" if x.id == cover.id else "frame") for x in ordered})


def phash_distance(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes, stored signed or not."""
    return ((a ^ b) & _MASK64).bit_count()


def burst_stacks(files: Sequence[StackFacts]) -> list[Stack]:
    """Bursts: by BurstUUID or burst file names first, then unnamed runs of near-identical frames.

    A run is frames of one camera (make and model, at least one of them known)
    each taken at most `BURST_GAP_SECONDS` after the previous one and within
    `BURST_PHASH_DISTANCE` of it: one pass over the frames in time order, so
    10,000 frames cost 10,000 comparisons, not 50 million. A second between
    frames is allowed because most cameras write capture times in whole seconds.
    """
    keyed: dict[str, list[StackFacts]] = defaultdict(list)
    rest: list[StackFacts] = []
    for f in files:
        key = ("uuid-" + f.burst_id) if f.burst_id else burst_name_key(f)
        if key and _is_still(f):
            keyed[key].append(f)
        else:
            rest.append(f)
    out = [_burst(frames) for frames in keyed.values() if len(frames) >= 2]
    rest.extend(frames[0] for frames in keyed.values() if len(frames) == 1)

    by_camera: dict[tuple[str, str], list[StackFacts]] = defaultdict(list)
    for f in rest:
        if _is_still(f) and f.captured_at is not None and f.phash is not None and (f.make or f.model):
            by_camera[((f.make or "").strip().casefold(), (f.model or "").strip().casefold())].append(f)
    for frames in by_camera.values():
        frames.sort(key=_frame_order)
        run = [frames[0]]
        for prev, cur in zip(frames, frames[1:]):
            apart = seconds_apart(prev.captured_at, cur.captured_at)
            if apart is not None and apart <= BURST_GAP_SECONDS \
                    and phash_distance(prev.phash, cur.phash) <= BURST_PHASH_DISTANCE:
                run.append(cur)
                continue
            if len(run) >= 2:
                out.append(_burst(run))
            run = [cur]
        if len(run) >= 2:
            out.append(_burst(run))
    return out


# --- edited copies --------------------------------------------------------------
# IMG_E1234.JPG is Apple's edited copy of IMG_1234.JPG (or .HEIC); Google Takeout
# writes name-edited.jpg (localised, media.sidecars.EDITED_SUFFIXES), and many
# tools name_edit.jpg / name_edited.jpg. A Takeout counter stays on the name:
# name-edited(1).jpg is the edited copy of name(1).jpg.
_APPLE_EDITED = re.compile(r"^(?P<prefix>img_)e(?P<n>\d{3,})$")
_COUNTER = re.compile(r"^(?P<base>.*?)(?P<n>\(\d+\))$")
_OTHER_EDITED_SUFFIXES = ("_edited", "_edit", "-edit", " edited")


def _folded(s: str) -> str:
    # macOS stores é as e + combining accent: compare names in one form
    return unicodedata.normalize("NFC", s).casefold()


_EDITED_SUFFIXES = tuple(sorted({_folded(x) for x in EDITED_SUFFIXES + _OTHER_EDITED_SUFFIXES}, key=len, reverse=True))


def original_stem(f: StackFacts) -> str | None:
    """The folded stem of the original `f` is an edited copy of, or None when its name says nothing."""
    stem = _folded(os.path.splitext(f.name)[0])
    m = _APPLE_EDITED.match(stem)
    if m:
        return m["prefix"] + m["n"]
    m = _COUNTER.match(stem)
    base, counter = (m["base"], m["n"]) if m else (stem, "")
    for suffix in _EDITED_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)] + counter
    return None


def edited_stacks(files: Sequence[StackFacts]) -> list[Stack]:
    """An edited copy with its original beside it (same folder); the original leads.

    Several edited copies of one original (an Apple edit and a Takeout edit)
    join the one stack. The original is the file of that stem of the same kind,
    preferring the copy's own extension."""
    by_stem: dict[str, list[StackFacts]] = defaultdict(list)
    for f in files:
        by_stem[_folded(os.path.splitext(f.name)[0])].append(f)
    edits: dict[int, list[StackFacts]] = defaultdict(list)
    for f in files:
        stem = original_stem(f)
        if stem is None:
            continue
        candidates = [o for o in by_stem.get(stem, ()) if o.id != f.id and (o.kind or None) == (f.kind or None)]
        if candidates:
            edits[min(candidates, key=lambda o: (o.ext != f.ext, o.id)).id].append(f)
    # (an edit of an edit would sit in two stacks: find_stacks gives it to the first)
    return [Stack(EDITED, oid, {oid: "original", **{c.id: "edited" for c in copies}})
            for oid, copies in sorted(edits.items())]


# In priority order: a file is taken by the first detector that stacks it. Edited
# copies come before bursts: an edited copy is a frame of one camera at the same
# moment looking nearly the same, and its name says better what it is.
# Live Photos come first of all: a still with its clip is one photo, never a burst frame or a RAW’s JPEG alone.
DETECTORS: list[Detector] = [live_stacks, raw_jpeg_stacks, edited_stacks, burst_stacks]


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


def facts_from_analysis(id: int, d: dict) -> StackFacts:
    """A file's facts from its analysis dict (media.analyze's to_dict, as `mediaparser analyze` prints it)."""
    from mediaparser.media.hashes import from_hex

    when = d.get("captured_at")
    return StackFacts(id=id, path=d.get("path") or "", kind=d.get("kind"), extension=d.get("extension"),
                      captured_at=datetime.fromisoformat(when) if when else None, make=d.get("make"),
                      model=d.get("model"), content_id=d.get("content_id"), burst_id=d.get("burst_id"),
                      phash=from_hex(d["phash"]) if d.get("phash") else None)


def stack_dict(st: Stack, paths: dict[int, str]) -> dict:
    """A stack as the command line prints it: its kind, the lead's path, every member's path and role."""
    return {"kind": st.kind, "lead": paths.get(st.lead),
            "members": [{"path": paths.get(i), "role": st.roles[i]}
                        for i in sorted(st.roles, key=lambda i: (i != st.lead, paths.get(i) or ""))]}
