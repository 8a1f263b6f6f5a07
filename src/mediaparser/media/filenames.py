"""Capture dates written in file names and folder paths.

Phones, cameras, messengers, screenshot tools and cloud uploads each spell the
date their own way; a single regex misses most of them (docs/capture-time.md §9).
`PATTERNS` is an ordered table — specific spellings first, generic ones last —
and every entry carries the examples that its test checks, so the table is
its own documentation.

A match that has the shape of a date but is not one (month 13, 30 February,
year 1700) becomes a *rejected* candidate with the reason, and the search goes
on. `[FORCE]` anywhere in the name makes the name's date win over everything
(the user's override). `{tag1,tag2}` groups are ignored here (they are tags).

Folder dates (`…/2019/2019-08-12 Trip/…` gives a day, `…/2019/08/…` a month)
come from `folder_candidates`; they are weak evidence, since people file
pictures by trip or by import, not by shutter.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from mediaparser.media.dates import parse_offset
from mediaparser.media.timestamps import Candidate, Precision, check_plausible

FORCE_MARKER = "[FORCE]"
_TAGS_RE = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class NamePattern:
    name: str
    regex: re.Pattern[str]
    precision: Precision
    examples: tuple[tuple[str, str], ...]  # (file name, expected "YYYY-MM-DD HH:MM:SS")
    is_utc: bool = False  # the name carries UTC (Pixel, epoch names)
    weak: bool = False  # generic spelling: evidence, but weak on its own


def _p(name: str, rx: str, precision: Precision, examples, *, is_utc: bool = False, weak: bool = False) -> NamePattern:
    return NamePattern(name, re.compile(rx, re.IGNORECASE), precision, tuple(examples), is_utc, weak)


S, D, M = Precision.SECOND, Precision.DAY, Precision.MONTH
_YMD = r"(?P<y>\d{4})(?P<mo>\d\d)(?P<d>\d\d)"
_HMS = r"(?P<h>\d\d)(?P<mi>\d\d)(?P<s>\d\d)"
_AMPM = r"(?:[\s\u202f]*(?P<ampm>[ap]\.?m\.?))?"

PATTERNS: tuple[NamePattern, ...] = (
    # Google Pixel names are in UTC (the phone's clock zone is not applied).
    _p("pixel", rf"^PXL_{_YMD}_{_HMS}\d{{0,3}}", S, [
        ("PXL_20230704_183015123.jpg", "2023-07-04 18:30:15"),
        ("PXL_20230704_183015123.MP.jpg", "2023-07-04 18:30:15"),
        ("PXL_20210101_000102345.NIGHT.mp4", "2021-01-01 00:01:02"),
    ], is_utc=True),
    _p("whatsapp-day", rf"^(?:IMG|VID|AUD|PTT|STK|DOC)-{_YMD}-WA\d+", D, [
        ("IMG-20190812-WA0003.jpg", "2019-08-12 00:00:00"),
        ("VID-20200101-WA0012.mp4", "2020-01-01 00:00:00"),
        ("IMG-20190812-WA0003 (1).jpeg", "2019-08-12 00:00:00"),
    ]),
    _p("whatsapp-named",
       r"^WhatsApp (?:Image|Video|Audio|GIF|Sticker) (?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d) at (?P<h>\d{1,2})[.:](?P<mi>\d\d)[.:](?P<s>\d\d)" + _AMPM, S, [
        ("WhatsApp Image 2021-05-06 at 14.22.33.jpeg", "2021-05-06 14:22:33"),
        ("WhatsApp Video 2020-12-24 at 9.05.01 PM.mp4", "2020-12-24 21:05:01"),
        ("WhatsApp Image 2021-05-06 at 14.22.33 (1).jpeg", "2021-05-06 14:22:33"),
        ("WhatsApp Image 2022-01-01 at 12.00.05 AM.jpeg", "2022-01-01 00:00:05"),
    ]),
    _p("macos-screenshot",
       r"^(?:Screenshot|Screen Shot|Screen Recording|Bildschirmfoto|Capture d.(?:é|e)cran|Schermafbeelding|Captura de pantalla)\s+"
       r"(?P<y>\d{4})(?P<sep>[-_])(?P<mo>\d\d)(?P=sep)(?P<d>\d\d)\s+(?:at|um|à|a las|a la\(s\)|om)\s+(?P<h>\d{1,2})[.:](?P<mi>\d\d)[.:](?P<s>\d\d)" + _AMPM, S, [
        ("Screenshot 2021-03-09 at 08.15.27.png", "2021-03-09 08:15:27"),
        ("Screenshot 2019_05_21 at 10.45.52.png", "2019-05-21 10:45:52"),
        ("Screen Shot 2019-03-09 at 8.15.27 PM.png", "2019-03-09 20:15:27"),
        ("Bildschirmfoto 2020-02-01 um 10.11.12.png", "2020-02-01 10:11:12"),
        ("Screen Recording 2022-01-02 at 10.11.12.mov", "2022-01-02 10:11:12"),
    ]),
    _p("android-screenshot",
       r"^Screenshot_(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)-(?P<h>\d\d)-(?P<mi>\d\d)-(?P<s>\d\d)", S, [
        ("Screenshot_2019-12-25-08-30-59.png", "2019-12-25 08:30:59"),
        ("Screenshot_2019-12-25-08-30-59-123_com.whatsapp.jpg", "2019-12-25 08:30:59"),
    ]),
    _p("android-screenshot-compact", rf"^Screenshot_{_YMD}-{_HMS}", S, [
        ("Screenshot_20190919-053857.png", "2019-09-19 05:38:57"),
        ("Screenshot_20190919-053857_Chrome.jpg", "2019-09-19 05:38:57"),
    ]),
    _p("gnome-screenshot",
       r"^Screenshot from (?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d) (?P<h>\d\d)-(?P<mi>\d\d)-(?P<s>\d\d)", S, [
        ("Screenshot from 2021-03-09 08-15-27.png", "2021-03-09 08:15:27"),
    ]),
    _p("windows-snip", rf"^Screenshot (?P<y>\d{{4}})-(?P<mo>\d\d)-(?P<d>\d\d) {_HMS}", S, [
        ("Screenshot 2023-04-05 101112.png", "2023-04-05 10:11:12"),
    ]),
    _p("signal",
       r"^signal-(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)-(?P<h>\d\d)-?(?P<mi>\d\d)-?(?P<s>\d\d)", S, [
        ("signal-2020-10-26-163832.jpg", "2020-10-26 16:38:32"),
        ("signal-2022-03-04-10-11-12-123.jpg", "2022-03-04 10:11:12"),
    ]),
    _p("telegram",
       r"^(?:telegram|photo|video|file)_(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)_(?P<h>\d\d)-(?P<mi>\d\d)-(?P<s>\d\d)", S, [
        ("telegram_2020-01-30_09-57-18.jpg", "2020-01-30 09:57:18"),
        ("photo_2021-05-06_14-22-33.jpg", "2021-05-06 14:22:33"),
        ("video_2021-05-06_14-22-33.mp4", "2021-05-06 14:22:33"),
    ]),
    _p("windows-camera", r"^WIN_" + _YMD + r"_(?P<h>\d\d)_(?P<mi>\d\d)_(?P<s>\d\d)", S, [
        ("WIN_20190812_14_30_25_Pro.jpg", "2019-08-12 14:30:25"),
    ]),
    # iOS screen recordings carry Unix seconds.
    _p("ios-screen-recording", r"^RPReplay_Final(?P<epoch>\d{10})(?!\d)", S, [
        ("RPReplay_Final1565620225.mp4", "2019-08-12 14:30:25"),
    ], is_utc=True),
    _p("phone-camera",
       rf"^(?:IMG|VID|PANO|MVIMG|BURST|PORTRAIT|TRIM|MOV|PHOTO|Camera|LRG|SAVE|PXL|Video)[_-]?{_YMD}[_-]{_HMS}", S, [
        ("IMG_20190812_143025.jpg", "2019-08-12 14:30:25"),
        ("VID_20190812_143025.mp4", "2019-08-12 14:30:25"),
        ("IMG_20190812_143025_HDR.jpg", "2019-08-12 14:30:25"),
        ("MVIMG_20190812_143025.jpg", "2019-08-12 14:30:25"),
        ("PANO_20190812_143025.jpg", "2019-08-12 14:30:25"),
        ("IMG_20190812_143025123.jpg", "2019-08-12 14:30:25"),
    ]),
    # Some Android galleries and exports: YYYYMMDDHHMMSS and 3-4 digits of the second.
    _p("compact-18", rf"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<mo>\d\d)(?P<d>\d\d){_HMS}\d{{3,4}}(?!\d)", S, [
        ("201801261147521000.jpg", "2018-01-26 11:47:52"),
        ("20190812143025123.jpg", "2019-08-12 14:30:25"),
    ]),
    _p("compact-14", rf"(?<!\d)(?P<y>(?:19|20)\d\d)(?P<mo>\d\d)(?P<d>\d\d){_HMS}(?!\d)", S, [
        ("20190812143025.jpg", "2019-08-12 14:30:25"),
        ("IMG20190812143025.jpg", "2019-08-12 14:30:25"),
        ("DJI_20230704183015_0001_D.JPG", "2023-07-04 18:30:15"),
    ]),
    # Facebook, Snapchat, many web downloads: Unix milliseconds.
    _p("epoch-ms", r"(?<!\d)(?P<ms>1\d{12})(?!\d)", S, [
        ("1565620225000.jpg", "2019-08-12 14:30:25"),
        ("FB_IMG_1565620225123.jpg", "2019-08-12 14:30:25"),
        ("received_1565620225000.jpeg", "2019-08-12 14:30:25"),
    ], is_utc=True),
    _p("dropbox-camera-upload",
       r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d) (?P<h>\d\d)\.(?P<mi>\d\d)\.(?P<s>\d\d)(?!\d)", S, [
        ("2019-08-12 14.30.25.jpg", "2019-08-12 14:30:25"),
        ("2019-08-12 14.30.25-1.jpg", "2019-08-12 14:30:25"),
    ]),
    _p("iso-date-underscore-time",
       r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)[ _](?P<h>\d\d)_(?P<mi>\d\d)_(?P<s>\d\d)(?!\d)", S, [
        ("2020-07-04 18_02_11.jpg", "2020-07-04 18:02:11"),
        ("2020-07-04_18_02_11.jpg", "2020-07-04 18:02:11"),
    ]),
    _p("all-underscores",
       r"(?<!\d)(?P<y>\d{4})_(?P<mo>\d\d)_(?P<d>\d\d)_(?P<h>\d\d)_(?P<mi>\d\d)_(?P<s>\d\d)(?!\d)", S, [
        ("2016_01_30_11_49_15.jpg", "2016-01-30 11:49:15"),
        ("Photo 2016_01_30_11_49_15.jpg", "2016-01-30 11:49:15"),
    ]),
    _p("iso-datetime",
       r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)[ _T-](?P<h>\d\d)[-:.h](?P<mi>\d\d)[-:.m](?P<s>\d\d)(?!\d)", S, [
        ("2019-08-12-14-30-25.jpg", "2019-08-12 14:30:25"),
        ("2019-08-12_14-30-25.jpg", "2019-08-12 14:30:25"),
        ("export 2019-08-12T14.30.25.jpg", "2019-08-12 14:30:25"),
    ]),
    # ISO 8601 basic form, from exporters and cameras that write it: 20240101T123456[Z|±hhmm].
    _p("iso-basic", rf"(?<!\d)(?P<y>(?:18|19|20)\d\d)(?P<mo>\d\d)(?P<d>\d\d)T{_HMS}(?!\d)", S, [
        ("20240101T123456.jpg", "2024-01-01 12:34:56"),
        ("20240101T123456Z.jpg", "2024-01-01 12:34:56"),
        ("VID_20240101T123456-0330.mp4", "2024-01-01 12:34:56"),
    ]),
    _p("iso-date-compact-time",
       rf"(?<!\d)(?P<y>\d{{4}})-(?P<mo>\d\d)-(?P<d>\d\d)[ _-]{_HMS}(?!\d)", S, [
        ("2019-10-31 155703.jpg", "2019-10-31 15:57:03"),
        ("2019-10-31_155703.mp4", "2019-10-31 15:57:03"),
    ]),
    # Nextcloud's and some cameras' two-digit years: yy-mm-dd hh-mm-ss. The
    # century is the one that does not put the date in the future: 00 up to
    # this year is 20xx, 90-99 is 19xx; anything between is refused, since no
    # device that names files this way existed before 1990.
    _p("two-digit-year",
       r"(?<![\d-])(?P<yy>\d\d)-(?P<mo>\d\d)-(?P<d>\d\d)[ _](?P<h>\d\d)-(?P<mi>\d\d)-(?P<s>\d\d)(?!\d)", S, [
        ("22-04-06 15-21-03 2160.jpg", "2022-04-06 15:21:03"),
        ("90-04-06 15-21-03.jpg", "1990-04-06 15:21:03"),
        ("05-04-06_15-21-03.jpg", "2005-04-06 15:21:03"),
    ]),
    _p("dotted-date-time",
       rf"(?<![\d.])(?P<y>(?:18|19|20)\d\d)\.(?P<mo>\d\d)\.(?P<d>\d\d)[ _-]{_HMS}(?!\d)", S, [
        ("IMG_2024.08.31_195517.jpg", "2024-08-31 19:55:17"),
    ]),
    # dd.mm.yyyy-hh.mm.ss: with dots the day comes first (European order).
    _p("european-datetime",
       r"(?<!\d)(?P<d>\d\d)\.(?P<mo>\d\d)\.(?P<y>(?:18|19|20)\d\d)[-_ ](?P<h>\d\d)\.(?P<mi>\d\d)\.(?P<s>\d\d)(?!\d)", S, [
        ("IMG_27.01.2015-19.20.00.jpg", "2015-01-27 19:20:00"),
        ("12.08.2019 14.30.25.jpg", "2019-08-12 14:30:25"),
    ]),
    # Samsung, scanners, exporters: YYYYMMDD_HHMMSS anywhere in the name.
    _p("compact-datetime",
       rf"(?<!\d)(?P<y>(?:18|19|20)\d\d)(?P<mo>\d\d)(?P<d>\d\d)[_\- ]{_HMS}", S, [
        ("20190812_143025.jpg", "2019-08-12 14:30:25"),
        ("scan_20090405_101112.jpg", "2009-04-05 10:11:12"),
        ("20190812-143025.jpg", "2019-08-12 14:30:25"),
        ("20190812_143025_001.jpg", "2019-08-12 14:30:25"),
    ]),
    _p("iso-date", r"(?<!\d)(?P<y>(?:18|19|20)\d\d)-(?P<mo>\d\d)-(?P<d>\d\d)(?![\d])", D, [
        ("2016-05-30(2).jpg", "2016-05-30 00:00:00"),
        ("2016-05-30.jpg", "2016-05-30 00:00:00"),
        ("2019-08-12 Birthday party.jpg", "2019-08-12 00:00:00"),
    ]),
    _p("underscore-date", r"(?<!\d)(?P<y>(?:18|19|20)\d\d)_(?P<mo>\d\d)_(?P<d>\d\d)(?!\d)", D, [
        ("2019_08_12.jpg", "2019-08-12 00:00:00"),
        ("Holiday_2019_08_12_beach.jpg", "2019-08-12 00:00:00"),
    ]),
    _p("dotted-date", r"(?<![\d.])(?P<y>(?:18|19|20)\d\d)\.(?P<mo>\d\d)\.(?P<d>\d\d)(?![\d.])", D, [
        ("2024.02.29.jpg", "2024-02-29 00:00:00"),
    ], weak=True),
    _p("european-date", r"(?<!\d)(?P<d>\d\d)\.(?P<mo>\d\d)\.(?P<y>(?:18|19|20)\d\d)(?!\d)", D, [
        ("12.08.2019 Urlaub.jpg", "2019-08-12 00:00:00"),
    ], weak=True),
    _p("compact-date", r"(?<![\d])(?P<y>(?:18|19|20)\d\d)(?P<mo>[01]\d)(?P<d>[0-3]\d)(?!\d)", D, [
        ("Scan 20090405.jpg", "2009-04-05 00:00:00"),
        ("IMG-20190812.jpg", "2019-08-12 00:00:00"),
    ], weak=True),
    _p("year-month", r"(?<![\d-])(?P<y>(?:18|19|20)\d\d)-(?P<mo>\d\d)(?![\d-])", M, [
        ("2019-08 Holiday.jpg", "2019-08-01 00:00:00"),
    ], weak=True),
)


def strip_extension(name: str) -> str:
    """The name without its extension. An extension has a letter: in
    `2020-11-01 02.31.02` the `.02` is the seconds, not a file type."""
    base, ext = os.path.splitext(name)
    return base if ext and len(ext) <= 6 and any(ch.isalpha() for ch in ext) else name


def has_force_marker(name: str) -> bool:
    return FORCE_MARKER in name


def _century(yy: int, now: datetime | None) -> int:
    """The year of a two-digit `yy`: never in the future, never before 1990."""
    this_year = (now or datetime.now()).year
    if 2000 + yy <= this_year:
        return 2000 + yy
    if yy >= 90:
        return 1900 + yy
    raise ValueError("a two-digit year that is neither 1990-1999 nor up to this year")


def _value_from_match(m: re.Match[str], now: datetime | None = None) -> datetime:
    """Build the datetime; raises ValueError when it is not a calendar date."""
    g = m.groupdict()
    if g.get("yy"):
        g["y"] = str(_century(int(g["yy"]), now))
    if g.get("ms"):
        return datetime.fromtimestamp(int(g["ms"]) / 1000, tz=timezone.utc).replace(tzinfo=None, microsecond=0)
    if g.get("epoch"):
        return datetime.fromtimestamp(int(g["epoch"]), tz=timezone.utc).replace(tzinfo=None)
    h = int(g["h"]) if g.get("h") else 0
    ampm = (g.get("ampm") or "").lower().replace(".", "")
    if ampm:
        if not 1 <= h <= 12:
            raise ValueError("hour out of range for a 12-hour clock")
        h = (h % 12) + (12 if ampm == "pm" else 0)
    return datetime(
        int(g["y"]), int(g["mo"]), int(g.get("d") or 1), h,
        int(g["mi"]) if g.get("mi") else 0, int(g["s"]) if g.get("s") else 0,
    )


def match_name(name: str, now: datetime | None = None) -> tuple[NamePattern, re.Match[str]] | None:
    """The first pattern that yields a real date from `name` (for tests/tools)."""
    stem = _clean(name)
    for pat in PATTERNS:
        m = pat.regex.search(stem)
        if m:
            try:
                _value_from_match(m, now)
            except (ValueError, OverflowError, OSError):
                continue
            return pat, m
    return None


def _clean(name: str) -> str:
    stem = strip_extension(os.path.basename(name))
    stem = stem.replace(FORCE_MARKER, " ")
    return _TAGS_RE.sub(" ", stem).strip()


# An ISO 8601 offset right after a time written the ISO way (colons, or the
# basic form with T): "2024-01-01 12:34:56+02:00", "20240101T123456Z".
_OFFSET_AFTER = re.compile(r"^(?:[.,]\d{1,6})?(?P<tz>[Zz]|[+-]\d\d(?::?\d\d)?)(?![\d:])")
_ISO_TIME = re.compile(r"(?:\d:\d\d:\d\d|\d[Tt]\d{6})$")


def _offset_after(stem: str, m: re.Match[str]) -> tuple[int | None, bool]:
    """(the UTC offset written after the match, whether an offset-shaped suffix is impossible).

    Only after an ISO-style time: after `15-15-31` a `-0330` is a copy counter."""
    if not _ISO_TIME.search(m.group(0)):
        return None, False
    om = _OFFSET_AFTER.match(stem[m.end():])
    if not om:
        return None, False
    tz = om.group("tz")
    if tz in ("Z", "z"):
        return 0, False
    offset = parse_offset(tz)
    return offset, offset is None


def filename_candidates(name: str, *, now: datetime | None = None) -> list[Candidate]:
    """Candidates from a file name: at most one accepted, plus rejections."""
    stem = _clean(name)
    forced = has_force_marker(name)
    if sum(ch.isdigit() for ch in stem) < 6:
        # Every pattern needs at least six digits (year and month); most
        # camera names (IMG_1234, DSC01234) stop here without 25 searches.
        return [Candidate("filename", None, None, Precision.SECOND, False, False,
                          "rejected: [FORCE] marker but no date in the name", name)] if forced else []
    out: list[Candidate] = []
    rejected_spans: list[tuple[int, int]] = []

    def overlaps(m: re.Match[str]) -> bool:
        return any(m.start() < end and start < m.end() for start, end in rejected_spans)

    for pat in PATTERNS:
        m = pat.regex.search(stem)
        if not m:
            continue
        raw = m.group(0)
        try:
            value = _value_from_match(m, now)
        except (ValueError, OverflowError, OSError):
            if not overlaps(m):
                out.append(Candidate(
                    "filename", None, None, pat.precision, pat.is_utc, False,
                    f"rejected: the digits in the name ({pat.name} pattern) are not a real date", raw,
                ))
            rejected_spans.append(m.span())
            continue
        # A date found inside digits that a more specific pattern read as an
        # impossible date and time (hour 25, minute 87, `_999999`) is only a
        # weak clue: the name is not the tidy date-and-time it looks like.
        weak = pat.weak or overlaps(m)
        note = ", the rest of the name is not a real time" if weak and not pat.weak else ""
        offset, bad_offset = _offset_after(stem, m)
        if bad_offset:
            weak, note = True, ", followed by an impossible UTC offset"
        c = Candidate(
            "filename:weak" if weak else "filename", value, offset, pat.precision, pat.is_utc,
            True, f"{pat.name} pattern" + note + (", forced" if forced else ""), raw, forced,
        )
        check_plausible(c, now)
        if not c.accepted:
            # A shape that looks like a date but lands outside the plausible
            # years is a digit run, not a date; keep looking.
            c.reason = f"rejected: the digits in the name ({pat.name} pattern) are not a plausible date"
            if not overlaps(m):
                out.append(c)
            rejected_spans.append(m.span())
            continue
        out.append(c)
        return out
    if forced and out:
        # [FORCE] without a usable date: nothing to force; say so.
        out.append(Candidate("filename", None, None, Precision.SECOND, False, False,
                             "rejected: [FORCE] marker but no date in the name", name))
    return out


_FOLDER_DAY = re.compile(r"(?<!\d)(?P<y>(?:18|19|20)\d\d)[-_. ]?(?P<mo>[01]\d)[-_. ]?(?P<d>[0-3]\d)(?!\d)")
_FOLDER_MONTH = re.compile(r"^(?P<y>(?:18|19|20)\d\d)[-_. ](?P<mo>[01]\d)(?!\d)")
_YEAR = re.compile(r"^(?:18|19|20)\d\d$")
# A month folder below a year folder: "8", "08", "08 - August", "08_Summer"
# (not "100CANON" or "1000 photos": the number must end where the name does or
# at a separator).
_MONTH_DIR = re.compile(r"^(?P<mo>0?[1-9]|1[0-2])(?:$|[-_ .].*)$")
# A day folder (or a file named by its day) below year and month folders:
# "3", "18", "18 iPhone", "21.jpeg"'s stem "21".
_DAY_DIR = re.compile(r"^(?P<d>0?[1-9]|[12]\d|3[01])(?:$|[-_ ].*)$")
# A date and time split over folders and the name, as some exports write it:
# 2019/08/12/14-30-25.jpg, 2019/2019-08-12/143025.jpg, 2018-04-12 19/24/49.gif.
_SPLIT_TIME = re.compile(
    r"(?<!\d)(?P<y>(?:18|19|20)\d\d)[-/](?P<mo>\d\d)[-/](?P<d>\d\d)[ _/-]"
    r"(?P<h>\d\d)[-:._/]?(?P<mi>\d\d)[-:._/]?(?P<s>\d\d)$"
)
_TIME_ONLY = re.compile(r"^[\d\-_.: ]+$")


def _folder_parts(dir_path: str, root: str | None) -> list[str]:
    path = os.path.normpath(dir_path)
    if root:
        root_n = os.path.normpath(root)
        if os.path.isfile(root_n):
            root_n = os.path.dirname(root_n)
        rel = os.path.relpath(path, root_n)
        if rel.startswith(".."):
            rel = path
        return [p for p in rel.split(os.sep) if p and p != "."]
    return [p for p in path.split(os.sep) if p]


def _folder(value: datetime, precision: Precision, reason: str, raw: str, now: datetime | None) -> list[Candidate]:
    c = Candidate("folder", value, None, precision, False, True, reason, raw)
    c = check_plausible(c, now)
    return [c] if c.accepted else []


def folder_candidates(dir_path: str, root: str | None = None, *, now: datetime | None = None,
                      name: str | None = None) -> list[Candidate]:
    """A date from the folder path below `root` (and the file's `name` where the
    folders carry the rest of it).

    Folder dates are weak evidence (people file pictures by trip or by import),
    so they come at the precision the folders give — a day (`2019/08/12/`,
    `2019/8/12/`, `2019/08/12.jpg`, `2019/08/12 Party/`, `2019-08-12/`,
    `Trip 20190812/`) or a month (`2019/08/`, `2019-08/`) — and never beat a
    date from the file itself. The deepest folder that dates the file wins.
    A time split over folders and a name that is only a time
    (`2019/08/12/14-30-25.jpg`) is read to the second, still as a folder date.
    A year alone (`2019`, `2019 trip`, `Photos from 2019`) gives a year.
    """
    parts = _folder_parts(dir_path, root)
    stem = strip_extension(os.path.basename(name)) if name else None
    if stem and _TIME_ONLY.match(stem) and parts:
        tail = "/".join(parts[-3:] + [stem])
        m = _SPLIT_TIME.search(tail)
        if m and "/" in m.group(0):
            try:
                value = _value_from_match(m, now)
            except ValueError:
                value = None
            if value is not None:
                found = _folder(value, Precision.SECOND, f"date in the folders, time in the name {m.group(0)!r}",
                                m.group(0), now)
                if found:
                    return found
    # Deepest first: the stem when it is a bare day number, then each folder.
    levels = parts + ([stem] if stem and stem.isdigit() and _DAY_DIR.match(stem) else [])
    for i in range(len(levels) - 1, -1, -1):
        part = levels[i]
        is_stem = i >= len(parts)
        if not is_stem:
            clean = _TAGS_RE.sub(" ", part)
            m = _FOLDER_DAY.search(clean)
            if m:
                try:
                    value = datetime(int(m["y"]), int(m["mo"]), int(m["d"]))
                except ValueError:
                    value = None
                if value is not None:
                    found = _folder(value, Precision.DAY, f"folder {part!r}", part, now)
                    if found:
                        return found
        # year / month / day
        if i >= 2 and _YEAR.match(levels[i - 2]):
            mm, dd = _MONTH_DIR.match(levels[i - 1]), _DAY_DIR.match(part)
            if mm and dd:
                raw = "/".join(levels[i - 2:i + 1])
                try:
                    value = datetime(int(levels[i - 2]), int(mm["mo"]), int(dd["d"]))
                except ValueError:
                    value = None
                if value is not None:
                    found = _folder(value, Precision.DAY, f"folders {raw!r}", raw, now)
                    if found:
                        return found
        if is_stem:
            continue
        m = _FOLDER_MONTH.match(part)
        if m and 1 <= int(m["mo"]) <= 12:
            found = _folder(datetime(int(m["y"]), int(m["mo"]), 1), Precision.MONTH, f"folder {part!r}", part, now)
            if found:
                return found
        if i > 0 and _YEAR.match(parts[i - 1]):
            mm = _MONTH_DIR.match(part)
            if mm:
                raw = f"{parts[i - 1]}/{part}"
                found = _folder(datetime(int(parts[i - 1]), int(mm["mo"]), 1), Precision.MONTH, f"folders {raw!r}", raw, now)
                if found:
                    return found
    # A year alone: a folder whose only number is a year ("2019", "2019 trip",
    # "Photos from 2019" as Google Takeout names them). Year precision.
    for part in reversed(parts):
        runs = re.findall(r"\d+", _TAGS_RE.sub(" ", part))
        if len(runs) == 1 and _YEAR.match(runs[0]):
            found = _folder(datetime(int(runs[0]), 1, 1), Precision.YEAR, f"folder {part!r} (the year only)", part, now)
            if found:
                return found
    return []
