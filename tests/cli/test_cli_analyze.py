"""The `analyze` command, driven through click's CliRunner."""
from __future__ import annotations

import json
import os

from click.testing import CliRunner

from mediaparser.cli.analyze import analyze_command

from tests.support import media as gen


def _tree(tmp_path):
    root = tmp_path / "dump"
    (root / "2019" / "2019-08-12 Trip").mkdir(parents=True)
    gen.jpeg(str(root / "2019" / "2019-08-12 Trip" / "IMG_20190812_143025.jpg"),
             exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    gen.takeout_json(str(root / "2019" / "2019-08-12 Trip" / "IMG_20190812_143025.jpg.json"),
                     title="IMG_20190812_143025.jpg", taken=1565613025)
    gen.video(str(root / "clip.mp4"), metadata={"creation_time": "2020-01-01T12:00:00.000000Z"})
    (root / "empty.jpg").write_bytes(b"")
    return root


def _run(args):
    result = CliRunner().invoke(analyze_command, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_jsonl_one_object_per_file_in_order_with_sidecars_skipped(tmp_path):
    root = _tree(tmp_path)
    res = _run([str(root), "--jsonl", "--timezone", "Europe/Berlin", "--workers", "2", "--thumb-dir", str(tmp_path / "t")])
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    names = [os.path.relpath(d["path"], root) for d in lines]
    assert names == ["clip.mp4", "empty.jpg", "2019/2019-08-12 Trip/IMG_20190812_143025.jpg"]
    clip, empty, photo = lines
    assert clip["captured_at"] == "2020-01-01T13:00:00" and clip["utc_offset"] == "+01:00"
    assert empty["error"] == "empty file (0 bytes)"
    assert photo["confidence"] == "high" and photo["captured_at"] == "2019-08-12T14:30:25"
    assert {c["source"] for c in photo["candidates"]} >= {"filename", "folder", "takeout-json:photoTakenTime"}
    assert os.path.isfile(photo["thumbnail"])
    assert "3 file(s) analysed, 1 with errors" in res.stderr


def test_pretty_output_in_one_process_without_thumbnails(tmp_path):
    root = _tree(tmp_path)
    res = _run([str(root / "clip.mp4"), "--workers", "1", "--no-thumbnails"])
    d = json.loads(res.stdout)
    assert res.stdout.startswith("{\n")
    assert d["type"] == "mp4" and d["phash"] is None and d["thumbnail"] is None and d["error"] is None
    assert d["captured_at"] == "2020-01-01T12:00:00"  # default zone UTC


def test_unknown_time_zone_is_a_usage_error(tmp_path):
    root = _tree(tmp_path)
    result = CliRunner().invoke(analyze_command, [str(root), "--timezone", "Nowhere/Atlantis"])
    assert result.exit_code == 2
    assert "unknown time zone" in result.output


def _work_that_crashes_on_poison(item, **_):
    import os as _os
    import signal as _signal
    import time as _time

    if item[0].endswith("poison.jpg"):
        _os._exit(3)  # what a segfault in a C decoder does to a worker
    if item[0].endswith("hang.jpg"):
        _signal.pthread_sigmask(_signal.SIG_BLOCK, {_signal.SIGALRM})  # like C code that never yields
        _time.sleep(60)
    return {"path": item[0], "error": None}


def test_a_crashing_worker_costs_one_file_not_the_run(tmp_path):
    from mediaparser.media.analyze import analysis_dicts

    items = [(str(tmp_path / f"f{i}.jpg"), str(tmp_path)) for i in range(6)]
    items.insert(3, (str(tmp_path / "poison.jpg"), str(tmp_path)))
    out = list(analysis_dicts(_work_that_crashes_on_poison, items, 2))
    assert [d["path"] for d in out] == [i[0] for i in items]
    assert [d["path"] for d in out if d["error"]] == [str(tmp_path / "poison.jpg")]
    assert "crashed" in out[3]["error"]


def test_a_file_stuck_past_the_hard_deadline_is_stopped(tmp_path):
    from mediaparser.media.analyze import analysis_dicts

    items = [(str(tmp_path / f"f{i}.jpg"), str(tmp_path)) for i in range(4)]
    items.insert(1, (str(tmp_path / "hang.jpg"), str(tmp_path)))
    # The stuck file sleeps 60 s with SIGALRM blocked: only the deadline can give its error below.
    out = list(analysis_dicts(_work_that_crashes_on_poison, items, 2, deadline=1.5))
    assert [d["path"] for d in out] == [i[0] for i in items]
    assert [d["path"] for d in out if d["error"]] == [str(tmp_path / "hang.jpg")]
    assert "did not finish within 1.5 s" in out[1]["error"]


def test_summary_says_whether_exiftool_gave_a_second_opinion(tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "dump"
    root.mkdir()
    gen.gif_with_xmp(str(root / "anim.gif"), 'exif:DateTimeOriginal="2019-08-12T14:30:25+02:00"')
    res = _run([str(root), "--jsonl", "--no-thumbnails", "--workers", "1"])
    assert "exiftool second opinion: off" in res.stderr
    if shutil.which("exiftool"):
        res = _run([str(root), "--jsonl", "--no-thumbnails", "--workers", "1", "--exiftool", "auto"])
        d = json.loads(res.stdout)
        assert (d["captured_at"], d["exiftool"]) == ("2019-08-12T14:30:25", "dated")
        assert "asked about 1 file(s) with no date, 1 dated by it" in res.stderr
    monkeypatch.setenv("PATH", str(tmp_path))
    res = _run([str(root), "--jsonl", "--no-thumbnails", "--workers", "1", "--exiftool", "auto"])
    assert json.loads(res.stdout)["captured_at"] is None
    assert "exiftool second opinion: absent (exiftool is not installed)" in res.stderr


def test_json_shows_live_photo_identifiers_and_motion_photo_facts(tmp_path):
    root = tmp_path / "phone"
    root.mkdir()
    cid = "3F8E4C1A-2B7D-4E39-9A61-0C5D7E2F8B14"
    gen.live_still(str(root / "IMG_0001.HEIC"), dto="2019:08:12 14:30:25", content_id=cid)
    gen.live_clip(str(root / "IMG_0001.MOV"), local_with_offset="2019-08-12T14:30:24+0200",
                  utc="2019-08-12T12:30:24Z", content_id=cid)
    _, clip = gen.motion_photo(str(root / "PXL_20190812_143025.MP.jpg"))
    res = _run([str(root), "--jsonl", "--workers", "1", "--no-thumbnails"])
    by_name = {os.path.basename(d["path"]): d for d in map(json.loads, res.stdout.splitlines())}
    assert by_name["IMG_0001.HEIC"]["content_id"] == cid == by_name["IMG_0001.MOV"]["content_id"]
    assert by_name["IMG_0001.HEIC"]["motion_photo"] is None
    motion = by_name["PXL_20190812_143025.MP.jpg"]["motion_photo"]
    assert motion["video_size"] == len(clip)
    assert motion["video_offset"] + len(clip) == by_name["PXL_20190812_143025.MP.jpg"]["size"]


def test_takeout_parts_are_analysed_with_their_json_facts(tmp_path):
    from tests.support import takeout as tk

    folder = tmp_path / "downloads"
    part1 = tk.write_part(folder, 1, {"Photos from 2019/scan.jpg": tk.jpeg_bytes(1),
                                      "Trash/old.jpg": tk.jpeg_bytes(2)})
    tk.write_part(folder, 2, {
        "Photos from 2019/scan.jpg.supplemental-metadata.json": tk.photo_json("scan.jpg", 1565613025, geo=(52.52, 13.405)),
        "Trash/old.jpg.json": tk.photo_json("old.jpg", 1565613085, trashed=True)}, fmt="tgz")
    before = part1.read_bytes()
    res = _run([str(folder), "--jsonl", "--timezone", "Europe/Berlin", "--workers", "1", "--no-thumbnails"])
    lines = {d["path"]: d for d in map(json.loads, res.stdout.splitlines())}
    label = f"[Google Takeout {tk.EXPORT}]/Takeout/Google Photos"
    scan, old = lines[f"{label}/Photos from 2019/scan.jpg"], lines[f"{label}/Trash/old.jpg"]
    assert scan["captured_at"] == "2019-08-12T14:30:25" and scan["source"] == "takeout-json:photoTakenTime"
    assert scan["takeout"]["geo"] == {"latitude": 52.52, "longitude": 13.405, "altitude": 0.0}
    assert scan["takeout"]["taken"] == "2019-08-12T12:30:25Z" and scan["has_gps"] is True
    assert scan["sidecars"] == [f"{label}/Photos from 2019/scan.jpg.supplemental-metadata.json"]
    assert old["takeout"]["flags"] == ["trash"]
    assert "unpacked 2 Google Takeout part(s)" in res.stderr and "2 file(s) analysed" in res.stderr
    assert part1.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == [
        f"takeout-{tk.EXPORT}-001.zip", f"takeout-{tk.EXPORT}-002.tgz"]
def test_the_stacks_among_the_files_follow_them(tmp_path):
    from datetime import datetime

    root = tmp_path / "card"
    root.mkdir()
    gen.jpeg(str(root / "IMG_0001.JPG"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    gen.crw(str(root / "IMG_0001.CRW"), datetime(2019, 8, 12, 14, 30, 25))
    for i in (1, 2, 3):
        gen.jpeg(str(root / f"20190812_150000_BURST{i:03d}{'_COVER' if i == 2 else ''}.jpg"), img=gen.photo(seed=i))
    gen.jpeg(str(root / "beach.jpg"), img=gen.photo(seed=8))
    gen.jpeg(str(root / "beach-bearbeitet.jpg"), img=gen.photo(seed=9))
    res = _run([str(root), "--jsonl", "--no-thumbnails", "--workers", "1"])
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 7  # one object per file
    got = {os.path.basename(d["path"]): d["stack"] and (d["stack"]["kind"], d["stack"]["role"],
                                                         os.path.basename(d["stack"]["lead"])) for d in lines}
    cover = "20190812_150000_BURST002_COVER.jpg"
    assert got == {
        "IMG_0001.JPG": ("raw_jpeg", "jpeg", "IMG_0001.JPG"), "IMG_0001.CRW": ("raw_jpeg", "raw", "IMG_0001.JPG"),
        "20190812_150000_BURST001.jpg": ("burst", "frame", cover), cover: ("burst", "cover", cover),
        "20190812_150000_BURST003.jpg": ("burst", "frame", cover),
        "beach.jpg": ("edited", "original", "beach.jpg"), "beach-bearbeitet.jpg": ("edited", "edited", "beach.jpg"),
    }
    assert "7 in 3 stack(s)" in res.stderr


def test_a_stack_forms_within_one_folder_only(tmp_path):
    from datetime import datetime

    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    gen.jpeg(str(tmp_path / "a" / "IMG_0001.JPG"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    gen.crw(str(tmp_path / "b" / "IMG_0001.CRW"), datetime(2019, 8, 12, 14, 30, 25))
    res = _run([str(tmp_path), "--jsonl", "--no-thumbnails", "--workers", "1"])
    assert [json.loads(line)["stack"] for line in res.stdout.splitlines()] == [None, None]
