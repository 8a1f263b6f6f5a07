"""Settings from defaults, the instance config file and the environment."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mediaparser.config import ConfigError, Settings


def test_defaults_live_in_the_instance_folder(tmp_path):
    s = Settings.load(environ={"MEDIAPARSER_HOME": str(tmp_path / "inst")})
    assert s.home == (tmp_path / "inst").resolve()
    assert s.database_url == f"sqlite:///{s.home / 'mediaparser.db'}"
    assert s.queue_url == f"sqlite:///{s.home / 'queue.db'}" and s.queue_path != s.database_path
    assert (s.host, s.port, s.timezone, s.password) == ("127.0.0.1", 5000, "UTC", None)
    assert s.workers >= 1 and s.output == s.home / "archive" and s.import_roots == ()


def test_environment_overrides_instance_file(tmp_path):
    home = tmp_path / "inst"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"port": 6000, "timezone": "Europe/Berlin"}))
    roots = [tmp_path / "a", tmp_path / "b"]
    for r in roots:
        r.mkdir()
    s = Settings.load(environ={"MEDIAPARSER_HOME": str(home), "MEDIAPARSER_PORT": "7000",
                               "MEDIAPARSER_IMPORT_ROOTS": ":".join(map(str, roots)),
                               "MEDIAPARSER_QUEUE_URL": "redis://127.0.0.1:6379/3", "MEDIAPARSER_WORKERS": "3"})
    assert s.port == 7000 and s.timezone == "Europe/Berlin" and s.workers == 3
    assert s.import_roots == tuple(r.resolve() for r in roots)
    assert s.queue_is_redis and s.queue_path is None
    assert s.exiftool == "off"  # ExifTool's second opinion is opt-in
    assert Settings.load(environ={"MEDIAPARSER_HOME": str(home), "MEDIAPARSER_EXIFTOOL": "Auto"}).exiftool == "auto"


@pytest.mark.parametrize("var,value,fragment", [
    ("MEDIAPARSER_PORT", "http", "MEDIAPARSER_PORT must be a whole number"),
    ("MEDIAPARSER_PORT", "70000", "between 1 and 65535"),
    ("MEDIAPARSER_WORKERS", "0", "MEDIAPARSER_WORKERS must be at least 1"),
    ("MEDIAPARSER_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
    ("MEDIAPARSER_IMPORT_ROOTS", "relative/path", "must be an absolute path"),
    ("MEDIAPARSER_IMPORT_ROOTS", "/no/such/folder", "is not an existing folder"),
    ("MEDIAPARSER_DATABASE_URL", "mysql://x", "MEDIAPARSER_DATABASE_URL must be"),
    ("MEDIAPARSER_QUEUE_URL", "amqp://x", "MEDIAPARSER_QUEUE_URL must be"),
    ("MEDIAPARSER_EXIFTOOL", "/no/such/exiftool", "MEDIAPARSER_EXIFTOOL must be off, auto or the path"),
])
def test_bad_values_are_rejected_with_a_clear_message(tmp_path, var, value, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        Settings.load(environ={"MEDIAPARSER_HOME": str(tmp_path), var: value})


def test_the_command_refuses_to_start_with_a_bad_value(tmp_path):
    env = dict(os.environ, MEDIAPARSER_HOME=str(tmp_path), MEDIAPARSER_TIMEZONE="Nowhere/City")
    out = subprocess.run([sys.executable, "-m", "mediaparser", "status"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "configuration error: MEDIAPARSER_TIMEZONE" in out.stderr


def test_listening_beyond_localhost_needs_a_password(tmp_path):
    env = dict(os.environ, MEDIAPARSER_HOME=str(tmp_path), MEDIAPARSER_HOST="0.0.0.0")
    env.pop("MEDIAPARSER_PASSWORD", None)
    out = subprocess.run([sys.executable, "-m", "mediaparser", "serve"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "Set MEDIAPARSER_PASSWORD" in out.stderr


def test_db_upgrade_is_idempotent(tmp_path):
    from mediaparser.store.migrate import head_revision, upgrade

    s = Settings.load(environ={"MEDIAPARSER_HOME": str(tmp_path)})
    assert upgrade(s) == head_revision()
    assert upgrade(s) == head_revision()


def test_upgrading_to_0009_keys_the_tags_made_before_and_keeps_one_tag_per_key(tmp_path):
    import sqlalchemy as sa

    from mediaparser.store.migrate import upgrade

    s = Settings.load(environ={"MEDIAPARSER_HOME": str(tmp_path)})
    assert upgrade(s, "0008") == "0008"
    engine = sa.create_engine(s.database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tags (name) VALUES ('holiday 2019'), ('oma')"))
    upgrade(s, "0009")
    with engine.begin() as conn:
        assert sorted(conn.execute(sa.text("SELECT name, key FROM tags")).all()) == [
            ("holiday 2019", "holiday 2019"), ("oma", "oma")]
        assert conn.execute(sa.text("SELECT error_detail FROM media_files")).all() == []
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tags (name, key) VALUES ('Holiday 2019', 'holiday 2019')"))
    engine.dispose()
