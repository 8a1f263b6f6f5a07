"""Reduced decoding paths: camera MPF previews, RAW previews, formats, writing."""
from __future__ import annotations

import os

from PIL import Image

from mediaparser.media.analyze import NO_PREVIEW, analyze_file
from mediaparser.media.hashes import hamming, perceptual_hashes
from mediaparser.media.thumbnails import MAX_SIDE, decode_jpeg, write_thumbnail

from tests.support import media as gen


def _hashes(img):
    h = perceptual_hashes(img)
    return h.phash, h.dhash


def test_camera_preview_gives_the_same_hashes_as_decoding_the_photo(tmp_path):
    img = gen.photo(2400, 1800, seed=11)
    p = gen.camera_jpeg(str(tmp_path / "cam.jpg"), img, preview_side=1080)
    data = open(p, "rb").read()
    fast = decode_jpeg(data, None)
    slow = decode_jpeg(data, None, use_preview=False)
    assert (fast.width, fast.height) == (slow.width, slow.height) == (2400, 1800)
    assert fast.image.size == slow.image.size == (320, 240)
    (pf, df), (ps, ds) = _hashes(fast.image), _hashes(slow.image)
    assert hamming(pf, ps) <= 4 and hamming(df, ds) <= 4


def test_camera_preview_is_what_gets_decoded(tmp_path):
    # A preview that shows another picture proves which path was taken.
    main, other = gen.photo(1600, 1200, seed=1), gen.photo(1600, 1200, seed=2)
    p = str(tmp_path / "cam.jpg")
    main.save(p, "MPO", save_all=True, append_images=[other.resize((1440, 1080))], quality=90)
    gen._set_mp_type(p, 1, 0x010002)
    dec = decode_jpeg(open(p, "rb").read(), None)
    ph_other, _ = _hashes(other)
    ph_main, _ = _hashes(main)
    got, _ = _hashes(dec.image)
    assert hamming(got, ph_other) <= 4 < hamming(got, ph_main)


def test_preview_of_another_shape_or_type_is_ignored(tmp_path):
    main = gen.photo(1600, 1200, seed=3)
    letterboxed = gen.photo(1920, 1080, seed=4)  # 16:9 preview of a 4:3 photo
    p = str(tmp_path / "cam.jpg")
    main.save(p, "MPO", save_all=True, append_images=[letterboxed], quality=90)
    gen._set_mp_type(p, 1, 0x010002)
    got, _ = _hashes(decode_jpeg(open(p, "rb").read(), None).image)
    assert hamming(got, _hashes(main)[0]) <= 4
    # A stereo (disparity) second image is not a preview either.
    q = str(tmp_path / "stereo.jpg")
    main.save(q, "MPO", save_all=True, append_images=[gen.photo(1600, 1200, seed=5)], quality=90)
    gen._set_mp_type(q, 1, 0x020002)
    got, _ = _hashes(decode_jpeg(open(q, "rb").read(), None).image)
    assert hamming(got, _hashes(main)[0]) <= 4


def test_orientation_applies_to_the_preview_too(tmp_path):
    upright = gen.photo(1600, 1200, seed=6)
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    p = gen.camera_jpeg(str(tmp_path / "cam.jpg"), stored, preview_side=1080,
                        exif={"Exif.Image.Orientation": "6"})
    r = analyze_file(p)
    assert r.error is None and (r.width, r.height) == (1600, 1200)
    assert hamming(r.phash, _hashes(upright)[0]) <= 4


def test_raw_without_a_preview_is_a_warning_not_an_error(tmp_path):
    p = str(tmp_path / "DSC_0001.NEF")
    gen.photo(64, 48).save(p, "TIFF")
    gen.write_tags(p, exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    r = analyze_file(p)
    assert r.type == "nef" and r.error is None
    assert any(w.startswith(NO_PREVIEW) and "no embedded preview" in w for w in r.warnings)
    assert r.captured_at is not None


def test_modes_are_flattened_to_rgb(tmp_path):
    rgba = gen.photo(200, 100).convert("RGBA")
    rgba.putalpha(128)
    paths = {
        "rgba.png": lambda p: rgba.save(p),
        "pal.gif": lambda p: gen.photo(200, 100).convert("P").save(p),
        "grey16.png": lambda p: gen.photo(200, 100).convert("L").convert("I;16").save(p),
        "cmyk.jpg": lambda p: gen.photo(200, 100).convert("CMYK").save(p),
    }
    for name, write in paths.items():
        p = str(tmp_path / name)
        write(p)
        r = analyze_file(p, thumb_dir=str(tmp_path / "t"))
        assert r.error is None, (name, r.error)
        with Image.open(r.thumbnail) as t:
            assert t.mode == "RGB" and max(t.size) <= MAX_SIDE


def test_write_is_atomic_and_keyed_by_content(tmp_path):
    img = gen.photo(320, 240)
    key = "ab" + "0" * 62
    path = write_thumbnail(img, str(tmp_path), key)
    assert path == os.path.join(str(tmp_path), "ab", key + ".jpg")
    assert os.listdir(os.path.join(str(tmp_path), "ab")) == [key + ".jpg"]
    webp = write_thumbnail(img, str(tmp_path), key, fmt="webp")
    with Image.open(webp) as t:
        assert t.format == "WEBP"
