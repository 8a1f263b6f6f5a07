"""The engine against real `mediaparser worker` subprocesses: kill -9, SIGSTOP, duplicates, controls.

Files are made slow with MEDIAPARSER_DEBUG_FILE_DELAY so a run can be
interrupted in its middle, and every file processed is traced with
MEDIAPARSER_TRACE_FILE, so re-done work can be counted exactly.
"""
from __future__ import annotations

import collections
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mediaparser.store.db import db
from mediaparser.runtime import lifecycle, tasks
from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile, WorkerBeat
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import BACKENDS, build_app, instance_env, make_images, sha256, wait_until

pytestmark = pytest.mark.slow


def _job(job_id: int) -> Job:
    db.session.commit()  # a fresh snapshot each time: the worker commits in another process
    return db.session.get(Job, job_id, populate_existing=True)


def _status_counts(job_id: int) -> dict[str, int]:
    db.session.commit()
    rows = db.session.execute(select(MediaFile.status, func.count()).where(MediaFile.job_id == job_id)
                              .group_by(MediaFile.status)).all()
    db.session.commit()
    return dict(rows)


def _done_ids(job_id: int) -> set[int]:
    db.session.commit()
    ids = set(db.session.execute(select(MediaFile.id).where(MediaFile.job_id == job_id,
                                                            MediaFile.status == FileStatus.DONE)).scalars())
    db.session.commit()
    return ids


def _runs_returned(w, after: str = "") -> int:
    """Import task runs this worker has seen to their end (Huey logs "<task> executed in"), counting
    only log lines after the first `after`: proof that a run has stopped acting, not a pause."""
    text = w.log()
    if after:
        at = text.find(after)
        text = text[at:] if at >= 0 else ""
    return sum(1 for line in text.splitlines() if "process_import_job" in line and " executed in " in line)


def _beat_at():
    db.session.commit()
    beat = db.session.execute(select(func.max(WorkerBeat.beat_at))).scalar_one()
    db.session.commit()
    return beat


def _trace(path: Path) -> collections.Counter:
    if not path.exists():
        return collections.Counter()
    return collections.Counter(int(line.split("\t", 1)[0]) for line in path.read_text().splitlines() if line)


def _setup(tmp_path: Path, backend: str, n_files: int, delay: float):
    env = instance_env(tmp_path, backend)
    trace = tmp_path / "trace.txt"
    worker_env = {"MEDIAPARSER_DEBUG_FILE_DELAY": str(delay), "MEDIAPARSER_TRACE_FILE": str(trace)}
    app = build_app(env)
    paths = make_images(tmp_path / "src", n_files)
    return env, worker_env, trace, app, paths


def _new_job(app, src: Path, *, enqueue: int = 1) -> int:
    settings = app.extensions["mediaparser"]
    job = create_import_job(settings, str(src))
    for _ in range(enqueue):
        lifecycle.record_task_id(job.id, tasks.enqueue_job(job))
    return job.id


def _assert_complete(job_id: int, paths: list[Path], src: Path) -> None:
    job = _job(job_id)
    assert job.status == JobStatus.COMPLETED, job.error_message
    assert job.progress_current == job.progress_total == len(paths)
    assert job.error_count == 0
    rows = db.session.execute(select(MediaFile.rel_path, MediaFile.sha256, MediaFile.status)
                              .where(MediaFile.job_id == job_id)).all()
    db.session.commit()
    assert len(rows) == len(paths)  # one row per file, never two
    assert {r.rel_path: r.sha256 for r in rows} == {str(p.relative_to(src)): sha256(p) for p in paths}
    assert {r.status for r in rows} == {FileStatus.DONE}


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_mid_import_resumes_and_loses_no_committed_work(tmp_path, backend, workers):
    env, wenv, trace, app, paths = _setup(tmp_path, backend, 300, delay=0.02)
    with app.app_context():
        job_id = _new_job(app, tmp_path / "src")
        first = workers(env, tmp_path / "w1.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).progress_current >= 80, 60, "first worker to process 80 files")
        first.kill9()
        committed = _done_ids(job_id)
        assert 80 <= len(committed) < 300, "the kill must land in the middle of the run"
        assert _job(job_id).status == JobStatus.RUNNING  # the row still says running: only the lease can tell
        second = workers(env, tmp_path / "w2.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).status in JobStatus.FINISHED, 90, "the job to finish after the restart")
        _assert_complete(job_id, paths, tmp_path / "src")
        counts = _trace(trace)
        # Nothing that was committed before the kill was done again ...
        assert all(counts[i] == 1 for i in committed)
        # ... and what was re-done is bounded by the work in flight.
        redone = [i for i, c in counts.items() if c > 1]
        assert len(redone) <= 100, f"{len(redone)} files processed twice"
        assert all(c <= 2 for c in counts.values())
        assert set(counts) == _done_ids(job_id)
        assert "claimed by" in second.log()
        assert _job(job_id).attempts == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_stopped_worker_is_fenced_after_takeover(tmp_path, backend, workers):
    env, wenv, trace, app, paths = _setup(tmp_path, backend, 200, delay=0.02)
    with app.app_context():
        job_id = _new_job(app, tmp_path / "src")
        a = workers(env, tmp_path / "a.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).progress_current >= 40, 60, "worker A to make progress")
        a.signal(signal.SIGSTOP)
        owner_a = _job(job_id).lease_owner
        b = workers(env, tmp_path / "b.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).status == JobStatus.COMPLETED, 90, "worker B to take over and finish")
        assert _job(job_id).lease_owner is None and owner_a is not None
        a.signal(signal.SIGCONT)
        wait_until(lambda: "lease lost" in a.log(), 30, "worker A to notice it lost the lease")
        wait_until(lambda: _runs_returned(a, after="lease lost"), 30, "worker A's fenced run to return")
        _assert_complete(job_id, paths, tmp_path / "src")  # A's late batch did not land
        assert "claimed by" in b.log()


@pytest.mark.parametrize("backend", BACKENDS)
def test_duplicate_enqueue_yields_one_claim(tmp_path, backend, workers):
    env, wenv, trace, app, paths = _setup(tmp_path, backend, 40, delay=0.01)
    with app.app_context():
        job_id = _new_job(app, tmp_path / "src", enqueue=2)
        w = workers(env, tmp_path / "w.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).status in JobStatus.FINISHED, 60, "the job to finish")
        wait_until(lambda: w.log().count("process_import_job") >= 4, 20, "both messages to be executed")
        _assert_complete(job_id, paths, tmp_path / "src")
        log = w.log()
        assert log.count(f"job {job_id} claimed by") == 1
        assert f"job {job_id} not claimed" in log
        assert all(c == 1 for c in _trace(trace).values())
        assert _job(job_id).attempts == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_pause_resume_and_cancel_mid_run(tmp_path, backend, workers):
    env, wenv, trace, app, paths = _setup(tmp_path, backend, 240, delay=0.02)
    client = app.test_client()
    with app.app_context():
        job_id = _new_job(app, tmp_path / "src")
        w = workers(env, tmp_path / "w.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).progress_current >= 30, 60, "the job to make progress")
        assert client.post(f"/api/jobs/{job_id}/pause").status_code == 200
        wait_until(lambda: _job(job_id).lease_owner is None, 5, "the worker to let go of the paused job")
        held = _job(job_id).progress_current
        # Nothing more may land once the paused run has returned: wait for that, then look.
        wait_until(lambda: _runs_returned(w), 10, "the paused run to return")
        job = _job(job_id)
        assert job.status == JobStatus.PAUSED and job.progress_current == held < 240
        assert sum(_status_counts(job_id).get(s, 0) for s in (FileStatus.DONE, FileStatus.FAILED)) == held
        assert client.post(f"/api/jobs/{job_id}/resume").status_code == 200
        wait_until(lambda: _job(job_id).status == JobStatus.COMPLETED, 60, "the resumed job to complete")
        _assert_complete(job_id, paths, tmp_path / "src")
        assert all(c == 1 for c in _trace(trace).values())  # a pause re-does nothing

        other = make_images(tmp_path / "src2", 200, prefix="other")
        job2 = _new_job(app, tmp_path / "src2")
        wait_until(lambda: _job(job2).progress_current >= 20, 60, "the second job to make progress")
        assert client.post(f"/api/jobs/{job2}/cancel").status_code == 200
        wait_until(lambda: _job(job2).lease_owner is None, 5, "the worker to drop the cancelled job")
        stopped = _job(job2)
        assert stopped.status == JobStatus.CANCELLED and stopped.completed_at is not None
        counts = _status_counts(job2)
        assert counts.get(FileStatus.DONE, 0) == stopped.progress_current < len(other)
        assert sum(counts.values()) == len(other)  # every file accounted for, the rest still pending
        assert client.post(f"/api/jobs/{job2}/resume").status_code == 409


@pytest.mark.parametrize("backend", BACKENDS)
def test_always_crashing_job_fails_after_max_attempts_with_reason(tmp_path, backend, workers):
    env, wenv, trace, app, _paths = _setup(tmp_path, backend, 3, delay=0)
    with app.app_context():
        job_id = _new_job(app, tmp_path / "src")
        # The folder vanishes before the job runs (a disk unplugged): every attempt fails.
        for p in (tmp_path / "src").iterdir():
            p.unlink()
        (tmp_path / "src").rmdir()
        w = workers(env, tmp_path / "w.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).status == JobStatus.FAILED and _job(job_id).attempts >= 3, 60,
                   "three failed attempts")
        # No further retry may revive it: the last run returned without submitting another (two
        # retries were submitted, for attempts 2 and 3), and the reaper has run since.
        wait_until(lambda: _runs_returned(w) >= 3, 10, "the last attempt to return")
        assert w.log().count(f"job {job_id} claimed by") == 3
        for _ in range(2):  # two beats later, the monitor has run the reaper at least once since
            seen = _beat_at()
            wait_until(lambda: _beat_at() != seen, 10, "the worker's monitor to beat again")
        job = _job(job_id)
        assert job.status == JobStatus.FAILED and job.attempts == 3
        assert _runs_returned(w) == 3 and w.log().count(f"job {job_id} claimed by") == 3  # exactly max_attempts runs
        assert job.error_message.startswith("failed after 3 attempt(s): FileNotFoundError")
        assert "does not exist" in job.error_message
        assert job.lease_owner is None and job.completed_at is not None


def test_sigterm_hands_the_job_back_and_the_next_worker_finishes(tmp_path, workers):
    env, wenv, trace, app, paths = _setup(tmp_path, "sqlite", 200, delay=0.02)
    with app.app_context():
        job_id = _new_job(app, tmp_path / "src")
        w = workers(env, tmp_path / "w.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).progress_current >= 30, 60, "progress")
        w.signal(signal.SIGTERM)
        assert w.proc.wait(timeout=25) == 0
        job = _job(job_id)
        assert job.status == JobStatus.PENDING and job.lease_owner is None and job.attempts == 0
        done_before = _done_ids(job_id)
        workers(env, tmp_path / "w2.log", extra_env=wenv)
        wait_until(lambda: _job(job_id).status == JobStatus.COMPLETED, 60, "the next worker to finish")
        _assert_complete(job_id, paths, tmp_path / "src")
        counts = _trace(trace)
        assert all(counts[i] == 1 for i in done_before)
