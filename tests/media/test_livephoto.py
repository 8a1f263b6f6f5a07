"""Live Photos and Motion Photos: the facts the analysis reads (media/livephoto.py,
metadata.py, video.py) and the live_stacks detector (media/stacking.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mediaparser.media.analyze import analyze_file
from mediaparser.media.livephoto import apple_makernote_ids, motion_tail
from mediaparser.media.stacking import LIVE, RAW_JPEG, Stack, StackFacts, find_stacks, live_stacks

from tests.support import media as gen

T = datetime(2019, 8, 12, 14, 30, 25)
CID = "3F8E4C1A-2B7D-4E39-9A61-0C5D7E2F8B14"
BURST = "A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF"


def test_the_apple_maker_note_gives_content_identifier_and_burst_uuid():
    assert apple_makernote_ids(gen.apple_makernote(CID, BURST)) == (CID, BURST)
    assert apple_makernote_ids(gen.apple_makernote(None, BURST)) == (None, BURST)
    assert apple_makernote_ids(b"Nikon\x00\x02\x10\x00\x00MM\x00\x01") == (None, None)  # another maker's note
    assert apple_makernote_ids(gen.apple_makernote(CID)[:30]) == (None, None)  # cut short: no garbage read


@pytest.mark.parametrize("name", ["IMG_0001.HEIC", "IMG_0001.JPG"])
def test_a_live_photo_still_and_its_clip_carry_one_content_identifier(tmp_path, name):
    still = gen.live_still(str(tmp_path / name), dto="2019:08:12 14:30:25", content_id=CID, burst_id=BURST)
    clip = gen.live_clip(str(tmp_path / "IMG_0001.MOV"), local_with_offset="2019-08-12T14:30:24+0200",
                         utc="2019-08-12T12:30:24Z", content_id=CID)
    s, c = analyze_file(still), analyze_file(clip)
    assert (s.error, c.error) == (None, None)
    assert (s.content_id, s.burst_id) == (CID, BURST)
    assert c.content_id == CID and c.kind == "video"
    assert s.to_dict()["content_id"] == CID and s.to_dict()["burst_id"] == BURST
    assert s.motion_offset is None and s.to_dict()["motion_photo"] is None


def test_a_still_and_clip_without_the_identifier_have_none(tmp_path):
    s = analyze_file(gen.live_still(str(tmp_path / "a.heic"), dto="2019:08:12 14:30:25"))
    c = analyze_file(gen.live_clip(str(tmp_path / "a.mov"), local_with_offset="2019-08-12T14:30:25+0200",
                                   utc="2019-08-12T12:30:25Z"))
    assert (s.content_id, s.burst_id, c.content_id) == (None, None, None)


@pytest.mark.parametrize("scheme", ["container", "microvideo", "samsung"])
def test_a_motion_photo_is_recognised_and_its_appended_video_located(tmp_path, scheme):
    path, clip = gen.motion_photo(str(tmp_path / "PXL_20190812_143025.MP.jpg"), scheme=scheme)
    r = analyze_file(path)
    data = open(path, "rb").read()
    assert r.error is None and r.kind == "image" and r.type == "jpeg"
    assert data[r.motion_offset:r.motion_offset + r.motion_size] == clip  # exactly the MP4, no trailer
    assert r.to_dict()["motion_photo"] == {"video_offset": r.motion_offset, "video_size": len(clip)}
    assert r.sha256 and r.size == len(data)  # the file is analysed whole
    assert r.phash is not None  # the still decodes


def test_a_samsung_heic_motion_photo_keeps_its_video_in_an_mpvd_box(tmp_path):
    path, clip = gen.samsung_motion_heic(str(tmp_path / "20190812_143025.heic"))
    r = analyze_file(path)
    data = open(path, "rb").read()
    assert r.error is None and r.type == "heic" and r.phash is not None
    assert data[r.motion_offset:r.motion_offset + r.motion_size] == clip
    assert analyze_file(gen.heic(str(tmp_path / "plain.heic"))).motion_offset is None


def test_a_motion_photo_marker_without_a_video_is_a_warning_not_a_guess(tmp_path):
    path = str(tmp_path / "x.jpg")
    gen.photo().save(path, "JPEG", xmp=gen.motion_photo_xmp(5000))
    r = analyze_file(path)
    assert r.error is None and r.motion_offset is None
    assert any("Motion Photo" in w for w in r.warnings)
    assert analyze_file(gen.jpeg(str(tmp_path / "plain.jpg"))).motion_offset is None


def test_motion_tail_reads_the_video_length_whatever_the_prefix():
    assert motion_tail({"Xmp.Camera.MotionPhoto": "1",
                        "Xmp.Container.Directory[1]/Container:Item/Item:Semantic": "Primary",
                        "Xmp.Container.Directory[1]/Container:Item/Item:Length": "0",
                        "Xmp.Container.Directory[2]/Container:Item/Item:Semantic": "MotionPhoto",
                        "Xmp.Container.Directory[2]/Container:Item/Item:Length": "4242"}) == 4242
    assert motion_tail({"Xmp.GCamera.MicroVideo": "1", "Xmp.GCamera.MicroVideoOffset": "77"}) == 77
    assert motion_tail({"Xmp.GCamera.MicroVideo": "0", "Xmp.GCamera.MicroVideoOffset": "77"}) is None


def f(id, path, kind, when=T, content_id=None):
    return StackFacts(id=id, path=path, kind=kind, captured_at=when, content_id=content_id)


def test_live_stacks_pair_by_content_identifier_even_across_names():
    stacks = live_stacks([f(1, "/p/IMG_0001.MOV", "video", content_id=CID),
                          f(2, "/p/IMG_0007.HEIC", "image", content_id=CID),
                          f(3, "/p/IMG_0001.HEIC", "image", content_id="OTHER")])
    assert stacks == [Stack(LIVE, 2, {2: "still", 1: "clip"})]


def test_without_identifiers_the_same_name_within_three_seconds_pairs():
    files = [f(1, "/p/IMG_0001.heic", "image"), f(2, "/p/IMG_0001.MOV", "video", T - timedelta(seconds=2.5)),
             f(3, "/p/IMG_0002.JPG", "image"), f(4, "/p/IMG_0002.MOV", "video", T + timedelta(seconds=4)),
             f(5, "/p/IMG_0003.JPG", "image"), f(6, "/q/IMG_0003.MOV", "video"),  # another folder
             f(7, "/p/IMG_0004.JPG", "image", content_id="A"), f(8, "/p/IMG_0004.MOV", "video", content_id="B"),
             f(9, "/p/IMG_0005.JPG", "image", None), f(10, "/p/IMG_0005.MOV", "video")]  # no time: no proof
    assert find_stacks(files) == [Stack(LIVE, 1, {1: "still", 2: "clip"})]


def test_the_live_detector_runs_before_raw_jpeg():
    files = [f(1, "/p/IMG_1.JPG", "image", content_id=CID), f(2, "/p/IMG_1.MOV", "video", content_id=CID),
             StackFacts(id=3, path="/p/IMG_1.DNG", kind="image", captured_at=T)]
    assert [s.kind for s in find_stacks(files)] == [LIVE]
    assert [s.kind for s in find_stacks(files[:1] + files[2:])] == [RAW_JPEG]
