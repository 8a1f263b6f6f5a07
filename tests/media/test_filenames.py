"""File-name and folder dates: every pattern of the table with its examples."""
from __future__ import annotations

from datetime import datetime

import pytest

from mediaparser.media.filenames import PATTERNS, filename_candidates, folder_candidates, match_name
from mediaparser.media.timestamps import Precision

NOW = datetime(2026, 6, 1)
TABLE = [(p.name, example, expected) for p in PATTERNS for example, expected in p.examples]


def test_the_table_is_rich_enough():
    assert len(PATTERNS) >= 25
    assert all(p.examples for p in PATTERNS), "every pattern carries examples"
    names = [p.name for p in PATTERNS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("pattern, name, expected", TABLE, ids=[f"{p}:{n}" for p, n, _ in TABLE])
def test_every_example_matches_its_own_pattern_and_date(pattern, name, expected):
    matched = match_name(name)
    assert matched is not None, f"{name!r} was not recognised"
    assert matched[0].name == pattern, f"{name!r} was taken by {matched[0].name!r}, not {pattern!r}"
    accepted = [c for c in filename_candidates(name, now=NOW) if c.accepted]
    assert len(accepted) == 1
    assert accepted[0].value == datetime.fromisoformat(expected)
    assert accepted[0].precision == matched[0].precision


@pytest.mark.parametrize(
    "name, precision",
    [
        ("IMG-20190812-WA0003.jpg", Precision.DAY),
        ("2016-05-30(2).jpg", Precision.DAY),
        ("2019-08 Holiday.jpg", Precision.MONTH),
        ("Screenshot 2021-03-09 at 08.15.27.png", Precision.SECOND),
    ],
)
def test_precision_of_day_and_month_names(name, precision):
    (c,) = [c for c in filename_candidates(name, now=NOW) if c.accepted]
    assert c.precision == precision


def test_pixel_and_epoch_names_are_utc():
    (pxl,) = filename_candidates("PXL_20230704_183015123.jpg", now=NOW)
    (fb,) = filename_candidates("FB_IMG_1565620225000.jpg", now=NOW)
    assert pxl.is_utc and fb.is_utc
    (samsung,) = filename_candidates("20190812_143025.jpg", now=NOW)
    assert not samsung.is_utc


@pytest.mark.parametrize(
    "name",
    ["IMG_1234.JPG", "DSC01234.JPG", "DSCN0012.jpg", "Canon EOS 1000D.jpg", "6720px_white.jpg",
     "out-of-range-500.jpg", "image01551.jpg", "P1010001.JPG", "GOPR0042.MP4", "Issue 263 dotnet.heic",
     "iptc-2017.jpg", "photo (3).jpg", "12345678.jpg"],
)
def test_names_without_a_date_give_nothing(name):
    assert [c for c in filename_candidates(name, now=NOW) if c.accepted] == []


@pytest.mark.parametrize(
    "name",
    ["IMG_20191345_101112.jpg", "Screenshot_2019-02-30-10-11-12.png", "IMG-20191301-WA0001.jpg",
     "signal-2020-13-26-163832.jpg", "WhatsApp Image 2021-02-30 at 10.22.33.jpeg"],
)
def test_date_shaped_digit_runs_that_are_not_dates_are_rejected_with_a_reason(name):
    cands = filename_candidates(name, now=NOW)
    assert cands, "the rejection is kept for the examination view"
    assert not any(c.accepted for c in cands)
    assert all("not a real date" in c.reason or "not a plausible date" in c.reason for c in cands)


def test_an_impossible_time_after_a_real_date_falls_back_to_the_day():
    cands = filename_candidates("WhatsApp Image 2021-05-06 at 25.22.33.jpeg", now=NOW)
    assert not cands[0].accepted and "not a real date" in cands[0].reason
    (day,) = [c for c in cands if c.accepted]
    assert (day.value, day.precision) == (datetime(2021, 5, 6), Precision.DAY)


def test_force_marker_is_seen_and_stripped():
    (c,) = filename_candidates("IMG_20190812_143025 [FORCE].jpg", now=NOW)
    assert c.forced and c.value == datetime(2019, 8, 12, 14, 30, 25)


def test_tag_groups_do_not_disturb_the_date():
    (c,) = [c for c in filename_candidates("{beach,2018} IMG_20190812_143025.jpg", now=NOW) if c.accepted]
    assert c.value == datetime(2019, 8, 12, 14, 30, 25)


def test_folder_with_a_full_date_gives_a_day():
    (c,) = folder_candidates("/photos/2019/2019-08-12 Trip", "/photos", now=NOW)
    assert (c.value, c.precision, c.source) == (datetime(2019, 8, 12), Precision.DAY, "folder")


def test_year_and_month_folders_give_a_month():
    (c,) = folder_candidates("/photos/2019/08", "/photos", now=NOW)
    assert (c.value, c.precision) == (datetime(2019, 8, 1), Precision.MONTH)


def test_folders_above_the_import_root_are_not_evidence():
    assert folder_candidates("/backup-2021-05-01/photos/summer", "/backup-2021-05-01/photos", now=NOW) == []
    assert folder_candidates("/photos/Family", "/photos", now=NOW) == []
