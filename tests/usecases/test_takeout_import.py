"""Importing Google Takeout parts as downloaded: unpacked once into a working copy,
JSON matched across parts, capture time, place, flags and album tags; a missing
part named and completed by a later import; the parts never touched."""
from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile
from mediaparser.usecases import tagging, takeout
from mediaparser.usecases.importing import create_import_job

from tests.support import takeout as gen
from tests.support.instance import build_app, instance_env

# 2019-08-12 12:30:25 UTC = 14:30:25 in Berlin (summer time)
TAKEN = 1565613025


@pytest.fixture
def berlin_app(tmp_path, backend):
    app = build_app(instance_env(tmp_path, backend, MEDIAPARSER_TIMEZONE="Europe/Berlin"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _digests(folder: Path) -> dict[str, tuple[str, float]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime) for p in folder.iterdir()}


def _import(app, folder: Path) -> Job:
    settings = app.extensions["mediaparser"]
    job = create_import_job(settings, str(folder), check_roots=False)
    assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    db.session.commit()
    return db.session.get(Job, job.id, populate_existing=True)


def _rows(job_id: int) -> dict[str, MediaFile]:
    rows = db.session.execute(select(MediaFile).where(MediaFile.job_id == job_id)).scalars().all()
    db.session.commit()
    return {r.rel_path.split("Google Photos/", 1)[-1]: r for r in rows}


def test_two_parts_import_with_every_naming_quirk(berlin_app, tmp_path):
    p2019 = "Photos from 2019"
    long_name = "PXL_20190812_143025123_PORTRAIT_and_a_long_name.jpg"
    part1 = {
        # EXIF photo whose JSON sits in the other part
        f"{p2019}/IMG_0001.jpg": gen.jpeg_bytes(1, dto="2019:08:12 14:30:25"),
        # the JSON of a photo without EXIF that comes in part 2
        f"{p2019}/scan.jpg.supplemental-metadata.json": gen.photo_json("scan.jpg", TAKEN + 60, geo=(48.1372, 11.5756)),
        # a name cut at 46 characters
        f"{p2019}/{long_name}": gen.jpeg_bytes(3),
        f"{p2019}/{long_name[:46]}.json": gen.photo_json(long_name, TAKEN + 120),
        # duplicates with the counter behind the extension
        f"{p2019}/IMG_0002.jpg": gen.jpeg_bytes(4),
        f"{p2019}/IMG_0002(1).jpg": gen.jpeg_bytes(5),
        f"{p2019}/IMG_0002.jpg.supplemental-metadata.json": gen.photo_json("IMG_0002.jpg", TAKEN + 180),
        f"{p2019}/IMG_0002.jpg.supplemental-metadata(1).json": gen.photo_json("IMG_0002.jpg", TAKEN + 240),
        # an edited copy ("-bearbeitet") beside its original, one JSON for both
        f"{p2019}/IMG_0003.jpg": gen.jpeg_bytes(6),
        f"{p2019}/IMG_0003-bearbeitet.jpg": gen.jpeg_bytes(7),
        f"{p2019}/IMG_0003.jpg.supplemental-metadata.json": gen.photo_json("IMG_0003.jpg", TAKEN + 300),
        # an album whose title differs from its folder name
        "Paris_ Rome 2019/metadata.json": gen.album_json("Paris/Rome 2019"),
        "Paris_ Rome 2019/IMG_0004.jpg": gen.jpeg_bytes(8),
        "Paris_ Rome 2019/IMG_0004.jpg.json": gen.photo_json("IMG_0004.jpg", TAKEN + 360),
    }
    part2 = {  # a .tgz part
        f"{p2019}/IMG_0001.jpg.supplemental-metadata.json": gen.photo_json("IMG_0001.jpg", TAKEN, geo=(52.52, 13.405)),
        f"{p2019}/scan.jpg": gen.jpeg_bytes(2),
        "Trash/IMG_0005.jpg": gen.jpeg_bytes(9),
        "Trash/IMG_0005.jpg.supplemental-metadata.json": gen.photo_json("IMG_0005.jpg", TAKEN + 420, trashed=True),
        f"{p2019}/IMG_0006.jpg": gen.jpeg_bytes(10),
        f"{p2019}/IMG_0006.jpg.json": gen.photo_json("IMG_0006.jpg", TAKEN + 480, archived=True),
    }
    downloads = tmp_path / "downloads"
    gen.write_part(downloads, 1, part1)
    gen.write_part(downloads, 2, part2, fmt="tgz")
    before = _digests(downloads)
    with berlin_app.app_context():
        settings = berlin_app.extensions["mediaparser"]
        job = _import(berlin_app, downloads)
        rows = _rows(job.id)
        assert len(rows) == 10 and all(r.status == FileStatus.DONE for r in rows.values())
        # every file comes from the one working copy in the instance folder
        copy = os.path.realpath(takeout.working_copy(settings, gen.EXPORT))
        assert all(r.source_path.startswith(copy + os.sep) for r in rows.values())
        assert job.skipped["Google Takeout part (the photos inside are imported)"]["count"] == 2
        info = job.options["takeout"]["exports"][0]
        assert info["parts"] == [1, 2] and info["missing"] == [] and info["orphan_jsons"] == 0
        assert info["message"] is None and info["files"] == len(part1) + len(part2)

        def local(r):
            return r.captured_at, r.utc_offset

        exif = rows[f"{p2019}/IMG_0001.jpg"]
        assert local(exif) == (datetime(2019, 8, 12, 14, 30, 25), 120)
        assert exif.confidence == "high"  # EXIF and the JSON (in the other part) agree up to the zone
        assert exif.takeout["geo"]["latitude"] == 52.52 and exif.has_gps is True
        scan = rows[f"{p2019}/scan.jpg"]  # no EXIF: the JSON's UTC time, shown in the configured zone
        assert scan.time_source == "takeout-json:photoTakenTime"
        assert local(scan) == (datetime(2019, 8, 12, 14, 31, 25), 120) and scan.has_gps is True
        assert rows[f"{p2019}/{long_name}"].captured_at == datetime(2019, 8, 12, 14, 32, 25)
        assert rows[f"{p2019}/IMG_0002.jpg"].captured_at == datetime(2019, 8, 12, 14, 33, 25)
        assert rows[f"{p2019}/IMG_0002(1).jpg"].captured_at == datetime(2019, 8, 12, 14, 34, 25)
        # the edited copy and its original both take the original's JSON
        assert rows[f"{p2019}/IMG_0003.jpg"].captured_at == datetime(2019, 8, 12, 14, 35, 25)
        assert rows[f"{p2019}/IMG_0003-bearbeitet.jpg"].captured_at == datetime(2019, 8, 12, 14, 35, 25)
        assert rows[f"{p2019}/IMG_0003-bearbeitet.jpg"].time_source == "takeout-json:photoTakenTime"
        # flags
        assert rows["Trash/IMG_0005.jpg"].takeout_flag == "trash"
        assert rows[f"{p2019}/IMG_0006.jpg"].takeout_flag == "archive"
        assert rows[f"{p2019}/IMG_0001.jpg"].takeout_flag is None
        # album folder and album title as tags; Takeout's own folders are none
        album = rows["Paris_ Rome 2019/IMG_0004.jpg"]
        tags = tagging.tags_of([album.id, exif.id, rows["Trash/IMG_0005.jpg"].id])
        assert {(t["name"], t["origin"]) for t in tags[album.id]} == {("Paris_ Rome 2019", "folder"),
                                                                      ("Paris/Rome 2019", "album")}
        assert tags[exif.id] == [] and tags[rows["Trash/IMG_0005.jpg"].id] == []
    assert _digests(downloads) == before  # the parts are only read
    assert sorted(os.listdir(downloads)) == sorted(before)


def test_a_missing_part_is_named_and_a_later_import_completes_the_matches(berlin_app, tmp_path):
    p = "Photos from 2020"
    first, later = tmp_path / "first", tmp_path / "later"
    gen.write_part(first, 1, {f"{p}/A.jpg": gen.jpeg_bytes(1),  # its JSON is in the missing part 2
                              f"{p}/B.jpg.json": gen.photo_json("B.jpg", TAKEN)})  # B.jpg is in part 2
    gen.write_part(first, 3, {f"{p}/C.jpg": gen.jpeg_bytes(3),
                              f"{p}/C.jpg.json": gen.photo_json("C.jpg", TAKEN + 60)})
    gen.write_part(later, 2, {f"{p}/B.jpg": gen.jpeg_bytes(2),
                              f"{p}/A.jpg.supplemental-metadata.json": gen.photo_json("A.jpg", TAKEN + 120,
                                                                                      archived=True)}, fmt="tgz")
    with berlin_app.app_context():
        job1 = _import(berlin_app, first)
        info = job1.options["takeout"]["exports"][0]
        assert info["missing"] == [2] and info["orphan_jsons"] == 1
        assert info["message"] == "part 002 of 3 is missing: 1 JSON file has no photo yet"
        a = _rows(job1.id)[f"{p}/A.jpg"]
        assert a.captured_at is None or a.time_source != "takeout-json:photoTakenTime"
        assert a.takeout_flag is None
        job2 = _import(berlin_app, later)
        info = job2.options["takeout"]["exports"][0]
        assert info["parts"] == [1, 2, 3] and info["missing"] == [] and info["orphan_jsons"] == 0
        assert info["message"] is None and info["this_import"] == [2] and info["completed_earlier"] == 1
        rows2 = _rows(job2.id)
        assert set(rows2) == {f"{p}/B.jpg"}  # the earlier files are not imported twice
        assert rows2[f"{p}/B.jpg"].captured_at == datetime(2019, 8, 12, 14, 30, 25)
        a = db.session.get(MediaFile, a.id, populate_existing=True)
        assert a.job_id == job1.id and a.captured_at == datetime(2019, 8, 12, 14, 32, 25)
        assert a.time_source == "takeout-json:photoTakenTime" and a.takeout_flag == "archive"
        assert any(s.endswith("A.jpg.supplemental-metadata.json") for s in a.sidecars)
        assert any("arrived with a later part" in r for r in a.reasons)
        db.session.commit()
        # Photos not exported and cleaned up yet: their working copy is never removed.
        settings = berlin_app.extensions["mediaparser"]
        assert takeout.remove_emptied_copies(settings, job1.id) == []
        assert takeout.working_copy(settings, gen.EXPORT).joinpath("Takeout").is_dir()


def test_a_damaged_part_is_a_failed_file_and_the_rest_is_imported(berlin_app, tmp_path):
    p = "Photos from 2021"
    downloads = tmp_path / "downloads"
    gen.write_part(downloads, 1, {f"{p}/A.jpg": gen.jpeg_bytes(1), f"{p}/A.jpg.json": gen.photo_json("A.jpg", TAKEN)})
    # part 2 cut short while downloading (a .tgz: what came before the cut is still used)
    tgz = gen.write_part(downloads, 2, {f"{p}/B.jpg": gen.jpeg_bytes(2), f"{p}/B.jpg.json": gen.photo_json("B.jpg", TAKEN),
                                        f"{p}/C.jpg": gen.jpeg_bytes(3, size=(640, 480))}, fmt="tgz")
    tgz.write_bytes(tgz.read_bytes()[: tgz.stat().st_size * 2 // 3])
    # part 3 is not a zip at all
    (downloads / f"takeout-{gen.EXPORT}-003.zip").write_bytes(b"PK\x03\x04 but nothing else")
    with berlin_app.app_context():
        job = _import(berlin_app, downloads)
        rows = _rows(job.id)
        failed = {os.path.basename(r.source_path): r for r in rows.values() if r.status == FileStatus.FAILED}
        assert set(failed) == {f"takeout-{gen.EXPORT}-002.tgz", f"takeout-{gen.EXPORT}-003.zip"}
        for r in failed.values():
            assert r.error.startswith("This Google Takeout part is damaged or was not downloaded completely")
            assert "damaged or incomplete download" in r.error_detail
        assert rows[f"{p}/A.jpg"].status == FileStatus.DONE
        assert job.error_count == 2 and job.progress_current == job.progress_total == len(rows)
        info = job.options["takeout"]["exports"][0]
        assert info["damaged"] == [2, 3] and info["parts"] == [1] and info["missing"] == []


class _RecordingControl:
    """The runner's side of a checkpoint, recording what the job page would show."""

    def __init__(self) -> None:
        self.shown: list[str] = []

    def checkpoint(self, batch) -> str:
        from mediaparser.store.db import write_transaction

        if batch.current_item:
            self.shown.append(batch.current_item)
        if batch.apply is not None:
            with write_transaction() as s:
                batch.apply(s)
        return JobStatus.RUNNING

    def stop_reason(self, status: str):
        return None


def test_unpacking_progress_names_the_part_and_counts_its_files(berlin_app, tmp_path, monkeypatch):
    from mediaparser.media.walk import walk_source

    monkeypatch.setattr(takeout, "PROGRESS_SECONDS", 0.0)
    downloads = tmp_path / "downloads"
    gen.write_part(downloads, 1, {f"A/{i}.jpg": gen.jpeg_bytes(i) for i in range(3)})
    gen.write_part(downloads, 2, {"B/x.jpg": gen.jpeg_bytes(9)}, fmt="tgz")
    with berlin_app.app_context():
        settings = berlin_app.extensions["mediaparser"]
        job = create_import_job(settings, str(downloads), check_roots=False)
        parts = [takeout.part_found(str(downloads), e.rel_path) for e in walk_source(str(downloads))]
        control = _RecordingControl()
        result = takeout.unpack(control, settings, job, parts)
        assert result.stop is None and result.damaged == []
        assert control.shown == ["unpacking Google Takeout part 001 of 2: 1 file",
                                 "unpacking Google Takeout part 001 of 2: 2 files",
                                 "unpacking Google Takeout part 001 of 2: 3 files",
                                 "unpacking Google Takeout part 002 of 2: 1 file",
                                 "listing the unpacked files…"]
        stored = db.session.get(Job, job.id, populate_existing=True).options["takeout"]["exports"][0]
        assert stored["parts"] == [1, 2] and stored["files"] == 4
        db.session.commit()
        # Unpacked parts are not read again: a second run writes nothing and reports the same.
        again = _RecordingControl()
        takeout.unpack(again, settings, job, parts)
        assert not any(s.startswith("unpacking") for s in again.shown)
