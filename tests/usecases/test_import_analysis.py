"""The import job stores the full analysis of each file on its row."""
from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import func, select

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile, to_unsigned64
from mediaparser.usecases import importing as importer
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen


def test_import_records_capture_time_candidates_thumbnail_and_hashes(app, tmp_path):
    src = tmp_path / "Trip"
    src.mkdir()
    gen.jpeg(str(src / "DSC_0001.JPG"), exif={
        "Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25",
        "Exif.Photo.OffsetTimeOriginal": "+02:00",
        "Exif.Image.Make": "NIKON CORPORATION", "Exif.Image.Model": "NIKON D750"})
    gen.video(str(src / "clip.mp4"), metadata={"creation_time": "2021-05-06T12:00:00Z"})
    gen.photo().save(src / "really_a_png.jpg", "PNG")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        db.session.commit()
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == job.id)).scalars()}
        photo = rows["DSC_0001.JPG"]
        assert photo.status == FileStatus.DONE and photo.kind == "image" and photo.extension == "jpg"
        assert photo.captured_at == datetime(2019, 8, 12, 14, 30, 25) and photo.utc_offset == 120
        assert photo.time_source == "exif:DateTimeOriginal" and photo.confidence in ("high", "medium")
        assert photo.make == "NIKON CORPORATION" and (photo.width, photo.height) == (160, 120)
        assert any(c["source"] == "exif:DateTimeOriginal" for c in photo.candidates) and photo.reasons
        assert photo.thumbnail and os.path.exists(photo.thumbnail)
        assert photo.thumbnail.startswith(str(app.extensions["mediaparser"].thumbnail_dir))
        assert photo.phash is not None and 0 <= to_unsigned64(photo.phash) < 2**64
        clip = rows["clip.mp4"]
        assert clip.kind == "video" and clip.captured_at == datetime(2021, 5, 6, 12, 0, 0)
        assert clip.thumbnail and os.path.exists(clip.thumbnail)
        png = rows["really_a_png.jpg"]
        assert png.file_type == "png" and png.extension_ok is False and png.extension == "png"
        assert rows["broken.jpg"].status == FileStatus.FAILED and rows["broken.jpg"].error
        j = db.session.get(Job, job.id, populate_existing=True)
        assert j.error_count == 1 and j.progress_current == j.progress_total == 4


def test_hash_round_trips_through_a_signed_bigint(app):
    from mediaparser.store.models import to_signed64

    for h in (0, 1, 2**63 - 1, 2**63, 2**64 - 1, 0xF0F0F0F0F0F0F0F0):
        assert to_unsigned64(to_signed64(h)) == h
        assert -(2**63) <= to_signed64(h) < 2**63


def test_reimport_adds_only_new_or_changed_files_unless_forced(app, tmp_path):
    """Importing a folder again (the phone backup grew) lists only what is new
    or changed; unchanged files are skipped with a reason instead of appearing
    twice — and becoming "exact duplicates" of themselves."""
    src = tmp_path / "again"
    src.mkdir()
    gen.jpeg(str(src / "a.jpg"), exif={"Exif.Image.Make": "Canon"}, img=gen.photo(seed=1))
    gen.jpeg(str(src / "b.jpg"), exif={"Exif.Image.Make": "Canon"}, img=gen.photo(seed=2))
    settings = app.extensions["mediaparser"]

    def run(force: bool = False) -> tuple[Job, dict[str, MediaFile]]:
        job = create_import_job(settings, str(src), options={"force": True} if force else None)
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        db.session.commit()
        job = db.session.get(Job, job.id, populate_existing=True)
        return job, {r.rel_path: r for r in db.session.execute(
            select(MediaFile).where(MediaFile.job_id == job.id)).scalars()}

    with app.app_context():
        _job1, first = run()
        assert sorted(first) == ["a.jpg", "b.jpg"]
        os.utime(src / "b.jpg", (1_600_000_000, 1_600_000_000))  # b changed since
        gen.jpeg(str(src / "c.jpg"), img=gen.photo(seed=3))  # and c is new
        job2, second = run()
        assert sorted(second) == ["b.jpg", "c.jpg"]
        assert job2.progress_total == 2 and job2.skipped_count == 1
        assert job2.skipped[importer.ALREADY_IMPORTED] == {"count": 1, "examples": ["a.jpg"]}
        job3, third = run()
        assert third == {} and job3.skipped_count == 3 and job3.progress_total == 0
        # a.jpg is one row in the library, in no group with itself.
        assert db.session.execute(select(func.count()).select_from(MediaFile)
                                  .where(MediaFile.rel_path == "a.jpg")).scalar_one() == 1
        assert first["a.jpg"].group_id is None
        job4, forced = run(force=True)
        assert sorted(forced) == ["a.jpg", "b.jpg", "c.jpg"] and job4.skipped_count == 0
        assert all(r.status == FileStatus.DONE for r in forced.values())
