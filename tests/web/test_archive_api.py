"""The archive pages' API (services/archive.py): exportable imports, an import's exports,
the files of one archive folder from the manifest, and the paged clean-up listing."""
from __future__ import annotations

import re

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import JobStatus

from tests.support.export import import_and_resolve, make_dump
from tests.support.instance import outside_roots
from tests.support.web import Api


def _export(app, api, job_id, out) -> int:
    r = api.post(f"/api/imports/{job_id}/export", {"output": str(out)})
    assert r.status_code == 202, r.get_json()
    export_id = r.get_json()["id"]
    with app.app_context():
        assert tasks.process_export_job.call_local(export_id) == JobStatus.COMPLETED
        db.session.remove()
    return export_id


def test_imports_and_their_exports_are_listed_for_the_export_pages(app, tmp_path):
    src = tmp_path / "dump"
    make_dump(src)
    job_id, _ids = import_and_resolve(app, src)
    api = Api(app)

    [imp] = api.get("/api/imports").get_json()["imports"]
    assert imp["id"] == job_id and imp["files"] == 9 and imp["analysed"] == 8 and imp["failed"] == 1
    assert imp["latest_export"] is None and imp["exports"] == 0 and imp["uploaded"] is False
    assert api.get(f"/api/imports/{job_id}/exports").get_json()["exports"] == []

    export_id = _export(app, api, job_id, outside_roots(tmp_path) / "archive")
    [imp] = api.get("/api/imports").get_json()["imports"]
    assert imp["latest_export"]["id"] == export_id and imp["latest_export"]["status"] == JobStatus.COMPLETED
    assert imp["latest_export"]["output"] == str(outside_roots(tmp_path) / "archive")
    [exp] = api.get(f"/api/imports/{job_id}/exports").get_json()["exports"]
    assert exp["id"] == export_id and exp["type"] == "export" and exp["status"] == JobStatus.COMPLETED
    assert exp["progress"]["current"] == exp["progress"]["total"] == 9

    # A second export (another folder) is the latest one.
    second = _export(app, api, job_id, outside_roots(tmp_path) / "archive2")
    assert [e["id"] for e in api.get(f"/api/imports/{job_id}/exports").get_json()["exports"]] == [second, export_id]
    assert api.get("/api/imports/999/exports").status_code == 404
    assert api.get(f"/api/imports/{export_id}/exports").status_code == 404  # an export is not an import


def test_the_files_of_one_archive_folder_come_from_the_manifest(app, tmp_path):
    src = tmp_path / "dump"
    files = make_dump(src)
    job_id, ids = import_and_resolve(app, src)
    api = Api(app)
    out = outside_roots(tmp_path) / "archive"
    export_id = _export(app, api, job_id, out)
    summary = api.get(f"/api/exports/{export_id}").get_json()
    per_folder = {f["folder"]: f["count"] for f in summary["folders"]}

    data = api.get(f"/api/exports/{export_id}/files?folder=2019").get_json()
    assert data["total"] == per_folder["2019"] == 2 and data["next_offset"] is None
    by_name = {f["name"]: f for f in data["files"]}
    assert set(by_name) == {"20190812_143025.jpg", "20190812_143025_2.jpg"}
    for f in data["files"]:
        assert (out / f["destination"]).is_file() and f["path"] == str(out / f["destination"])
        assert f["captured_at"] == "2019-08-12T14:30:25" and f["action"] == "copied"
    beach = next(f for f in data["files"] if f["source"] == str(files["beach"]))
    assert beach["file_id"] == ids["Holidays/IMG_0002 {beach,Family}.jpg"]
    assert {"beach", "Family"} <= set(beach["tags"])

    unknown = api.get(f"/api/exports/{export_id}/files?folder=unknown").get_json()
    assert [f["name"] for f in unknown["files"]] == ["really_png.JPG", "scan.png"]
    assert all(f["captured_at"] is None for f in unknown["files"])

    # Paged, in name order.
    first = api.get(f"/api/exports/{export_id}/files?folder=2019&limit=1").get_json()
    assert [f["name"] for f in first["files"]] == ["20190812_143025.jpg"] and first["next_offset"] == 1
    rest = api.get(f"/api/exports/{export_id}/files?folder=2019&offset=1&limit=1").get_json()
    assert [f["name"] for f in rest["files"]] == ["20190812_143025_2.jpg"] and rest["next_offset"] is None

    # A folder name is matched literally ("20_9" is not a pattern for 2019).
    assert api.get(f"/api/exports/{export_id}/files?folder=20_9").get_json()["total"] == 0
    assert api.get(f"/api/exports/{export_id}/files").status_code == 400
    assert api.get(f"/api/exports/{export_id}/files?folder=2019&offset=x").status_code == 400
    assert api.get(f"/api/exports/{job_id}/files?folder=2019").status_code == 404  # an import is not an export


def test_the_clean_up_listing_is_paged(app, tmp_path):
    src = tmp_path / "dump"
    make_dump(src)
    job_id, _ids = import_and_resolve(app, src)
    api = Api(app)
    _export(app, api, job_id, outside_roots(tmp_path) / "archive")
    whole = api.get(f"/api/imports/{job_id}/cleanup").get_json()
    assert whole["count"] == 8 and len(whole["files"]) == 8 and whole["next_offset"] is None
    seen = []
    offset = 0
    while offset is not None:
        page = api.get(f"/api/imports/{job_id}/cleanup?offset={offset}&limit=3").get_json()
        assert page["count"] == 8 and len(page["files"]) <= 3
        seen += [f["path"] for f in page["files"]]
        offset = page["next_offset"]
    assert seen == [f["path"] for f in whole["files"]]


def test_the_export_pages_render(app, tmp_path):
    src = tmp_path / "dump"
    make_dump(src)
    job_id, _ids = import_and_resolve(app, src)
    api = Api(app)
    assert api.get("/export").status_code == 200
    html = api.get(f"/export/{job_id}").get_data(as_text=True)
    assert 'id="plan-section"' in html and f'data-import-id="{job_id}"' in html
    # No export yet: the year page says so instead of listing.
    assert "has no finished export yet" in api.get(f"/export/{job_id}/year/2019").get_data(as_text=True)
    export_id = _export(app, api, job_id, outside_roots(tmp_path) / "archive")
    html = api.get(f"/export/{job_id}/year/2019").get_data(as_text=True)
    assert f'data-export-id="{export_id}"' in html and 'data-folder="2019"' in html
    assert api.get("/export/999").status_code == 404
    # The finished import's job page offers the export; an export job's page says what it is.
    assert f'href="/export/{job_id}"' in api.get(f"/jobs/{job_id}").get_data(as_text=True)
    html = api.get(f"/jobs/{export_id}").get_data(as_text=True)
    assert f"<h1>Export {export_id}</h1>" in html and "Review these files" not in html
    assert re.search(r'id="btn-export"[^>]*\shidden', html)


def test_a_typed_output_folder_must_be_a_full_path_the_server_can_write(app, tmp_path, monkeypatch):
    src = tmp_path / "dump"
    make_dump(src)
    job_id, _ids = import_and_resolve(app, src)
    api = Api(app)
    monkeypatch.chdir(tmp_path)
    r = api.get(f"/api/imports/{job_id}/export-plan?output=relative/archive")
    assert r.status_code == 400 and r.get_json()["field"] == "output" and "full path" in r.get_json()["error"]
    r = api.post(f"/api/imports/{job_id}/export", {"output": "relative/archive"})
    assert r.status_code == 400 and "full path" in r.get_json()["error"]
    a_file = outside_roots(tmp_path) / "a-file"
    a_file.write_text("x")
    r = api.get(f"/api/imports/{job_id}/export-plan?output={a_file}")
    assert r.status_code == 400 and "is a file" in r.get_json()["error"]
    assert not (tmp_path / "relative").exists()
    with app.app_context():
        assert api.get("/api/imports").get_json()["imports"][0]["latest_export"] is None


def test_an_import_of_uploaded_files_is_described_as_such(app, tmp_path):
    from tests.support.instance import make_images

    upload = app.extensions["mediaparser"].upload_dir / "u1"
    make_images(upload, 2)
    job_id, _ids = import_and_resolve(app, upload)
    src = tmp_path / "dump"
    make_dump(src)
    other_id, _ids = import_and_resolve(app, src)
    api = Api(app)
    flags = {i["id"]: i["uploaded"] for i in api.get("/api/imports").get_json()["imports"]}
    assert flags == {job_id: True, other_id: False}
    assert api.get(f"/api/imports/{job_id}/exports").get_json()["uploaded"] is True
    assert api.get(f"/api/imports/{other_id}/exports").get_json()["uploaded"] is False
