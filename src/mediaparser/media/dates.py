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
    YEAR = "year"  # a folder named for a year, or a person; never from the parser (a year alone is no date string)
    DECADE = "decade"  # only a person (`parse_partial_date`); stored as its first year: 1990 for "the 1990s"


# Precisions without a time of day: the value's unknown parts are the earliest ones
# (midnight, the 1st, January, the decade's first year) and stand for nothing.
PARTIAL = frozenset({Precision.DAY, Precision.MONTH, Precision.YEAR, Precision.DECADE})



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


# ---------------------------------------------------------------------------
# Partial dates a person types ("August 1987", "1987", "summer 1987", "1990s")

_MONTH_WORDS = {name: i for i, names in enumerate(
    [("jan", "january", "januar", "janvier"), ("feb", "february", "februar", "février"),
     ("mar", "march", "märz", "mars"), ("apr", "april", "avril"), ("may", "mai"), ("jun", "june", "juni", "juin"),
     ("jul", "july", "juli", "juillet"), ("aug", "august", "août"), ("sep", "sept", "september", "septembre"),
     ("oct", "october", "okt", "oktober", "octobre"), ("nov", "november", "novembre"),
     ("dec", "december", "dez", "dezember", "décembre")], 1) for name in names}
_SEASONS = ("spring", "summer", "autumn", "fall", "winter")
_ROUGHLY = ("early", "mid", "late", "circa", "ca", "c", "about", "around")
_PARTIAL_RE = re.compile(
    r"""^(?:(?P<word>[a-zäéû]+)\.?[\s-]+)?                # a month, a season, or early/mid/late/circa
        (?:(?P<mo>\d{1,2})[./-])?                       # 08/1987, 8.1987
        (?:the\s+)?(?P<y>\d{4})(?P<s>'?s)?$              # 1987, 1990s, the 1990's
    """, re.VERBOSE | re.IGNORECASE)


@dataclass(frozen=True)
class PartialDate:
    parsed: ParsedDate
    note: str | None  # what was not kept, for the person who typed it


def parse_partial_date(raw: str) -> PartialDate:
    """A date a person typed that names only a month, a year, a season or a decade.

    - "August 1987", "Aug 1987", "08/1987" -> month precision (1987-08-01);
    - "1987" -> year precision (1987-01-01);
    - "summer 1987", "early 1987", "circa 1987" -> year precision with a note:
      a season spans several months (and is another half of the year south of
      the equator), so only the year is kept and the note says so;
    - "1990s", "the 1990's", "late 1980s" -> decade precision, stored as its
      first year (1990-01-01);
    - "2019-08" and full dates are `parse_date_string`'s.

    Raises `DateParseError` for anything else. The stored value's unknown
    parts are the earliest (docs/capture-time.md, "Partial dates").
    """
    text = " ".join((raw or "").split()).strip().rstrip(".")
    m = _PARTIAL_RE.match(re.sub(r"^the\s+", "", text, flags=re.IGNORECASE))
    if not m:
        raise DateParseError(f"unrecognised date {text[:40]!r}")
    word = (m.group("word") or "").lower()
    y = int(m.group("y"))
    if y == 0:
        raise DateParseError("blank or zero date")
    if m.group("s"):
        if m.group("mo") or (word and word not in _ROUGHLY) or y % 10:
            raise DateParseError("a decade is written like 1990s")
        note = f"Only the decade is kept (the {y}s), not “{word}”; what you typed stays in the change's note." \
            if word else None
        return PartialDate(ParsedDate(datetime(y, 1, 1), None, Precision.DECADE), note)
    if m.group("mo"):
        if word:
            raise DateParseError(f"unrecognised date {text[:40]!r}")
        mo = int(m.group("mo"))
        if not 1 <= mo <= 12:
            raise DateParseError("not a real calendar date")
        return PartialDate(ParsedDate(datetime(y, mo, 1), None, Precision.MONTH), None)
    if word in _MONTH_WORDS:
        return PartialDate(ParsedDate(datetime(y, _MONTH_WORDS[word], 1), None, Precision.MONTH), None)
    if word in _SEASONS:
        return PartialDate(ParsedDate(datetime(y, 1, 1), None, Precision.YEAR),
                           f"A season is not a month (and is another half of the year south of the equator): "
                           f"only the year {y} is kept; what you typed stays in the change's note.")
    if word in _ROUGHLY:
        return PartialDate(ParsedDate(datetime(y, 1, 1), None, Precision.YEAR),
                           f"Only the year {y} is kept, not “{word}”; what you typed stays in the change's note.")
    if word:
        raise DateParseError(f"unrecognised date {text[:40]!r}")
    return PartialDate(ParsedDate(datetime(y, 1, 1), None, Precision.YEAR), None)

