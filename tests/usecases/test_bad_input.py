"""Hostile and broken input: each entry gets a per-file error or a skip reason; the job completes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from sqlalchemy import select

from mediaparser.media.errors import GENERIC, explain
from mediaparser.store.db import db
from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile

from tests.support.instance import build_app, instance_env, make_images

# Runs the import in a child process. As root, the child drops the
# capabilities that bypass file permissions, so a chmod 000 file is really
# unreadable (CI runs as root).
_SCRIPT = textwrap.dedent("""
    import os, sys
    from mediaparser.config import Settings
    from mediaparser.web import create_app
    from mediaparser.runtime import lifecycle, runner, tasks
    from mediaparser.usecases import importing as importer

    def main():
        app = create_app(Settings.load())
        tasks.set_worker_app(app)
        src, vanish = sys.argv[1], sys.argv[2]
        with app.app_context():
            settings = app.extensions["mediaparser"]
            job = importer.create_import_job(settings, src)
            # List the folder first, then lose a file before it is read.
            lease = lifecycle.claim(job.id, "lister", settings)
            importer._enumerate(runner.LeaseControl(lease, lambda: False), job)
            lifecycle.finish(lease, "PENDING")
            os.unlink(vanish)
            print(tasks.process_import_job.call_local(job.id), job.id)

    if __name__ == "__main__":
        main()
""")


def _run_import(env: dict, src, vanish) -> int:
    script = src.parent / "run_import.py"
    script.write_text(_SCRIPT)
    cmd = [sys.executable, str(script), str(src), str(vanish)]
    if os.geteuid() == 0:
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] + cmd
    full_env = dict(os.environ)
    full_env.update(env)
    out = subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    status, job_id = out.stdout.strip().splitlines()[-1].split()
    assert status == JobStatus.COMPLETED
    return int(job_id)


def test_bad_entries_become_per_file_errors_and_the_job_completes(tmp_path):
    env = instance_env(tmp_path)
    src = tmp_path / "dump"
    good = make_images(src, 3)
    (src / "zero.jpg").write_bytes(b"")
    (src / "locked.jpg").write_bytes(good[0].read_bytes()[:-10] + b"locked....")
    os.chmod(src / "locked.jpg", 0)
    (src / "notaphoto.jpg").write_text("just some text, not an image")
    os.symlink(src / "missing.jpg", src / "broken.jpg")
    (src / "sub").mkdir()
    os.symlink(src, src / "sub" / "loop")  # a folder link back to the import root
    os.symlink("self.jpg", src / "self.jpg")  # a link to itself
    bad_name = os.fsencode(str(src)) + b"/caf\xe9.jpg"  # Latin-1 name, not UTF-8
    with open(bad_name, "wb") as f:
        f.write(good[1].read_bytes())
    os.mkfifo(src / "pipe.jpg")
    (src / "closed").mkdir()
    make_images(src / "closed", 1, prefix="hidden")
    os.chmod(src / "closed", 0)
    vanish = make_images(src / "later", 1, prefix="gone")[0]
    (src / "photo.json").write_text("{}")
    (src / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in good}
    try:
        job_id = _run_import(env, src, vanish)
    finally:
        os.chmod(src / "closed", 0o755)
        os.chmod(src / "locked.jpg", 0o644)

    app = build_app(env)
    with app.app_context():
        job = db.session.get(Job, job_id)
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == job_id)).scalars()}
        expected_errors = {
            "zero.jpg": "empty file",
            "locked.jpg": "permission denied",
            "notaphoto.jpg": "not a recognised photo or video format",
            "broken.jpg": "broken symbolic link",
            "sub/loop": "symbolic link loop",
            "self.jpg": "symbolic link loop",
            "caf\\xe9.jpg": "not valid UTF-8",
            "pipe.jpg": "not a regular file",
            "closed": "folder cannot be read",
            "later/gone_00000.jpg": "disappeared",
        }
        for rel, fragment in expected_errors.items():
            assert rel in rows, f"{rel} was not recorded; recorded: {sorted(rows)}"
            assert rows[rel].status == FileStatus.FAILED, rel
            # The technical text is the detail; the error itself is a plain sentence (media/errors.py).
            assert fragment in rows[rel].error_detail, (rel, rows[rel].error_detail)
            assert rows[rel].error == explain(rows[rel].error_detail).sentence != GENERIC, rel
        ok = {str(p.relative_to(src)) for p in good}
        assert {k for k, r in rows.items() if r.status == FileStatus.DONE} == ok
        # Every entry is accounted for and the counts add up.
        assert job.status == JobStatus.COMPLETED
        assert job.progress_total == job.progress_current == len(rows) == len(ok) + len(expected_errors)
        assert job.error_count == len(expected_errors)
        assert job.skipped_count == 2
        assert set(job.skipped) == {"sidecar metadata (read together with its photo)", "system file"}
        # Originals untouched.
        assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in good} == before
        assert (src / "locked.jpg").exists() and (src / "zero.jpg").exists()


def test_status_json_reports_errors(tmp_path):
    """`mediaparser status ID --json` lists the failed files with reasons."""
    env = instance_env(tmp_path)
    src = tmp_path / "dump"
    make_images(src, 2)
    (src / "zero.jpg").write_bytes(b"")
    vanish = make_images(src, 1, prefix="z")[0]
    job_id = _run_import(env, src, vanish)
    full_env = dict(os.environ)
    full_env.update(env)
    out = subprocess.run([sys.executable, "-m", "mediaparser", "status", str(job_id), "--json"],
                         env=full_env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "COMPLETED" and data["error_count"] == 2
    assert {e["path"]: (e["error"], e["error_detail"]) for e in data["errors"]} == {
        "zero.jpg": ("The file is empty (0 bytes) — the copy it came from probably failed.", "empty file (0 bytes)"),
        "z_00000.jpg": ("The file was gone when MediaParser came to read it (moved or deleted meanwhile).",
                        "the file disappeared before it could be read")}
