"""The one date parser of the project: raw date strings in, a wall-clock time with its offset and precision out.

Every reader (EXIF, XMP, IPTC, video containers, sidecars, file and folder
names) hands its raw text to `parse_date_string`, so a date means the same
wherever it was found: EXIF's `2019:08:12 14:30:25`, ISO dates with a `T`,
XMP dates without seconds (`2011-06-14T15:47+02:00`), RFC 2822 dates, offsets
written as `+0200`, `+02:00` or `Z` (docs/capture-time.md §6). Choosing among
the dates found is media/timestamps.py's job.
"""
from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

MAX_OFFSET_MINUTES = 14 * 60
MIN_OFFSET_MINUTES = -12 * 60


class Precision(str, Enum):
    SECOND = "second"
    MINUTE = "minute"
    DAY = "day"
    MONTH = "month"
    YEAR = "year"  # a folder named for a year; never from the parser (a year alone is no date string)



# ---------------------------------------------------------------------------
# The one date-string parser


class DateParseError(ValueError):
    """The string is not a usable date; the message says why, for the UI."""


@dataclass(frozen=True)
class ParsedDate:
    value: datetime  # naive wall clock, seconds precision (sub-seconds dropped)
    utc_offset: int | None  # minutes east of UTC, when the string carries one
    precision: Precision


_DATE_RE = re.compile(
    r"""^(?P<y>\d{4})(?:[:\-/.](?P<mo>\d{1,2})(?:[:\-/.](?P<d>\d{1,2})
        (?:(?:[T\s]+|\s*[Tt]?)(?P<h>\d{1,2}):(?P<mi>\d{2})
           (?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?)?)?)?
        \s*(?P<tz>Z|z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?$""",
    re.VERBOSE,
)
# 'Mon Mar 10 15:04:43 2003' (C ctime, used by AVI IDIT chunks)
_CTIME_RE = re.compile(
    r"^(?:[A-Za-z]{3}\s+)?(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+(?P<h>\d{1,2}):(?P<mi>\d{2}):(?P<s>\d{2})\s+(?P<y>\d{4})$"
)
_MONTHS = {m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_BLANK_CHARS = set("0:-/. T")


def parse_offset(text: str | None) -> int | None:
    """'+02:00', '-0530', '+02', 'Z' -> minutes; None for None/blank/invalid."""
    if text is None:
        return None
    t = text.strip()
    if not t:
        return None
    if t.upper() in ("Z", "UTC", "GMT"):
        return 0
    m = re.fullmatch(r"([+-])(\d{1,2})(?::?(\d{2}))?", t)
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    if minutes > MAX_OFFSET_MINUTES or int(m.group(3) or 0) >= 60:
        return None
    return -minutes if m.group(1) == "-" else minutes


def format_offset(minutes: int | None) -> str | None:
    if minutes is None:
        return None
    sign = "-" if minutes < 0 else "+"
    m = abs(minutes)
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


def parse_date_string(raw: str | bytes | None) -> ParsedDate:
    """Parse any date spelling the readers meet into a `ParsedDate`.

    Accepts EXIF 'YYYY:MM:DD HH:MM:SS', ISO 8601 with 'T' or a space, with or
    without seconds (docs/capture-time.md §6), with fractions, with 'Z'/'+HH:MM'/
    '+HHMM' offsets, date-only and year-month values, and the ctime spelling
    of AVI files. Raises `DateParseError` with a plain reason otherwise.
    """
    if raw is None:
        raise DateParseError("empty date")
    if isinstance(raw, bytes):
        raw = raw.decode("latin-1")
    text = raw.replace("\x00", "").strip()
    if not text or set(text) <= _BLANK_CHARS:
        raise DateParseError("blank or zero date")
    m = _DATE_RE.match(text)
    if m:
        y = int(m.group("y"))
        mo = int(m.group("mo")) if m.group("mo") else None
        d = int(m.group("d")) if m.group("d") else None
        if y == 0 or mo == 0 or d == 0:
            raise DateParseError("blank or zero date")
        if mo is None:
            raise DateParseError("a year alone is not a capture date")
        h = int(m.group("h")) if m.group("h") else None
        mi = int(m.group("mi")) if m.group("mi") else 0
        s = int(m.group("s")) if m.group("s") else 0
        if d is None:
            precision, d, h = Precision.MONTH, 1, 0
        elif h is None:
            precision, h = Precision.DAY, 0
        elif m.group("s") is None:
            precision = Precision.MINUTE
        else:
            precision = Precision.SECOND
        try:
            value = datetime(y, mo, d, h, mi, s)
        except ValueError:
            raise DateParseError("not a real calendar date") from None
        offset = parse_offset(m.group("tz")) if m.group("tz") else None
        return ParsedDate(value, offset, precision)
    m = _CTIME_RE.match(text)
    if m and m.group("mon").lower() in _MONTHS:
        try:
            value = datetime(
                int(m.group("y")), _MONTHS[m.group("mon").lower()], int(m.group("d")),
                int(m.group("h")), int(m.group("mi")), int(m.group("s")),
            )
        except ValueError:
            raise DateParseError("not a real calendar date") from None
        return ParsedDate(value, None, Precision.SECOND)
    if "," in text or text[:3].isalpha():
        # RFC 1123/2822 ('Tue, 16 Jun 2009 14:57:56 GMT'), which the PNG
        # specification recommends for the 'Creation Time' text chunk.
        try:
            dt = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            dt = None
        if dt is not None:
            off = dt.utcoffset()
            minutes = int(off.total_seconds() // 60) if off is not None else None
            return ParsedDate(dt.replace(tzinfo=None, microsecond=0), minutes, Precision.SECOND)
    raise DateParseError(f"unrecognised date {text[:40]!r}")
