"""How a capture time is chosen: the one place that knows.

Every reader (embedded metadata, video containers, sidecars, file and folder
names, the file system) turns what it finds into `Candidate`s with
`make_candidate`, which runs every raw string through the one date parser of
the project, `parse_date_string` (media/dates.py). `choose_capture_time` then:

1. rejects impossible values (blank and zero dates, dates that are not on the
   calendar, years before 1826 — the first photograph —, camera default dates
   and dates in the future when anything better exists) and keeps them, with
   the reason, for the examination view. A future date from the file itself is
   a camera whose clock was set wrong: when nothing better exists it is kept,
   at LOW confidence, with the reason "in the future";
2. ranks what is left by *source trust* (`SOURCES`), never by "earliest":
   DateTimeOriginal beats CreateDate beats ModifyDate (docs/capture-time.md §1-§3);
   a `[FORCE]` marker in the file name beats everything;
3. works out the local time and UTC offset of the winner. Offsets are applied
   to UTC values only, never to local ones (docs/capture-time.md §8): a local value
   keeps its wall clock and gets an offset from its own tag, from another
   candidate with the same wall clock and an explicit offset, or from GPS
   (a whole number of quarter hours, at most 14 h). A UTC value (QuickTime
   header, GPS, Takeout epoch, Pixel file names) is shown in local time with
   an offset learnt from a local candidate that agrees, else with the
   configured default time zone — and the reasons say so;
4. compares the winner with every other candidate: agreement within 2 s (GPS:
   60 s, its fix lags the shutter), or a whole time-zone shift between a UTC
   and a local source, or the same day for day-precision sources;
5. sets the confidence: HIGH when an independent source agrees or a strong
   embedded source carries its own offset and nothing contradicts; MEDIUM for
   one strong source with nothing against it (and at most MEDIUM for a day);
   LOW for conflicts or weak-only sources; NONE when nothing dates the file.
   The file system time is a candidate that is shown but never chosen
   (docs/capture-time.md §10).

Times are naive `datetime`s (wall clock) plus an offset in minutes; the
archive is named by the local capture time (docs/capture-time.md §11).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mediaparser.media.dates import (MAX_OFFSET_MINUTES, MIN_OFFSET_MINUTES, DateParseError, Precision,
                                     format_offset, parse_date_string, parse_offset)


class Confidence(str, Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


_PRECISION_RANK = {Precision.SECOND: 3, Precision.MINUTE: 2, Precision.DAY: 1, Precision.MONTH: 0, Precision.YEAR: -1,
                   Precision.DECADE: -2}
_PARTIAL = (Precision.DAY, Precision.MONTH, Precision.YEAR)

# Photography starts in 1826 (Niépce); anything earlier is a broken clock.
MIN_YEAR = 1826

# Dates a camera or phone shows after a reset, or that software writes as a
# placeholder. They are only believed when nothing better exists, and then
# only with LOW confidence.
CAMERA_DEFAULT_DATES: frozenset[datetime] = frozenset(
    {
        datetime(1970, 1, 1, 0, 0, 0),  # Unix epoch
        datetime(1980, 1, 1, 0, 0, 0),  # DOS/FAT epoch
        datetime(2000, 1, 1, 0, 0, 0),  # common camera reset
        datetime(2001, 1, 1, 0, 0, 0),
        datetime(2002, 12, 8, 12, 0, 0),  # Android DateTimeDigitized placeholder
        datetime(1904, 1, 1, 0, 0, 0),  # QuickTime epoch (a zero field)
    }
)

# A capture time later than this after "now" is in the future (the margin
# covers time zones: a local wall clock can run up to 14 h ahead of UTC).
FUTURE_MARGIN = timedelta(days=1)

AGREE_SECONDS = 2
GPS_AGREE_SECONDS = 60  # GPS stamps the last fix, which lags the shutter
OFFSET_GRID_MINUTES = 15


@dataclass(frozen=True)
class SourceInfo:
    trust: int  # higher wins
    family: str  # candidates of one family are not independent witnesses
    label: str  # how the reasons name it
    can_contradict: bool = True  # False: edit times, folders, GPS — noted, never a conflict
    embedded: bool = False  # written into the file by the device/software


# Trust of each source. Values >= STRONG_TRUST are "strong" sources.
SOURCES: dict[str, SourceInfo] = {
    # An XMP sidecar is written after the fact by a photo manager; when it
    # carries a DateTimeOriginal that differs from the file, it is a person's
    # correction, so it outranks the embedded value.
    "xmp-sidecar:exif:DateTimeOriginal": SourceInfo(105, "xmp-sidecar", "XMP sidecar exif:DateTimeOriginal"),
    "exif:DateTimeOriginal": SourceInfo(100, "embedded", "EXIF DateTimeOriginal", embedded=True),
    "makernote:DateTimeOriginal": SourceInfo(99, "embedded", "maker-note DateTimeOriginal", embedded=True),
    "quicktime:Keys:CreationDate": SourceInfo(97, "embedded", "Apple QuickTime creationdate", embedded=True),
    "xmp:exif:DateTimeOriginal": SourceInfo(96, "embedded", "XMP exif:DateTimeOriginal", embedded=True),
    "riff:DateTimeOriginal": SourceInfo(96, "embedded", "AVI DateTimeOriginal (IDIT)", embedded=True),
    "h264:DateTimeOriginal": SourceInfo(96, "embedded", "AVCHD/H.264 DateTimeOriginal", embedded=True),
    "xmp:photoshop:DateCreated": SourceInfo(90, "embedded", "XMP photoshop:DateCreated", embedded=True),
    "iptc:DateCreated": SourceInfo(90, "embedded", "IPTC DateCreated", embedded=True),
    "quicktime:ContentCreateDate": SourceInfo(90, "embedded", "QuickTime ©day date", embedded=True),
    "quicktime:DateTimeOriginal": SourceInfo(96, "embedded", "QuickTime user-data DateTimeOriginal", embedded=True),
    "xmp-sidecar:photoshop:DateCreated": SourceInfo(88, "xmp-sidecar", "XMP sidecar photoshop:DateCreated"),
    "takeout-json:photoTakenTime": SourceInfo(85, "takeout", "Google Takeout photoTakenTime"),
    "riff:DateCreated": SourceInfo(84, "embedded", "AVI INFO creation date (ICRD)", embedded=True),
    "exif:CreateDate": SourceInfo(80, "embedded", "EXIF CreateDate (DateTimeDigitized)", embedded=True),
    "xmp:CreateDate": SourceInfo(80, "embedded", "XMP xmp:CreateDate", embedded=True),
    "xmp-sidecar:CreateDate": SourceInfo(79, "xmp-sidecar", "XMP sidecar xmp:CreateDate"),
    "xmp:exif:DateTimeDigitized": SourceInfo(79, "embedded", "XMP exif:DateTimeDigitized", embedded=True),
    "quicktime:CreateDate": SourceInfo(75, "embedded", "QuickTime CreateDate", embedded=True),
    "matroska:DateUTC": SourceInfo(75, "embedded", "Matroska DateUTC", embedded=True),
    "quicktime:MediaCreateDate": SourceInfo(73, "embedded", "QuickTime MediaCreateDate", embedded=True),
    "png:CreationTime": SourceInfo(70, "embedded", "PNG Creation Time", embedded=True),
    "filename": SourceInfo(60, "filename", "the file name"),
    "gps:DateTime": SourceInfo(55, "gps", "GPS date/time", can_contradict=False, embedded=True),
    "exif:ModifyDate": SourceInfo(40, "embedded", "EXIF ModifyDate", can_contradict=False, embedded=True),
    "xmp:ModifyDate": SourceInfo(38, "embedded", "XMP xmp:ModifyDate", can_contradict=False, embedded=True),
    # xmp:CreateDate on the same day as xmp:ModifyDate and xmp:MetadataDate:
    # software made the file (an export, a screenshot, a drawing) and stamped
    # all three; it says when the file was made, not when a picture was taken.
    "xmp:CreateDate:software": SourceInfo(37, "embedded", "XMP xmp:CreateDate written by software",
                                          can_contradict=False, embedded=True),
    "filename:weak": SourceInfo(35, "filename", "a date in the file name", can_contradict=False),
    "takeout-json:creationTime": SourceInfo(30, "takeout", "Google Takeout creationTime (upload)", can_contradict=False),
    "folder": SourceInfo(25, "folder", "the folder name", can_contradict=False),
    "filesystem:mtime": SourceInfo(0, "filesystem", "the file's modification time", can_contradict=False),
}
STRONG_TRUST = 50
_UNKNOWN_SOURCE = SourceInfo(45, "other", "an unknown source", can_contradict=False)


# ExifTool's second opinion (media/exiftool.py): `exiftool:<Group>:<Tag>`,
# below every reader of ours; a capture tag just above a date in the file name.
_EXIFTOOL_ORIGINAL = frozenset({"DateTimeOriginal", "SubSecDateTimeOriginal", "DateCreated", "DateTimeCreated",
                                "CreationDate", "ContentCreateDate", "DateTimeRecorded", "RecordingTime"})


def _exiftool_source(source: str) -> SourceInfo:
    name = source[len("exiftool:"):]
    tag = name.rpartition(":")[2]
    label = f"ExifTool {name}"
    if tag == "GPSDateTime":
        return SourceInfo(52, "exiftool-gps", label, can_contradict=False, embedded=True)
    return SourceInfo(62 if tag in _EXIFTOOL_ORIGINAL else 56, "exiftool", label, embedded=True)


def source_info(source: str) -> SourceInfo:
    info = SOURCES.get(source)
    if info is None and source.startswith("exiftool:"):
        return _exiftool_source(source)
    return info or _UNKNOWN_SOURCE


# ---------------------------------------------------------------------------
# Candidates


@dataclass
class Candidate:
    """One claim about when a file was captured, with where it came from."""

    source: str  # a key of SOURCES, e.g. "exif:DateTimeOriginal"
    value: datetime | None  # naive wall clock as written (UTC when is_utc)
    utc_offset: int | None = None  # minutes east of UTC, when the source says
    precision: Precision = Precision.SECOND
    is_utc: bool = False  # the value is UTC by definition of its source
    accepted: bool = True
    reason: str = ""  # why rejected, or a note
    raw: str | None = None  # the text as found, for the examination view
    forced: bool = False  # a [FORCE] marker in the file name
    default_date: bool = False  # looks like a camera's reset clock

    @property
    def info(self) -> SourceInfo:
        return source_info(self.source)

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "value": self.value.isoformat(timespec="seconds") if self.value else None,
            "utc_offset": format_offset(self.utc_offset),
            "precision": self.precision.value,
            "basis": "utc" if self.is_utc else "local",
            "accepted": self.accepted,
            "reason": self.reason or None,
            "raw": self.raw,
            "forced": self.forced,
            "default_date": self.default_date,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Candidate":
        """The inverse of `to_dict` (candidates stored as JSON come back to be decided again)."""
        value = d.get("value")
        return cls(
            source=str(d["source"]),
            value=datetime.fromisoformat(value) if value else None,
            utc_offset=parse_offset(d.get("utc_offset")),
            precision=Precision(d.get("precision") or "second"),
            is_utc=d.get("basis") == "utc",
            accepted=d.get("accepted", True) is not False,
            reason=d.get("reason") or "",
            raw=d.get("raw"),
            forced=bool(d.get("forced")),
            default_date=bool(d.get("default_date")),
        )


def make_candidate(
    source: str,
    raw: str | bytes | None,
    *,
    is_utc: bool = False,
    utc_offset: int | None = None,
    now: datetime | None = None,
) -> Candidate:
    """Parse `raw` into a candidate; an unusable value gives a rejected one.

    `utc_offset` supplies an offset that lives in a separate tag (EXIF
    OffsetTimeOriginal); an offset inside the string wins over it.
    """
    raw_text = raw.decode("latin-1", "replace") if isinstance(raw, bytes) else raw
    raw_text = raw_text.replace("\x00", "").strip() if raw_text is not None else None
    try:
        parsed = parse_date_string(raw_text)
    except DateParseError as e:
        return Candidate(source, None, None, Precision.SECOND, is_utc, False, f"rejected: {e}", raw_text)
    offset = parsed.utc_offset if parsed.utc_offset is not None else utc_offset
    c = Candidate(source, parsed.value, offset, parsed.precision, is_utc, True, "", raw_text)
    return check_plausible(c, now, keep_future=True)


def candidate_from_datetime(
    source: str,
    value: datetime,
    *,
    precision: Precision = Precision.SECOND,
    is_utc: bool = False,
    utc_offset: int | None = None,
    raw: str | None = None,
    now: datetime | None = None,
) -> Candidate:
    c = Candidate(source, value.replace(microsecond=0, tzinfo=None), utc_offset, precision, is_utc, True, "", raw)
    return check_plausible(c, now, keep_future=True)


def is_future(value: datetime, now: datetime | None = None) -> bool:
    """Is `value` later than any place on Earth has reached yet (now + FUTURE_MARGIN)?"""
    return value > (now or datetime.now()) + FUTURE_MARGIN


FUTURE_NOTE = "in the future: the device's clock was probably set wrong"


def check_plausible(c: Candidate, now: datetime | None = None, *, keep_future: bool = False) -> Candidate:
    """Reject years before 1826; flag camera default dates; handle future dates.

    A future date is rejected unless `keep_future` (dates read from the file
    itself: a camera whose clock was set to 2038 still tells the order of its
    pictures, so the date is kept with a note and `choose_capture_time` uses it
    only when nothing better exists, at LOW confidence). Names, folders and
    typed dates pass `keep_future=False`: there a future date is a digit run or
    a typing error.
    """
    if c.value is None:
        return c
    if c.value.year < MIN_YEAR:
        c.accepted = False
        c.reason = f"rejected: {c.value.year} is before {MIN_YEAR}, the year of the first photograph"
    elif is_future(c.value, now):
        if keep_future:
            c.reason = FUTURE_NOTE
        else:
            c.accepted = False
            c.reason = f"rejected: {c.value.date().isoformat()} is in the future"
    elif c.value in CAMERA_DEFAULT_DATES and c.precision == Precision.SECOND:
        c.default_date = True
    return c


# ---------------------------------------------------------------------------
# The decision


@dataclass
class Decision:
    captured_at: datetime | None  # local wall clock, seconds precision
    utc_offset: int | None  # minutes; None when unknown
    precision: Precision | None
    source: str | None
    confidence: Confidence
    reasons: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    offset_assumed: bool = False  # the offset is the default zone's, not evidence


def resolve_zone(name: str | None) -> ZoneInfo | timezone:
    if not name or name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}") from e


def zone_offset_minutes(zone: ZoneInfo | timezone, utc_value: datetime) -> int:
    """The offset (minutes east of UTC) `zone` had at the naive UTC instant `utc_value`."""
    aware = utc_value.replace(tzinfo=timezone.utc).astimezone(zone)
    off = aware.utcoffset() or timedelta(0)
    return int(off.total_seconds() // 60)


def utc_to_local(utc_value: datetime, offset_minutes: int) -> datetime:
    """The wall clock of a naive UTC value at `offset_minutes` east of UTC.

    The one UTC → local step: offsets move UTC values only, never local ones
    (docs/capture-time.md §8).
    """
    return utc_value + timedelta(minutes=offset_minutes)


def _fmt(dt: datetime, precision: Precision) -> str:
    if precision == Precision.DAY:
        return dt.strftime("%Y-%m-%d")
    if precision == Precision.MONTH:
        return dt.strftime("%Y-%m")
    if precision == Precision.YEAR:
        return dt.strftime("%Y")
    if precision == Precision.DECADE:
        return f"{dt.year:04d}s"
    if precision == Precision.MINUTE:
        return dt.strftime("%Y-%m-%d %H:%M")
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def describe_delta(seconds: float) -> str:
    """'3 days 2 h', '1 h 12 min', '40 s' — for reasons people read."""
    s = int(round(abs(seconds)))
    days, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    mi, sec = divmod(rem, 60)
    parts: list[str] = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if h:
        parts.append(f"{h} h")
    if mi and days < 2:
        parts.append(f"{mi} min")
    if sec and not days and not h:
        parts.append(f"{sec} s")
    return " ".join(parts[:2]) or "0 s"


def _on_offset_grid(delta_seconds: float, tolerance: float) -> int | None:
    """If `delta_seconds` is a whole number of quarter hours (±tolerance)
    within 14 h, return it in minutes; else None."""
    quarter = OFFSET_GRID_MINUTES * 60
    k = round(delta_seconds / quarter)
    minutes = k * OFFSET_GRID_MINUTES
    # Civil time zones run from UTC-12:00 to UTC+14:00.
    if not MIN_OFFSET_MINUTES <= minutes <= MAX_OFFSET_MINUTES:
        return None
    if abs(delta_seconds - k * quarter) > tolerance:
        return None
    return minutes


@dataclass
class _Resolved:
    local: datetime
    offset: int | None
    offset_note: str = ""
    assumed: bool = False


def _instant(local: datetime, offset: int) -> datetime:
    return local - timedelta(minutes=offset)


def _tolerance(a: Candidate, b: Candidate) -> float:
    if a.source.startswith("gps:") or b.source.startswith("gps:"):
        return GPS_AGREE_SECONDS
    return AGREE_SECONDS


def _compare(w: Candidate, wr: _Resolved, c: Candidate, zone) -> tuple[bool, str]:
    """Does `c` agree with the winner? Returns (agrees, how, in words)."""
    assert c.value is not None and w.value is not None
    tol = _tolerance(w, c)
    coarse = c.precision if _PRECISION_RANK[c.precision] < _PRECISION_RANK[w.precision] else w.precision
    if coarse in _PARTIAL:
        if c.is_utc:
            off = wr.offset if wr.offset is not None else zone_offset_minutes(zone, c.value)
            c_local = utc_to_local(c.value, off)
        else:
            c_local = c.value
        if coarse == Precision.YEAR:
            same = c_local.year == wr.local.year
        elif coarse == Precision.MONTH:
            same = (c_local.year, c_local.month) == (wr.local.year, wr.local.month)
        else:
            same = c_local.date() == wr.local.date()
        return same, f"same {coarse.value}" if same else f"a different {coarse.value}"
    if coarse == Precision.MINUTE:
        tol = max(tol, 59)
    w_instant = w.value if w.is_utc else (_instant(wr.local, wr.offset) if wr.offset is not None else None)
    c_instant = c.value if c.is_utc else (_instant(c.value, c.utc_offset) if c.utc_offset is not None else None)
    if not c.is_utc and not w.is_utc:
        wall = (c.value - wr.local).total_seconds()
        if abs(wall) <= tol:
            return True, "same time"
        if w_instant is not None and c_instant is not None:
            delta = (c_instant - w_instant).total_seconds()
            if abs(delta) <= tol:
                return True, "same moment, written in another time zone"
        return False, _later(wall)
    if w_instant is not None and c_instant is not None:
        delta = (c_instant - w_instant).total_seconds()
        if abs(delta) <= tol:
            return True, "same moment"
        return False, _later(delta)
    # One side is UTC, the other local with no known offset: they agree when
    # they are a whole time-zone shift apart.
    if c.is_utc:
        delta = (wr.local - c.value).total_seconds()
    else:
        delta = (c.value - w.value).total_seconds()
    grid = _on_offset_grid(delta, tol)
    if grid is not None:
        return True, f"a whole time-zone shift ({format_offset(grid)}) between UTC and local time"
    return False, f"{describe_delta(delta)} apart, not a time-zone shift"


def _later(delta: float) -> str:
    return f"{describe_delta(delta)} {'later' if delta > 0 else 'earlier'}"


def choose_capture_time(
    candidates: list[Candidate],
    zone_name: str | None = "UTC",
    *,
    now: datetime | None = None,
) -> Decision:
    """Pick the capture time from `candidates` (see the module docstring)."""
    zone = resolve_zone(zone_name)
    zone_label = zone_name or "UTC"
    cands = [replace(c) for c in candidates]
    for c in cands:
        if c.value is not None and c.accepted:
            check_plausible(c, now, keep_future=True)
    reasons: list[str] = []

    usable = [c for c in cands if c.accepted and c.value is not None and c.info.family != "filesystem"]
    # Camera default dates and future dates lose to anything else that is usable.
    better = [c for c in usable if not c.default_date and not is_future(c.value, now)]
    if better:
        for c in usable:
            if c.default_date:
                c.accepted = False
                c.reason = "rejected: looks like a camera's default clock date, and a better source exists"
            elif is_future(c.value, now):
                c.accepted = False
                c.reason = f"rejected: {FUTURE_NOTE}, and a better source exists"
        usable = better

    if not usable:
        fs = [c for c in cands if c.info.family == "filesystem" and c.value is not None]
        if fs:
            reasons.append(
                "No capture date found. The file's modification time is shown but not used: it records when "
                "the file was last copied or saved, not when it was taken."
            )
        else:
            reasons.append("No capture date found in the file, its sidecars, its name or its folder.")
        _note_rejections(cands, reasons)
        return Decision(None, None, None, None, Confidence.NONE, reasons, cands)

    def rank(c: Candidate) -> tuple:
        return (c.forced, c.info.trust, _PRECISION_RANK[c.precision])

    ordered = sorted(usable, key=rank, reverse=True)
    winner = ordered[0]
    why = "forced by the [FORCE] marker in the file name" if winner.forced else "the most trusted source present"
    gps_confirms = False

    # GPS time is when the receiver got its fix, in UTC. When the file's only
    # other date is the camera's own clock (ModifyDate, which a camera writes
    # at the shutter) and the two are the same moment give or take a time-zone
    # shift, the camera's wall clock is the capture time and GPS confirms it.
    if winner.source.startswith("gps:") and not winner.forced:
        for c in ordered[1:]:
            if c.source in ("exif:ModifyDate", "xmp:ModifyDate") and not c.is_utc and c.precision == Precision.SECOND:
                if c.utc_offset is not None:
                    agrees = abs((_instant(c.value, c.utc_offset) - winner.value).total_seconds()) <= GPS_AGREE_SECONDS
                else:
                    agrees = _on_offset_grid((c.value - winner.value).total_seconds(), GPS_AGREE_SECONDS) is not None
                if agrees:
                    reasons.append(
                        f"{winner.info.label} records the GPS fix, not the shutter; {c.info.label} is the camera's "
                        f"own clock and the same moment, so it is the capture time."
                    )
                    winner, why, gps_confirms = c, "the camera's clock, confirmed by the GPS time", True
                    break

    # A day-precision winner is refined by a finer source that agrees on the day.
    if winner.precision in _PARTIAL and not winner.forced:
        for c in ordered[1:]:
            if c.info.trust < STRONG_TRUST or _PRECISION_RANK[c.precision] <= _PRECISION_RANK[winner.precision]:
                continue
            c_local = c.value
            if c.is_utc:
                c_local = utc_to_local(c.value, zone_offset_minutes(zone, c.value))
            if winner.precision == Precision.DAY:
                same = c_local.date() == winner.value.date()
            elif winner.precision == Precision.MONTH:
                same = (c_local.year, c_local.month) == (winner.value.year, winner.value.month)
            else:
                same = c_local.year == winner.value.year
            if same:
                reasons.append(
                    f"{winner.info.label} gives only the {winner.precision.value} ({_fmt(winner.value, winner.precision)}); "
                    f"{c.info.label} agrees and adds the time."
                )
                winner = c
                why = "it refines the most trusted source"
                break

    others = [c for c in usable if c is not winner]
    resolved = _resolve_local(winner, others, zone, zone_label)
    reasons.insert(
        0,
        f"{winner.info.label} ({_fmt(resolved.local, winner.precision)}) chosen: {why}.",
    )
    if resolved.offset_note:
        reasons.append(resolved.offset_note)

    agreeing_independent: list[Candidate] = []
    conflicts: list[tuple[Candidate, str]] = []
    for c in others:
        agrees, how = _compare(winner, resolved, c, zone)
        if agrees:
            if c.info.family != winner.info.family and c.info.trust >= STRONG_TRUST:
                agreeing_independent.append(c)
            reasons.append(f"{c.info.label} agrees ({how}).")
        elif c.info.can_contradict and not winner.forced:
            conflicts.append((c, how))
            reasons.append(f"{c.info.label} disagrees: {_fmt(c.value, c.precision)}, {how}.")
        else:
            kind = "an edit or copy time, not counted against" if c.info.can_contradict is False else "overridden"
            if c.source.startswith("gps:"):
                kind = "GPS clocks can be stale, not counted against"
            elif c.info.family == "folder":
                kind = "a folder date, not counted against"
            reasons.append(f"{c.info.label} differs ({how}) — {kind}.")

    strong = winner.info.trust >= STRONG_TRUST
    if winner.default_date:
        confidence = Confidence.LOW
        reasons.append("The date looks like a camera's default clock setting; check it.")
    elif is_future(winner.value, now):
        confidence = Confidence.LOW
        reasons.append(f"The date is {FUTURE_NOTE}; it is kept because nothing better dates the file. Check it.")
    elif winner.forced:
        confidence = Confidence.HIGH
    elif conflicts:
        confidence = Confidence.LOW
    elif gps_confirms:
        confidence = Confidence.MEDIUM
    elif not strong:
        confidence = Confidence.LOW
        reasons.append(f"{winner.info.label} is a weak source on its own.")
    elif agreeing_independent:
        confidence = Confidence.HIGH
    elif winner.info.embedded and winner.utc_offset is not None and not winner.is_utc:
        confidence = Confidence.HIGH
        reasons.append("The camera recorded its UTC offset with the time and nothing contradicts it.")
    else:
        confidence = Confidence.MEDIUM
    if winner.precision == Precision.DAY and confidence == Confidence.HIGH:
        confidence = Confidence.MEDIUM
    if winner.precision in (Precision.MONTH, Precision.YEAR) and confidence in (Confidence.HIGH, Confidence.MEDIUM):
        confidence = Confidence.LOW
    if winner.precision in _PARTIAL:
        reasons.append(f"Only the {winner.precision.value} is known; the time is set to 00:00:00.")

    _note_rejections(cands, reasons)
    reasons = [r[:1].upper() + r[1:] for r in reasons]
    return Decision(
        resolved.local.replace(microsecond=0),
        resolved.offset,
        winner.precision,
        winner.source,
        confidence,
        reasons,
        cands,
        resolved.assumed,
    )


def _resolve_local(w: Candidate, others: list[Candidate], zone, zone_label: str) -> _Resolved:
    if not w.is_utc:
        if w.utc_offset is not None:
            return _Resolved(w.value, w.utc_offset)
        # Same wall clock elsewhere with an explicit offset (e.g. XMP written
        # by Lightroom next to the camera's EXIF): adopt it — no shift, just
        # the offset label, so a local value is never moved (docs/capture-time.md §8).
        for c in sorted(others, key=lambda c: -c.info.trust):
            if (
                not c.is_utc
                and c.utc_offset is not None
                and c.precision in (Precision.SECOND, Precision.MINUTE)
                and abs((c.value - w.value).total_seconds()) <= AGREE_SECONDS
                and c.info.trust >= STRONG_TRUST
            ):
                return _Resolved(w.value, c.utc_offset, f"UTC offset {format_offset(c.utc_offset)} taken from {c.info.label}, which has the same wall-clock time.")
        # A UTC source (GPS, QuickTime header, Takeout) a whole number of
        # quarter hours away tells the offset.
        for c in sorted(others, key=lambda c: -c.info.trust):
            if c.is_utc and c.precision == Precision.SECOND and w.precision in (Precision.SECOND, Precision.MINUTE):
                delta = (w.value - c.value).total_seconds()
                grid = _on_offset_grid(delta, _tolerance(w, c))
                if grid is not None:
                    return _Resolved(w.value, grid, f"UTC offset {format_offset(grid)} inferred from {c.info.label} (UTC), which is a whole time-zone shift away.")
        return _Resolved(w.value, None)
    # A UTC value: learn the offset from a local candidate that agrees.
    for c in sorted(others, key=lambda c: -c.info.trust):
        if c.is_utc or c.info.trust < STRONG_TRUST or c.precision != Precision.SECOND:
            continue
        if c.utc_offset is not None:
            if abs((_instant(c.value, c.utc_offset) - w.value).total_seconds()) <= _tolerance(w, c):
                local = utc_to_local(w.value, c.utc_offset)
                return _Resolved(local, c.utc_offset, f"{w.info.label} is UTC; shown in local time with the offset {format_offset(c.utc_offset)} from {c.info.label}.")
            continue
        grid = _on_offset_grid((c.value - w.value).total_seconds(), _tolerance(w, c))
        if grid is not None:
            local = utc_to_local(w.value, grid)
            note = (
                f"{w.info.label} is UTC; {c.info.label} shows local time {format_offset(grid)} from it, so that offset is used."
                if grid
                else f"{w.info.label} should be UTC but {c.info.label} shows the same wall-clock time; the device probably wrote local time, so it is kept as is."
            )
            return _Resolved(local, grid, note)
    off = zone_offset_minutes(zone, w.value)
    local = utc_to_local(w.value, off)
    return _Resolved(
        local,
        off,
        f"{w.info.label} is stored in UTC ({_fmt(w.value, w.precision)}); converted to local time with the default "
        f"time zone {zone_label} ({format_offset(off)}) because no better offset is known.",
        assumed=True,
    )


def _note_rejections(cands: list[Candidate], reasons: list[str]) -> None:
    for c in cands:
        if not c.accepted and c.reason:
            shown = c.raw if c.raw is not None else (c.value.isoformat(sep=" ") if c.value else "")
            reasons.append(f"{c.info.label} {shown!r} {c.reason}.")
