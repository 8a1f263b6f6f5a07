"""The import job's lifecycle run in-process (call_local), on SQLite and on PostgreSQL + Redis."""
from __future__ import annotations

from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import lifecycle, tasks
from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import make_images, sha256


def _job(job_id: int) -> Job:
    db.session.commit()  # a fresh snapshot: see what other sessions committed
    return db.session.get(Job, job_id, populate_existing=True)


def _age(job_id: int, column: str) -> None:
    """Move a job's heartbeat or enqueue time far into the past."""
    j = _job(job_id)
    setattr(j, column, getattr(j, column).replace(year=2000))
    db.session.commit()


def _files(job_id: int) -> list[MediaFile]:
    rows = db.session.execute(select(MediaFile).where(MediaFile.job_id == job_id).order_by(MediaFile.rel_path)).scalars().all()
    db.session.commit()
    return list(rows)


def test_import_job_completes_with_one_row_per_file_and_right_hashes(app, tmp_path):
    src = tmp_path / "photos"
    paths = make_images(src / "2019", 12) + make_images(src / "2020" / "trip", 5, prefix="trip")
    (src / "notes.txt").write_text("not a photo")
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        job = _job(job.id)
        assert job.status == JobStatus.COMPLETED
        assert job.started_at is not None and job.completed_at is not None
        assert job.started_at <= job.completed_at
        assert job.progress_current == job.progress_total == len(paths)
        assert job.error_count == 0
        assert job.lease_owner is None
        assert job.skipped_count == 1 and job.skipped["not a photo or video"]["examples"] == ["notes.txt"]
        rows = _files(job.id)
        expected = {str(p.relative_to(src)): sha256(p) for p in paths}
        assert {r.rel_path: r.sha256 for r in rows} == expected
        assert all(r.status == FileStatus.DONE and r.file_type == "jpeg" and r.processed_at for r in rows)
        assert {r.rel_path: r.size for r in rows} == {str(p.relative_to(src)): p.stat().st_size for p in paths}


def test_second_claim_of_a_running_job_is_refused(app, tmp_path):
    make_images(tmp_path / "p", 2)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(tmp_path / "p"))
        first = lifecycle.claim(job.id, "owner-a", settings)
        assert first is not None
        assert lifecycle.claim(job.id, "owner-b", settings) is None
        # A duplicated message run locally does nothing while the lease is fresh.
        assert tasks.process_import_job.call_local(job.id) == "not-claimed"
        assert _job(job.id).lease_owner == "owner-a"


def test_late_commit_after_takeover_is_refused(app, tmp_path):
    make_images(tmp_path / "p", 3)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(tmp_path / "p"))
        lease_a = lifecycle.claim(job.id, "owner-a", settings)
        # Owner A goes silent past the lease; the reaper gives the job to the queue again.
        _age(job.id, "heartbeat_at")
        enqueued = []
        report = lifecycle.reap(settings, lambda j: enqueued.append(j.id) or "t")
        assert report.requeued_stale == [job.id] and enqueued == [job.id]
        lease_b = lifecycle.claim(job.id, "owner-b", settings)
        assert lease_b is not None
        try:
            lifecycle.checkpoint(lease_a, done=1)
        except lifecycle.LeaseLost:
            pass
        else:
            raise AssertionError("a commit under a lost lease must be refused")
        assert lifecycle.checkpoint(lease_b, done=1) == JobStatus.RUNNING
        assert _job(job.id).progress_current == 1


def test_reaper_fails_a_job_after_max_attempts_with_a_reason(app, tmp_path):
    make_images(tmp_path / "p", 1)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(tmp_path / "p"))
        for n in range(settings.max_attempts):
            assert lifecycle.claim(job.id, f"owner-{n}", settings) is not None
            _age(job.id, "heartbeat_at")
            lifecycle.reap(settings, lambda _j: "t")
        j = _job(job.id)
        assert j.status == JobStatus.FAILED
        assert "gave up after 3 attempts" in j.error_message
        assert lifecycle.claim(job.id, "owner-x", settings) is None


def test_a_late_huey_retry_cannot_claim_a_job_that_used_up_its_attempts(app, tmp_path):
    """A retry may take over a FAILED job only while attempts remain: the last failure is final."""
    make_images(tmp_path / "p", 1)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(tmp_path / "p"))
        for n in range(settings.max_attempts):
            lease = lifecycle.claim(job.id, f"owner-{n}", settings, retry=True)
            assert lease is not None, f"attempt {n + 1} of {settings.max_attempts} must be claimable"
            assert lifecycle.finish(lease, JobStatus.FAILED, message="boom")
        assert lifecycle.claim(job.id, "owner-late", settings, retry=True) is None
        j = _job(job.id)
        assert (j.status, j.attempts, j.lease_owner) == (JobStatus.FAILED, settings.max_attempts, None)


def test_reaper_requeues_a_pending_job_whose_message_was_lost(app, tmp_path):
    make_images(tmp_path / "p", 1)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(tmp_path / "p"))
        _age(job.id, "enqueued_at")
        enqueued = []
        report = lifecycle.reap(settings, lambda jb: enqueued.append(jb.id) or "t", lambda: set())
        assert report.requeued_lost == [job.id] and enqueued == [job.id]
        # When the message is in the queue, nothing is added.
        _age(job.id, "enqueued_at")
        report = lifecycle.reap(settings, lambda jb: enqueued.append(jb.id) or "t", lambda: {job.id})
        assert report.requeued_lost == [] and enqueued == [job.id]


def test_pause_resume_cancel_transitions(app, tmp_path):
    make_images(tmp_path / "p", 4)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(tmp_path / "p"))
        lease = lifecycle.claim(job.id, "owner-a", settings)
        lifecycle.pause(job.id)
        # The running worker sees the flag at its next checkpoint.
        assert lifecycle.checkpoint(lease, done=0) == JobStatus.PAUSED
        # Resumed before the worker let go: it simply carries on.
        enqueued = []
        assert lifecycle.resume(job.id, lambda j: enqueued.append(j.id) or "t").status == JobStatus.RUNNING
        assert enqueued == []
        lifecycle.pause(job.id)
        lifecycle.finish(lease, "released")
        resumed = lifecycle.resume(job.id, lambda j: enqueued.append(j.id) or "t")
        assert resumed.status == JobStatus.PENDING and enqueued == [job.id] and resumed.attempts == 0
        cancelled = lifecycle.cancel(job.id)
        assert cancelled.status == JobStatus.CANCELLED and cancelled.completed_at is not None
        for verb in (lifecycle.pause, lifecycle.cancel):
            try:
                verb(job.id)
            except lifecycle.InvalidTransition:
                pass
            else:
                raise AssertionError("a cancelled job cannot be paused or cancelled again")
        # The queued message of a cancelled job does nothing.
        assert tasks.process_import_job.call_local(job.id) == "not-claimed"


def test_paused_local_run_leaves_files_pending_and_resume_finishes(app, tmp_path):
    paths = make_images(tmp_path / "p", 30)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(tmp_path / "p"))
        lifecycle.pause(job.id)
        assert tasks.process_import_job.call_local(job.id) == "not-claimed"
        lifecycle.resume(job.id, lambda j: "t")
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        j = _job(job.id)
        assert j.progress_current == j.progress_total == len(paths)
