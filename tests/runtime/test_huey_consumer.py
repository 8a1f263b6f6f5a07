"""Huey's own consumer (`huey_consumer mediaparser.runtime.consumer.huey -w 2 -k process`) runs our jobs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from mediaparser.runtime.tasks import submit
from mediaparser.store.db import db
from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile
from mediaparser.usecases import jobs as job_service

from tests.support.instance import BACKENDS, build_app, instance_env, make_images, sha256, wait_until

pytestmark = pytest.mark.slow


def _consumer(env: dict[str, str], log_path: Path) -> tuple[subprocess.Popen, object]:
    full = {**os.environ, **env}
    exe = Path(sys.executable).with_name("huey_consumer")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "huey.bin.huey_consumer"]
    log = open(log_path, "ab")
    proc = subprocess.Popen([*cmd, "mediaparser.runtime.consumer.huey", "-w", "2", "-k", "process"],
                            env=full, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def _job(job_id: int) -> Job:
    db.session.commit()
    return db.session.get(Job, job_id, populate_existing=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_huey_consumer_in_process_mode_runs_an_import_to_completion(tmp_path, backend):
    env = instance_env(tmp_path, backend)
    app = build_app(env)
    paths = make_images(tmp_path / "src", 30)
    proc, log = _consumer(env, tmp_path / "consumer.log")
    try:
        with app.app_context():
            job = job_service.start_import(app.extensions["mediaparser"], str(tmp_path / "src"))
            submit(job)
            wait_until(lambda: _job(job.id).status in JobStatus.FINISHED, 90, "the consumer to finish the import")
            done = _job(job.id)
            assert done.status == JobStatus.COMPLETED, (done.error_message, (tmp_path / "consumer.log").read_text())
            assert done.progress_current == done.progress_total == len(paths)
            rows = db.session.execute(select(MediaFile.rel_path, MediaFile.sha256, MediaFile.status)
                                      .where(MediaFile.job_id == job.id)).all()
            db.session.commit()
            assert {r.rel_path: r.sha256 for r in rows} == {p.name: sha256(p) for p in paths}
            assert {r.status for r in rows} == {FileStatus.DONE}
            # Each consumer process beats, so /api/health sees live workers.
            health = app.test_client().get("/api/health")
            assert health.status_code == 200 and health.get_json()["worker_alive"]
            assert "claimed by" in (tmp_path / "consumer.log").read_text()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Huey's graceful stop
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
