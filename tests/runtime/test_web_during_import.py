"""The web side keeps answering and writing while a worker imports (SQLite locking)."""
from __future__ import annotations

import time

import pytest

from mediaparser.store.db import db
from mediaparser.store.models import Job, JobStatus

from tests.support.instance import build_app, instance_env, make_images, wait_until

pytestmark = pytest.mark.slow


def test_web_writes_succeed_while_a_large_import_commits(tmp_path, workers):
    env = instance_env(tmp_path)
    app = build_app(env)
    client = app.test_client()
    make_images(tmp_path / "big", 1500, size=(32, 24))
    make_images(tmp_path / "small", 1)
    # Fast per-file work: the worker commits as often as it ever will.
    workers(env, tmp_path / "w.log", extra_env={"MEDIAPARSER_DEBUG_FILE_DELAY": "0.002"})
    big = client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "big")}).get_json()["id"]
    with app.app_context():
        wait_until(lambda: client.get(f"/api/jobs/{big}").get_json()["status"] == JobStatus.RUNNING, 30,
                   "the import to start")
    latencies = []
    writes = 0
    while client.get(f"/api/jobs/{big}").get_json()["status"] == JobStatus.RUNNING and writes < 300:
        t0 = time.perf_counter()
        r = client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "small")})
        assert r.status_code == 202, r.get_data(as_text=True)
        small = r.get_json()["id"]
        r = client.post(f"/api/jobs/{small}/cancel")
        # The worker may have finished the one-file job already: both answers are fine, errors are not.
        assert r.status_code in (200, 409), r.get_data(as_text=True)
        r = client.get(f"/api/jobs/{big}")
        assert r.status_code == 200
        latencies.append(time.perf_counter() - t0)
        writes += 2
    assert writes >= 20, "the import finished before the web side could write during it"
    with app.app_context():
        wait_until(lambda: (db.session.commit() or db.session.get(Job, big, populate_existing=True).status)
                   == JobStatus.COMPLETED, 120, "the import to complete")
        job = db.session.get(Job, big, populate_existing=True)
        assert job.progress_current == job.progress_total == 1500 and job.error_count == 0
    latencies.sort()
    print(f"\n{len(latencies)} write rounds during import; p50 {latencies[len(latencies)//2]*1000:.1f} ms, "
          f"max {latencies[-1]*1000:.1f} ms")
