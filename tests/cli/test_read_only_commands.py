"""Commands that only read say which instance they looked at and never create one (issue 14 item 9)."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mediaparser.cli import main

from tests.support.instance import build_app, instance_env


def _invoke(env: dict, *args: str):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("args", [
    ["status"], ["status", "--json"], ["status", "3"], ["pause", "3"], ["resume", "3"], ["cancel", "3"],
    ["export", "3", "--dry-run"], ["clean-sources", "3"],
])
def test_a_command_run_where_there_is_no_instance_says_so_and_creates_nothing(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    env = {k: None for k in ("MEDIAPARSER_HOME", "MEDIAPARSER_DATABASE_URL", "MEDIAPARSER_QUEUE_URL",
                             "MEDIAPARSER_IMPORT_ROOTS", "MEDIAPARSER_OUTPUT")}
    result = _invoke(env, *args)
    assert result.exit_code != 0
    assert f"no MediaParser instance at {tmp_path / 'instance'}" in result.output
    assert "nothing was created" in result.output and "MEDIAPARSER_HOME" in result.output
    assert list(tmp_path.iterdir()) == []


def test_status_names_the_instance_it_read(tmp_path):
    env = instance_env(tmp_path)
    build_app(env)  # the instance exists, with no jobs
    home = env["MEDIAPARSER_HOME"]
    text = _invoke(env, "status")
    assert text.exit_code == 0
    assert text.output.splitlines()[0] == f"instance {home} (database {home}/mediaparser.db)"
    assert "no jobs yet" in text.output
    data = json.loads(_invoke(env, "status", "--json").output)
    assert data["instance"] == home and data["jobs"] == []


def test_a_database_without_mediaparser_tables_is_no_instance(tmp_path):
    import sqlite3

    env = instance_env(tmp_path)
    home = tmp_path.parent / f"{tmp_path.name}-outside" / "instance"
    home.mkdir(parents=True)
    sqlite3.connect(home / "mediaparser.db").close()  # an empty file someone left there
    result = _invoke(env, "status")
    assert result.exit_code != 0 and "no MediaParser instance" in result.output
    assert sorted(p.name for p in home.iterdir()) == ["mediaparser.db"]


def test_duplicates_names_a_broken_file_in_plain_words_with_the_detail(tmp_path, monkeypatch):
    from tests.support.instance import make_images

    monkeypatch.chdir(tmp_path)
    make_images(tmp_path / "src", 1)
    (tmp_path / "src" / "garbled.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    result = CliRunner().invoke(main, ["duplicates", "--json", "--workers", "1", str(tmp_path / "src")],
                                env={"MEDIAPARSER_HOME": str(tmp_path / "none")}, catch_exceptions=False)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    [err] = data["errors"]
    assert err["error"].startswith("This file is not a picture MediaParser can read")
    assert "cannot identify image file" in err["error_detail"] and "0x" not in err["error_detail"]
    assert not (tmp_path / "none").exists()
