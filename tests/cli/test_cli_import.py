"""`mediaparser import --wait` from the shell, with a real worker: importing a folder again."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from mediaparser.store.db import db
from mediaparser.store.models import DupGroup, MediaFile

from tests.support.instance import build_app, instance_env, make_images


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mediaparser", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_importing_a_folder_again_adds_only_the_new_files_and_says_what_it_skipped(tmp_path, workers):
    env = instance_env(tmp_path)
    app = build_app(env)  # creates the instance and its database
    src = tmp_path / "phone"
    make_images(src, 3)
    workers(env, tmp_path / "w.log")

    first = _cli(env, "import", str(src), "--wait")
    assert first.returncode == 0, first.stderr
    assert "COMPLETED: 3/3 files" in first.stdout and "skipped" not in first.stdout

    make_images(src, 1, prefix="new", start=10)
    second = _cli(env, "import", str(src), "--wait")
    assert second.returncode == 0, second.stderr
    assert "COMPLETED: 1/1 files" in second.stdout, second.stdout[-400:]
    assert "skipped (already imported by an earlier import, unchanged since): 3" in second.stdout

    with app.app_context():
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(MediaFile)).scalar_one() == 4
        # No file is an "exact duplicate" of itself.
        assert db.session.execute(select(func.count()).select_from(DupGroup)
                                  .where(DupGroup.kind == "exact")).scalar_one() == 0
