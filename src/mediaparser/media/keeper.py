"""Which copy of a duplicate group to keep, and what keeping it carries over.

This module owns two pure rules the review UI and the `duplicates` command
show, both over plain data the database layer fills in:

`recommend_keeper(facts)`
    Quality facts per member (`QualityFacts`: resolution, bytes, format, bit
    depth, whether the file carries its capture time, GPS, camera make and
    model, and its capture time) in; a recommended keeper, a full ranking,
    per-member quality (megapixels, earliest-dated, ...) and the reasons in
    words out.

    The score is lexicographic, each tier in its own unit, so no fact is ever
    traded against another in made-up exchange rates (megapixels are never
    added to bytes):

      1. resolution — pixel count; copies within 2 % of the best count as
         the same resolution (a 4032x3024 original and a 4032x3016 export
         are not different pictures of quality);
      2. format — original RAW > HEIC/HEIF/AVIF > JPEG = TIFF > PNG > WebP >
         GIF/BMP/other: phones and cameras write the first ones, messengers
         and converters the later ones; then higher bit depth where known;
      3. metadata richness — number of facts the file carries: its capture
         time, a GPS position, the camera make/model;
      4. bytes — among copies equal so far, the larger file is the less
         compressed one;
      5. the earliest-dated copy, then the earliest id (stable ties).

    Before all of these: a copy that cannot be kept (`unavailable`: its
    original no longer exists, or it is a file of the archive rather than an
    original) is never recommended; it ranks after every copy that can, and
    when none can, there is no recommendation.

    Reasons name every tier where the keeper is better than some other member
    and no member is better ("highest resolution; original HEIC rather than a
    JPEG conversion; carries the capture time"); `notes` name what the keeper
    lacks that another copy has, so a person can decide otherwise.

`carry_over(keeper, others)`
    Keeping one member carries the others' tags and any *better* capture-time
    candidates over to the keeper. "Better" means stronger than the keeper's
    own strongest accepted candidate, by (source trust from timestamps.py,
    precision, UTC offset known); rejected candidates are never carried. The
    database layer applies the returned additions and re-runs the capture-time
    choice for the keeper.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mediaparser.media.tags import tag_key
from mediaparser.media.timestamps import source_info

ItemId = int | str

# Copies whose pixel counts differ by less than this share are "the same
# resolution": editors and converters shave a few rows (even dimensions,
# MCU-aligned crops), which must not decide between an original and a copy.
RESOLUTION_TOLERANCE = 0.02

_RAW = {"dng", "nef", "nrw", "cr2", "cr3", "crw", "arw", "srf", "sr2", "srw", "pef", "orf", "rw2", "raf", "raw",
        "3fr", "iiq", "x3f", "erf", "kdc", "dcr", "mrw"}
_FORMAT_RANK: dict[str, int] = {
    **{f: 5 for f in _RAW},
    "heic": 4, "heif": 4, "avif": 4, "jxl": 4,
    "jpeg": 3, "tiff": 3,
    "png": 2,
    "webp": 1,
    "gif": 0, "bmp": 0,
}
_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "mpo": "jpeg", "tif": "tiff", "hif": "heif"}
_DISPLAY = {"jpeg": "JPEG", "heic": "HEIC", "heif": "HEIF", "avif": "AVIF", "jxl": "JPEG XL", "png": "PNG", "webp": "WebP",
            "tiff": "TIFF", "gif": "GIF", "bmp": "BMP"}


def normalize_format(fmt: str | None) -> str | None:
    """'JPG', '.jpeg', 'image/jpeg' -> 'jpeg' (the names probe.sniff uses)."""
    if not fmt:
        return None
    f = fmt.strip().lower().lstrip(".")
    if "/" in f:  # a MIME type
        f = f.split("/", 1)[1]
    return _ALIASES.get(f, f)


def format_rank(fmt: str | None) -> int:
    """Preference of a format as the copy to keep (higher is better)."""
    return _FORMAT_RANK.get(normalize_format(fmt) or "", 0)


def format_name(fmt: str | None) -> str:
    f = normalize_format(fmt)
    if not f:
        return "unknown format"
    return _DISPLAY.get(f, f.upper())


@dataclass(frozen=True)
class QualityFacts:
    """What the database knows about one member (None: unknown)."""

    id: ItemId
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    format: str | None = None  # file type by content: 'jpeg', 'heic', 'dng', ...
    bit_depth: int | None = None  # bits per channel
    has_capture_time: bool = False  # the file itself carries a capture time (metadata, not the file system)
    capture_time: datetime | None = None  # chosen capture time, for "earliest-dated"
    has_gps: bool = False
    make: str | None = None
    model: str | None = None
    # Why this copy cannot be the keeper at all (its original no longer exists, or it is a
    # file of the archive rather than an original); None when it can.
    unavailable: str | None = None

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None

    @property
    def megapixels(self) -> float | None:
        px = self.pixels
        return round(px / 1_000_000, 1) if px else None

    @property
    def camera(self) -> str | None:
        parts = [p.strip() for p in (self.make, self.model) if p and p.strip()]
        if len(parts) == 2 and parts[1].lower().startswith(parts[0].lower()):
            parts = parts[1:]  # "Canon" + "Canon EOS 5D" -> "Canon EOS 5D"
        return " ".join(parts) or None


@dataclass(frozen=True)
class MemberQuality:
    """One member's facts with what the ranking derived from them."""

    facts: QualityFacts
    resolution_tier: int  # 0 = highest resolution (within tolerance), 1 = next, ...
    format_rank: int
    metadata_facts: int  # capture time + GPS + camera, 0..3
    earliest_dated: bool

    @property
    def id(self) -> ItemId:
        return self.facts.id

    @property
    def megapixels(self) -> float | None:
        return self.facts.megapixels


@dataclass(frozen=True)
class KeeperRecommendation:
    keeper: ItemId | None  # None when no copy can be kept (see QualityFacts.unavailable)
    reasons: tuple[str, ...]
    notes: tuple[str, ...]  # what another copy has that the keeper lacks
    ranking: tuple[ItemId, ...]  # best first
    members: tuple[MemberQuality, ...]  # in ranking order

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)


def _resolution_tiers(facts: Sequence[QualityFacts]) -> dict[ItemId, int]:
    """Tier 0 for the highest resolution, copies within the tolerance of a
    tier's largest member share its tier; unknown resolution is last."""
    known = sorted((f for f in facts if f.pixels), key=lambda f: -(f.pixels or 0))
    tiers: dict[ItemId, int] = {}
    tier, head = -1, 0
    for f in known:
        px = f.pixels or 0
        if tier < 0 or px < head * (1 - RESOLUTION_TOLERANCE):
            tier, head = tier + 1, px
        tiers[f.id] = tier
    for f in facts:
        tiers.setdefault(f.id, tier + 1)
    return tiers


def _metadata_facts(f: QualityFacts) -> int:
    return int(f.has_capture_time) + int(f.has_gps) + int(f.camera is not None)


def recommend_keeper(facts: Sequence[QualityFacts]) -> KeeperRecommendation:
    """The copy to keep and why (see the module docstring for the rule)."""
    if not facts:
        raise ValueError("a group needs at least one member")
    ids = [f.id for f in facts]
    if len(set(ids)) != len(ids):
        raise ValueError("member ids must be unique")
    usable = [f for f in facts if f.unavailable is None]
    unusable = [f for f in facts if f.unavailable is not None]
    # Ranked among themselves, after every copy that can be kept: a copy whose original is gone,
    # or an archive file, is never recommended over an original, whatever its quality.
    tiers = {**_resolution_tiers(unusable), **_resolution_tiers(usable)}
    dated = [f.capture_time for f in facts if f.capture_time is not None]
    earliest = min(dated) if dated else None

    def key(f: QualityFacts) -> tuple:
        return (
            tiers[f.id],
            -format_rank(f.format),
            -(f.bit_depth or 0),
            -_metadata_facts(f),
            -(f.size_bytes or 0),
            f.capture_time is None,
            f.capture_time or datetime.max,
            f.id,
        )

    ranked = sorted(usable, key=key) + sorted(unusable, key=key)
    members = tuple(
        MemberQuality(f, tiers[f.id], format_rank(f.format), _metadata_facts(f),
                      earliest is not None and f.capture_time == earliest)
        for f in ranked
    )
    left_out = [f"the copy with id {f.id} cannot be kept: {f.unavailable}" for f in sorted(unusable, key=key)]
    if not usable:
        return KeeperRecommendation(None, ("no copy can be recommended",), tuple(left_out),
                                    tuple(f.id for f in ranked), members)
    keeper = ranked[0]
    others = ranked[1:len(usable)]
    reasons, notes = _reasons(keeper, others, tiers, key), _notes(keeper, others, tiers)
    if not others and unusable:
        reasons = ["the only copy that can be kept"]
    return KeeperRecommendation(keeper.id, tuple(reasons), tuple(notes + left_out), tuple(f.id for f in ranked),
                                members)


def _dims(f: QualityFacts) -> str:
    return f"{f.width}x{f.height}" if f.width and f.height else "unknown size"


def _mb(n: int | None) -> str:
    return f"{(n or 0) / 1_000_000:.1f} MB" if (n or 0) >= 100_000 else f"{(n or 0) / 1000:.0f} kB"


def _reasons(keeper: QualityFacts, others: Sequence[QualityFacts], tiers: Mapping[ItemId, int],
             key: Callable[[QualityFacts], tuple]) -> list[str]:
    if not others:
        return ["the only copy"]
    reasons: list[str] = []
    k_tier = tiers[keeper.id]
    # Each tier is named only when the keeper is at least as good as every
    # other member on it (it is, for tiers before the deciding one) and
    # strictly better than some member.
    if k_tier == 0 and any(tiers[o.id] > k_tier for o in others):
        lower = [o for o in others if tiers[o.id] > k_tier]
        smallest = min(lower, key=lambda o: o.pixels or 0)
        mp = f", {keeper.megapixels} MP" if keeper.megapixels else ""
        reasons.append(f"highest resolution ({_dims(keeper)}{mp} against {_dims(smallest)})")
    k_rank = format_rank(keeper.format)
    if all(format_rank(o.format) <= k_rank for o in others):
        worse = [o for o in others if format_rank(o.format) < k_rank]
        if worse:
            other_names = sorted({format_name(o.format) for o in worse})
            what = " or ".join(other_names)
            if k_rank >= 4:
                label = f"RAW original ({format_name(keeper.format)})" if k_rank == 5 else \
                    f"original {format_name(keeper.format)}"
                reasons.append(f"{label} rather than a {what} conversion")
            else:
                reasons.append(f"{format_name(keeper.format)} rather than {what}")
        elif keeper.bit_depth and all((o.bit_depth or 0) <= keeper.bit_depth for o in others) and \
                any((o.bit_depth or 0) < keeper.bit_depth and o.bit_depth for o in others):
            reasons.append(f"{keeper.bit_depth}-bit rather than "
                           f"{min(o.bit_depth for o in others if o.bit_depth)}-bit")
    if keeper.has_capture_time and any(not o.has_capture_time for o in others):
        reasons.append("carries the capture time")
    if keeper.has_gps and any(not o.has_gps for o in others):
        reasons.append("has the GPS position")
    if keeper.camera and any(o.camera is None for o in others):
        reasons.append(f"names the camera ({keeper.camera})")
    # Bytes and dates are only reasons when they decided against the runner-up.
    runner = others[0]
    kk, rk = key(keeper), key(runner)
    if kk[:4] == rk[:4] and kk[4] != rk[4]:
        reasons.append(f"largest file ({_mb(keeper.size_bytes)} against {_mb(runner.size_bytes)}): the least compressed")
    elif kk[:5] == rk[:5] and kk[5:7] != rk[5:7]:
        reasons.append("earliest capture time")
    if not reasons:
        reasons.append("the copies are equivalent; kept the first one imported")
    return reasons


def _notes(keeper: QualityFacts, others: Sequence[QualityFacts], tiers: Mapping[ItemId, int]) -> list[str]:
    notes: list[str] = []
    better_fmt = [o for o in others if format_rank(o.format) > format_rank(keeper.format)]
    if better_fmt:
        notes.append(f"a lower-resolution copy is {format_name(better_fmt[0].format)} (id {better_fmt[0].id})")
    if not keeper.has_capture_time and any(o.has_capture_time for o in others):
        notes.append("another copy carries the capture time (better capture-time candidates are carried over "
                     "to the keeper)")
    if not keeper.has_gps:
        gps = [o for o in others if o.has_gps]
        if gps:
            notes.append(f"another copy has a GPS position (id {gps[0].id})")
    if keeper.camera is None:
        cams = [o for o in others if o.camera]
        if cams:
            notes.append(f"another copy names the camera ({cams[0].camera}, id {cams[0].id})")
    return notes


# ---------------------------------------------------------------------------
# Carrying tags and capture-time candidates over to the keeper


@dataclass(frozen=True)
class MemberMetadata:
    """Tags and capture-time candidates of one member.

    `candidates` are plain dicts as `timestamps.Candidate.to_dict()` writes
    them: at least `source` and `value`; `precision`, `utc_offset` and
    `accepted` are used when present.
    """

    id: ItemId
    tags: frozenset[str] = frozenset()
    candidates: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class CarryOver:
    keeper: ItemId
    tags: frozenset[str]  # the keeper's tags afterwards
    tags_added: frozenset[str]
    candidates_added: tuple[dict[str, Any], ...] = field(default=())  # copies with 'carried_from'


_PRECISION_RANK = {"second": 3, "minute": 2, "day": 1, "date": 1, "month": 0, "year": -1, "decade": -2}


def candidate_strength(c: Mapping[str, Any]) -> tuple:
    """How much a candidate is worth: (forced, source trust, precision, offset known)."""
    return (
        bool(c.get("forced")),
        source_info(str(c.get("source", ""))).trust,
        _PRECISION_RANK.get(str(c.get("precision") or "second"), 0),
        c.get("utc_offset") not in (None, ""),
    )


def _accepted(c: Mapping[str, Any]) -> bool:
    return c.get("accepted", True) is not False and c.get("value") not in (None, "")


def carry_over(keeper: MemberMetadata, others: Iterable[MemberMetadata], *,
               strength: Callable[[Mapping[str, Any]], Any] = candidate_strength) -> CarryOver:
    """The keeper's tags and capture-time candidates after keeping it.

    Tags: the union of all members' tags. Candidates: every accepted
    candidate of another member that is stronger than the keeper's strongest
    accepted candidate, once per (source, value, offset), in the order the
    others are given; each copy records `carried_from`.
    """
    others = [o for o in others if o.id != keeper.id]
    # One spelling per tag (media.tags.tag_key): "Holiday" on the keeper and "holiday" on a copy are one.
    keys = {tag_key(t) for t in keeper.tags}
    carried = set()
    for o in others:
        for t in sorted(o.tags):
            if tag_key(t) not in keys:
                keys.add(tag_key(t))
                carried.add(t)
    tags = frozenset(keeper.tags) | carried
    own = [c for c in keeper.candidates if _accepted(c)]
    floor = max((strength(c) for c in own), default=None)
    seen = {(c.get("source"), c.get("value"), c.get("utc_offset")) for c in keeper.candidates}
    added: list[dict[str, Any]] = []
    for o in others:
        for c in o.candidates:
            if not _accepted(c):
                continue
            ident = (c.get("source"), c.get("value"), c.get("utc_offset"))
            if ident in seen or (floor is not None and not strength(c) > floor):
                continue
            seen.add(ident)
            added.append({**c, "carried_from": o.id})
    return CarryOver(keeper.id, tags, tags - frozenset(keeper.tags), tuple(added))
