"""The capture-time rules: parsing, rejection, ranking, agreement, confidence."""
from __future__ import annotations

from datetime import datetime

import pytest

from mediaparser.media.timestamps import (Candidate, Confidence, DateParseError, Precision, check_plausible, choose_capture_time, make_candidate,
                                          parse_date_string)

NOW = datetime(2026, 6, 1, 12, 0, 0)


def cand(source: str, raw: str, **kw) -> Candidate:
    return make_candidate(source, raw, now=NOW, **kw)


def choose(*cands: Candidate, zone: str = "UTC"):
    return choose_capture_time(list(cands), zone, now=NOW)


# --- the one parser -------------------------------------------------------

@pytest.mark.parametrize(
    "raw, value, offset, precision",
    [
        ("2019:08:12 14:30:25", datetime(2019, 8, 12, 14, 30, 25), None, Precision.SECOND),
        ("2019-08-12T14:30:25", datetime(2019, 8, 12, 14, 30, 25), None, Precision.SECOND),
        ("2019-08-12 14:30:25", datetime(2019, 8, 12, 14, 30, 25), None, Precision.SECOND),
        ("2019-08-12T14:30:25.123+02:00", datetime(2019, 8, 12, 14, 30, 25), 120, Precision.SECOND),
        ("2019-08-12T14:30:25Z", datetime(2019, 8, 12, 14, 30, 25), 0, Precision.SECOND),
        ("2011-06-14T15:47+02:00", datetime(2011, 6, 14, 15, 47), 120, Precision.MINUTE),
        ("2023-09-22T18:34:05+0200", datetime(2023, 9, 22, 18, 34, 5), 120, Precision.SECOND),
        ("2015-06-29T18:19:12-05:30", datetime(2015, 6, 29, 18, 19, 12), -330, Precision.SECOND),
        ("2019:08:12 14:30", datetime(2019, 8, 12, 14, 30), None, Precision.MINUTE),
        ("2003-08-31", datetime(2003, 8, 31), None, Precision.DAY),
        ("2003:08:31", datetime(2003, 8, 31), None, Precision.DAY),
        ("2019-08", datetime(2019, 8, 1), None, Precision.MONTH),
        ("Mon Mar 10 15:04:43 2003", datetime(2003, 3, 10, 15, 4, 43), None, Precision.SECOND),
        ("Tue, 16 Jun 2009 14:57:56 GMT", datetime(2009, 6, 16, 14, 57, 56), 0, Precision.SECOND),
        ("Tue, 16 Jun 2009 14:57:56 +0200", datetime(2009, 6, 16, 14, 57, 56), 120, Precision.SECOND),
        ("2019:08:12 14:30:25\x00\x00", datetime(2019, 8, 12, 14, 30, 25), None, Precision.SECOND),
    ],
)
def test_parser_reads_every_spelling(raw, value, offset, precision):
    p = parse_date_string(raw)
    assert (p.value, p.utc_offset, p.precision) == (value, offset, precision)


@pytest.mark.parametrize(
    "raw, why",
    [
        ("0000:00:00 00:00:00", "blank or zero"),
        ("    :  :     :  :  ", "blank or zero"),
        ("", "blank or zero"),
        ("2019:00:12 10:00:00", "blank or zero"),
        ("2019:02:30 10:00:00", "calendar"),
        ("2019:13:01 10:00:00", "calendar"),
        ("2019:08:12 25:00:00", "calendar"),
        ("yesterday", "unrecognised"),
    ],
)
def test_parser_rejects_with_a_reason(raw, why):
    with pytest.raises(DateParseError, match=why):
        parse_date_string(raw)


# --- rejection ------------------------------------------------------------

def test_impossible_values_are_kept_as_rejected_candidates():
    zero = cand("exif:DateTimeOriginal", "0000:00:00 00:00:00")
    old = cand("exif:CreateDate", "1801:01:01 00:00:00")
    future = cand("xmp:CreateDate", "2031-01-01T00:00:00")
    good = cand("exif:ModifyDate", "2019:08:12 14:30:25")
    d = choose(zero, old, future, good)
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert d.source == "exif:ModifyDate"
    by_source = {c.source: c for c in d.candidates}
    assert not by_source["exif:DateTimeOriginal"].accepted and "zero" in by_source["exif:DateTimeOriginal"].reason
    assert not by_source["exif:CreateDate"].accepted and "1826" in by_source["exif:CreateDate"].reason
    assert not by_source["xmp:CreateDate"].accepted and "future" in by_source["xmp:CreateDate"].reason
    assert any("rejected" in r for r in d.reasons)


def test_a_camera_clock_set_to_2038_is_kept_at_low_confidence_with_the_reason():
    # Issue 10 item 2: the date is the only one the file has; dropping it would
    # leave the file undated, keeping it at LOW sends it to a person with the reason.
    d = choose(cand("exif:DateTimeOriginal", "2038:01:19 03:14:07"), cand("exif:ModifyDate", "2038:01:19 03:14:07"))
    assert d.captured_at == datetime(2038, 1, 19, 3, 14, 7)
    assert d.source == "exif:DateTimeOriginal"
    assert d.confidence == Confidence.LOW
    assert any("in the future" in r for r in d.reasons)


def test_a_future_date_is_in_the_future_from_tomorrow_on_not_from_next_year():
    future = cand("exif:DateTimeOriginal", "2026:06:03 10:00:00")  # NOW is 2026-06-01 12:00
    assert future.accepted and "in the future" in future.reason
    assert choose(future).confidence == Confidence.LOW
    today = choose(cand("exif:DateTimeOriginal", "2026:06:01 10:00:00"))
    assert today.confidence == Confidence.MEDIUM and not any("future" in r for r in today.reasons)


def test_a_future_date_loses_to_any_other_usable_date():
    d = choose(cand("exif:DateTimeOriginal", "2038:01:19 03:14:07"),
               Candidate("filename", datetime(2019, 8, 12, 14, 30, 25)))
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    (dto,) = [c for c in d.candidates if c.source == "exif:DateTimeOriginal"]
    assert not dto.accepted and "in the future" in dto.reason


def test_a_future_date_in_a_name_or_typed_by_a_person_is_still_rejected():
    c = check_plausible(Candidate("filename", datetime(2038, 1, 19)), NOW)
    assert not c.accepted and "in the future" in c.reason


def test_old_scans_are_not_dropped_by_a_minimum_year():
    d = choose(cand("exif:DateTimeOriginal", "1932:05:01 10:00:00"))
    assert d.captured_at == datetime(1932, 5, 1, 10, 0, 0)


def test_camera_default_date_loses_to_a_better_candidate():
    default = cand("exif:DateTimeOriginal", "2000:01:01 00:00:00")
    name = Candidate("filename", datetime(2019, 8, 12, 14, 30, 25))
    d = choose(default, name)
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert not [c for c in d.candidates if c.source == "exif:DateTimeOriginal"][0].accepted


def test_camera_default_date_alone_is_kept_but_low():
    d = choose(cand("exif:DateTimeOriginal", "2000:01:01 00:00:00"))
    assert d.captured_at == datetime(2000, 1, 1)
    assert d.confidence == Confidence.LOW


# --- ranking --------------------------------------------------------------

def test_trust_beats_earliest_modify_and_create_dates_lose():
    # docs/capture-time.md §1-§3: earlier CreateDate/ModifyDate must not beat DateTimeOriginal.
    d = choose(
        cand("exif:ModifyDate", "2019:08:01 09:00:00"),
        cand("exif:CreateDate", "2019:08:02 09:00:00"),
        cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
    )
    assert d.source == "exif:DateTimeOriginal"
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)


def test_xmp_capture_date_beats_edit_time_when_exif_has_none():
    d = choose(cand("exif:ModifyDate", "2015:06:29 18:19:12"), cand("xmp:CreateDate", "2015-06-29T18:15:36+01:00"))
    assert d.source == "xmp:CreateDate"
    assert d.captured_at == datetime(2015, 6, 29, 18, 15, 36)
    assert d.utc_offset == 60


def test_trust_decides_before_precision_a_known_day_beats_a_later_edit_time_to_the_second():
    # docs/capture-time.md §1 and §7: a scan whose day of capture is known (IPTC DateCreated, no time) and
    # that software saved years later (ModifyDate, to the second). The finer value is the edit.
    d = choose(cand("iptc:DateCreated", "2003-08-31"), cand("exif:ModifyDate", "2015:06:29 18:19:12"))
    assert d.source == "iptc:DateCreated"
    assert (d.captured_at, d.precision) == (datetime(2003, 8, 31), Precision.DAY)


def test_trust_decides_before_precision_a_messenger_name_day_beats_a_stale_gps_clock():
    # A WhatsApp name carries the day only; a GPS date/time (UTC, to the second) from a stale fix
    # days earlier is the last resort (docs/capture-time.md §5), not a better answer for being precise.
    name = Candidate("filename", datetime(2021, 5, 6), precision=Precision.DAY)
    gps = Candidate("gps:DateTime", datetime(2021, 5, 3, 9, 0, 0), is_utc=True)
    d = choose(name, gps)
    assert d.source == "filename"
    assert (d.captured_at, d.precision) == (datetime(2021, 5, 6), Precision.DAY)


def test_force_marker_beats_everything():
    forced = Candidate("filename", datetime(1999, 12, 31, 23, 59, 0), forced=True)
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"), forced)
    assert d.captured_at == datetime(1999, 12, 31, 23, 59, 0)
    assert d.confidence == Confidence.HIGH
    assert "FORCE" in d.reasons[0]


# --- confidence ------------------------------------------------------------

def test_single_strong_source_is_medium():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"))
    assert d.confidence == Confidence.MEDIUM


def test_independent_agreement_is_high():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
               Candidate("filename", datetime(2019, 8, 12, 14, 30, 26)))
    assert d.confidence == Confidence.HIGH
    assert any("file name agrees" in r for r in d.reasons)


def test_strong_source_with_its_own_offset_is_high():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25", utc_offset=120))
    assert d.confidence == Confidence.HIGH
    assert d.utc_offset == 120


def test_conflict_is_low_and_the_reason_says_by_how_much():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
               Candidate("filename", datetime(2019, 8, 15, 16, 30, 25)))
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert d.confidence == Confidence.LOW
    assert any("disagrees" in r and "3 days 2 h later" in r for r in d.reasons)


def test_a_second_tag_of_the_same_camera_is_not_an_independent_witness():
    # CreateDate is written by the same device as DateTimeOriginal: agreeing proves little.
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"), cand("exif:CreateDate", "2019:08:12 14:30:25"))
    assert d.confidence == Confidence.MEDIUM
    # A folder is independent but weak: it agrees on the day, and does not raise the confidence either.
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
               Candidate("folder", datetime(2019, 8, 12), precision=Precision.DAY))
    assert d.confidence == Confidence.MEDIUM


def test_a_name_minutes_away_from_the_camera_time_is_a_conflict():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
               Candidate("filename", datetime(2019, 8, 12, 14, 35, 25)))
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert d.confidence == Confidence.LOW
    assert any("disagrees" in r and "5 min later" in r for r in d.reasons)


def test_edit_time_disagreement_is_noted_but_not_a_conflict():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"), cand("exif:ModifyDate", "2020:01:01 10:00:00"))
    assert d.confidence == Confidence.MEDIUM
    assert any("ModifyDate differs" in r for r in d.reasons)


def test_weak_only_is_low():
    d = choose(cand("exif:ModifyDate", "2019:08:12 14:30:25"))
    assert d.confidence == Confidence.LOW


def test_filesystem_time_alone_gives_no_capture_time():
    fs = Candidate("filesystem:mtime", datetime(2024, 1, 5, 10, 0, 0), is_utc=True)
    d = choose(fs)
    assert d.captured_at is None
    assert d.confidence == Confidence.NONE
    assert any("modification time" in r for r in d.reasons)
    assert d.candidates[0].source == "filesystem:mtime"


def test_nothing_is_none():
    d = choose()
    assert (d.captured_at, d.confidence) == (None, Confidence.NONE)


# --- UTC and local ----------------------------------------------------------

def test_utc_only_video_time_is_converted_with_the_default_zone_and_says_so():
    d = choose(cand("quicktime:CreateDate", "2024-12-31T01:00:00", is_utc=True), zone="America/New_York")
    # 01:00 UTC on 1 Jan is 20:00 on 31 Dec in New York: the archive name must use that.
    assert d.captured_at == datetime(2024, 12, 30, 20, 0, 0)
    assert d.utc_offset == -300
    assert d.offset_assumed
    assert any("default time zone America/New_York" in r for r in d.reasons)


def test_utc_and_local_sources_a_whole_zone_apart_agree():
    d = choose(cand("quicktime:Keys:CreationDate", "2019-08-12T14:30:25+0200"),
               cand("quicktime:CreateDate", "2019-08-12T12:30:25", is_utc=True))
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert d.utc_offset == 120
    assert d.confidence == Confidence.HIGH


def test_utc_winner_takes_its_offset_from_an_agreeing_local_source():
    d = choose(Candidate("takeout-json:photoTakenTime", datetime(2019, 8, 12, 12, 30, 25), is_utc=True),
               Candidate("filename", datetime(2019, 8, 12, 14, 30, 25)), zone="America/New_York")
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert d.utc_offset == 120
    assert not d.offset_assumed
    assert d.confidence == Confidence.HIGH


def test_gps_infers_the_offset_of_a_local_time():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
               Candidate("gps:DateTime", datetime(2019, 8, 12, 12, 30, 16), is_utc=True))
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)  # the local wall clock is kept
    assert d.utc_offset == 120
    assert d.confidence == Confidence.HIGH


def test_a_gps_fix_seconds_from_the_camera_modify_date_gives_the_camera_time():
    # Issue 10 item 2: a HEIF with only IFD0 ModifyDate and a GPS time 2 s apart. GPS
    # stamps the fix (UTC), the camera its own wall clock at the shutter.
    modify = cand("exif:ModifyDate", "2021:07:04 18:30:15")
    gps = Candidate("gps:DateTime", datetime(2021, 7, 4, 16, 30, 13), is_utc=True)
    d = choose(modify, gps, zone="America/New_York")
    assert d.source == "exif:ModifyDate"
    assert d.captured_at == datetime(2021, 7, 4, 18, 30, 15)
    assert d.utc_offset == 120  # the shift between the two is the zone
    assert d.confidence == Confidence.MEDIUM
    assert any("GPS fix" in r for r in d.reasons)
    same_zone = choose(cand("exif:ModifyDate", "2021:07:04 18:30:15"),
                       Candidate("gps:DateTime", datetime(2021, 7, 4, 18, 30, 13), is_utc=True), zone="America/New_York")
    assert (same_zone.source, same_zone.captured_at) == ("exif:ModifyDate", datetime(2021, 7, 4, 18, 30, 15))


def test_a_modify_date_that_is_no_zone_shift_from_the_gps_time_is_an_edit_and_gps_stays():
    # Saved again three days later: ModifyDate is the edit, the GPS fix is the better clue.
    d = choose(cand("exif:ModifyDate", "2021:07:07 09:12:44"),
               Candidate("gps:DateTime", datetime(2021, 7, 4, 16, 30, 13), is_utc=True))
    assert d.source == "gps:DateTime"
    assert d.captured_at == datetime(2021, 7, 4, 16, 30, 13)


@pytest.mark.parametrize("gps", [
    datetime(2019, 8, 12, 7, 23, 25),  # 7 h 07 min: not on the quarter-hour grid
    datetime(2019, 8, 13, 5, 30, 25),  # 15 h: beyond any zone
    datetime(2019, 8, 13, 3, 30, 25),  # UTC-13:00 does not exist
    datetime(2019, 8, 11, 23, 30, 25),  # +15 h
])
def test_gps_off_the_quarter_hour_grid_or_beyond_14h_gives_no_offset(gps):
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"), Candidate("gps:DateTime", gps, is_utc=True))
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert d.utc_offset is None
    assert d.confidence == Confidence.MEDIUM  # a stale GPS clock is not a conflict


def test_an_offset_never_shifts_a_local_value():
    # docs/capture-time.md §8: the offset is a label on local time, not something to add.
    d = choose(cand("exif:DateTimeOriginal", "2012:07:14 16:30:12", utc_offset=180))
    assert d.captured_at == datetime(2012, 7, 14, 16, 30, 12)


def test_offset_adopted_from_same_wall_clock_in_xmp():
    d = choose(cand("exif:DateTimeOriginal", "2010:12:12 12:41:35"),
               cand("xmp:exif:DateTimeOriginal", "2010-12-12T12:41:35.00+01:00"))
    assert d.captured_at == datetime(2010, 12, 12, 12, 41, 35)
    assert d.utc_offset == 60


def test_xmp_z_suffix_is_an_offset_not_a_conversion():
    d = choose(cand("xmp:CreateDate", "2009-06-16T14:57:56Z"), zone="Europe/Berlin")
    assert d.captured_at == datetime(2009, 6, 16, 14, 57, 56)
    assert d.utc_offset == 0


# --- precision ----------------------------------------------------------------

def test_day_precision_alone_gives_midnight_and_at_most_medium():
    d = choose(Candidate("filename", datetime(2019, 8, 12), precision=Precision.DAY),
               Candidate("folder", datetime(2019, 8, 12), precision=Precision.DAY))
    assert d.captured_at == datetime(2019, 8, 12, 0, 0, 0)
    assert d.precision == Precision.DAY
    assert d.confidence == Confidence.MEDIUM


def test_a_day_winner_is_at_most_medium_even_when_an_independent_source_agrees():
    d = choose(cand("iptc:DateCreated", "2003-08-31"), Candidate("filename", datetime(2003, 8, 31), precision=Precision.DAY))
    assert (d.source, d.precision) == ("iptc:DateCreated", Precision.DAY)
    assert any("file name agrees (same day)" in r for r in d.reasons)
    assert d.confidence == Confidence.MEDIUM


def test_day_precision_agrees_with_a_second_precision_source_on_the_same_day():
    d = choose(cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
               Candidate("filename", datetime(2019, 8, 12), precision=Precision.DAY))
    assert d.confidence == Confidence.HIGH
    assert any("same day" in r for r in d.reasons)


def test_a_finer_source_on_the_same_day_refines_a_day_winner():
    d = choose(cand("xmp:photoshop:DateCreated", "2019-08-12"), cand("xmp:CreateDate", "2019-08-12T14:30:25"))
    assert d.captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert d.precision == Precision.SECOND


def test_candidate_dict_is_json_shaped():
    c = cand("exif:DateTimeOriginal", "2019:08:12 14:30:25", utc_offset=-330)
    assert c.to_dict() == {
        "source": "exif:DateTimeOriginal", "value": "2019-08-12T14:30:25", "utc_offset": "-05:30",
        "precision": "second", "basis": "local", "accepted": True, "reason": None, "raw": "2019:08:12 14:30:25",
        "forced": False, "default_date": False,
    }


def test_candidates_round_trip_through_json_and_decide_the_same():
    import json

    cands = [
        cand("exif:DateTimeOriginal", "2019:08:12 14:30:25"),
        cand("gps:DateTime", "2019:08:12 12:30:20", is_utc=True),
        cand("exif:CreateDate", "0000:00:00 00:00:00"),
        Candidate("filename", datetime(2019, 8, 12), precision=Precision.DAY),
    ]
    again = [Candidate.from_dict(json.loads(json.dumps(c.to_dict()))) for c in cands]
    a, b = choose(*cands), choose(*again)
    assert (a.captured_at, a.utc_offset, a.confidence, a.source) == (b.captured_at, b.utc_offset, b.confidence, b.source)
    assert a.reasons == b.reasons
