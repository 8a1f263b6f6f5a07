"""`mediaparser export` and `mediaparser clean-sources` from the shell, with a real worker."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.export import digest, import_and_resolve, make_dump, tree_digest
from tests.support.instance import build_app, instance_env, outside_roots


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    full = dict(os.environ)
    full.update(env)
    return subprocess.run([sys.executable, "-m", "mediaparser", *args], env=full, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.slow
def test_export_dry_run_then_export_wait_then_clean_sources(tmp_path, workers):
    env = instance_env(tmp_path)
    app = build_app(env)
    src = tmp_path / "dump"
    files = make_dump(src)
    job_id, _ids = import_and_resolve(app, src, resolve=False)
    out = outside_roots(tmp_path) / "archive"

    dry = _cli(env, "export", str(job_id), "--dry-run", "--output", str(out), "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert plan["to_copy"] == 7 and plan["open_groups"] == 1 and not out.exists()
    text = _cli(env, "export", str(job_id), "--dry-run", "--output", str(out))
    assert "2024/20241231_200000.jpg" in text.stdout and "not resolved" in text.stdout

    refused = _cli(env, "export", str(job_id), "--output", str(out))
    assert refused.returncode != 0 and "not resolved" in refused.stderr

    workers(env, tmp_path / "w.log")
    before = digest(files.values())
    done = _cli(env, "export", str(job_id), "--output", str(out), "--wait", "--allow-unresolved")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "COMPLETED" in done.stdout and "7 copied" in done.stdout, done.stdout[-600:]
    assert "2024/20241231_200000.jpg" in tree_digest(out)

    listed = _cli(env, "clean-sources", str(job_id))
    assert listed.returncode == 0, listed.stderr
    assert "would be deleted" in listed.stdout and digest(files.values()) == before  # listing deletes nothing
    gone = _cli(env, "clean-sources", str(job_id), "--yes")
    assert gone.returncode == 0, gone.stderr
    left = {p.name for p in src.rglob("*") if p.is_file()}
    assert left == {"broken.jpg"}  # every other source (both exact copies are archived content) is verified
