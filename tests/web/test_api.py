"""The JSON API of the job engine."""
from __future__ import annotations

import time

import pytest

from mediaparser.store.db import db
from mediaparser.runtime import lifecycle
from mediaparser.store.models import Job, JobStatus

from tests.support.instance import make_images


def test_post_job_starts_an_import_and_returns_202(client, app, tmp_path):
    make_images(tmp_path / "photos", 2)
    r = client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "photos")})
    assert r.status_code == 202
    body = r.get_json()
    assert body["type"] == "import" and body["status"] == JobStatus.PENDING
    assert body["path"] == str((tmp_path / "photos").resolve())
    with app.app_context():
        job = db.session.get(Job, body["id"])
        assert job.task_id  # it went into the queue
    got = client.get(f"/api/jobs/{body['id']}").get_json()
    assert got["id"] == body["id"] and got["errors"] == [] and got["progress"]["counting"] is True


def test_paths_outside_roots_are_forbidden_and_missing_paths_are_bad_requests(client, tmp_path_factory, tmp_path):
    outside = tmp_path_factory.mktemp("elsewhere")
    r = client.post("/api/jobs", json={"type": "import", "path": str(outside)})
    assert r.status_code == 403 and "outside the folders you may import from" in r.get_json()["error"]
    # A path that climbs out of a root with .. is judged by where it really points.
    r = client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / ".." / outside.name)})
    assert r.status_code == 403
    # A symlink inside the root that points outside is outside.
    (tmp_path / "link").symlink_to(outside)
    assert client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "link")}).status_code == 403
    r = client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "nope")})
    assert r.status_code == 400 and "does not exist" in r.get_json()["error"]
    assert client.post("/api/jobs", json={"type": "export", "path": str(tmp_path)}).status_code == 400
    assert client.post("/api/jobs", data="not json").status_code == 400


def test_job_list_is_paged_and_bounded(client, tmp_path):
    make_images(tmp_path / "p", 1)
    ids = [client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "p")}).get_json()["id"]
           for _ in range(5)]
    page = client.get("/api/jobs?limit=2").get_json()
    assert [j["id"] for j in page["jobs"]] == ids[::-1][:2]
    page2 = client.get(f"/api/jobs?limit=2&before={page['next_before']}").get_json()
    assert [j["id"] for j in page2["jobs"]] == ids[::-1][2:4]
    huge = client.get("/api/jobs?limit=100000").get_json()
    assert len(huge["jobs"]) == 5  # capped server-side at 200, here only 5 exist
    assert client.get("/api/jobs?limit=abc").status_code == 400
    assert client.get("/api/jobs/999999").status_code == 404


def test_control_endpoints_follow_the_lifecycle(client, tmp_path):
    make_images(tmp_path / "p", 1)
    job_id = client.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "p")}).get_json()["id"]
    assert client.post(f"/api/jobs/{job_id}/resume").status_code == 409
    assert client.post(f"/api/jobs/{job_id}/pause").get_json()["status"] == JobStatus.PAUSED
    assert client.post(f"/api/jobs/{job_id}/resume").get_json()["status"] == JobStatus.PENDING
    assert client.post(f"/api/jobs/{job_id}/cancel").get_json()["status"] == JobStatus.CANCELLED
    assert client.post(f"/api/jobs/{job_id}/pause").status_code == 409
    assert client.post("/api/jobs/424242/cancel").status_code == 404
    assert client.post(f"/api/jobs/{job_id}/explode").status_code == 404


def test_health_is_503_without_a_worker_and_200_with_one(client, app):
    r = client.get("/api/health")
    assert r.status_code == 503
    body = r.get_json()
    assert body["database"] is True and body["queue"] is True and body["worker_alive"] is False
    assert "mediaparser worker" in body["message"]
    with app.app_context():
        lifecycle.worker_beat("test-worker")
    r = client.get("/api/health")
    assert r.status_code == 200 and r.get_json()["workers"][0]["worker_id"] == "test-worker"


def test_rate_and_eta_come_from_running_time(app, tmp_path, monkeypatch):
    from datetime import timedelta

    from mediaparser.store.models import utcnow
    from mediaparser.usecases import jobs

    now = utcnow()
    monkeypatch.setattr(jobs, "utcnow", lambda: now)  # the summary's clock, fixed: no race with this test's
    with app.app_context():
        job = Job(job_type="import", status=JobStatus.RUNNING, options={"path": "/x"}, progress_total=1000,
                  progress_current=300, run_progress_start=100, enumerated=True,
                  run_started_at=now - timedelta(seconds=10), started_at=now - timedelta(seconds=60),
                  run_seconds=40.0)
        s = jobs.job_summary(job)
        assert s["rate_per_second"] == 20.0  # 200 files in the current 10 s run
        assert s["eta_seconds"] == 35.0  # 700 left at 20/s
        assert s["running_seconds"] == 50.0  # 40 s of earlier runs + the current 10 s
        assert s["elapsed_seconds"] == 60.0
