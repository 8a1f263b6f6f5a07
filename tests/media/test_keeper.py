"""The recommended keeper, its reasons, and what keeping it carries over."""
from __future__ import annotations

from datetime import datetime

import pytest

from mediaparser.media.keeper import (MemberMetadata, QualityFacts, carry_over, format_rank, normalize_format, recommend_keeper)
from mediaparser.media.timestamps import Candidate, Precision

T = datetime(2021, 6, 5, 14, 30, 0)


def facts(id, w, h, fmt="jpeg", size=1_000_000, **kw) -> QualityFacts:
    return QualityFacts(id=id, width=w, height=h, format=fmt, size_bytes=size, **kw)


# --- the keeper ----------------------------------------------------------------------------


def test_the_example_of_the_issue_word_for_word():
    keeper = facts(1, 4032, 3024, "heic", 2_100_000, has_capture_time=True, capture_time=T)
    jpeg_copy = facts(2, 4032, 3024, "jpeg", 3_400_000, capture_time=T)
    small = facts(3, 1600, 1200, "jpeg", 400_000, has_capture_time=True, capture_time=T)
    r = recommend_keeper([jpeg_copy, small, keeper])
    assert r.keeper == 1
    assert r.ranking == (1, 2, 3)
    assert r.reason_text == ("highest resolution (4032x3024, 12.2 MP against 1600x1200); "
                             "original HEIC rather than a JPEG conversion; carries the capture time")


def test_resolution_comes_first_and_is_never_traded_for_bytes_format_or_metadata():
    big_jpeg = facts(1, 4000, 3000, "jpeg", 900_000)
    rich_heic = facts(2, 2000, 1500, "heic", 9_000_000, has_capture_time=True, has_gps=True, make="Apple",
                      model="iPhone 12", capture_time=T)
    r = recommend_keeper([rich_heic, big_jpeg])
    assert r.keeper == 1
    assert r.reasons == ("highest resolution (4000x3000, 12.0 MP against 2000x1500)",)
    # What the keeper lacks is said, so a person can decide otherwise.
    assert any("HEIC" in n for n in r.notes) and any("GPS" in n for n in r.notes)
    assert any("capture time" in n for n in r.notes) and any("Apple iPhone 12" in n for n in r.notes)


def test_a_few_rows_less_is_the_same_resolution_so_the_format_decides():
    original = facts(1, 4032, 3024, "heic", 1_500_000)
    export = facts(2, 4032, 3016, "jpeg", 4_000_000)  # 0.3 % fewer pixels, bigger file
    r = recommend_keeper([export, original])
    assert r.keeper == 1 and r.reasons == ("original HEIC rather than a JPEG conversion",)
    assert [m.resolution_tier for m in r.members] == [0, 0]


@pytest.mark.parametrize("better,worse", [("dng", "heic"), ("nef", "jpeg"), ("heic", "jpeg"), ("jpeg", "png"),
                                          ("png", "webp"), ("webp", "gif"), ("tiff", "png")])
def test_format_preference(better, worse):
    assert format_rank(better) > format_rank(worse)
    r = recommend_keeper([facts(1, 800, 600, worse), facts(2, 800, 600, better)])
    assert r.keeper == 2


def test_raw_original_wording():
    r = recommend_keeper([facts(1, 6000, 4000, "jpeg"), facts(2, 6000, 4000, "NEF")])
    assert r.keeper == 2 and r.reasons == ("RAW original (NEF) rather than a JPEG conversion",)


def test_format_names_are_normalised():
    assert [normalize_format(f) for f in ("JPG", ".jpeg", "image/jpeg", "TIF", "HEIC", None)] == \
        ["jpeg", "jpeg", "jpeg", "tiff", "heic", None]


def test_metadata_richness_decides_between_equal_pictures():
    bare = facts(1, 3000, 2000, size=2_000_000)
    rich = facts(2, 3000, 2000, size=1_900_000, has_capture_time=True, has_gps=True, make="Canon",
                 model="Canon EOS 80D")
    r = recommend_keeper([bare, rich])
    assert r.keeper == 2
    assert r.reasons == ("carries the capture time", "has the GPS position", "names the camera (Canon EOS 80D)")
    assert [m.metadata_facts for m in r.members] == [3, 0]


def test_bytes_decide_last_and_say_so():
    r = recommend_keeper([facts(1, 3000, 2000, size=1_200_000), facts(2, 3000, 2000, size=2_500_000)])
    assert r.keeper == 2
    assert r.reasons == ("largest file (2.5 MB against 1.2 MB): the least compressed",)


def test_bit_depth_after_format():
    r = recommend_keeper([facts(1, 3000, 2000, "tiff", bit_depth=8, size=9_000_000),
                          facts(2, 3000, 2000, "tiff", bit_depth=16, size=5_000_000)])
    assert r.keeper == 2 and r.reasons == ("16-bit rather than 8-bit",)


def test_earliest_dated_breaks_ties_and_is_reported_per_member():
    later = facts(1, 100, 100, capture_time=datetime(2021, 6, 5, 15, 0))
    earlier = facts(2, 100, 100, capture_time=T)
    undated = facts(3, 100, 100)
    r = recommend_keeper([later, undated, earlier])
    assert r.ranking == (2, 1, 3) and r.reasons == ("earliest capture time",)
    assert [(m.id, m.earliest_dated) for m in r.members] == [(2, True), (1, False), (3, False)]


def test_equivalent_copies_keep_the_first_one():
    r = recommend_keeper([facts(7, 100, 100), facts(3, 100, 100)])
    assert r.keeper == 3 and r.reasons == ("the copies are equivalent; kept the first one imported",)


def test_unknown_resolution_ranks_last_and_single_member_groups():
    r = recommend_keeper([QualityFacts(1, format="jpeg"), facts(2, 10, 10, "gif")])
    assert r.keeper == 2
    assert recommend_keeper([facts(1, 10, 10)]).reasons == ("the only copy",)
    with pytest.raises(ValueError):
        recommend_keeper([facts(1, 10, 10), facts(1, 20, 20)])
    with pytest.raises(ValueError):
        recommend_keeper([])


def test_megapixels_and_camera_name():
    f = facts(1, 4032, 3024, make="Canon", model="Canon EOS 5D")
    assert f.megapixels == 12.2 and f.camera == "Canon EOS 5D"
    assert facts(2, 1, 1, make="Apple", model="iPhone 12").camera == "Apple iPhone 12"


# --- carrying over -------------------------------------------------------------------------


def cand(source, value, precision=Precision.SECOND, offset=None, accepted=True) -> dict:
    return Candidate(source, value, utc_offset=offset, precision=precision, accepted=accepted).to_dict()


def test_tags_of_all_members_end_on_the_keeper():
    r = carry_over(MemberMetadata(1, frozenset({"holiday"})),
                   [MemberMetadata(2, frozenset({"holiday", "beach"})), MemberMetadata(3, frozenset({"2019"}))])
    assert r.tags == {"holiday", "beach", "2019"} and r.tags_added == {"beach", "2019"}
    # Tags differing only in case are one: the keeper's spelling stays, none is added.
    r = carry_over(MemberMetadata(1, frozenset({"Holiday"})), [MemberMetadata(2, frozenset({"holiday", "Beach"}))])
    assert r.tags == {"Holiday", "Beach"} and r.tags_added == {"Beach"}


def test_a_better_capture_time_is_carried_over_with_its_origin():
    keeper = MemberMetadata(1, candidates=(cand("filesystem:mtime", datetime(2023, 1, 9, 8, 0)),))
    copy = MemberMetadata(2, candidates=(cand("exif:DateTimeOriginal", T, offset=120),
                                         cand("filesystem:mtime", datetime(2022, 1, 1))))
    r = carry_over(keeper, [copy])
    assert [(c["source"], c["value"], c["utc_offset"], c["carried_from"]) for c in r.candidates_added] == [
        ("exif:DateTimeOriginal", "2021-06-05T14:30:00", "+02:00", 2)]


def test_weaker_or_equal_candidates_stay_where_they_are():
    keeper = MemberMetadata(1, candidates=(cand("exif:DateTimeOriginal", T, offset=120),))
    copy = MemberMetadata(2, candidates=(cand("exif:DateTimeOriginal", T),  # no offset: weaker
                                         cand("filename", datetime(2021, 6, 5, 14, 31)),
                                         cand("exif:DateTimeOriginal", T, offset=120)))  # the same one
    assert carry_over(keeper, [copy]).candidates_added == ()


def test_a_known_offset_makes_an_otherwise_equal_candidate_better():
    keeper = MemberMetadata(1, candidates=(cand("exif:DateTimeOriginal", T),))
    copy = MemberMetadata(2, candidates=(cand("exif:DateTimeOriginal", T, offset=-300),))
    assert [c["utc_offset"] for c in carry_over(keeper, [copy]).candidates_added] == ["-05:00"]


def test_rejected_candidates_are_never_carried_and_duplicates_come_once():
    keeper = MemberMetadata(1)
    a = MemberMetadata(2, candidates=(cand("exif:DateTimeOriginal", datetime(2000, 1, 1), accepted=False),
                                      cand("takeout-json:photoTakenTime", T)))
    b = MemberMetadata(3, candidates=(cand("takeout-json:photoTakenTime", T),))
    r = carry_over(keeper, [a, b])
    assert [(c["source"], c["carried_from"]) for c in r.candidates_added] == [("takeout-json:photoTakenTime", 2)]


def test_the_keeper_itself_among_the_others_is_ignored():
    keeper = MemberMetadata(1, frozenset({"x"}), (cand("filename", T),))
    r = carry_over(keeper, [keeper, MemberMetadata(2)])
    assert r.tags == {"x"} and r.tags_added == frozenset() and r.candidates_added == ()
