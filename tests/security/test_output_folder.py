"""Where the archive may be written (issue 15, items 1, 4 and 8), replayed against the real app.

The output rule (output_rule.py) keeps the archive out of system folders, the import roots, the
upload folder and the instance folder; it holds at start-up, on the settings page, for a folder
typed on the export page, for `mediaparser export --output` and in the exporter itself. A locked
MEDIAPARSER_OUTPUT cannot be changed from the web. Values from a file (a camera model) cannot
move an archive file out of the output folder, and the check-output answer never tells which
other paths exist.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediaparser import output_rule

from tests.support import media as gen
from tests.support.instance import instance_env, make_images


def _import(app, c, folder: Path) -> int:
    r = c.post("/api/jobs", {"type": "import", "path": str(folder)})
    assert r.status == 202, r
    job = app.wait_job(c, r.json()["id"])
    assert job["status"] == "COMPLETED", job
    return job["id"]


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _stored_output(app) -> str | None:
    cfg = app.home / "config.json"
    return json.loads(cfg.read_text()).get("output") if cfg.exists() else None


# ---------------------------------------------------------------- the settings page --

def test_the_settings_page_refuses_every_folder_that_overlaps_or_is_a_system_folder(live, tmp_path):
    app = live(worker=False)
    c = app.client()
    (app.roots / "photos").mkdir()
    link = tmp_path / "looks-harmless"
    link.symlink_to(app.roots / "photos")  # a link that leads into a root counts as inside it
    refused = {
        "/": "system folder",
        "/etc": "system folder",
        "/etc/mediaparser-archive": "system folder",  # inside one too; and it must not be created
        "/root": "system folder",
        "/var/log/archive": "system folder",
        str(app.home): "instance folder",
        str(app.roots): "is the import root",
        str(app.roots / "photos"): "lies inside the import root",
        str(app.roots / "new" / "archive"): "lies inside the import root",
        str(tmp_path): "contains the import root",
        str(app.home / "uploads"): "upload folder",
        str(link): "leads into the import root",
        str(link / "archive"): "leads into the import root",
    }
    for folder, words in refused.items():
        r = c.post("/api/settings", {"output": folder})
        assert r.status == 400 and r.json()["field"] == "output", (folder, r)
        assert words in r.json()["error"], (folder, r.json())
        chk = c.get(f"/api/settings/check-output?path={folder}").json()
        assert chk["ok"] is False and words in chk["message"], (folder, chk)
    assert _stored_output(app) is None, "nothing refused was saved"
    assert not Path("/etc/mediaparser-archive").exists() and not (app.roots / "new").exists()
    assert c.get("/api/settings").json()["output"] == str(app.home / "archive")

    # Allowed: the default place inside the instance, and a plain folder elsewhere (created on save).
    for folder in (app.home / "archive", tmp_path / "elsewhere" / "archive"):
        r = c.post("/api/settings", {"output": str(folder)})
        assert r.status == 200, (folder, r)
        assert _stored_output(app) == str(folder) and folder.is_dir()


# ------------------------------------------------------------------------ exports --

def test_a_locked_output_cannot_be_changed_from_the_web_by_any_route(live, tmp_path):
    locked = tmp_path / "locked-archive"
    app = live(extra_env={"MEDIAPARSER_OUTPUT": str(locked)})
    c = app.client()
    make_images(app.roots / "p", 2)
    job_id = _import(app, c, app.roots / "p")
    elsewhere = tmp_path / "anywhere-writable"
    r = c.post(f"/api/imports/{job_id}/export", {"output": str(elsewhere)})
    assert r.status == 403 and "MEDIAPARSER_OUTPUT" in r.json()["error"], r
    r = c.get(f"/api/imports/{job_id}/export-plan?output={elsewhere}")
    assert r.status == 403 and "MEDIAPARSER_OUTPUT" in r.json()["error"], r
    r = c.post("/api/settings", {"output": str(elsewhere)})
    assert r.status == 400 and "MEDIAPARSER_OUTPUT" in r.json()["error"], r
    assert not elsewhere.exists(), "nothing was written where the web asked"
    # The locked folder itself, typed, is fine: the export goes there.
    r = c.post(f"/api/imports/{job_id}/export", {"output": str(locked) + "/"})
    assert r.status == 202, r
    assert app.wait_job(c, r.json()["id"])["status"] == "COMPLETED"
    assert len([f for f in _files_under(locked) if f.endswith(".jpg")]) == 2
    assert not elsewhere.exists()


def test_a_typed_export_folder_must_pass_the_output_rule(live, tmp_path):
    app = live()
    c = app.client()
    make_images(app.roots / "p", 1)
    job_id = _import(app, c, app.roots / "p")
    for folder in (app.roots / "p", app.roots / "archive", app.home, Path("/etc/mp-archive"), Path("/")):
        r = c.post(f"/api/imports/{job_id}/export", {"output": str(folder)})
        assert r.status == 400 and r.json()["field"] == "output", (folder, r)
        r = c.get(f"/api/imports/{job_id}/export-plan?output={folder}")
        assert r.status == 400 and r.json()["field"] == "output", (folder, r)
    assert not (app.roots / "archive").exists() and not Path("/etc/mp-archive").exists()
    assert _files_under(app.roots) == ["p/img_00000.jpg"], "nothing was written into the root"


def test_the_cli_export_refuses_an_output_inside_a_root(live):
    app = live()
    c = app.client()
    make_images(app.roots / "p", 1)
    job_id = _import(app, c, app.roots / "p")
    for extra in ((), ("--dry-run",)):
        out = app.cli("export", str(job_id), "--output", str(app.roots / "x"), *extra)
        assert out.returncode != 0, out
        assert "lies inside the import root" in out.stderr, out.stderr
    assert not (app.roots / "x").exists()
    assert c.get(f"/api/imports/{job_id}/exports").json()["exports"] == []


@pytest.mark.parametrize("where", ["environment", "config.json"])
def test_serve_will_not_start_with_the_output_inside_a_root(tmp_path, where):
    roots = tmp_path / "roots"
    roots.mkdir()
    env = dict(os.environ, **instance_env(tmp_path, MEDIAPARSER_IMPORT_ROOTS=str(roots)))
    if where == "environment":
        env["MEDIAPARSER_OUTPUT"] = str(roots / "archive")
    else:
        home = Path(env["MEDIAPARSER_HOME"])
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.json").write_text(json.dumps({"output": str(roots / "archive")}))
    # A server that starts anyway runs until the timeout, which fails the test.
    out = subprocess.run([sys.executable, "-m", "mediaparser", "serve"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0
    assert "MEDIAPARSER_OUTPUT" in out.stderr and "lies inside the import root" in out.stderr, out.stderr
    if where == "config.json":
        assert "config.json" in out.stderr
    assert not (roots / "archive").exists()


# ------------------------------------------------------------ answers about one folder --

@contextlib.contextmanager
def _unwritable(*folders: Path):
    """Folders nobody may create files in — for root too (immutable), else by their mode."""
    done: list[Path] = []
    try:
        for f in folders:
            if os.geteuid() == 0:
                r = subprocess.run(["chattr", "+i", str(f)], capture_output=True, text=True)
                if r.returncode != 0:
                    pytest.skip(f"cannot make a folder immutable here: {r.stderr.strip()}")
            else:
                f.chmod(0o555)
            done.append(f)
        yield
    finally:
        for f in reversed(done):
            if os.geteuid() == 0:
                subprocess.run(["chattr", "-i", str(f)], check=True)
            else:
                f.chmod(0o755)


def test_check_output_tells_nothing_about_other_paths(live, tmp_path):
    app = live(worker=False)
    c = app.client()
    vault = tmp_path / "vault"
    (vault / "secret-project").mkdir(parents=True)
    with _unwritable(vault / "secret-project", vault):
        under_existing = c.get(f"/api/settings/check-output?path={vault}/secret-project/archive").json()
        under_missing = c.get(f"/api/settings/check-output?path={vault}/no-such-folder/archive").json()
        deeper = c.get(f"/api/settings/check-output?path={vault}/secret-project/a/b/archive").json()
        saved = c.post("/api/settings", {"output": f"{vault}/secret-project/archive"})
    assert under_existing["ok"] is False and under_missing["ok"] is False and deeper["ok"] is False
    # The same answer, whichever folders on the way exist; no other path is named.
    assert under_existing["message"] == under_missing["message"] == deeper["message"]
    for answer in (under_existing, under_missing, deeper):
        assert str(vault) not in answer["message"] and "secret" not in answer["message"]
    assert saved.status == 400 and "secret" not in saved.json()["error"]
    # A folder that can be created: the answer is the same whether its parent exists or not.
    (tmp_path / "open" / "existing").mkdir(parents=True)
    a = c.get(f"/api/settings/check-output?path={tmp_path}/open/existing/archive").json()
    b = c.get(f"/api/settings/check-output?path={tmp_path}/open/missing/archive").json()
    assert a["ok"] is b["ok"] is True and a["message"] == b["message"]


# ---------------------------------------------------------------------- the layout --

def test_a_camera_model_of_dot_dot_cannot_move_files_out_of_the_output(live, tmp_path):
    app = live()
    c = app.client()
    src = app.roots / "cams"
    src.mkdir()
    for i, model in enumerate(["..", "../..", "./../../..", "a/../../b"]):
        gen.jpeg(str(src / f"img{i}.jpg"), img=gen.photo(seed=80 + i), exif={
            "Exif.Image.Model": model, "Exif.Photo.DateTimeOriginal": f"2020:01:02 03:04:0{i}"})
    r = c.post("/api/settings", {"layout": "{camera}/{year}/{year}{month}{day}_{hour}{minute}{second}"})
    assert r.status == 200, r
    job_id = _import(app, c, src)
    out = tmp_path / "archive"
    r = c.post(f"/api/imports/{job_id}/export", {"output": str(out)})
    assert r.status == 202, r
    job = app.wait_job(c, r.json()["id"])
    assert job["status"] == "COMPLETED", job
    summary = c.get(f"/api/exports/{job['id']}").json()
    assert summary["copied"] == 4 and summary["failed"] == 0, summary
    photos = [f for f in _files_under(out) if f.endswith(".jpg")]
    assert len(photos) == 4 and all(".." not in Path(f).parts for f in photos), photos
    # Nothing landed beside or above the output folder.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["archive", "roots", "serve.log", "worker.log"]), sorted(p.name for p in tmp_path.iterdir())
    assert not (tmp_path.parent / "2020").exists() and not Path("/2020").exists()


# ------------------------------------------------------------------ the rule itself --

RULE_KW = dict(import_roots=["/srv/photos"], upload_dir="/srv/mp/instance/uploads",
               thumbnail_dir="/srv/mp/instance/thumbnails", home="/srv/mp/instance")


@pytest.mark.parametrize("folder", [
    "/", "/etc", "/etc/x", "/root", "/home", "/usr/local/archive", "/lib64/x", "/var", "/var/log/x",
    "/var/lib", "/run/user/1000/x", "/proc/self", "/dev/shm/x", "/boot/x",
    "/srv/photos", "/srv/photos/archive", "/srv", "/srv/mp/instance", "/srv/mp",
    "/srv/mp/instance/uploads/x", "/srv/mp/instance/thumbnails",
])
def test_the_rule_refuses(folder):
    assert output_rule.placement_problem(folder, **RULE_KW) is not None


@pytest.mark.parametrize("folder", [
    "/srv/archive", "/srv/mp/instance/archive", "/mnt/nas/photos", "/media/disk/archive", "/home/anna/Archive",
    "/root/archive", "/var/lib/mediaparser/archive", "/run/media/anna/DISK/archive", "/var/home/anna/a",
    "/opt/archive", "/tmp/archive",
])
def test_the_rule_allows(folder):
    assert output_rule.placement_problem(folder, **RULE_KW) is None


# ------------------------------------------------------- the exporter checks again itself --

def _analysed_import(app, folder: Path) -> int:
    from mediaparser.runtime import tasks
    from mediaparser.store.models import JobStatus
    from mediaparser.usecases.importing import create_import_job

    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(folder))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def test_a_job_whose_output_became_illegal_since_it_was_created_writes_nothing(app, tmp_path):
    """Defence in depth: the worker checks the job's folder against the settings it runs with."""
    from mediaparser.store.db import db
    from mediaparser.runtime import tasks
    from mediaparser.store.models import Job, JobStatus
    from mediaparser.usecases import export as exporter

    make_images(tmp_path / "p", 2)
    job_id = _analysed_import(app, tmp_path / "p")
    out = Path(str(tmp_path) + "-later-a-root") / "archive"
    with app.app_context():
        settings = app.extensions["mediaparser"]
        export, _plan = exporter.create_export_job(settings, job_id, output=str(out))
        # The operator adds the archive's parent to the import roots before the job runs.
        app.extensions["mediaparser"] = settings.with_overrides(import_roots=settings.import_roots + (out.parent,))
        assert tasks.process_export_job.call_local(export.id) == JobStatus.FAILED
        job = db.session.get(Job, export.id, populate_existing=True)
        assert "lies inside the import root" in job.error_message
    assert _files_under(out) == [], "nothing was written"


def test_a_link_inside_the_output_does_not_lead_the_copy_out_of_it(app, tmp_path):
    from mediaparser.store.db import db
    from mediaparser.runtime import tasks
    from mediaparser.store.models import ExportItem, JobStatus
    from mediaparser.usecases import export as exporter

    src = tmp_path / "p"
    src.mkdir()
    gen.jpeg(str(src / "a.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2020:01:02 03:04:05"})
    job_id = _analysed_import(app, src)
    base = Path(str(tmp_path) + "-outputs")
    out, victim = base / "archive", base / "victim"
    out.mkdir(parents=True)
    victim.mkdir()
    (out / "2020").symlink_to(victim)  # planted in the archive: its year folder leads elsewhere
    with app.app_context():
        export, _plan = exporter.create_export_job(app.extensions["mediaparser"], job_id, output=str(out))
        assert tasks.process_export_job.call_local(export.id) == JobStatus.COMPLETED
        item = db.session.query(ExportItem).filter_by(job_id=export.id).one()
        assert item.status == "FAILED" and item.reason == exporter.OUTSIDE_OUTPUT
    assert list(victim.iterdir()) == [], "nothing was written through the link"
