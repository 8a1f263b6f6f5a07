"""Readers on generated real files: EXIF/XMP/IPTC in every image format,
video containers, XMP and Google Takeout sidecars."""
from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from mediaparser.media.analyze import NO_PREVIEW, analyze_file
from mediaparser.media.metadata import read_metadata
from mediaparser.media.sidecars import find_takeout_json, find_xmp_sidecars
from mediaparser.media.timestamps import Confidence, Precision

from tests.support import media as gen

T = datetime(2019, 8, 12, 14, 30, 25)
T_UTC_EPOCH = int(datetime(2019, 8, 12, 12, 30, 25, tzinfo=timezone.utc).timestamp())


def analyze(path, **kw):
    kw.setdefault("with_thumbnail", False)
    r = analyze_file(str(path), **kw)
    assert r.error is None, r.error
    return r


# --- images -------------------------------------------------------------------

def test_jpeg_exif_with_offset_subseconds_and_gps(tmp_path):
    p = gen.jpeg(str(tmp_path / "a.jpg"), exif={
        "Exif.Image.Make": "Canon", "Exif.Image.Model": "EOS 7D",
        "Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25", "Exif.Photo.SubSecTimeOriginal": "123",
        "Exif.Photo.OffsetTimeOriginal": "+02:00", "Exif.Image.DateTime": "2019:09:01 10:00:00",
        "Exif.GPSInfo.GPSDateStamp": "2019:08:12", "Exif.GPSInfo.GPSTimeStamp": "12/1 30/1 20/1",
    })
    r = analyze(p, timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "exif:DateTimeOriginal")
    assert r.confidence == Confidence.HIGH
    assert (r.make, r.model) == ("Canon", "EOS 7D")
    gps = [c for c in r.candidates if c.source == "gps:DateTime"][0]
    assert gps.value == datetime(2019, 8, 12, 12, 30, 20) and gps.is_utc
    assert any("GPS date/time agrees" in s for s in r.reasons)


def test_gps_tells_the_offset_when_exif_has_none(tmp_path):
    p = gen.jpeg(str(tmp_path / "a.jpg"), exif={
        "Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25",
        "Exif.GPSInfo.GPSDateStamp": "2019:08:12", "Exif.GPSInfo.GPSTimeStamp": "21/1 30/1 20/1",
    })
    r = analyze(p)
    assert r.captured_at == T and r.utc_offset == -7 * 60


def test_capture_time_only_in_xmp_beats_the_edit_time(tmp_path):
    p = gen.jpeg(str(tmp_path / "edited.jpg"), exif={"Exif.Image.DateTime": "2021:01:01 09:00:00"},
                 xmp={"Xmp.xmp.CreateDate": "2019-08-12T14:30:25+02:00", "Xmp.xmp.ModifyDate": "2021-01-01T09:00:00+01:00"})
    r = analyze(p)
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "xmp:CreateDate")


def test_xmp_date_without_seconds(tmp_path):
    p = gen.jpeg(str(tmp_path / "a.jpg"), xmp={"Xmp.photoshop.DateCreated": "2011-06-14T15:47+02:00"})
    r = analyze(p)
    assert (r.captured_at, r.precision, r.utc_offset) == (datetime(2011, 6, 14, 15, 47), Precision.MINUTE, 120)


def test_capture_time_only_in_iptc(tmp_path):
    p = gen.jpeg(str(tmp_path / "a.jpg"), exif={"Exif.Image.DateTime": "2021:01:01 09:00:00"},
                 iptc={"Iptc.Application2.DateCreated": "2019-08-12", "Iptc.Application2.TimeCreated": "14:30:25-04:00"})
    r = analyze(p)
    assert (r.captured_at, r.utc_offset, r.source) == (T, -240, "iptc:DateCreated")


@pytest.mark.parametrize("compressed", [False, True])
def test_png_whose_only_dates_are_xmp_in_an_itxt_chunk(tmp_path, compressed):
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
           'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" exif:DateTimeOriginal="2019-08-12T14:30:25" '
           'photoshop:DateCreated="2019-08-12T14:30:25+02:00"/></rdf:RDF></x:xmpmeta>')
    info = PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp, zip=compressed)
    p = str(tmp_path / "scan.png")
    gen.photo().save(p, pnginfo=info)
    r = analyze(p, timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "xmp:exif:DateTimeOriginal")


@pytest.mark.parametrize("xmp", [
    {"Xmp.exif.GPSTimeStamp": "2019-08-12T12:30:25Z"},
    {"Xmp.exif.GPSTimeStamp": "2019-08-12T14:30:25+02:00"},  # the same moment written with a zone
    {"Xmp.exif.GPSTimeStamp": "12:30:25", "Xmp.exif.GPSDateStamp": "2019:08:12"},
])
def test_jpeg_whose_only_date_is_the_xmp_gps_time(tmp_path, xmp):
    p = gen.jpeg(str(tmp_path / "a.jpg"), xmp=xmp)
    r = analyze(p, timezone="Europe/Berlin")
    assert (r.captured_at, r.utc_offset, r.source, r.offset_assumed) == (T, 120, "gps:DateTime", True)
    gps = next(c for c in r.candidates if c.source == "gps:DateTime")
    assert gps.is_utc and gps.value == datetime(2019, 8, 12, 12, 30, 25)
    assert r.confidence != Confidence.HIGH


def test_xmp_gps_time_is_only_a_clue_next_to_a_camera_date(tmp_path):
    p = gen.jpeg(str(tmp_path / "a.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"},
                 xmp={"Xmp.exif.GPSTimeStamp": "2019-08-12T12:30:40Z"})
    r = analyze(p, timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "exif:DateTimeOriginal")


@pytest.mark.parametrize("layout", ["two resources in one segment", "two APP13 segments"])
def test_iptc_date_only_in_the_second_iptc_block(tmp_path, layout):
    first = gen.iim(120, b"a caption")
    second = gen.iim(55, b"20190812") + gen.iim(60, b"143025+0200")
    segments = [[first, second]] if layout.startswith("two resources") else [[first], [second]]
    p = gen.jpeg_with_app13(str(tmp_path / "a.jpg"), segments)
    r = analyze(p, timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "iptc:DateCreated")


def test_flir_thermal_jpeg_dated_by_its_own_fff_block(tmp_path):
    p = gen.flir_jpeg(str(tmp_path / "FLIR0001.jpg"), datetime(2019, 8, 12, 12, 30, 25), 120)
    r = analyze(p, timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "makernote:DateTimeOriginal")
    assert r.confidence == Confidence.HIGH  # the camera recorded its zone


def test_flir_block_gives_the_offset_to_the_exif_date(tmp_path):
    p = gen.flir_jpeg(str(tmp_path / "FLIR0001.jpg"), datetime(2019, 8, 12, 12, 30, 25), 120, chunks=1)
    gen.write_tags(p, {"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    r = analyze(p, timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "exif:DateTimeOriginal")


def test_casio_qvci_jpeg_without_exif(tmp_path):
    p = gen.casio_qvci_jpeg(str(tmp_path / "CIMG0001.JPG"), datetime(1998, 10, 24, 12, 8, 57))
    r = analyze(p)
    assert (r.captured_at, r.source) == (datetime(1998, 10, 24, 12, 8, 57), "makernote:DateTimeOriginal")


def test_broken_maker_blocks_are_ignored(tmp_path):
    p = gen.flir_jpeg(str(tmp_path / "a.jpg"), datetime(2019, 8, 12, 12, 30, 25), 120, chunks=3)
    data = bytearray(open(p, "rb").read())
    data[data.find(b"FFF\x00") + 0x18 : data.find(b"FFF\x00") + 0x1C] = b"\xff\xff\xff\x00"  # directory far outside
    open(p, "wb").write(bytes(data))
    r = analyze(p)
    assert r.captured_at is None and r.error is None


def test_png_exif_chunk_and_creation_time_text(tmp_path):
    p = str(tmp_path / "a.png")
    info = PngInfo()
    info.add_text("Creation Time", "2019-08-12T14:30:25")
    gen.photo().save(p, "PNG", exif=gen.pillow_exif(dto="2019:08:12 14:30:25").tobytes(), pnginfo=info)
    r = analyze(p)
    sources = {c.source for c in r.candidates if c.accepted}
    assert {"exif:DateTimeOriginal", "png:CreationTime"} <= sources
    assert r.captured_at == T and r.confidence == Confidence.MEDIUM


def test_webp_exif(tmp_path):
    p = str(tmp_path / "a.webp")
    gen.photo().save(p, "WEBP", exif=gen.pillow_exif(dto="2019:08:12 14:30:25").tobytes())
    r = analyze(p)
    assert (r.type, r.captured_at) == ("webp", T)


def test_tiff_exif(tmp_path):
    p = str(tmp_path / "scan.tif")
    gen.photo().save(p, "TIFF")
    gen.write_tags(p, exif={"Exif.Photo.DateTimeOriginal": "1962:07:01 10:00:00", "Exif.Image.Make": "Nikon"})
    r = analyze(p)
    assert (r.type, r.captured_at, r.make) == ("tiff", datetime(1962, 7, 1, 10, 0, 0), "Nikon")


def test_heic_exif_and_thumbnail(tmp_path):
    p = gen.heic(str(tmp_path / "IMG_0001.HEIC"), dto="2019:08:12 14:30:25", img=gen.photo(400, 300))
    r = analyze_file(p)
    assert r.error is None, r.error
    assert (r.type, r.extension_ok, r.captured_at) == ("heic", True, T)
    assert (r.width, r.height) == (400, 300)
    assert r.phash is not None and r.dhash is not None


def test_canon_crw_ciff_date_without_exif(tmp_path):
    p = gen.crw(str(tmp_path / "CRW_0001.CRW"), T)
    assert b"Exif" not in open(p, "rb").read()
    r = analyze(p)
    assert (r.type, r.captured_at, r.source, r.make, r.model) == ("crw", T, "exif:DateTimeOriginal", "Canon", "Canon PowerShot S40")
    assert r.confidence == Confidence.MEDIUM
    # No preview in this file: a RAW without one is analysed with a warning, not failed.
    full = analyze_file(p, thumb_dir=str(tmp_path / "t"))
    assert full.error is None and full.captured_at == T and any(w.startswith(NO_PREVIEW) for w in full.warnings)


def test_jpeg_xl_exif_box_and_thumbnail(tmp_path):
    p = gen.jxl(str(tmp_path / "photo.jxl"), dto="2019:08:12 14:30:25", img=gen.photo(160, 120))
    r = analyze_file(p, thumb_dir=str(tmp_path / "t"))
    assert r.error is None, r.error
    assert (r.type, r.extension_ok, r.captured_at, r.source) == ("jxl", True, T, "exif:DateTimeOriginal")
    assert (r.width, r.height) == (160, 120) and r.phash is not None and os.path.exists(r.thumbnail)


def test_metadata_reader_returns_plain_picklable_data(tmp_path):
    import pickle

    p = gen.jpeg(str(tmp_path / "a.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25",
                                                "Exif.Image.Orientation": "6"})
    md = read_metadata(open(p, "rb").read())
    assert md.orientation == 6
    assert pickle.loads(pickle.dumps(md)).tags["Exif.Photo.DateTimeOriginal"] == "2019:08:12 14:30:25"


# --- videos -------------------------------------------------------------------

def test_mp4_creation_time_is_utc_and_converted_with_the_default_zone(tmp_path):
    p = gen.video(str(tmp_path / "clip.mp4"), metadata={"creation_time": "2019-08-12T12:30:25.000000Z"})
    r = analyze_file(p, timezone="Europe/Berlin")
    assert r.error is None, r.error
    assert (r.type, r.captured_at, r.utc_offset, r.source) == ("mp4", T, 120, "quicktime:CreateDate")
    assert r.offset_assumed
    assert any("default time zone Europe/Berlin" in s for s in r.reasons)
    assert r.duration == pytest.approx(0.6, abs=0.15)
    assert (r.width, r.height) == (64, 48)
    assert r.phash is not None


def test_mov_with_apple_creationdate_keeps_local_time_and_offset(tmp_path):
    p = gen.mov_apple(str(tmp_path / "IMG_0002.MOV"), utc="2019-08-12T12:30:25.000000Z",
                      local_with_offset="2019-08-12T14:30:25+0200")
    r = analyze(p, timezone="America/New_York")
    assert (r.type, r.captured_at, r.utc_offset) == ("mov", T, 120)
    assert r.source == "quicktime:Keys:CreationDate" and not r.offset_assumed
    assert r.confidence == Confidence.HIGH


def test_mp4_local_day_date_beats_the_utc_header_and_gives_the_offset(tmp_path):
    # FFmpeg writes `date` as ©day (an iTunes-style item): a local wall clock
    # without an offset; the UTC header is two hours earlier.
    p = gen.video(str(tmp_path / "clip.mp4"), metadata={"creation_time": "2019-08-12T12:30:25Z", "date": "2019-08-12T14:30:25"})
    r = analyze(p, timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source, r.offset_assumed) == (T, 120, "quicktime:ContentCreateDate", False)
    assert any("agrees" in x and "QuickTime CreateDate" in x for x in r.reasons)


@pytest.mark.parametrize("udta, idit, expected", [
    ({b"\xa9day": "2019-08-12T14:30:25+0200"}, None, (T, 120, "quicktime:ContentCreateDate")),
    ({b"date": "2019-08-12T14:30:25+0200"}, None, (T, 120, "quicktime:DateTimeOriginal")),
    ({}, "2019-08-12T14:30:25+0200", (T, 120, "quicktime:DateTimeOriginal")),
    # A ©day ending in Z is UTC like the header: shown in the default zone.
    ({b"\xa9day": "2019-08-12T12:30:25Z"}, None, (datetime(2019, 8, 12, 8, 30, 25), -240, "quicktime:ContentCreateDate")),
])
def test_quicktime_user_data_dates(tmp_path, udta, idit, expected):
    p = gen.mov_by_hand(str(tmp_path / "MVI_0001.MOV"), header_utc=datetime(2019, 8, 12, 12, 30, 25), udta=udta, idit=idit)
    r = analyze_file(p, timezone="America/New_York", with_thumbnail=False)
    assert (r.captured_at, r.utc_offset, r.source) == expected


def test_rotated_video_gets_portrait_dimensions_and_thumbnail(tmp_path):
    p = gen.video(str(tmp_path / "portrait.mp4"), size=(64, 48), rotation=90)
    r = analyze_file(p, thumb_dir=str(tmp_path / "thumbs"))
    assert r.error is None, r.error
    assert (r.width, r.height) == (48, 64)
    with Image.open(r.thumbnail) as t:
        assert t.size == (48, 64)


def test_video_thumbnail_skips_black_lead_in_frames(tmp_path):
    p = gen.video(str(tmp_path / "fade.mp4"), frames=8, black_frames=3)
    r = analyze_file(p)
    assert r.error is None and r.low_detail is False


def test_avi_idit_date(tmp_path):
    p = gen.avi_with_idit(str(tmp_path / "MVI_0001.AVI"), "Mon Mar 10 15:04:43 2003")
    r = analyze(p)
    assert (r.type, r.captured_at, r.source) == ("avi", datetime(2003, 3, 10, 15, 4, 43), "riff:DateTimeOriginal")
    assert (r.width, r.height) == (320, 240)


def test_pyav_written_avi_decodes(tmp_path):
    p = gen.video(str(tmp_path / "clip.avi"), fmt="avi", codec="mjpeg")
    r = analyze_file(p)
    assert r.error is None and r.type == "avi" and r.phash is not None


def test_matroska_date_utc(tmp_path):
    p = gen.video(str(tmp_path / "clip.mkv"), fmt="matroska", metadata={"creation_time": "2019-08-12T12:30:25.000000Z"})
    r = analyze(p, timezone="UTC")
    assert (r.type, r.captured_at, r.source) == ("mkv", datetime(2019, 8, 12, 12, 30, 25), "matroska:DateUTC")


def test_webm_date_utc_read_from_the_ebml_header(tmp_path):
    # 2019-08-12 12:30:25.5 UTC in Matroska's units (ns since 2001-01-01 UTC).
    ns = int((datetime(2019, 8, 12, 12, 30, 25) - datetime(2001, 1, 1)).total_seconds()) * 10**9 + 500_000_000
    p = gen.webm_by_hand(str(tmp_path / "clip.webm"), ns)
    r = analyze(p, timezone="Europe/Berlin")
    assert (r.type, r.width, r.height, r.duration) == ("webm", 640, 360, 2.5)
    assert (r.captured_at, r.utc_offset, r.source) == (datetime(2019, 8, 12, 14, 30, 25), 120, "matroska:DateUTC")
    assert r.offset_assumed
    assert next(c for c in r.candidates if c.source == "matroska:DateUTC").is_utc


def test_matroska_reader_gives_up_quietly_on_broken_elements(tmp_path):
    p = gen.webm_by_hand(str(tmp_path / "clip.mkv"), 10**18, doc_type=b"matroska")
    data = open(p, "rb").read()
    cut = str(tmp_path / "cut.mkv")
    with open(cut, "wb") as f:
        f.write(data[:60] + b"\xff" * 40)  # the Info element's bytes replaced by junk
    from mediaparser.media.video import read_matroska

    assert read_matroska(p).candidates and read_matroska(cut).candidates == []


@pytest.mark.parametrize("when, offset, kw", [
    (datetime(2008, 12, 31, 23, 16, 24), 60, {}),
    # The block straddles two 188-byte packets: only the joined payload holds it.
    (datetime(2008, 12, 31, 23, 16, 24), -330, {"pad": 144}),
    # Blu-ray/AVCHD .M2TS: 192-byte packets with a time code first, block split.
    (datetime(2011, 7, 4, 9, 5, 7), 540, {"pad": 144, "m2ts": True}),
    # 00 00 00 in the BCD bytes is escaped in the NAL (00 00 03 00) and must be read back.
    (datetime(2010, 3, 1, 0, 0, 0), 0, {}),
])
def test_avchd_mdpm_date_with_zone(tmp_path, when, offset, kw):
    p = gen.mts_with_mdpm(str(tmp_path / "00001.MTS"), when, offset, **kw)
    if kw.get("pad"):
        assert bytes.fromhex("17EE8C60F84D11D98CD60800200C9A66") not in open(p, "rb").read()
    r = analyze(p)
    assert (r.type, r.captured_at, r.utc_offset, r.source) == ("mts", when, offset, "h264:DateTimeOriginal")


# --- sidecars -------------------------------------------------------------------

@pytest.mark.parametrize("sidecar_name", ["IMG_1234.CR2.xmp", "IMG_1234.xmp", "IMG_1234.XMP"])
def test_xmp_sidecar_naming_variants(tmp_path, sidecar_name):
    media = gen.jpeg(str(tmp_path / "IMG_1234.CR2"))  # JPEG bytes: a lying RAW name is fine here
    gen.xmp_sidecar(str(tmp_path / sidecar_name), exif_DateTimeOriginal="2019-08-12T14:30:25+02:00")
    assert [os.path.basename(s) for s in find_xmp_sidecars(media)] == [sidecar_name]
    r = analyze(media)
    assert (r.captured_at, r.utc_offset, r.source) == (T, 120, "xmp-sidecar:exif:DateTimeOriginal")
    assert r.sidecars == [str(tmp_path / sidecar_name)]


def test_xmp_sidecar_correction_outranks_the_embedded_date_but_is_flagged(tmp_path):
    media = gen.jpeg(str(tmp_path / "DSC_0001.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 15:42:25"})
    gen.xmp_sidecar(str(tmp_path / "DSC_0001.jpg.xmp"), exif_DateTimeOriginal="2019-08-12T14:30:25")
    r = analyze(media)
    assert r.captured_at == T and r.source == "xmp-sidecar:exif:DateTimeOriginal"
    assert r.confidence == Confidence.LOW
    assert any("disagrees" in s and "1 h 12 min" in s for s in r.reasons)


@pytest.mark.parametrize(
    "media_name, json_name",
    [
        ("IMG_1234.jpg", "IMG_1234.jpg.json"),
        ("IMG_1234.jpg", "IMG_1234.jpg.supplemental-metadata.json"),
        ("IMG_1234.jpg", "IMG_1234.jpg.supplemental-metad.json"),
        ("IMG_1234.jpg", "IMG_1234.jpg.suppl.json"),
        ("IMG_1234(1).jpg", "IMG_1234.jpg(1).json"),
        ("IMG_1234(1).jpg", "IMG_1234.jpg.supplemental-metadata(1).json"),
        ("IMG_1234-edited.jpg", "IMG_1234.jpg.json"),
        ("IMG_1234-edited.jpg", "IMG_1234.jpg.supplemental-metadata.json"),
        ("IMG_1234.jpg", "IMG_1234.json"),
        ("Screenshot_20190812-143025_Chrome_and_more_words.jpg", "Screenshot_20190812-143025_Chrome_and_more_w.json"),
    ],
)
def test_takeout_json_naming_variants(tmp_path, media_name, json_name):
    media = gen.jpeg(str(tmp_path / media_name))
    gen.takeout_json(str(tmp_path / json_name), title=media_name, taken=T_UTC_EPOCH, created=T_UTC_EPOCH + 86400)
    assert os.path.basename(find_takeout_json(media) or "") == json_name
    r = analyze(media, timezone="Europe/Berlin")
    assert r.source == "takeout-json:photoTakenTime"
    assert r.captured_at == T  # 12:30:25 UTC shown in Berlin summer time
    assert any(c.source == "takeout-json:creationTime" for c in r.candidates)


def test_takeout_json_of_the_original_is_not_taken_by_the_duplicate(tmp_path):
    gen.jpeg(str(tmp_path / "IMG_1234.jpg"))
    dup = gen.jpeg(str(tmp_path / "IMG_1234(1).jpg"))
    gen.takeout_json(str(tmp_path / "IMG_1234.jpg.json"), title="IMG_1234.jpg", taken=T_UTC_EPOCH)
    gen.takeout_json(str(tmp_path / "IMG_1234.jpg(1).json"), title="IMG_1234.jpg", taken=T_UTC_EPOCH + 60)
    assert os.path.basename(find_takeout_json(dup)) == "IMG_1234.jpg(1).json"
    assert os.path.basename(find_takeout_json(str(tmp_path / "IMG_1234.jpg"))) == "IMG_1234.jpg.json"


def test_takeout_utc_and_exif_local_agree_and_give_the_offset(tmp_path):
    media = gen.jpeg(str(tmp_path / "IMG_5.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    gen.takeout_json(str(tmp_path / "IMG_5.jpg.json"), title="IMG_5.jpg", taken=T_UTC_EPOCH)
    r = analyze(media, timezone="UTC")
    assert (r.captured_at, r.utc_offset, r.confidence) == (T, 120, Confidence.HIGH)


def test_broken_takeout_json_is_a_rejected_candidate_not_a_crash(tmp_path):
    media = gen.jpeg(str(tmp_path / "IMG_6.jpg"))
    (tmp_path / "IMG_6.jpg.json").write_text("{not json")
    r = analyze(media)
    bad = [c for c in r.candidates if c.source.startswith("takeout-json")]
    assert bad and not bad[0].accepted and "could not be read" in bad[0].reason
