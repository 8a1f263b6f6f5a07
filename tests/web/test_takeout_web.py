"""A two-part Google Takeout, uploaded as downloaded, through the web API: import,
review (the parts on the job, the Trash filter, the JSON facts), export named by the
JSON's capture time, and the working copy removed by the clean-up; the parts untouched."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import JobStatus

from tests.support import takeout as gen
from tests.support.instance import instance_env, outside_roots

TAKEN = 1565613025  # 2019-08-12 12:30:25 UTC: 14:30:25 in Berlin


@pytest.fixture
def web_env(tmp_path):
    return instance_env(tmp_path, MEDIAPARSER_TIMEZONE="Europe/Berlin")


def _upload(api, parts: list[Path]) -> int:
    uid = api.post("/api/uploads", json={}).get_json()["id"]
    files = api.post(f"/api/uploads/{uid}/files", json={"files": [
        {"path": p.name, "size": p.stat().st_size, "last_modified": 0} for p in parts]}).get_json()["files"]
    for entry, p in zip(files, parts):
        r = api.put(f"/api/uploads/{uid}/files/{entry['id']}?offset=0", data=p.read_bytes(),
                    headers={"Content-Type": "application/octet-stream"})
        assert r.status_code == 200 and r.get_json()["complete"], r.get_data(as_text=True)
    r = api.post(f"/api/uploads/{uid}/finish", json={})
    assert r.status_code in (200, 201, 202), r.get_data(as_text=True)
    return r.get_json()["job_id"]


def test_two_part_takeout_upload_review_export_and_cleanup(api, web_app, tmp_path):
    p = "Photos from 2019"
    downloads = tmp_path / "downloads"
    parts = [
        gen.write_part(downloads, 1, {
            f"{p}/IMG_0001.jpg": gen.jpeg_bytes(1, dto="2019:08:12 14:30:25"),
            f"{p}/scan.jpg.supplemental-metadata.json": gen.photo_json("scan.jpg", TAKEN + 3600, geo=(48.1372, 11.5756)),
            "Summer_ Lake/metadata.json": gen.album_json("Summer: Lake"),
            "Summer_ Lake/IMG_0002.jpg": gen.jpeg_bytes(2),
        }),
        gen.write_part(downloads, 2, {
            f"{p}/IMG_0001.jpg.supplemental-metadata.json": gen.photo_json("IMG_0001.jpg", TAKEN),
            f"{p}/scan.jpg": gen.jpeg_bytes(3),
            "Summer_ Lake/IMG_0002.jpg.supplemental-metadata.json": gen.photo_json("IMG_0002.jpg", TAKEN + 7200),
            "Trash/IMG_0003.jpg": gen.jpeg_bytes(4),
            "Trash/IMG_0003.jpg.supplemental-metadata.json": gen.photo_json("IMG_0003.jpg", TAKEN + 10800,
                                                                            trashed=True),
        }, fmt="tgz"),
    ]
    sums = {q.name: hashlib.sha256(q.read_bytes()).hexdigest() for q in parts}

    job_id = _upload(api, parts)
    with web_app.app_context():
        assert tasks.process_import_job.call_local(job_id) == JobStatus.COMPLETED
        db.session.remove()

    job = api.get(f"/api/jobs/{job_id}").get_json()
    assert job["status"] == JobStatus.COMPLETED and job["progress"]["total"] == 4 and job["error_count"] == 0
    (info,) = job["takeout"]["exports"]
    assert info["parts"] == [1, 2] and info["missing"] == [] and info["message"] is None and info["files"] == 9
    assert 'id="takeout-card"' in api.get(f"/jobs/{job_id}").get_data(as_text=True)

    files = api.get(f"/api/files?job={job_id}&sort=name").get_json()["files"]
    by_name = {f["name"]: f for f in files}
    assert set(by_name) == {"IMG_0001.jpg", "IMG_0002.jpg", "IMG_0003.jpg", "scan.jpg"}
    assert by_name["IMG_0003.jpg"]["takeout_flag"] == "trash"
    trash = api.get(f"/api/files?job={job_id}&takeout=trash").get_json()["files"]
    assert [f["name"] for f in trash] == ["IMG_0003.jpg"]
    kept = api.get(f"/api/files?job={job_id}&takeout=none").get_json()["files"]
    assert "IMG_0003.jpg" not in {f["name"] for f in kept} and len(kept) == 3
    assert api.get("/api/files?takeout=bin").status_code == 400
    scan = api.get(f"/api/files/{by_name['scan.jpg']['id']}").get_json()
    assert scan["captured_at"].startswith("2019-08-12T15:30:25") and scan["time_source"] == "takeout-json:photoTakenTime"
    assert scan["takeout"]["geo"] == {"latitude": 48.1372, "longitude": 11.5756, "altitude": 0.0}
    lake = api.get(f"/api/files/{by_name['IMG_0002.jpg']['id']}").get_json()
    assert lake["captured_at"].startswith("2019-08-12T16:30:25")
    lake_tags = api.get(f"/api/files?job={job_id}&tag=Summer: Lake").get_json()["files"]
    assert [f["name"] for f in lake_tags] == ["IMG_0002.jpg"]

    out = outside_roots(tmp_path) / "archive"
    r = api.post(f"/api/imports/{job_id}/export", json={"output": str(out), "allow_unresolved": True})
    assert r.status_code == 202, r.get_data(as_text=True)
    export_id = r.get_json()["id"]
    with web_app.app_context():
        assert tasks.process_export_job.call_local(export_id) == JobStatus.COMPLETED
        db.session.remove()
    names = sorted(q.relative_to(out).as_posix() for q in out.rglob("*.jpg"))
    assert names == ["2019/20190812_143025.jpg", "2019/20190812_153025.jpg", "2019/20190812_163025.jpg",
                     "2019/20190812_173025.jpg"]
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(manifest) == 4

    plan = api.get(f"/api/imports/{job_id}/cleanup?working_copies=1").get_json()
    assert plan["count"] == 4
    done = api.post(f"/api/imports/{job_id}/cleanup", json={"confirm": True, "working_copies": True}).get_json()
    assert done["deleted_count"] == 4
    copy = Path(info["copy"])
    # every photo of the working copy went (their archive copies stay): the working copy goes with its JSON files
    assert done["working_copies_removed"] == [str(copy)] and not copy.exists()
    assert len(list(out.rglob("*.jpg"))) == 4
    upload_parts = list((Path(job["path"])).glob("takeout-*"))
    assert {q.name: hashlib.sha256(q.read_bytes()).hexdigest() for q in upload_parts} == sums
