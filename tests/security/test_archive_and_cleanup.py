"""Repro A and B of the safety issue, replayed against the real app: the archive and the sources
never stand for each other, so no sequence of ordinary steps deletes the only copy of a picture."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from tests.support import media as gen


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _organised(folder: Path) -> list[Path]:
    (folder / "2020").mkdir(parents=True)
    return [Path(gen.jpeg(str(folder / "2020" / f"20200102_03040{i}.jpg"), img=gen.photo(seed=60 + i),
                          exif={"Exif.Photo.DateTimeOriginal": f"2020:01:02 03:04:0{i}"})) for i in range(3)]


def _import(app, c, folder: Path) -> dict:
    r = c.post("/api/jobs", {"type": "import", "path": str(folder)})
    assert r.status == 202, r
    job = app.wait_job(c, r.json()["id"])
    assert job["status"] == "COMPLETED", job
    return job


def _export(app, c, import_id: int) -> dict:
    r = c.post(f"/api/imports/{import_id}/export", {})
    assert r.status == 202, r
    job = app.wait_job(c, r.json()["id"])
    assert job["status"] == "COMPLETED", job
    return c.get(f"/api/exports/{job['id']}").json()


def _manifest_intact(archive: Path) -> int:
    """Every manifest line names a file that exists and still has the bytes the export wrote."""
    lines = [json.loads(x) for x in (archive / "manifest.jsonl").read_text().splitlines() if x.strip()]
    for e in lines:
        p = archive / e["destination"]
        assert p.is_file(), f"the manifest lists {e['destination']} but it is gone"
        assert _sha(p) == e["final_sha256"], f"{e['destination']} no longer holds what the export wrote"
    return len(lines)


def _skipped(job: dict) -> dict[str, int]:
    return {reason: v["count"] for reason, v in (job.get("skipped") or {}).items()}


def test_repro_a_an_organised_folder_is_never_its_own_archive(live):
    app = live()
    c = app.client()
    src = app.roots / "already organised"
    files = _organised(src)
    before = {p: _sha(p) for p in files}
    job = _import(app, c, src)
    # The settings page refuses the imported folder as the archive.
    r = c.post("/api/settings", {"output": str(src)})
    assert r.status == 400 and r.json()["field"] == "output"
    archive = Path(c.get("/api/settings").json()["output"])
    done = _export(app, c, job["id"])
    assert done["copied"] == 3
    # The archive brought back in from the shell (which may import any folder): recognised, nothing listed.
    out = app.cli("import", str(archive), "--wait")
    assert out.returncode == 0, out.stdout + out.stderr
    jobs = c.get("/api/jobs").json()["jobs"]
    again = c.get(f"/api/jobs/{jobs[0]['id']}").json()
    assert again["progress"]["total"] == 0
    assert any("already in the archive" in reason and n == 3 for reason, n in _skipped(again).items()), again
    r = c.get(f"/api/imports/{again['id']}/cleanup")
    assert r.status == 200 and r.json()["count"] == 0
    # Cleaning the first import deletes the originals only now that their copies are verified elsewhere.
    r = c.post(f"/api/imports/{job['id']}/cleanup", {"confirm": True})
    assert r.status == 200 and r.json()["deleted_count"] == 3
    assert not any(p.exists() for p in before)
    assert _manifest_intact(archive) == 3
    copies = {_sha(p) for p in archive.rglob("*.jpg")}
    assert len(copies) == 3


def test_repro_b_a_copy_of_the_archive_imported_with_the_whole_root_is_not_a_source(live):
    app = live()
    c = app.client()
    a = app.roots / "phone"
    a.mkdir()
    for i in range(3):
        gen.jpeg(str(a / f"IMG_{i}.jpg"), img=gen.photo(seed=70 + i),
                 exif={"Exif.Photo.DateTimeOriginal": f"2019:07:0{i + 1} 12:00:00"})
    job = _import(app, c, a)
    archive = Path(c.get("/api/settings").json()["output"])
    _export(app, c, job["id"])
    r = c.post(f"/api/imports/{job['id']}/cleanup", {"confirm": True})
    assert r.status == 200 and r.json()["deleted_count"] == 3
    # The folder browser never offers the archive: it is not inside a root (the output rule).
    roots = c.get("/api/folders").json()["roots"]
    assert all(not str(archive).startswith(root["path"]) for root in roots)
    # A person copies the archive among the photos and imports the whole root.
    shutil.copytree(archive, app.roots / "archive backup")
    whole = _import(app, c, app.roots)
    assert whole["progress"]["total"] == 0
    assert any("already in the archive" in reason and n == 3 for reason, n in _skipped(whole).items()), whole
    assert c.get("/api/duplicates/counts").json()["exact"] == 0
    r = c.post(f"/api/imports/{whole['id']}/cleanup", {"confirm": True})
    assert r.status == 200 and r.json()["deleted_count"] == 0
    assert _manifest_intact(archive) == 3
    assert _manifest_intact(app.roots / "archive backup") == 3
