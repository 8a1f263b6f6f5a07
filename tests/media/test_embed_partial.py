"""Partial dates written into an archive copy (issue 10 item 6): XMP says exactly what is
known, no fake EXIF time is written, and the copy's contradicting capture dates go."""
from __future__ import annotations

from datetime import datetime

import pytest

from mediaparser.media.embed import embed_bytes, read_embedded, sidecar_xmp

from tests.support import media as gen


@pytest.fixture
def scanned(tmp_path):
    """A scan: the scanner wrote the day of scanning as the capture date, in EXIF, XMP and IPTC."""
    p = gen.jpeg(str(tmp_path / "scan.jpg"),
                 exif={"Exif.Photo.DateTimeOriginal": "2015:03:02 10:00:00",
                       "Exif.Photo.DateTimeDigitized": "2015:03:02 10:00:00",
                       "Exif.Photo.OffsetTimeOriginal": "+01:00"},
                 xmp={"Xmp.xmp.CreateDate": "2015-03-02T10:00:00"})
    return p, open(p, "rb").read()


@pytest.mark.parametrize("precision, xmp", [("day", "1987-08-12"), ("month", "1987-08"), ("year", "1987")])
def test_a_partial_date_is_written_as_a_partial_xmp_date_and_never_as_an_exif_time(tmp_path, scanned,
                                                                                   precision, xmp):
    _path, data = scanned
    out = tmp_path / "copy.jpg"
    out.write_bytes(embed_bytes(data, "jpg", datetime(1987, 8, 12), None, ["Oma"], precision=precision))
    back = read_embedded(str(out))
    assert back.tags == {"Xmp.photoshop.DateCreated": xmp}  # no EXIF time, no stale 2015 date anywhere
    assert back.subject == ["Oma"] and back.keywords == ["Oma"]


def test_a_decade_has_no_xmp_spelling_so_no_date_is_written(tmp_path, scanned):
    _path, data = scanned
    out = tmp_path / "copy.jpg"
    out.write_bytes(embed_bytes(data, "jpg", datetime(1990, 1, 1), None, [], precision="decade"))
    assert read_embedded(str(out)).tags == {}


def test_a_full_time_is_still_written_to_exif(tmp_path, scanned):
    _path, data = scanned
    out = tmp_path / "copy.jpg"
    out.write_bytes(embed_bytes(data, "jpg", datetime(1987, 8, 12, 14, 30), 120, [], precision="minute"))
    tags = read_embedded(str(out)).tags
    assert tags["Exif.Photo.DateTimeOriginal"] == "1987:08:12 14:30:00"
    assert tags["Xmp.xmp.CreateDate"] == "1987-08-12T14:30:00+02:00"


@pytest.mark.parametrize("precision, xmp", [("day", "1987-08-12"), ("month", "1987-08"), ("year", "1987"),
                                            ("decade", None)])
def test_the_sidecar_of_a_partial_date(precision, xmp):
    packet = sidecar_xmp(datetime(1987, 8, 12), None, ["x"], precision=precision)
    tags = read_embedded(packet).tags
    # exiv2 opening a sidecar also converts XMP dates to EXIF ones, and turns a partial
    # photoshop:DateCreated into a wrong full time (1987 -> 1986:11:30 00:00:00): the XMP
    # is what the sidecar says (docs/capture-time.md, "Partial dates").
    assert {k: v for k, v in tags.items() if k.startswith("Xmp.")} == ({"Xmp.photoshop.DateCreated": xmp} if xmp else {})
    assert b"exif:DateTimeOriginal" not in packet and b"xmp:CreateDate" not in packet
