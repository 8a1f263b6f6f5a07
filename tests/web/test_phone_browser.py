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


def _jobs(app) -> dict[str, int]:
    """An import, its export, a cancelled and a failed import, and one still running: their ids."""
    from datetime import timedelta

    from mediaparser.store.db import write_transaction
    from mediaparser.store.models import Job, JobStatus, utcnow

    now = utcnow()
    spec = {
        "import": dict(job_type="import", status=JobStatus.COMPLETED, options={"path": "/photos/Summer 2019"},
                       run_seconds=12.0),
        "export": dict(job_type="export", status=JobStatus.COMPLETED,
                       options={"import_job_id": None, "output": "/media/disk/archive"}, run_seconds=75.0),
        "cancelled": dict(job_type="import", status=JobStatus.CANCELLED, options={"path": "/photos/Oma"},
                          run_seconds=4.0),
        "failed": dict(job_type="import", status=JobStatus.FAILED, options={"path": "/photos/Broken disk"},
                       run_seconds=3.0, error_message="the folder vanished"),
        "running": dict(job_type="import", status=JobStatus.RUNNING, options={"path": "/photos/2024"},
                        run_seconds=0.0, run_started_at=now - timedelta(seconds=30), current_item="2024/IMG_0042.jpg"),
    }
    ids: dict[str, int] = {}
    with app.app_context():
        for name, values in spec.items():
            with write_transaction() as s:
                if name == "export":
                    values["options"]["import_job_id"] = ids["import"]
                job = Job(enumerated=True, progress_total=40, progress_current=40 if name != "running" else 10,
                          started_at=now - timedelta(minutes=5), created_at=now - timedelta(minutes=5),
                          completed_at=None if name == "running" else now - timedelta(minutes=1), **values)
                s.add(job)
                s.flush()
                ids[name] = job.id
    return ids


def test_the_jobs_list_says_what_an_export_is_and_a_finished_job_says_it_finished(tmp_path, live_server, page):
    app = build_app(instance_env(tmp_path))
    ids = _jobs(app)
    server = live_server(app)

    page.goto(server.url + "/jobs")
    what = lambda name: page.locator(f'tr[data-job="{ids[name]}"] td.what')  # noqa: E731
    expect(what("export")).to_have_text(f"Export of import #{ids['import']} to /media/disk/archive")
    expect(what("import")).to_have_text("Import of /photos/Summer 2019")

    # A finished job says how long it took, and not what it would be reading or how long is left.
    for name, words, seconds in (("import", "Finished in", "12 s"), ("export", "Finished in", "1 min 15 s"),
                                 ("cancelled", "Cancelled after", "4 s"), ("failed", "Failed after", "3 s")):
        page.goto(f"{server.url}/jobs/{ids[name]}")
        expect(page.locator("#f-elapsed-label")).to_have_text(words)
        expect(page.locator("#f-elapsed")).to_have_text(seconds)
        expect(page.locator("#job-state")).not_to_have_text("running")
        expect(page.get_by_text("Time left")).to_be_hidden()
        expect(page.get_by_text("Now reading")).to_be_hidden()
        expect(page.get_by_text("Now copying")).to_be_hidden()
        expect(page.get_by_text("Running for")).to_have_count(0)
    expect(page.locator("#job-source")).to_have_text("Import of /photos/Broken disk")

    # The export's page says what it is, and leads to the export page of its import.
    page.goto(f"{server.url}/jobs/{ids['export']}")
    expect(page.locator("#job-source")).to_have_text(f"Export of import #{ids['import']} to /media/disk/archive")
    expect(page.locator("#f-rate-label")).to_have_text("Average speed")
    expect(page.get_by_role("link", name="Open the export page")).to_have_attribute("href", f"/export/{ids['import']}")

    # While a job runs, the cards that only mean something then are shown.
    page.goto(f"{server.url}/jobs/{ids['running']}")
    expect(page.locator("#f-elapsed-label")).to_have_text("Running for")
    expect(page.get_by_text("Time left")).to_be_visible()
    expect(page.get_by_text("Now reading")).to_be_visible()
    expect(page.locator("#f-current")).to_have_text("IMG_0042.jpg")
