"""The archive layout: where an exported file goes, from a template.

The one place that knows the output layout. A template is a relative path
with placeholders; the corrected, lower-case extension is always appended, so
the template cannot produce a file without one:

    {year}/{year}{month}{day}_{hour}{minute}{second}    → 2024/20241231_200000.jpg (the default)
    {year}/{year}-{month}/{year}{month}{day}_{hour}{minute}{second}
    {year}/{camera}/{year}{month}{day}_{hour}{minute}{second}

Dates are the local capture time (a photo taken at 20:00 on 31 December in
New York is 2024/20241231_200000.jpg, never the UTC date). Two files with the
same name and different content get "_2", "_3" from the exporter (usecases/export/).

A capture time known only to the day, month, year or decade (a folder date, a
scan a person dated "August 1987") is never given an invented time: when the
template asks for more than is known, `partial_name` names the file by one rule
(docs/capture-time.md, "Partial dates"):

    folders: the template's folders as long as all their date placeholders
             are known (a decade's {year} is "1990s"); the first that is not
             ends the path there;
    name:    YYYYMMDD with 00 for an unknown month or day, or "1990s" for a
             decade, then "-" and a number 001, 002 … (the exporter takes the
             first free one).

    day 1987-08-12   → 1987/19870812-001.jpg
    month 1987-08    → 1987/19870800-001.jpg
    year 1987        → 1987/19870000-001.jpg
    decade 1990s     → 1990s/1990s-001.jpg

In a folder the names sort by what is known: a year-only file before the
year's months, a month-only file before its days, a day-only file before that
day's timed files ("-" sorts before "_").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

DEFAULT_LAYOUT = "{year}/{year}{month}{day}_{hour}{minute}{second}"
TOKENS = {
    "year": "four-digit year, e.g. 2024",
    "month": "two-digit month, 01–12",
    "day": "two-digit day, 01–31",
    "hour": "two-digit hour, 00–23",
    "minute": "two-digit minute",
    "second": "two-digit second",
    "camera": "camera model, or 'unknown camera'",
}
_TOKEN_RE = re.compile(r"\{([^{}]*)\}")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f]')
MAX_LEN = 200
VALUE_MAX = 64  # bytes of UTF-8 a substituted value may take
PLACEHOLDER = "unknown"
PLACEHOLDERS = {"camera": "unknown camera"}  # what stands for an empty value, per token


class LayoutError(ValueError):
    """The template cannot be used; the message says why."""


@dataclass(frozen=True)
class Checked:
    template: str
    warnings: list[str]


def check(template: str) -> Checked:
    t = (template or "").strip()
    if not t:
        raise LayoutError("the layout cannot be empty")
    if len(t) > MAX_LEN:
        raise LayoutError(f"the layout is longer than {MAX_LEN} characters")
    if t.startswith("/") or "\\" in t:
        raise LayoutError("the layout is a path inside the output folder: no leading '/' and no '\\'")
    if _UNSAFE.search(t):
        raise LayoutError("the layout contains control characters")
    for seg in t.split("/"):
        if seg in ("", ".", ".."):
            raise LayoutError("folders in the layout cannot be empty, '.' or '..'")
    stray = _TOKEN_RE.sub("", t)
    if "{" in stray or "}" in stray:
        raise LayoutError("a '{' or '}' is not closed")
    unknown = sorted({m for m in _TOKEN_RE.findall(t) if m not in TOKENS})
    if unknown:
        raise LayoutError(f"unknown placeholder(s): {', '.join('{' + u + '}' for u in unknown)}; "
                          f"use {', '.join('{' + k + '}' for k in TOKENS)}")
    used = set(_TOKEN_RE.findall(t))
    warnings = []
    if not {"year", "month", "day"} <= used:
        warnings.append("Without {year}, {month} and {day} the file names do not say the date.")
    if not {"hour", "minute", "second"} <= used:
        warnings.append("Without {hour}{minute}{second} many files share a name and get numbered _2, _3….")
    return Checked(t, warnings)


def clean_value(value: str | None, placeholder: str = PLACEHOLDER) -> str:
    """A value read from a file (a camera model…) made safe to stand in a path: no '/' or '\\'
    (a value never adds a folder), no control characters, not '.' or '..', at most VALUE_MAX bytes
    of UTF-8 (a name stays well below the file system's 255), `placeholder` when nothing is left."""
    text = "" if value is None else str(value)
    text = _UNSAFE.sub("", text.replace("/", "-").replace("\\", "-"))
    text = text.encode("utf-8", "ignore")[:VALUE_MAX].decode("utf-8", "ignore").strip()
    return placeholder if text in ("", ".", "..") else text


def render(template: str, captured_at: datetime, extension: str, *, camera: str | None = None) -> str:
    """The relative archive path of a file (the extension without its dot).

    Every substituted value goes through clean_value, and the result is checked once more, so no
    value can climb out of the output folder (the exporter also checks the joined path)."""
    values = {
        "year": f"{captured_at.year:04d}", "month": f"{captured_at.month:02d}", "day": f"{captured_at.day:02d}",
        "hour": f"{captured_at.hour:02d}", "minute": f"{captured_at.minute:02d}",
        "second": f"{captured_at.second:02d}", "camera": camera,
    }
    path = _TOKEN_RE.sub(lambda m: clean_value(values[m.group(1)], PLACEHOLDERS.get(m.group(1), PLACEHOLDER)),
                         check(template).template)
    ext = clean_value(extension.lower().lstrip("."), "") if extension else ""
    rel = f"{path}.{ext}" if ext else path
    if any(seg in ("", ".", "..") for seg in rel.split("/")):  # cannot happen with clean values
        raise LayoutError(f"the layout gives an unsafe path: {rel!r}")
    return rel


# Date placeholders each partial precision knows (the time of day is never known).
_KNOWN = {"day": {"year", "month", "day"}, "month": {"year", "month"}, "year": {"year"}, "decade": {"year"}}
_DATE_TOKENS = {"year", "month", "day", "hour", "minute", "second"}


def partial_name(template: str, captured_at: datetime, precision: str | None, extension: str, n: int, *,
                 camera: str | None = None) -> str | None:
    """The archive path of a file whose time is known only to `precision` ("day", "month",
    "year", "decade"), numbered `n` (1, 2, …) — or None when the time is precise enough for
    `render`, or when `template` asks for nothing that is unknown (then `render` is exact)."""
    known = _KNOWN.get(precision or "")
    if known is None:
        return None
    t = check(template).template
    used = set(_TOKEN_RE.findall(t)) & _DATE_TOKENS
    if used <= known and precision != "decade":
        return None  # e.g. "{year}/{year}{month}{day}" for a day: nothing is invented
    y = captured_at.year
    year = f"{y - y % 10:04d}s" if precision == "decade" else f"{y:04d}"
    values = {"year": year, "month": f"{captured_at.month:02d}", "day": f"{captured_at.day:02d}", "camera": camera}
    folders = []
    for seg in t.split("/")[:-1]:
        if set(_TOKEN_RE.findall(seg)) & _DATE_TOKENS - known:
            break
        folders.append(_TOKEN_RE.sub(
            lambda m: clean_value(values[m.group(1)], PLACEHOLDERS.get(m.group(1), PLACEHOLDER)), seg))
    if precision == "decade":
        stem = year
    else:
        mm = values["month"] if "month" in known else "00"
        dd = values["day"] if "day" in known else "00"
        stem = f"{y:04d}{mm}{dd}"
    ext = clean_value(extension.lower().lstrip("."), "") if extension else ""
    name = f"{stem}-{n:03d}" + (f".{ext}" if ext else "")
    rel = "/".join([*folders, name])
    if any(seg in ("", ".", "..") for seg in rel.split("/")):  # cannot happen with clean values
        raise LayoutError(f"the layout gives an unsafe path: {rel!r}")
    return rel


EXAMPLE_TIME = datetime(2024, 12, 31, 20, 0, 0)


def example(template: str) -> str:
    return render(template, EXAMPLE_TIME, "jpg", camera="Pixel 7")
