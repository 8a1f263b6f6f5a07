"""The import page asks once "Where were most of these taken?" with this computer's zone preselected
(issue 14 item 8); the settings page then says who set it."""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from mediaparser import config
from mediaparser.store.models import utcnow

from tests.support.instance import build_app, instance_env
from tests.support.web import shot

pytestmark = pytest.mark.slow


def test_the_first_import_asks_for_the_zone_once_and_settings_say_who_set_it(tmp_path, monkeypatch, live_server,
                                                                             page):
    etc = tmp_path / "etc"
    etc.mkdir()
    os.symlink("/usr/share/zoneinfo/Europe/Berlin", etc / "localtime")
    monkeypatch.setattr(config, "ETC", etc)
    monkeypatch.delenv("TZ", raising=False)
    env = {k: v for k, v in instance_env(tmp_path).items() if k != "MEDIAPARSER_TIMEZONE"}
    server = live_server(build_app(env))

    page.goto(server.url + "/settings")
    expect(page.locator("#s-timezone")).to_have_value("Europe/Berlin")
    expect(page.locator("#s-timezone-origin")).to_have_text(
        f"Europe/Berlin: from this computer's system settings ({etc / 'localtime'}).")

    page.goto(server.url + "/import")
    question = page.locator("#zone-question")
    expect(question).to_be_visible()
    expect(page.get_by_role("combobox", name="Where were most of these taken?")).to_have_value("Europe/Berlin")
    shot(page, "zone-question")
    page.get_by_role("combobox", name="Where were most of these taken?").select_option("Europe/Lisbon")
    page.click("#zone-save")
    expect(question).to_be_hidden()
    expect(page.locator("#toast")).to_contain_text("Time zone Europe/Lisbon saved")

    page.reload()
    expect(page.locator("#dropzone")).to_be_visible()
    expect(page.locator("#zone-question")).to_have_count(0)  # answered: never asked again

    page.goto(server.url + "/settings")
    expect(page.locator("#s-timezone")).to_have_value("Europe/Lisbon")
    today = utcnow()
    expect(page.locator("#s-timezone-origin")).to_have_text(
        f"Europe/Lisbon: set by you on {today.day} {today:%b %Y}.")
    shot(page, "zone-settings-origin")
