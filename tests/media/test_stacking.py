"""media.stacking: which files of a folder belong together, from facts alone."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mediaparser.media.stacking import (BURST, EDITED, RAW_JPEG, Stack, StackFacts, burst_name_key, edited_stacks,
                                        find_stacks, phash_distance, raw_jpeg_stacks)

T = datetime(2019, 8, 12, 14, 30, 25)


def f(id, path, when=T, **kw):
    return StackFacts(id=id, path=path, captured_at=when, **kw)


def test_a_raw_and_its_jpeg_taken_together_are_one_stack_led_by_the_jpeg():
    stacks = find_stacks([f(1, "/c/IMG_0001.CR2"), f(2, "/c/IMG_0001.JPG", T + timedelta(seconds=0.5))])
    assert stacks == [Stack(RAW_JPEG, 2, {2: "jpeg", 1: "raw"})]


def test_raw_and_jpeg_pair_only_within_one_folder_one_second_and_one_base_name():
    files = [f(1, "/a/IMG_0001.CR2"), f(2, "/b/IMG_0001.JPG"),  # other folder
             f(3, "/a/IMG_0002.NEF"), f(4, "/a/IMG_0002.JPG", T + timedelta(seconds=5)),  # 5 s apart
             f(5, "/a/IMG_0003.ARW"), f(6, "/a/IMG_0004.JPG")]  # other name
    assert find_stacks(files) == []


def test_a_missing_capture_time_does_not_split_a_pair_that_shares_its_name():
    assert raw_jpeg_stacks([f(1, "/a/x.dng", None), f(2, "/a/X.jpg")]) == [Stack(RAW_JPEG, 2, {2: "jpeg", 1: "raw"})]


def test_a_file_joins_at_most_one_stack_the_first_detector_wins():
    def greedy(files):
        return [Stack("burst", files[0].id, {x.id: "frame" for x in files})]

    files = [f(1, "/a/IMG_1.CR2"), f(2, "/a/IMG_1.JPG"), f(3, "/a/IMG_2.JPG")]
    stacks = find_stacks(files, [raw_jpeg_stacks, greedy])
    assert stacks[0].kind == RAW_JPEG
    assert stacks[1].roles == {3: "frame"}  # the burst detector only saw what was left


# --- RAW+JPEG: Pixel names ---------------------------------------------------------------------------------------

def test_a_pixel_raw_shot_pairs_its_cover_jpeg_with_its_original_dng():
    files = [f(1, "/p/PXL_20230101_120000123.RAW-02.ORIGINAL.dng"), f(2, "/p/PXL_20230101_120000123.RAW-01.COVER.jpg"),
             f(3, "/p/PXL_20230101_120500456.RAW-02.ORIGINAL.dng"), f(4, "/p/PXL_20230101_120500456.RAW-01.MP.COVER.jpg"),
             f(5, "/p/PXL_20230101_130000000.RAW-01.COVER.jpg")]  # its RAW is elsewhere
    assert find_stacks(files) == [Stack(RAW_JPEG, 2, {2: "jpeg", 1: "raw"}), Stack(RAW_JPEG, 4, {4: "jpeg", 3: "raw"})]


def test_pixel_raw_shots_of_different_moments_do_not_pair():
    assert find_stacks([f(1, "/p/PXL_20230101_120000123.RAW-02.ORIGINAL.dng"),
                        f(2, "/p/PXL_20230101_120000124.RAW-01.COVER.jpg")]) == []


# --- bursts ------------------------------------------------------------------------------------------------------

def test_a_samsung_burst_is_one_stack_led_by_its_marked_cover():
    names = ["20190812_143025_BURST002.jpg", "20190812_143025_BURST001_COVER.jpg", "20190812_143025_BURST003.jpg"]
    files = [f(i + 1, "/s/" + n, T + timedelta(seconds=i / 10)) for i, n in enumerate(names)]
    assert find_stacks(files) == [Stack(BURST, 2, {2: "cover", 1: "frame", 3: "frame"})]


def test_two_samsung_bursts_in_one_folder_stay_two():
    files = [f(1, "/s/20190812_143025_BURST001_COVER.jpg"), f(2, "/s/20190812_143025_BURST002.jpg"),
             f(3, "/s/20190812_150000_BURST001_COVER.jpg"), f(4, "/s/20190812_150000_BURST002.jpg"),
             f(5, "/s/20190812_160000_BURST001.jpg")]  # a lone frame is no burst
    stacks = find_stacks(files)
    assert sorted(s.members for s in stacks) == [[1, 2], [3, 4]] and {s.lead for s in stacks} == {1, 3}


def test_a_pixel_burst_is_keyed_by_its_start_time_whatever_the_frame_counters():
    files = [f(1, "/p/00001IMG_00001_BURST20190812143025123.jpg"),
             f(2, "/p/00000IMG_00000_BURST20190812143025123_COVER.jpg"),
             f(3, "/p/00002IMG_00002_BURST20190812143025123.jpg"),
             f(4, "/p/00000IMG_00000_BURST20190812150000999_COVER.jpg"),
             f(5, "/p/00001IMG_00001_BURST20190812150000999.jpg")]
    stacks = find_stacks(files)
    assert [(s.lead, s.members) for s in stacks] == [(2, [1, 2, 3]), (4, [4, 5])]


def test_a_new_pixel_burst_names_its_frames_with_a_counter():
    files = [f(1, "/p/PXL_20211120_101010123.BURST-01.COVER.jpg"), f(2, "/p/PXL_20211120_101010123.BURST-02.jpg"),
             f(3, "/p/PXL_20211120_101010123.BURST-03.jpg")]
    assert find_stacks(files) == [Stack(BURST, 1, {1: "cover", 2: "frame", 3: "frame"})]


def test_apple_burst_frames_share_a_burst_uuid_and_the_first_frame_leads_without_a_cover():
    files = [f(1, "/i/IMG_0003.JPG", T + timedelta(seconds=0.2), burst_id="B1"),
             f(2, "/i/IMG_0002.JPG", T, burst_id="B1"),
             f(3, "/i/IMG_0004.JPG", T + timedelta(seconds=0.4), burst_id="B1"),
             f(4, "/i/IMG_0005.JPG", T + timedelta(seconds=9), burst_id="B2")]  # alone in its burst
    assert find_stacks(files) == [Stack(BURST, 2, {2: "cover", 1: "frame", 3: "frame"})]


def test_a_burst_name_without_burst_in_it_is_not_a_burst():
    assert burst_name_key(f(1, "/a/IMG_0001.JPG")) is None
    assert burst_name_key(f(1, "/a/bursting_river.jpg")) is None


SCENE = 0x5A5A_F00F_1234_8765


def cam(id, seconds, phash=SCENE, make="Canon", model="EOS 80D", name=None):
    return f(id, f"/c/{name or f'IMG_{id:04d}'}.JPG", T + timedelta(seconds=seconds), make=make, model=model,
             phash=phash)


def test_near_identical_frames_of_one_camera_a_moment_apart_are_a_burst():
    files = [cam(1, 0), cam(2, 0.3, SCENE ^ 0b101), cam(3, 0.6, SCENE ^ 0b111), cam(4, 1.5, SCENE ^ 0b1)]
    assert find_stacks(files) == [Stack(BURST, 1, {1: "cover", 2: "frame", 3: "frame", 4: "frame"})]


def test_frames_far_apart_or_of_another_scene_or_camera_are_not_a_burst():
    other_scene = SCENE ^ ((1 << 40) - 1)  # 40 bits apart
    files = [cam(1, 0), cam(2, 3),  # three seconds apart
             cam(3, 10), cam(4, 10.2, other_scene),  # another scene
             cam(5, 20), cam(6, 20.1, model="EOS 5D"),  # another camera
             f(7, "/c/a.JPG", T + timedelta(seconds=30), phash=SCENE),
             f(8, "/c/b.JPG", T + timedelta(seconds=30), phash=SCENE)]  # no camera known: screenshots, exports
    assert find_stacks(files) == []


def test_a_run_of_frames_breaks_where_the_scene_changes():
    files = [cam(1, 0), cam(2, 0.2), cam(3, 0.4, SCENE ^ ((1 << 30) - 1)), cam(4, 0.6, SCENE ^ ((1 << 30) - 1))]
    assert sorted(s.members for s in find_stacks(files)) == [[1, 2], [3, 4]]


def test_signed_and_unsigned_hashes_compare_alike():
    unsigned = 0xF000_0000_0000_0001
    signed = unsigned - (1 << 64)
    assert phash_distance(signed, unsigned) == 0 and phash_distance(signed, unsigned ^ 0b11) == 2


def test_ten_thousand_frames_of_one_static_scene_are_one_burst():
    files = [cam(i, i * 0.1) for i in range(1, 10_001)]
    stacks = find_stacks(files)
    assert len(stacks) == 1 and len(stacks[0].roles) == 10_000 and stacks[0].lead == 1


def test_a_raw_jpeg_pair_inside_a_burst_stays_a_raw_jpeg_pair():
    files = [cam(1, 0), f(2, "/c/IMG_0001.CR2", T, make="Canon", model="EOS 80D", phash=SCENE), cam(3, 0.2)]
    stacks = find_stacks(files)
    assert stacks == [Stack(RAW_JPEG, 1, {1: "jpeg", 2: "raw"})]  # one frame left: no burst


# --- edited copies -------------------------------------------------------------------------------------------------

def test_an_apple_edit_sits_beside_its_original_which_leads():
    files = [f(1, "/i/IMG_E1234.JPG"), f(2, "/i/IMG_1234.JPG"), f(3, "/i/IMG_E9999.JPG")]
    assert find_stacks(files) == [Stack(EDITED, 2, {2: "original", 1: "edited"})]


def test_an_apple_edit_saved_as_jpeg_finds_its_heic_original():
    assert edited_stacks([f(1, "/i/IMG_1234.HEIC", kind="image"), f(2, "/i/IMG_E1234.JPG", kind="image")]) == [
        Stack(EDITED, 1, {1: "original", 2: "edited"})]


@pytest.mark.parametrize("edited", [
    "beach-edited.jpg", "beach_edited.jpg", "beach_edit.jpg", "beach-edit.JPG", "Beach-Bearbeitet.jpg",
    "beach-modifié.jpg", "beach-modifie\u0301.jpg",  # the accent as macOS stores it
    "beach-editado.jpg", "beach-modificato.jpg", "beach-bewerkt.jpg", "beach-edytowane.jpg", "beach-編集済み.jpg"])
def test_takeout_and_tool_edited_names_pair_with_their_original(edited):
    assert find_stacks([f(1, "/t/beach.jpg"), f(2, "/t/" + edited)]) == [Stack(EDITED, 1, {1: "original", 2: "edited"})]


def test_a_takeout_counter_stays_with_its_own_original():
    files = [f(1, "/t/beach.jpg"), f(2, "/t/beach(1).jpg"), f(3, "/t/beach-edited(1).jpg"), f(4, "/t/beach-edited.jpg")]
    assert find_stacks(files) == [Stack(EDITED, 1, {1: "original", 4: "edited"}),
                                  Stack(EDITED, 2, {2: "original", 3: "edited"})]


def test_several_edits_of_one_original_share_its_stack():
    files = [f(1, "/t/IMG_1234.JPG"), f(2, "/t/IMG_E1234.JPG"), f(3, "/t/IMG_1234-edited.JPG")]
    assert find_stacks(files) == [Stack(EDITED, 1, {1: "original", 2: "edited", 3: "edited"})]


def test_an_edited_name_without_its_original_or_of_another_kind_is_left_alone():
    files = [f(1, "/t/beach-edited.jpg"), f(2, "/t/-edited.jpg"), f(3, "/t/clip.mov", kind="video"),
             f(4, "/t/clip-edited.jpg", kind="image"), f(5, "/t/edited.jpg")]
    assert find_stacks(files) == []


def test_an_edited_copy_taken_at_the_same_moment_is_an_edit_not_a_burst():
    files = [cam(1, 0, name="IMG_1234"), cam(2, 0, name="IMG_E1234")]
    assert find_stacks(files) == [Stack(EDITED, 1, {1: "original", 2: "edited"})]
