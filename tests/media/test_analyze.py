"""analyze_file end to end: the JSON shape, thumbnails and hashes, bad input."""
from __future__ import annotations

import hashlib
import json
import os
import struct
import time
import zlib
from datetime import datetime

import pytest
from PIL import Image

from mediaparser.media.analyze import NO_PREVIEW, analyze_file, analyze_file_limited
from mediaparser.media.pool import time_limit
from mediaparser.media.walk import iter_media_paths
from mediaparser.media.hashes import hamming
from mediaparser.media.timestamps import Confidence

from tests.support import media as gen

JSON_FIELDS = {
    "path", "type", "mime", "extension_ok", "extension", "size", "sha256", "width", "height", "duration", "make",
    "model", "orientation", "captured_at", "utc_offset", "precision", "source", "confidence", "reasons",
    "candidates", "phash", "dhash", "error",
}


def test_full_result_of_a_camera_jpeg(tmp_path):
    p = gen.jpeg(str(tmp_path / "IMG_20190812_143025.jpg"), img=gen.photo(640, 480), exif={
        "Exif.Image.Make": "Google", "Exif.Image.Model": "Pixel 3",
        "Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25", "Exif.Photo.OffsetTimeOriginal": "-04:00",
    })
    thumbs = tmp_path / "thumbs"
    r = analyze_file(p, thumb_dir=str(thumbs))
    d = r.to_dict()
    assert JSON_FIELDS <= set(d)
    json.dumps(d)  # JSON-ready
    data = open(p, "rb").read()
    assert d["sha256"] == hashlib.sha256(data).hexdigest() and d["size"] == len(data)
    assert (d["type"], d["mime"], d["extension"], d["extension_ok"]) == ("jpeg", "image/jpeg", "jpg", True)
    assert (d["width"], d["height"], d["make"], d["model"]) == (640, 480, "Google", "Pixel 3")
    assert (d["captured_at"], d["utc_offset"], d["precision"]) == ("2019-08-12T14:30:25", "-04:00", "second")
    assert (d["source"], d["confidence"]) == ("exif:DateTimeOriginal", "high")
    assert len(d["phash"]) == 16 and len(d["dhash"]) == 16 and set(d["phash"] + d["dhash"]) <= set("0123456789abcdef")
    assert d["error"] is None and d["reasons"]
    assert {c["source"] for c in d["candidates"]} >= {"exif:DateTimeOriginal", "filename", "filesystem:mtime"}
    with Image.open(d["thumbnail"]) as t:
        assert max(t.size) == 320 and t.format == "JPEG"
    assert os.path.dirname(d["thumbnail"]).startswith(str(thumbs))
    leftovers = [f for _, _, fs in os.walk(thumbs) for f in fs if f.startswith(".tmp-")]
    assert leftovers == [], "thumbnails are renamed into place, no temporary file stays"


@pytest.mark.parametrize("orientation, transpose", [
    (6, Image.Transpose.ROTATE_90),   # stored turned left, shown turned right
    (8, Image.Transpose.ROTATE_270),
    (3, Image.Transpose.ROTATE_180),
    (2, Image.Transpose.FLIP_LEFT_RIGHT),
])
def test_rotated_copy_hashes_like_the_upright_original(tmp_path, orientation, transpose):
    upright = gen.photo(800, 600, seed=7)
    a = gen.jpeg(str(tmp_path / "upright.jpg"), img=upright)
    b = gen.jpeg(str(tmp_path / "rotated.jpg"), img=upright.transpose(transpose),
                 exif={"Exif.Image.Orientation": str(orientation)})
    ra, rb = analyze_file(a), analyze_file(b)
    assert ra.error is None and rb.error is None
    assert (rb.width, rb.height) == (800, 600), "dimensions are given as displayed"
    assert hamming(ra.phash, rb.phash) <= 4
    assert hamming(ra.dhash, rb.dhash) <= 4


def test_different_photos_hash_apart(tmp_path):
    a = analyze_file(gen.jpeg(str(tmp_path / "a.jpg"), img=gen.photo(400, 300, seed=1)))
    b = analyze_file(gen.jpeg(str(tmp_path / "b.jpg"), img=gen.photo(400, 300, seed=2)))
    assert hamming(a.phash, b.phash) > 12


def test_format_conversion_hashes_alike(tmp_path):
    img = gen.photo(800, 600, seed=3)
    a = analyze_file(gen.jpeg(str(tmp_path / "a.jpg"), img=img))
    p = str(tmp_path / "a.png")
    img.save(p)
    b = analyze_file(p)
    assert hamming(a.phash, b.phash) <= 4


def test_large_jpeg_is_decoded_at_reduced_size_and_thumbnailed(tmp_path):
    p = gen.jpeg(str(tmp_path / "big.jpg"), img=gen.photo(4000, 3000), quality=80)
    r = analyze_file(p, thumb_dir=str(tmp_path / "t"))
    assert r.error is None and (r.width, r.height) == (4000, 3000)
    with Image.open(r.thumbnail) as t:
        assert t.size == (320, 240)


# --- bad input --------------------------------------------------------------------

def test_zero_byte_file_is_a_clear_error(tmp_path):
    p = tmp_path / "IMG_20190812_143025.jpg"
    p.write_bytes(b"")
    r = analyze_file(str(p))
    assert r.error == "empty file (0 bytes)"
    assert r.size == 0 and r.sha256 == hashlib.sha256(b"").hexdigest()
    # The name still dates it (weakly) — the examination view can show that.
    assert r.captured_at == datetime(2019, 8, 12, 14, 30, 25)


def test_truncated_jpeg_is_kept_with_a_warning_not_failed(tmp_path):
    """Issue 10 item 5: a truncated camera JPEG whose bytes were read and dated is
    analysed with a warning (no preview), not failed, so it reaches the archive."""
    p = gen.jpeg(str(tmp_path / "cut.jpg"), img=gen.photo(800, 600),
                 exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    data = open(p, "rb").read()
    open(p, "wb").write(data[: len(data) // 2])
    r = analyze_file(p, thumb_dir=str(tmp_path / "t"))
    assert r.error is None
    assert r.warnings and r.warnings[-1].startswith(NO_PREVIEW) and "truncated" in r.warnings[-1]
    assert r.thumbnail is None and r.phash is None  # nothing was decoded, nothing is pretended
    assert r.sha256 == hashlib.sha256(data[: len(data) // 2]).hexdigest() and r.type == "jpeg"
    assert r.captured_at == datetime(2019, 8, 12, 14, 30, 25), "the metadata in the first half is still read"
    assert (r.width, r.height) == (800, 600)  # from the header


def test_broken_heif_with_a_date_is_kept_with_a_warning(tmp_path):
    p = gen.broken_heic(str(tmp_path / "IMG_0001.heic"), dto="2018:05:06 07:08:09")
    r = analyze_file(p, thumb_dir=str(tmp_path / "t"))
    assert r.error is None and r.type == "heic"
    assert any(w.startswith(NO_PREVIEW) and "HEIF" in w for w in r.warnings), r.warnings
    assert r.thumbnail is None and r.captured_at == datetime(2018, 5, 6, 7, 8, 9)


def test_undecodable_picture_dated_only_by_its_name_is_kept(tmp_path):
    """Nothing inside can be read, but the name dates it: the bytes are a photo of that day."""
    p = tmp_path / "IMG_20190812_143025.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(3000))
    r = analyze_file(str(p), thumb_dir=str(tmp_path / "t"))
    assert r.error is None and r.warnings[-1].startswith(NO_PREVIEW)
    assert r.captured_at == datetime(2019, 8, 12, 14, 30, 25)


def test_video_whose_frames_cannot_be_decoded_is_kept_by_its_header(tmp_path):
    p = gen.video(str(tmp_path / "clip.mp4"), frames=20, size=(160, 120),
                  metadata={"creation_time": "2019-08-12T12:30:25Z"}, options={"movflags": "faststart"})
    data = bytearray(open(p, "rb").read())
    at = data.find(b"mdat")
    data[at + 4:] = bytes(len(data) - at - 4)  # every frame zeroed, the header (moov first) intact
    open(p, "wb").write(bytes(data))
    r = analyze_file(p, thumb_dir=str(tmp_path / "t"))
    assert r.error is None and r.warnings[-1].startswith(NO_PREVIEW)
    assert r.captured_at == datetime(2019, 8, 12, 12, 30, 25) and r.duration == pytest.approx(2.0, abs=0.2)
    assert r.thumbnail is None


def test_magic_number_and_nothing_readable_stays_a_failure(tmp_path):
    """A photo's first bytes followed by nothing we can read, and no date: no sign it is a picture."""
    p = tmp_path / "broken.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)
    r = analyze_file(str(p), thumb_dir=str(tmp_path / "t"))
    assert r.error and "cannot decode image" in r.error
    assert not any(w.startswith(NO_PREVIEW) for w in r.warnings)


def test_unreadable_bytes_are_a_failure(tmp_path):
    """Bytes that cannot be read are the failures: a file gone between listing and
    analysis, or one swapped for another since the walk saw it."""
    p = gen.jpeg(str(tmp_path / "IMG_20190812_143025.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    ident = (os.stat(p).st_dev, os.stat(p).st_ino)
    os.rename(p, tmp_path / "elsewhere.jpg")
    r = analyze_file(p, thumb_dir=str(tmp_path / "t"))
    assert r.error and "disappeared" in r.error and r.sha256 is None
    gen.jpeg(p)  # another file at the same name
    r = analyze_file(p, thumb_dir=str(tmp_path / "t"), expect=ident)
    assert r.error and r.sha256 is None


@pytest.mark.parametrize("payload", [
    b"\xff\xd8\xff\xe0" + os.urandom(3000),                       # JPEG magic, garbage after
    b"\x89PNG\r\n\x1a\n" + os.urandom(500),                       # PNG magic, garbage after
    b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 8 + os.urandom(400),  # MP4 header, no moov
    b"RIFF\xff\xff\xff\x7fAVI LIST\xff\xff\xff\x7f",              # lying RIFF sizes
    b"\x00\x00\x00\x01mdat" + b"\xff" * 8 + b"\x00" * 100,       # 64-bit box size past the end
])
def test_corrupt_files_never_raise(tmp_path, payload):
    p = tmp_path / "bad.bin"
    p.write_bytes(payload)
    r = analyze_file(str(p), thumb_dir=str(tmp_path / "t"))
    assert r.error, r.to_dict()
    json.dumps(r.to_dict())


def test_unknown_content_is_reported(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("just some text, not a photo")
    r = analyze_file(str(p))
    assert r.error == "not a recognised photo or video format"


def test_lying_extension(tmp_path):
    p = str(tmp_path / "holiday.jpg")
    gen.photo().save(p, "PNG")
    r = analyze_file(p)
    assert r.error is None
    assert (r.type, r.extension, r.extension_ok) == ("png", "png", False)
    assert any(".jpg does not match" in w for w in r.warnings)


def test_heic_named_jpg(tmp_path):
    p = gen.heic(str(tmp_path / "IMG_0005.JPG"), dto="2019:08:12 14:30:25")
    r = analyze_file(p)
    assert (r.type, r.extension, r.extension_ok, r.error) == ("heic", "heic", False, None)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(t: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(40000, 40000))  # claims 1.6 gigapixels in 100 bytes
    r = analyze_file(str(p))
    assert r.error and "decompression-bomb guard" in r.error  # refused from the header, never decoded


def test_directory_and_symlink_loop_and_missing_file(tmp_path):
    assert analyze_file(str(tmp_path)).error == "this is a folder, not a file"
    loop = tmp_path / "loop.jpg"
    os.symlink(loop, loop)
    assert "loop" in analyze_file(str(loop)).error
    assert "disappeared" in analyze_file(str(tmp_path / "gone.jpg")).error


def test_unknown_time_zone_is_an_error(tmp_path):
    p = gen.jpeg(str(tmp_path / "a.jpg"))
    assert "unknown time zone" in analyze_file(p, timezone="Mars/Olympus").error


def test_undated_file_has_no_capture_time(tmp_path):
    p = gen.jpeg(str(tmp_path / "DSC01234.jpg"))
    r = analyze_file(p)
    assert (r.captured_at, r.confidence) == (None, Confidence.NONE)
    assert [c.source for c in r.candidates] == ["filesystem:mtime"]


def test_time_limit_turns_an_overrun_into_an_error(tmp_path, monkeypatch):
    import mediaparser.media.analyze as A

    p = gen.jpeg(str(tmp_path / "slow.jpg"))
    real = A._analyze
    finished: list[bool] = []

    def slow(*args, **kwargs):
        time.sleep(5)  # slow work inside the test double
        finished.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(A, "_analyze", slow)
    r = analyze_file_limited(p, time_limit_s=0.3)
    assert finished == [], "the slow analysis ran to its end instead of being stopped"
    assert r.error and "longer than 0.3 s" in r.error


def test_time_limit_is_disarmed_afterwards():
    import signal

    handler = signal.getsignal(signal.SIGALRM)
    with time_limit(0.2):
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 0  # armed inside the block
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no timer left to fire later
    assert signal.getsignal(signal.SIGALRM) is handler  # and the previous handler is back


def test_walk_skips_sidecars_and_clutter(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "IMG_1.jpg").write_bytes(b"x")
    (tmp_path / "a" / "IMG_1.jpg.json").write_text("{}")
    (tmp_path / "a" / "IMG_1.jpg.xmp").write_text("<x/>")
    (tmp_path / "a" / ".DS_Store").write_bytes(b"x")
    (tmp_path / "b.mov").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.jpg").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "a" / "loop")  # a link back to an ancestor is not followed: no endless walk
    os.symlink(tmp_path / "b.mov", tmp_path / "a" / "link.mov")  # a file link is analysed
    found = sorted(os.path.relpath(p, tmp_path) for p in iter_media_paths([tmp_path]))
    # The import's walker: a hidden folder is walked like any other (issue 12, one walker).
    assert found == [".hidden/c.jpg", "a/IMG_1.jpg", "a/link.mov", "b.mov"]
