"""The export and clean-up JSON API: plan, refusal while groups are open, start, result, clean-up."""
from __future__ import annotations

import re

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import JobStatus

from tests.support.export import digest, import_and_resolve, make_dump
from tests.support.instance import outside_roots
from tests.support.web import Api


def test_plan_start_result_and_cleanup_through_the_api(app, tmp_path):
    src = tmp_path / "dump"
    files = make_dump(src)
    job_id, _ids = import_and_resolve(app, src, resolve=False)
    out = outside_roots(tmp_path) / "archive"
    api = Api(app)

    plan = api.get(f"/api/imports/{job_id}/export-plan?output={out}").get_json()
    assert plan["to_copy"] == 7 and plan["open_groups"] == 1 and plan["can_start"] is False
    assert not out.exists()

    # The server enforces the page's rule: no export while groups are open, unless overridden.
    r = api.post(f"/api/imports/{job_id}/export", {"output": str(out)})
    assert r.status_code == 409 and r.get_json()["reason"] == "unresolved_groups"
    no_csrf = app.test_client().post(f"/api/imports/{job_id}/export", json={"output": str(out), "allow_unresolved": True},
                                     headers={"Origin": "http://localhost"})
    assert no_csrf.status_code in (400, 403)
    r = api.post(f"/api/imports/{job_id}/export", {"output": str(out), "allow_unresolved": True})
    assert r.status_code == 202
    export_id = r.get_json()["id"]
    with app.app_context():
        assert tasks.process_export_job.call_local(export_id) == JobStatus.COMPLETED
        db.session.remove()
    res = api.get(f"/api/exports/{export_id}").get_json()
    assert res["status"] == JobStatus.COMPLETED and res["copied"] == 7 and res["already_present"] == 1
    assert {f["folder"] for f in res["folders"]} == {"2019", "2020", "2021", "2024", "unknown"}

    before = digest(files.values())
    listed = api.get(f"/api/imports/{job_id}/cleanup").get_json()
    assert listed["count"] == 8 and digest(files.values()) == before
    assert api.post(f"/api/imports/{job_id}/cleanup", {}).status_code == 400  # needs an explicit confirm
    done = api.post(f"/api/imports/{job_id}/cleanup", {"confirm": True}).get_json()
    assert done["deleted_count"] == 8
    assert {p.name for p in src.rglob("*") if p.is_file()} == {"broken.jpg"}

    assert api.get("/api/imports/999/export-plan").status_code == 404
    assert api.get(f"/api/exports/{job_id}").status_code == 404  # an import is not an export
