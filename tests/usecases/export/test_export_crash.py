"""The export survives kill -9 of a real worker and a full disk: no partial files, nothing twice, manifest consistent."""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import lifecycle, tasks
from mediaparser.store.models import ExportItem, ExportItemStatus, Job, JobStatus, ManifestEntry
from mediaparser.usecases import export as exporter

from tests.support import media as gen
from tests.support.export import digest, import_and_resolve
from tests.support.instance import build_app, instance_env, outside_roots, wait_until


def _job(job_id: int) -> Job:
    db.session.commit()
    job = db.session.get(Job, job_id, populate_existing=True)
    db.session.commit()
    return job


def _dated_photos(folder: Path, n: int, *, size: tuple[int, int] = (96, 64), noise: bool = False) -> list[Path]:
    """n distinct JPEGs, one second apart, so every file has its own archive name."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(7)
    out = []
    for i in range(n):
        if noise:  # incompressible: a few hundred KB each, to fill a small disk
            img = Image.frombytes("RGB", size, bytes(rnd.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
        else:
            img = gen.photo(*size, seed=i + 1)
        p = folder / f"IMG_{i:04d}.jpg"
        gen.jpeg(str(p), img=img, exif={"Exif.Photo.DateTimeOriginal": f"2022:03:04 10:{i // 60:02d}:{i % 60:02d}"})
        out.append(p)
    return out


def _assert_archive_consistent(out: Path, export_id: int, expected_files: int) -> None:
    """Every file in the archive is a verified, complete copy named once; manifest file == database."""
    on_disk = {}
    for dirpath, _d, names in os.walk(out):
        for n in names:
            p = Path(dirpath) / n
            assert exporter.TEMP_PREFIX not in n, f"temporary file left behind: {p}"
            if n != exporter.MANIFEST_NAME:
                on_disk[str(p.relative_to(out))] = hashlib.sha256(p.read_bytes()).hexdigest()
    entries = db.session.execute(select(ManifestEntry).where(ManifestEntry.export_job_id == export_id)).scalars().all()
    db.session.commit()
    lines = [json.loads(x) for x in (out / exporter.MANIFEST_NAME).read_text().splitlines()]
    assert len(on_disk) == expected_files
    assert not [d for d in on_disk if d.endswith("_2.jpg")], "a file was copied twice under a second name"
    assert len(entries) == expected_files and len({e.file_id for e in entries}) == expected_files
    assert {e.destination: e.final_sha256 for e in entries} == on_disk
    assert sorted((x["file_id"], x["destination"]) for x in lines) == sorted((e.file_id, e.destination) for e in entries)


@pytest.mark.slow
def test_kill_9_mid_export_resumes_without_partial_or_duplicate_files(tmp_path, workers):
    env = instance_env(tmp_path)
    app = build_app(env)
    photos = _dated_photos(tmp_path / "src", 80)
    before = digest(photos)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    out = outside_roots(tmp_path) / "archive"
    wenv = {"MEDIAPARSER_DEBUG_FILE_DELAY": "0.05"}
    with app.app_context():
        job, _plan = exporter.create_export_job(app.extensions["mediaparser"], job_id, output=str(out))
        export_id = job.id
        lifecycle.record_task_id(export_id, tasks.enqueue_job(job))
        first = workers(env, tmp_path / "w1.log", extra_env=wenv)
        wait_until(lambda: _job(export_id).progress_current >= 20, 60, "the first worker to export 20 files")
        first.kill9()
        assert _job(export_id).status == JobStatus.RUNNING
        assert _job(export_id).progress_current < 80, "the kill must land in the middle of the export"
        second = workers(env, tmp_path / "w2.log", extra_env=wenv)
        wait_until(lambda: _job(export_id).status in JobStatus.FINISHED, 90, "the export to finish after the restart")
        j = _job(export_id)
        assert j.status == JobStatus.COMPLETED, j.error_message
        assert j.attempts == 2 and "claimed by" in second.log()
        _assert_archive_consistent(out, export_id, 80)
        statuses = db.session.execute(select(ExportItem.status).where(ExportItem.job_id == export_id)).scalars().all()
        db.session.commit()
        assert set(statuses) <= {ExportItemStatus.DONE, ExportItemStatus.PRESENT} and len(statuses) == 80
    assert digest(photos) == before


@pytest.fixture
def small_disk(tmp_path):
    mnt = outside_roots(tmp_path) / "small-disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"mounting a small tmpfs is not permitted here: {r.stderr.strip() or r.returncode}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_stops_with_a_clear_error_and_resume_completes(tmp_path, small_disk):
    env = instance_env(tmp_path)
    app = build_app(env)
    photos = _dated_photos(tmp_path / "src", 24, size=(320, 320), noise=True)  # ~300 KB each, ~7 MB in all
    before = digest(photos)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    out = small_disk / "archive"
    with app.app_context():
        job, _plan = exporter.create_export_job(app.extensions["mediaparser"], job_id, output=str(out))
        assert tasks.process_export_job.call_local(job.id) == JobStatus.FAILED
        j = _job(job.id)
        assert "disk is full" in j.error_message and "resume" in j.error_message
        done = db.session.execute(select(ExportItem).where(ExportItem.job_id == job.id,
                                                           ExportItem.status == ExportItemStatus.DONE)).scalars().all()
        db.session.commit()
        assert 0 < len(done) < 24
        _assert_archive_consistent(out, job.id, len(done))  # no partial file, manifest matches the disk
        assert digest(photos) == before
        # Free space (a bigger disk), resume: the export completes where it stopped.
        subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)
        lifecycle.resume(job.id, lambda _job: None)
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
        _assert_archive_consistent(out, job.id, 24)
    assert digest(photos) == before


@pytest.mark.slow
def test_pause_then_resume_an_export_on_a_real_worker(tmp_path, workers):
    env = instance_env(tmp_path)
    app = build_app(env)
    photos = _dated_photos(tmp_path / "src", 60)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    out = outside_roots(tmp_path) / "archive"
    with app.app_context():
        job, _plan = exporter.create_export_job(app.extensions["mediaparser"], job_id, output=str(out))
        export_id = job.id
        lifecycle.record_task_id(export_id, tasks.enqueue_job(job))
        workers(env, tmp_path / "w.log", extra_env={"MEDIAPARSER_DEBUG_FILE_DELAY": "0.05"})
        wait_until(lambda: _job(export_id).progress_current >= 10, 60, "the export to start copying")
        lifecycle.pause(export_id)
        wait_until(lambda: _job(export_id).lease_owner is None, 10, "the worker to stop at its next checkpoint")
        paused = _job(export_id)
        assert paused.status == JobStatus.PAUSED and paused.progress_current < 60
        _assert_archive_consistent(out, export_id, paused.progress_current)  # a clean stop: nothing half-done
        lifecycle.resume(export_id, tasks.enqueue_job)
        wait_until(lambda: _job(export_id).status in JobStatus.FINISHED, 60, "the export to finish after resume")
        assert _job(export_id).status == JobStatus.COMPLETED
        _assert_archive_consistent(out, export_id, 60)
