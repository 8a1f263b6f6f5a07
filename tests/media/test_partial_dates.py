"""Partial dates (issue 10 item 6): what a person may type, and the one archive-name rule."""
from __future__ import annotations

from datetime import datetime

import pytest

from mediaparser.media import layout
from mediaparser.media.dates import DateParseError, Precision, parse_date_string, parse_partial_date


@pytest.mark.parametrize("text, value, precision, noted", [
    ("1987", datetime(1987, 1, 1), Precision.YEAR, False),
    ("August 1987", datetime(1987, 8, 1), Precision.MONTH, False),
    ("aug. 1987", datetime(1987, 8, 1), Precision.MONTH, False),
    ("Sept 1987", datetime(1987, 9, 1), Precision.MONTH, False),
    ("08/1987", datetime(1987, 8, 1), Precision.MONTH, False),
    ("8.1987", datetime(1987, 8, 1), Precision.MONTH, False),
    ("summer 1987", datetime(1987, 1, 1), Precision.YEAR, True),  # a season keeps only its year
    ("Winter 1987", datetime(1987, 1, 1), Precision.YEAR, True),
    ("circa 1987", datetime(1987, 1, 1), Precision.YEAR, True),
    ("1990s", datetime(1990, 1, 1), Precision.DECADE, False),
    ("the 1990's", datetime(1990, 1, 1), Precision.DECADE, False),
    ("late 1980s", datetime(1980, 1, 1), Precision.DECADE, True),
])
def test_partial_forms_a_person_types(text, value, precision, noted):
    got = parse_partial_date(text)
    assert (got.parsed.value, got.parsed.precision, got.parsed.utc_offset) == (value, precision, None)
    assert bool(got.note) == noted


@pytest.mark.parametrize("text", ["1985s", "13/1987", "someday 1987", "1987 summer 1988", "0000", "87", "19870",
                                  "August", "summer"])
def test_not_partial_dates(text):
    with pytest.raises(DateParseError):
        parse_partial_date(text)


def test_the_readers_still_refuse_a_year_alone():
    """A bare year in a file's metadata is not a capture date; only a person's typed one is."""
    with pytest.raises(DateParseError):
        parse_date_string("1987")


D = datetime(1987, 8, 12)


@pytest.mark.parametrize("template, precision, when, expected", [
    (layout.DEFAULT_LAYOUT, "day", D, "1987/19870812-001.jpg"),
    (layout.DEFAULT_LAYOUT, "month", datetime(1987, 8, 1), "1987/19870800-001.jpg"),
    (layout.DEFAULT_LAYOUT, "year", datetime(1987, 1, 1), "1987/19870000-001.jpg"),
    (layout.DEFAULT_LAYOUT, "decade", datetime(1990, 1, 1), "1990s/1990s-001.jpg"),
    # Folders go as deep as what is known.
    ("{year}/{year}-{month}/{year}{month}{day}_{hour}{minute}{second}", "month", datetime(1987, 8, 1),
     "1987/1987-08/19870800-001.jpg"),
    ("{year}/{year}-{month}/{year}{month}{day}_{hour}{minute}{second}", "year", datetime(1987, 1, 1),
     "1987/19870000-001.jpg"),
    ("{year}/{camera}/{year}{month}{day}_{hour}{minute}{second}", "decade", datetime(1990, 1, 1),
     "1990s/Pixel 7/1990s-001.jpg"),
    # A template that asks for nothing unknown is rendered as it is.
    ("{year}/{year}{month}{day}", "day", D, None),
    (layout.DEFAULT_LAYOUT, "second", D, None),
    (layout.DEFAULT_LAYOUT, "minute", D, None),
])
def test_the_archive_name_of_a_partial_date(template, precision, when, expected):
    assert layout.partial_name(template, when, precision, "JPG", 1, camera="Pixel 7") == expected


def test_partial_names_sort_coarse_first_and_before_timed_files():
    names = [layout.partial_name(layout.DEFAULT_LAYOUT, datetime(1987, 8, 12), p, "jpg", 1) for p in
             ("day", "month", "year")] + [layout.render(layout.DEFAULT_LAYOUT, datetime(1987, 8, 12, 0, 0, 1), "jpg")]
    names.append(layout.partial_name(layout.DEFAULT_LAYOUT, datetime(1987, 8, 12), "day", "jpg", 2))
    assert sorted(names) == ["1987/19870000-001.jpg", "1987/19870800-001.jpg", "1987/19870812-001.jpg",
                             "1987/19870812-002.jpg", "1987/19870812_000001.jpg"]
