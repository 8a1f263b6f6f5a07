"""`mediaparser duplicates PATH... [--json] [--threshold N]`."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from mediaparser.runtime import tasks
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import build_app, instance_env, outside_roots
from tests.support.photos import SOURCES_GROUPS, make_sources


def _run(env: dict, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "mediaparser", "duplicates", "--json", *args],
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def _groups(data: dict, root: str) -> set:
    return {(g["kind"], frozenset(m["path"].split(root + "/src/", 1)[1] for m in g["members"]))
            for g in data["groups"]}


def test_duplicates_command_analyses_or_reads_the_library(tmp_path):
    make_sources(tmp_path)
    env = instance_env(tmp_path, MEDIAPARSER_HOME=str(outside_roots(tmp_path) / "inst"))
    fresh = _run(env, str(tmp_path / "src"))
    assert fresh["files"] == 10 and fresh["from_library"] == 0 and fresh["errors"] == []
    assert _groups(fresh, str(tmp_path)) == SOURCES_GROUPS
    assert not (outside_roots(tmp_path) / "inst").exists()  # no instance there: none made to consult
    for g in fresh["groups"]:
        keepers = [m for m in g["members"] if m["recommended_keeper"]]
        assert len(keepers) == 1 and keepers[0]["file_id"] == g["keeper"] and g["keeper_reasons"]
        assert all(m["sha256"] and m["format"] and m["bytes"] for m in g["members"])
    resized = next(g for g in fresh["groups"] if any("small_1" in m["path"] for m in g["members"]))
    assert next(m for m in resized["members"] if m["recommended_keeper"])["path"].endswith("IMG_1.jpg")

    app = build_app(env)
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(tmp_path / "src"))
        tasks.process_import_job.call_local(job.id)
    known = _run(env, str(tmp_path / "src"))
    assert known["from_library"] == 10 and _groups(known, str(tmp_path)) == SOURCES_GROUPS

    strict = _run(env, "--threshold", "0", str(tmp_path / "src"))
    kinds = [g["kind"] for g in strict["groups"]]
    assert "exact" in kinds and len(strict["groups"]) < len(SOURCES_GROUPS)
    assert all(m["distance"] == 0 for g in strict["groups"] for m in g["members"])


def test_duplicates_json_reports_the_stacks_and_judges_a_stack_on_its_lead(tmp_path):
    from datetime import datetime

    from PIL import ImageFilter

    from tests.support import media as gen

    src = tmp_path / "src"
    src.mkdir()
    gen.jpeg(str(src / "IMG_0001.JPG"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    gen.crw(str(src / "IMG_0001.CRW"), datetime(2019, 8, 12, 14, 30, 25))
    scene = gen.photo(320, 240, seed=5)
    for i, blur in enumerate((0, 0.7, 1.2), start=1):  # one scene: near-duplicates, were they not a burst
        gen.jpeg(str(src / f"20190812_150000_BURST{i:03d}{'_COVER' if i == 1 else ''}.jpg"),
                 img=scene.filter(ImageFilter.GaussianBlur(blur)) if blur else scene)
    env = instance_env(tmp_path, MEDIAPARSER_HOME=str(outside_roots(tmp_path) / "inst"))
    data = _run(env, str(src))
    assert data["groups"] == []  # a burst is not a pile of near-duplicates
    got = [(s["kind"], os.path.basename(s["lead"]), [(os.path.basename(m["path"]), m["role"]) for m in s["members"]])
           for s in data["stacks"]]
    assert got == [("raw_jpeg", "IMG_0001.JPG", [("IMG_0001.JPG", "jpeg"), ("IMG_0001.CRW", "raw")]),
                   ("burst", "20190812_150000_BURST001_COVER.jpg",
                    [("20190812_150000_BURST001_COVER.jpg", "cover"), ("20190812_150000_BURST002.jpg", "frame"),
                     ("20190812_150000_BURST003.jpg", "frame")])]
