"""The export: dry-run plan, output tree and names, embedded time and tags, originals untouched, manifest."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.media.analyze import analyze_file
from mediaparser.media.embed import read_embedded
from mediaparser.store.models import ExportItem, ExportItemStatus, Job, JobStatus, ManifestEntry
from mediaparser.usecases import export as exporter

from tests.support.export import digest, import_and_resolve, make_dump, tree_digest
from tests.support.instance import outside_roots


@pytest.fixture
def dump(tmp_path):
    src = tmp_path / "dump"
    return src, make_dump(src)


def _export(app, import_job_id: int, **kw) -> int:
    with app.app_context():
        job, _plan = exporter.create_export_job(app.extensions["mediaparser"], import_job_id, **kw)
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def test_dry_run_plans_without_writing_and_refuses_open_groups(app, dump, tmp_path):
    src, _files = dump
    job_id, _ids = import_and_resolve(app, src, resolve=False)
    out = outside_roots(tmp_path) / "archive"
    with app.app_context():
        settings = app.extensions["mediaparser"]
        plan = exporter.build_plan(settings, job_id, output=str(out)).to_dict()
        assert not out.exists()  # a dry run writes nothing
        assert plan["total"] == 9 and plan["open_groups"] == 1 and plan["can_start"] is False
        assert plan["skipped"]["analysis failed"]["count"] == 1
        assert plan["unknown"] == 2 and plan["collision_count"] == 1
        assert plan["collisions"][0]["destination"] == "2019/20190812_143025_2.jpg"
        assert {f["folder"] for f in plan["folders"]} == {"2019", "2020", "2021", "2024", "unknown"}
        # Two exact duplicates, both kept while the group is open: the second is "already present".
        assert plan["to_copy"] == 7 and plan["already_present"] == 1
        assert any("not resolved" in w for w in plan["warnings"])
        with pytest.raises(exporter.UnresolvedGroups):
            exporter.create_export_job(settings, job_id, output=str(out))
        job, _ = exporter.create_export_job(settings, job_id, output=str(out), allow_unresolved=True)
        assert job.job_type == "export" and job.status == JobStatus.PENDING


def test_export_writes_the_archive_with_local_names_embedded_time_tags_and_a_manifest(app, dump, tmp_path):
    src, files = dump
    before = digest(files.values())
    job_id, ids = import_and_resolve(app, src)
    out = outside_roots(tmp_path) / "archive"
    export_id = _export(app, job_id, output=str(out))

    tree = tree_digest(out)
    assert sorted(tree) == sorted([
        "2019/20190812_143025.jpg", "2019/20190812_143025_2.jpg", "2020/20200102_030405.jpg",
        "2021/20210506_120000.mp4", "2021/20210506_120000.mp4.xmp",
        "2024/20241231_200000.jpg",  # 20:00 in New York on New Year's Eve: the local time, never UTC
        "unknown/really_png.JPG", "unknown/scan.png", "manifest.jsonl",
    ])
    assert not [p for p in tree if exporter.TEMP_PREFIX in p]
    assert digest(files.values()) == before  # originals byte-identical

    # The copy's embedded time, read back with our own analysis.
    ny = analyze_file(out / "2024/20241231_200000.jpg")
    assert ny.captured_at == datetime(2024, 12, 31, 20, 0, 0) and ny.utc_offset == -300
    emb = read_embedded(str(out / "2024/20241231_200000.jpg"))
    assert emb.tags["Exif.Photo.DateTimeOriginal"] == "2024:12:31 20:00:00"
    assert emb.tags["Exif.Photo.DateTimeDigitized"] == "2024:12:31 20:00:00"
    assert emb.tags["Exif.Photo.OffsetTimeOriginal"] == "-05:00"
    assert emb.subject == emb.keywords == ["Holidays"]  # DCIM is generic; the case as found
    # mtime is the capture instant.
    expected = datetime(2025, 1, 1, 1, 0, tzinfo=timezone.utc).timestamp()
    assert os.stat(out / "2024/20241231_200000.jpg").st_mtime == pytest.approx(expected)

    beach = read_embedded(str(out / "2019/20190812_143025.jpg"))
    assert sorted(beach.subject) == sorted(beach.keywords) == ["Family", "Holidays", "beach"]
    assert "Exif.Photo.OffsetTimeOriginal" not in beach.tags  # the offset was not known: none is invented
    assert analyze_file(out / "2019/20190812_143025.jpg").captured_at == datetime(2019, 8, 12, 14, 30, 25)

    # The image data is untouched: same pixels as the original.
    from PIL import Image
    with Image.open(files["beach"]) as a, Image.open(out / "2019/20190812_143025.jpg") as b:
        assert a.tobytes() == b.tobytes()

    # The PNG copy (its .JPG name corrected? no: it had no capture time → unknown/, original name).
    png = read_embedded(str(out / "unknown/scan.png"))
    assert png.subject == ["oma"]

    # Video: a sidecar next to the copy, which our own reader picks up; the copy itself is byte-identical.
    assert tree["2021/20210506_120000.mp4"] == before[str(files["clip"])]
    clip = analyze_file(out / "2021/20210506_120000.mp4")
    assert clip.captured_at == datetime(2021, 5, 6, 12, 0, 0)
    assert any(s.endswith(".mp4.xmp") for s in clip.sidecars)
    assert read_embedded((out / "2021/20210506_120000.mp4.xmp").read_bytes()).tags[
        "Xmp.exif.DateTimeOriginal"].startswith("2021-05-06T12:00:00")

    # Manifest: one line per database entry, each verified against the file on disk.
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    with app.app_context():
        entries = db.session.execute(select(ManifestEntry).where(ManifestEntry.export_job_id == export_id)).scalars().all()
        items = {i.file_id: i for i in db.session.execute(select(ExportItem).where(ExportItem.job_id == export_id)).scalars()}
        summary = exporter.export_summary(export_id)
    assert len(lines) == len(entries) == 7
    assert {(line["file_id"], line["destination"]) for line in lines} == {(e.file_id, e.destination) for e in entries}
    for e in entries:
        assert e.verified and e.sha256 == before[e.source_path]
        assert e.final_sha256 == tree[e.destination]
    beach_line = next(x for x in lines if x["destination"] == "2019/20190812_143025.jpg")
    assert beach_line["tags"] == ["beach", "Family", "Holidays"] and beach_line["time_source"] == "exif:DateTimeOriginal"
    assert beach_line["captured_at"] == "2019-08-12T14:30:25" and beach_line["source"] == str(files["beach"])
    # The set-aside duplicate and the broken file are skipped with reasons.
    aside = items[ids["copies/IMG_0003 copy.jpg"]] if items[ids["copies/IMG_0003 copy.jpg"]].status == "SKIPPED" \
        else items[ids["Holidays/IMG_0003.jpg"]]
    assert aside.status == ExportItemStatus.SKIPPED and aside.reason == exporter.SKIP_ASIDE
    assert items[ids["broken.jpg"]].reason == exporter.SKIP_FAILED
    assert summary["copied"] == 7 and summary["skipped"] == 2 and summary["failed"] == 0
    assert {f["folder"] for f in summary["folders"]} == {"2019", "2020", "2021", "2024", "unknown"}


def test_exporting_again_copies_nothing_twice(app, dump, tmp_path):
    src, _files = dump
    job_id, _ids = import_and_resolve(app, src)
    out = outside_roots(tmp_path) / "archive"
    _export(app, job_id, output=str(out))
    first = tree_digest(out)
    with app.app_context():
        plan = exporter.build_plan(app.extensions["mediaparser"], job_id, output=str(out)).to_dict()
    assert plan["to_copy"] == 0 and plan["already_present"] == 7
    second = _export(app, job_id, output=str(out))
    after = tree_digest(out)
    assert {k: v for k, v in after.items() if k != "manifest.jsonl"} == \
        {k: v for k, v in first.items() if k != "manifest.jsonl"}
    with app.app_context():
        s = exporter.export_summary(second)
    assert s["copied"] == 0 and s["already_present"] == 7


def test_a_file_that_appeared_at_the_destination_since_the_plan_is_not_overwritten(app, dump, tmp_path):
    src, _files = dump
    job_id, _ids = import_and_resolve(app, src)
    out = outside_roots(tmp_path) / "archive"
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job, _plan = exporter.create_export_job(settings, job_id, output=str(out))
        (out / "2024").mkdir(parents=True)
        (out / "2024" / "20241231_200000.jpg").write_bytes(b"someone else's file")
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
    assert (out / "2024" / "20241231_200000.jpg").read_bytes() == b"someone else's file"
    assert analyze_file(out / "2024" / "20241231_200000_2.jpg").captured_at == datetime(2024, 12, 31, 20, 0)


def test_export_refuses_at_run_time_too_when_groups_are_open(app, dump, tmp_path):
    """The rule lives in the service: a job created before a group reopened still refuses."""
    src, _files = dump
    job_id, _ids = import_and_resolve(app, src, resolve=False)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job, _ = exporter.create_export_job(settings, job_id, output=str(outside_roots(tmp_path) / "a"), allow_unresolved=True)
        job.options = {**job.options, "allow_unresolved": False}
        db.session.merge(job)
        db.session.commit()
        assert tasks.process_export_job.call_local(job.id) == JobStatus.FAILED
        j = db.session.get(Job, job.id, populate_existing=True)
        assert "not resolved" in j.error_message
    assert not (tmp_path / "a" / "2024").exists()


def test_capture_timestamp_uses_the_offset_and_never_shifts_the_local_name():
    local = datetime(2024, 12, 31, 20, 0)
    assert exporter.capture_timestamp(local, -300, "UTC") == datetime(2025, 1, 1, 1, 0, tzinfo=timezone.utc).timestamp()
    assert exporter.capture_timestamp(local, None, "America/New_York") == \
        datetime(2025, 1, 1, 1, 0, tzinfo=timezone.utc).timestamp()
    assert exporter.with_suffix("2019/20190812_143025.jpg", 3) == "2019/20190812_143025_3.jpg"
