"""Per-file errors in plain words, with the technical detail cleaned (media/errors.py)."""
from __future__ import annotations

import io

import pytest
from PIL import Image, UnidentifiedImageError

from mediaparser.media.errors import GENERIC, clean_detail, explain, stored


def _pillow_message() -> str:
    try:
        Image.open(io.BytesIO(b"not a picture at all"))
    except UnidentifiedImageError as e:
        return f"cannot decode image: {e}"
    raise AssertionError("Pillow opened garbage")


def test_pillow_s_message_becomes_a_sentence_and_loses_the_memory_address():
    raw = _pillow_message()
    assert "0x" in raw  # what Pillow really says: "<_io.BytesIO object at 0x7f…>"
    e = explain(raw)
    assert e.sentence == ("This file is not a picture MediaParser can read "
                          "(it may be damaged or in an unknown format).")
    assert e.detail == "cannot decode image: cannot identify image file <_io.BytesIO object>"


def test_ffmpeg_s_end_of_file_loses_its_bogus_error_number_but_a_real_one_stays():
    e = explain("cannot decode video: [Errno 541478725] End of file: '/proc/self/fd/7'")
    assert e.sentence == "The file ends early — it was probably cut off while copying."
    assert e.detail == "cannot decode video: End of file: '/proc/self/fd/7'"
    assert clean_detail("[Errno 13] Permission denied: 'x'") == "[Errno 13] Permission denied: 'x'"


@pytest.mark.parametrize("raw, words", [
    ("empty file (0 bytes)", "empty (0 bytes)"),
    ("not a recognised photo or video format", "not a picture MediaParser can read"),
    ("the file cannot be read: permission denied", "not allowed to read"),
    ("the file disappeared before it could be read", "was gone"),
    ("analysis took longer than 120 s and was stopped", "took too long"),
    ("the analysis crashed (its worker process died)", "stopped unexpectedly"),
    ("image of 30000x30000 pixels is larger than the 400 MP limit (decompression-bomb guard)", "too large"),
    ("the file cannot be read: Input/output error", "read error"),
    ("cannot decode video: no frame could be decoded", "video could not be played"),
    ("could not write the copy: Read-only file system", "could not be written to the archive"),
    ("the source does not match the analysed file (was it changed after the import?)", "changed after"),
    ("not a regular file (a pipe, socket or device)", "not an ordinary file"),
])
def test_each_known_trouble_has_its_sentence_and_keeps_the_raw_text_as_detail(raw, words):
    e = explain(raw)
    assert words in e.sentence and e.sentence != GENERIC
    assert e.detail == raw


def test_unknown_text_gets_the_generic_sentence_and_no_error_gets_nothing():
    assert explain("analysis failed: KeyError: 'frob'") .sentence == GENERIC
    assert explain(None) is None and explain("  ") is None


def test_a_stored_pair_is_shown_as_stored_and_an_old_raw_row_is_explained():
    assert stored("The file is empty.", "empty file (0 bytes)").detail == "empty file (0 bytes)"
    old = stored("cannot identify image file <_io.BytesIO object at 0x7f3a2b1c>", None)
    assert old.sentence.startswith("This file is not a picture") and "0x" not in old.detail
    assert stored(None, None) is None
