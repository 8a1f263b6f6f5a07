"""The pages on a phone (390 × 844) and on desktops (1280 × 800, 1920 × 1080), in Chromium:
the menu button, no page wider than the window, swipe in the examination view, the jobs list
and a finished job in words.

Screenshots: phone-menu-open.png and phone-<page>.png (test-artifacts/screenshots/).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.instance import build_app, instance_env
from tests.support.web import shot

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
MENU = ["Import", "Jobs", "Review", "Duplicates", "Tags", "Export", "History", "Settings"]


def _context_page(browser, viewport: dict, *, touch: bool = False):
    context = browser.new_context(viewport=viewport, has_touch=touch, is_mobile=touch)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, pg, errors


def test_the_menu_button_opens_and_closes_the_menu_on_a_phone(tmp_path, live_server, browser):
    server = live_server(build_app(instance_env(tmp_path)))
    context, pg, errors = _context_page(browser, PHONE)
    try:
        pg.goto(server.url + "/jobs")
        button = pg.get_by_role("button", name="Menu")
        nav = pg.get_by_role("navigation", name="Main")
        expect(button).to_be_visible()
        expect(button).to_have_attribute("aria-expanded", "false")
        assert button.get_attribute("aria-controls") == "main-nav"
        expect(nav.get_by_role("link", name="Settings")).to_be_hidden()

        # Open it with the mouse: every link is there, none cut off by the window's edge.
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        for name in MENU:
            link = nav.get_by_role("link", name=name, exact=True)
            expect(link).to_be_visible()
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (name, box)
        expect(nav.get_by_role("link", name="Jobs")).to_have_attribute("aria-current", "page")
        shot(pg, "phone-menu-open")

        # Escape closes it and the focus goes back to the button.
        pg.keyboard.press("Escape")
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(nav.get_by_role("link", name="Settings")).to_be_hidden()
        expect(button).to_be_focused()

        # By keyboard: Enter opens, Tab reaches the first link, a link takes you there.
        pg.keyboard.press("Enter")
        expect(button).to_have_attribute("aria-expanded", "true")
        pg.keyboard.press("Tab")
        expect(nav.get_by_role("link", name="Import")).to_be_focused()
        nav.get_by_role("link", name="Settings").click()
        expect(pg).to_have_url(server.url + "/settings")
        expect(pg.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")

        # A click elsewhere on the page closes an open menu.
        pg.get_by_role("button", name="Menu").click()
        expect(nav.get_by_role("link", name="History")).to_be_visible()
        pg.locator("main h1").click()
        expect(nav.get_by_role("link", name="History")).to_be_hidden()
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_on_a_desktop_the_menu_is_shown_without_a_button(tmp_path, live_server, browser, size):
    server = live_server(build_app(instance_env(tmp_path)))
    context, pg, errors = _context_page(browser, {"width": size[0], "height": size[1]})
    try:
        pg.goto(server.url + "/history")
        expect(pg.get_by_role("button", name="Menu")).to_be_hidden()
        nav = pg.get_by_role("navigation", name="Main")
        for name in MENU:
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
        top = {nav.get_by_role("link", name=n, exact=True).bounding_box()["y"] for n in MENU}
        assert len(top) == 1, "the links stand in one row"
        assert not errors, errors
    finally:
        context.close()
