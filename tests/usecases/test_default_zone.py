"""The default time zone: this computer's own, where it came from, and the question asked once (issue 14 item 8)."""
from __future__ import annotations

import os

import pytest

from mediaparser import config
from mediaparser.config import Settings, system_zone
from mediaparser.store.models import utcnow
from mediaparser.usecases import settings_store

from tests.support.instance import build_app, instance_env


@pytest.fixture
def etc(tmp_path, monkeypatch):
    """An /etc of our own: no TZ, no localtime link, no timezone file until a test makes them."""
    folder = tmp_path / "etc"
    folder.mkdir()
    monkeypatch.setattr(config, "ETC", folder)
    return folder


def test_the_zone_comes_from_tz_then_the_localtime_link_then_etc_timezone(etc):
    assert system_zone({}) is None
    (etc / "timezone").write_text("America/New_York\n")
    assert system_zone({}) == ("America/New_York", str(etc / "timezone"))
    os.symlink("/usr/share/zoneinfo/Europe/Berlin", etc / "localtime")
    assert system_zone({}) == ("Europe/Berlin", str(etc / "localtime"))
    assert system_zone({"TZ": ":Asia/Tokyo"}) == ("Asia/Tokyo", "TZ")
    assert system_zone({"TZ": "/usr/share/zoneinfo/posix/Europe/Lisbon"}) == ("Europe/Lisbon", "TZ")
    assert system_zone({"TZ": "CET-1CEST"}) == ("Europe/Berlin", str(etc / "localtime"))  # not a name: next
    (etc / "localtime").unlink()
    os.symlink("../usr/share/zoneinfo/Etc/UTC", etc / "localtime")
    assert system_zone({}) == ("UTC", str(etc / "localtime"))


def test_settings_say_where_the_zone_came_from(etc, tmp_path):
    home = {"MEDIAPARSER_HOME": str(tmp_path / "inst")}
    assert (Settings.load(environ=home).timezone, Settings.load(environ=home).timezone_origin) == ("UTC", "default")
    s = Settings.load(environ={**home, "TZ": "Europe/Berlin"})
    assert (s.timezone, s.timezone_origin) == ("Europe/Berlin", "system:TZ")
    s = Settings.load(environ={**home, "TZ": "Europe/Berlin", "MEDIAPARSER_TIMEZONE": "Asia/Tokyo"})
    assert (s.timezone, s.timezone_origin) == ("Asia/Tokyo", "env")
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / "config.json").write_text('{"timezone": "America/Denver"}')
    s = Settings.load(environ={**home, "TZ": "Europe/Berlin"})
    assert (s.timezone, s.timezone_origin) == ("America/Denver", "config")


def test_the_question_is_asked_until_a_person_answers_then_the_pages_say_who_set_it(etc, tmp_path):
    env = {k: v for k, v in instance_env(tmp_path).items() if k != "MEDIAPARSER_TIMEZONE"}
    app = build_app({**env, "TZ": "Europe/Berlin"})
    settings = app.extensions["mediaparser"]
    with app.app_context():
        info = settings_store.timezone_info(settings)
        assert info == {"origin": "system", "words": "from this computer's system settings (TZ)", "ask": True}
        page = app.test_client().get("/import").get_data(as_text=True)
        assert "Where were most of these taken?" in page
        assert '<option value="Europe/Berlin" selected>' in page
        new = settings_store.save(settings, {"timezone": "Europe/Berlin"})  # the guess, confirmed
        today = utcnow()
        info = settings_store.timezone_info(new)
        assert info == {"origin": "person", "words": f"set by you on {today.day} {today:%b %Y}", "ask": False}
        # A new process (a worker, a restart) reads it from config.json and knows it was a person's choice.
        again = Settings.load(environ={**env, "TZ": "Asia/Tokyo"})
        assert (again.timezone, settings_store.timezone_info(again)["origin"]) == ("Europe/Berlin", "person")


def test_no_question_when_the_operator_set_the_zone(etc, tmp_path):
    app = build_app(instance_env(tmp_path))  # MEDIAPARSER_TIMEZONE=UTC
    with app.app_context():
        info = settings_store.timezone_info(app.extensions["mediaparser"])
    assert info == {"origin": "env", "words": "from the environment variable MEDIAPARSER_TIMEZONE", "ask": False}
