"""Choice errors of issue 10 item 2, end to end on generated files: the readers
and the ranking together pick the capture time a person would."""
from __future__ import annotations

from datetime import datetime

from PIL import Image

from mediaparser.media.analyze import analyze_file
from mediaparser.media.timestamps import Confidence

from tests.support import media as gen

NOW = datetime(2026, 6, 1, 12, 0, 0)


def _heif_with_modify_and_gps(path: str, modify: str, gps_date: str, gps_hms: tuple[float, float, float]) -> str:
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0132] = modify  # IFD0 DateTime (ModifyDate), nothing in the Exif IFD
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 8.0, 0.0)
    gps[29] = gps_date  # GPSDateStamp
    gps[7] = gps_hms  # GPSTimeStamp (UTC)
    gen.photo().save(path, format="HEIF", quality=60, exif=exif.tobytes())
    return path


def test_heif_with_only_modify_date_and_a_gps_time_two_seconds_apart_is_dated_by_the_camera(tmp_path):
    p = _heif_with_modify_and_gps(str(tmp_path / "IMG_0420.HEIC"), "2021:07:04 18:30:15", "2021:07:04", (18.0, 30.0, 13.0))
    r = analyze_file(p, timezone="America/New_York", with_thumbnail=False, now=NOW)
    assert {c.source for c in r.candidates} >= {"exif:ModifyDate", "gps:DateTime"}
    assert r.source == "exif:ModifyDate"
    assert r.captured_at == datetime(2021, 7, 4, 18, 30, 15)
    assert r.confidence == Confidence.MEDIUM


def test_jpeg_from_a_camera_whose_clock_says_2038_keeps_the_date_at_low(tmp_path):
    p = gen.jpeg(str(tmp_path / "DSC_0001.JPG"), exif={
        "Exif.Photo.DateTimeOriginal": "2038:01:19 03:14:07", "Exif.Image.DateTime": "2038:01:19 03:14:07"})
    r = analyze_file(p, timezone="UTC", with_thumbnail=False, now=NOW)
    assert r.captured_at == datetime(2038, 1, 19, 3, 14, 7)
    assert r.confidence == Confidence.LOW
    assert any("in the future" in reason for reason in r.reasons)


def test_png_whose_xmp_create_modify_and_metadata_dates_share_a_day_is_not_a_confident_capture(tmp_path):
    p = str(tmp_path / "diagram.png")
    gen.photo().save(p, "PNG")
    gen.write_tags(p, xmp={
        "Xmp.xmp.CreateDate": "2020-05-01T10:09:39+02:00",
        "Xmp.xmp.ModifyDate": "2020-05-01T10:11:30+02:00",
        "Xmp.xmp.MetadataDate": "2020-05-01T10:11:30+02:00",
    })
    r = analyze_file(p, timezone="UTC", with_thumbnail=False, now=NOW)
    assert r.confidence not in (Confidence.HIGH, Confidence.MEDIUM)
    assert any(c.source == "xmp:CreateDate:software" for c in r.candidates)


def test_png_whose_xmp_create_date_is_older_than_its_edit_keeps_the_create_date(tmp_path):
    # Made on one day, edited on another: the CreateDate is not a same-day software stamp.
    p = str(tmp_path / "scan.png")
    gen.photo().save(p, "PNG")
    gen.write_tags(p, xmp={
        "Xmp.xmp.CreateDate": "2015-11-20T05:20:30",
        "Xmp.xmp.ModifyDate": "2020-05-01T10:11:30+02:00",
        "Xmp.xmp.MetadataDate": "2020-05-01T10:11:30+02:00",
    })
    r = analyze_file(p, timezone="UTC", with_thumbnail=False, now=NOW)
    assert r.source == "xmp:CreateDate"
    assert r.captured_at == datetime(2015, 11, 20, 5, 20, 30)
    assert r.confidence == Confidence.MEDIUM


def test_jpeg_opened_and_saved_the_day_it_was_made_keeps_its_xmp_create_date(tmp_path):
    # The same three same-day stamps in a JPEG: a photo saved from Photoshop the day it was
    # taken, whose CreateDate is the best date it has (real files of this kind are in corpus-dev).
    p = gen.jpeg(str(tmp_path / "limes.jpg"), exif={"Exif.Image.DateTime": "2019:05:04 06:18:54"}, xmp={
        "Xmp.xmp.CreateDate": "2019-05-04T06:14:51+02:00",
        "Xmp.xmp.ModifyDate": "2019-05-04T06:18:54+02:00",
        "Xmp.xmp.MetadataDate": "2019-05-04T06:18:54+02:00",
    })
    r = analyze_file(p, timezone="UTC", with_thumbnail=False, now=NOW)
    assert r.source == "xmp:CreateDate"
    assert r.captured_at == datetime(2019, 5, 4, 6, 14, 51)


def test_a_time_split_over_folders_and_the_name_dates_an_undated_file_at_low(tmp_path):
    folder = tmp_path / "export" / "2019" / "08" / "12"
    folder.mkdir(parents=True)
    p = str(folder / "14-30-25.jpg")
    gen.photo().save(p, "JPEG")
    r = analyze_file(p, timezone="UTC", root=str(tmp_path / "export"), with_thumbnail=False, now=NOW)
    assert (r.source, r.captured_at, r.confidence) == ("folder", datetime(2019, 8, 12, 14, 30, 25), Confidence.LOW)
    # ...and the same folders never beat the file's own date.
    q = gen.jpeg(str(folder / "15-00-00.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2017:03:04 10:11:12"})
    r = analyze_file(q, timezone="UTC", root=str(tmp_path / "export"), with_thumbnail=False, now=NOW)
    assert (r.source, r.captured_at) == ("exif:DateTimeOriginal", datetime(2017, 3, 4, 10, 11, 12))
