"""media.stacking: which files of a folder belong together, from facts alone."""
from __future__ import annotations

from datetime import datetime, timedelta

from mediaparser.media.stacking import RAW_JPEG, Stack, StackFacts, find_stacks, raw_jpeg_stacks

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
