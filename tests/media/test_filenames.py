"""File-name and folder dates: every pattern of the table with its examples."""
from __future__ import annotations

from datetime import datetime

import pytest

from mediaparser.media.filenames import PATTERNS, filename_candidates, folder_candidates, match_name
from mediaparser.media.timestamps import Confidence, Precision, choose_capture_time, make_candidate

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


# --- issue 10 item 4: the new spellings and their must-not-parse neighbours --------------

@pytest.mark.parametrize(
    "name",
    [
        "88-04-06 15-21-03.jpg",  # two-digit year 1988: no device wrote such names then
        "27-04-06 15-21-03.jpg",  # 2027 is in the future (NOW is 2026)
        "22-13-06 15-21-03.jpg",  # month 13
        "22-04-06 66-22-03.jpg",  # hour 66
        "22-04-06.jpg",  # a two-digit year without a time is too ambiguous
        "122-04-06 15-21-03.jpg",  # not a two-digit year
        "32.01.2015-19.20.00.jpg",  # day 32
        "19.20.00.jpg",  # a time alone
        "2023.02.29.jpg",  # not a leap year
        "IMG_2024.08-31_195517.jpg",  # mixed separators
        "IMG_2024.0831_195517.jpg",
        "2018012611475210000.jpg",  # 19 digits
        "Screenshot 2019_05-21 at 10.45.52.png",  # mixed separators
    ],
)
def test_neighbours_of_the_new_spellings_give_no_confident_date(name):
    assert not [c for c in filename_candidates(name, now=NOW) if c.accepted and c.source == "filename"]


@pytest.mark.parametrize(
    "name, day",
    [
        ("2020-01-30_25-57-18.jpg", datetime(2020, 1, 30)),  # hour 25
        ("2020-01-30_09-87-18-23.jpg", datetime(2020, 1, 30)),  # minute 87
        ("IMG_20170101_999999.jpg", datetime(2017, 1, 1)),  # _999999
        ("2024-01-01-240000.jpg", datetime(2024, 1, 1)),
        ("Screenshot 2019-05-21 at 25.45.52.png", datetime(2019, 5, 21)),
    ],
)
def test_an_impossible_time_leaves_only_a_weak_day(name, day):
    cands = filename_candidates(name, now=NOW)
    assert any(not c.accepted and "not a real date" in c.reason for c in cands)
    (c,) = [c for c in cands if c.accepted]
    assert (c.source, c.value, c.precision) == ("filename:weak", day, Precision.DAY)
    d = choose_capture_time(cands, "UTC", now=NOW)
    assert d.confidence == Confidence.LOW


def test_seven_digits_after_a_date_are_no_time_of_day():
    (c,) = [c for c in filename_candidates("2019-10-31 1557031.jpg", now=NOW) if c.accepted]
    assert (c.value, c.precision) == (datetime(2019, 10, 31), Precision.DAY)


def test_two_digit_years_take_the_century_that_is_not_in_the_future():
    def year(name):
        (c,) = [c for c in filename_candidates(name, now=NOW) if c.accepted]
        return c.value.year
    assert year("26-04-06 15-21-03.jpg") == 2026
    assert year("00-04-06 15-21-03.jpg") == 2000
    assert year("99-04-06 15-21-03.jpg") == 1999
    assert year("90-04-06 15-21-03.jpg") == 1990


def test_a_name_without_an_extension_keeps_its_seconds():
    (c,) = [c for c in filename_candidates("2020-11-01 02.31.02", now=NOW) if c.accepted]
    assert (c.value, c.precision) == (datetime(2020, 11, 1, 2, 31, 2), Precision.SECOND)


# --- issue 10 item 3: folder dates -------------------------------------------------------

@pytest.mark.parametrize(
    "folder, name, value, precision",
    [
        ("/p/2019/08/12", "IMG_0001.JPG", datetime(2019, 8, 12), Precision.DAY),
        ("/p/2019/8/3", "IMG_0001.JPG", datetime(2019, 8, 3), Precision.DAY),
        ("/p/2019/08", "12.jpg", datetime(2019, 8, 12), Precision.DAY),
        ("/p/2019/08/12 Birthday", "IMG_0001.JPG", datetime(2019, 8, 12), Precision.DAY),
        ("/p/2019-08-12", "IMG_0001.JPG", datetime(2019, 8, 12), Precision.DAY),
        ("/p/Trip 20190812", "IMG_0001.JPG", datetime(2019, 8, 12), Precision.DAY),
        ("/p/2019/08", "IMG_0001.JPG", datetime(2019, 8, 1), Precision.MONTH),
        ("/p/2019/08 - August", "IMG_0001.JPG", datetime(2019, 8, 1), Precision.MONTH),
        ("/p/2019-08", "IMG_0001.JPG", datetime(2019, 8, 1), Precision.MONTH),
        ("/p/2019/08/12", "14-30-25.jpg", datetime(2019, 8, 12, 14, 30, 25), Precision.SECOND),
        ("/p/2019/08/12", "143025.jpg", datetime(2019, 8, 12, 14, 30, 25), Precision.SECOND),
        ("/p/2019/2019-08-12", "143025.jpg", datetime(2019, 8, 12, 14, 30, 25), Precision.SECOND),
        ("/p/2018-04-12 19/24", "49.gif", datetime(2018, 4, 12, 19, 24, 49), Precision.SECOND),
        ("/p/2019", "IMG_0001.JPG", datetime(2019, 1, 1), Precision.YEAR),
        ("/p/2019 trip", "IMG_0001.JPG", datetime(2019, 1, 1), Precision.YEAR),
        ("/p/Photos from 2019", "IMG_0001.JPG", datetime(2019, 1, 1), Precision.YEAR),
        ("/p/2019/100CANON", "IMG_0001.JPG", datetime(2019, 1, 1), Precision.YEAR),
    ],
)
def test_folder_dates_keep_the_precision_the_folders_give(folder, name, value, precision):
    (c,) = folder_candidates(folder, "/p", now=NOW, name=name)
    assert (c.source, c.value, c.precision) == ("folder", value, precision)


@pytest.mark.parametrize(
    "folder, name",
    [
        ("/p/1000 photos", "IMG_0001.JPG"),  # not a year
        ("/p/100CANON", "IMG_0001.JPG"),  # a camera folder
        ("/p/DCIM/101MSDCF", "DSC00001.JPG"),
        ("/p/2019/21/05", "foo.jpg"),  # no month 21: only the year is left
        ("/p/Summer 2018 - 2019", "IMG_0001.JPG"),  # two years: which one?
        ("/p/2019/08/12", "IMG_0001.JPG"),
    ],
)
def test_folder_false_positives(folder, name):
    found = folder_candidates(folder, "/p", now=NOW, name=name)
    if folder.endswith("2019/08/12"):
        assert found[0].precision == Precision.DAY  # the control: the date folders do count
    elif folder.endswith("2019/21/05"):
        assert [(c.value, c.precision) for c in found] == [(datetime(2019, 1, 1), Precision.YEAR)]
    else:
        assert found == []


def test_a_folder_date_never_beats_the_files_own_metadata_and_never_contradicts_it():
    (folder,) = folder_candidates("/p/2019/08/12", "/p", now=NOW, name="14-30-25.jpg")
    exif = make_candidate("exif:DateTimeOriginal", "2017:03:04 10:11:12", now=NOW)
    d = choose_capture_time([folder, exif], "UTC", now=NOW)
    assert d.source == "exif:DateTimeOriginal" and d.confidence == Confidence.MEDIUM
    alone = choose_capture_time([folder], "UTC", now=NOW)
    assert alone.captured_at == datetime(2019, 8, 12, 14, 30, 25) and alone.confidence == Confidence.LOW
    (year,) = folder_candidates("/p/2019 trip", "/p", now=NOW, name="x.jpg")
    d = choose_capture_time([year], "UTC", now=NOW)
    assert (d.precision, d.confidence) == (Precision.YEAR, Confidence.LOW)


@pytest.mark.parametrize(
    "name, offset",
    [
        ("2024-01-01 12:34:56+02:00.jpg", 120),
        ("2024-01-01T12:34:56-0330.jpg", -210),
        ("20240101T123456Z.jpg", 0),
        ("2024-01-01 12:34:56.123+0200.jpg", 120),
        ("PHOTO-2024-07-02-15-15-31-0330.jpg", None),  # after a dashed time it is a copy counter
        ("2024-01-01 12:34:56.jpg", None),
    ],
)
def test_an_iso_offset_after_an_iso_time_in_the_name_is_kept_as_a_label(name, offset):
    (c,) = [c for c in filename_candidates(name, now=NOW) if c.accepted]
    assert c.source == "filename" and c.utc_offset == offset and not c.is_utc


@pytest.mark.parametrize("name", ["2024-01-01 12:34:56+24:00.jpg", "2024-01-01 12:34:56-02:60.jpg",
                                  "2024-01-01 12:34:56-2400.jpg"])
def test_an_impossible_offset_makes_the_name_a_weak_clue(name):
    (c,) = [c for c in filename_candidates(name, now=NOW) if c.accepted]
    assert c.source == "filename:weak" and c.utc_offset is None
