"""ExifTool's optional second opinion (media/exiftool.py), both ways: with
ExifTool installed (CI installs it) and without it (a setting that names no
program, a PATH without it, a broken program)."""
from __future__ import annotations

import os
import shutil
import stat
from datetime import datetime

import pytest

from mediaparser.media import analyze as analyze_mod
from mediaparser.media.analyze import analyze_file
from mediaparser.media.exiftool import candidates_from_tags, find_exiftool
from mediaparser.media.timestamps import Confidence, source_info

from tests.support import media as gen

T = datetime(2019, 8, 12, 14, 30, 25)
EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (apt-get install libimage-exiftool-perl)")


def _gif(tmp_path):
    return gen.gif_with_xmp(str(tmp_path / "anim.gif"), 'exif:DateTimeOriginal="2019-08-12T14:30:25+02:00"')


def test_candidates_keep_capture_tags_only_and_mark_utc_ones():
    tags = {
        "SourceFile": "x", "System:FileModifyDate": "2024:01:01 10:00:00+00:00",
        "ICC_Profile:ProfileDateTime": "1998:02:09 06:49:00", "IFD0:ModifyDate": "2020:01:01 10:00:00",
        "FLIR:DateTimeOriginal": "2012:02:11 14:17:08.253+01:00", "QuickTime:CreateDate": "2012:02:11 13:17:08",
        "GPS:GPSDateTime": "2012:02:11 13:17:10Z", "Composite:SubSecDateTimeOriginal": "2012:02:11 14:17:08.25",
        "XMP-exif:DateTimeOriginal": "0000:00:00 00:00:00",
    }
    got = {c.source: c for c in candidates_from_tags(tags)}
    assert set(got) == {"exiftool:FLIR:DateTimeOriginal", "exiftool:QuickTime:CreateDate", "exiftool:GPS:GPSDateTime"}
    flir = got["exiftool:FLIR:DateTimeOriginal"]
    assert (flir.value, flir.utc_offset, flir.is_utc) == (datetime(2012, 2, 11, 14, 17, 8), 60, False)
    qt, gps = got["exiftool:QuickTime:CreateDate"], got["exiftool:GPS:GPSDateTime"]
    assert qt.is_utc and gps.is_utc and gps.utc_offset is None


def test_its_dates_rank_below_every_reader_of_ours_but_above_a_file_name():
    original = source_info("exiftool:FLIR:DateTimeOriginal")
    assert original.trust < min(source_info(s).trust for s in (
        "exif:CreateDate", "quicktime:MediaCreateDate", "png:CreationTime", "matroska:DateUTC"))
    assert original.trust > source_info("filename").trust
    assert source_info("exiftool:IFD0:CreateDate").trust < original.trust
    assert not source_info("exiftool:GPS:GPSDateTime").can_contradict


@needs_exiftool
def test_installed_exiftool_dates_a_file_our_readers_cannot(tmp_path):
    p = _gif(tmp_path)
    assert analyze_file(p, with_thumbnail=False).captured_at is None  # off by default
    r = analyze_file(p, with_thumbnail=False, exiftool="auto", timezone="America/New_York")
    assert (r.captured_at, r.utc_offset, r.source, r.exiftool) == (T, 120, "exiftool:XMP-exif:DateTimeOriginal", "dated")
    assert r.confidence == Confidence.HIGH and r.to_dict()["exiftool"] == "dated"


@needs_exiftool
def test_exiftool_is_not_asked_about_files_our_readers_dated(tmp_path):
    p = gen.jpeg(str(tmp_path / "a.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    r = analyze_file(p, with_thumbnail=False, exiftool="auto")
    assert (r.captured_at, r.exiftool) == (T, None) and "exiftool" not in r.timings
    undated = gen.jpeg(str(tmp_path / "b.jpg"))
    r = analyze_file(undated, with_thumbnail=False, exiftool=EXIFTOOL)
    assert (r.captured_at, r.exiftool) == (None, "no date")


def test_absent_exiftool_means_no_second_opinion(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH without exiftool
    monkeypatch.setattr(analyze_mod, "_EXIFTOOL_PROGRAMS", {})
    assert find_exiftool("auto") is None and find_exiftool("off") is None
    assert find_exiftool(str(tmp_path / "exiftool")) is None
    r = analyze_file(_gif(tmp_path), with_thumbnail=False, exiftool="auto")
    assert (r.captured_at, r.exiftool, r.error) == (None, None, None)


def test_a_broken_exiftool_is_no_answer_and_the_analysis_goes_on(tmp_path):
    fake = tmp_path / "exiftool"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    r = analyze_file(_gif(tmp_path), with_thumbnail=False, exiftool=str(fake))
    assert (r.captured_at, r.exiftool, r.error) == (None, "no answer", None)
