"""The pages on a phone (390 × 844) and on desktops (1280 × 800, 1920 × 1080), in Chromium:
the menu button, no page wider than the window, swipe in the examination view, the jobs list
and a finished job in words.

Screenshots: phone-menu-open.png and phone-<page>.png (test-artifacts/screenshots/).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.instance import build_app, instance_env
from tests.support.web import shot, page_until

pytestmark = pytest.mark.slow

PHONE = {"width": 390, "height": 844}
SIZES = [PHONE, {"width": 1280, "height": 800}, {"width": 1920, "height": 1080}]
PASSWORD = "open sesame"
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
        outline = pg.evaluate("() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }")
        assert outline[0] != "none" and outline[1] != "0px", f"the focused link shows where the focus is: {outline}"
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


def _photos(app, tmp_path, n: int = 3) -> list[int]:
    """`n` analysed photos with real pictures, taken one hour apart, the middle one with a very long name."""
    from datetime import datetime

    from tests.support import media as gen
    from tests.support.web import seed

    src = tmp_path / "photos" / ("A folder with a very long name from an old backup disk " * 2).strip()
    src.mkdir(parents=True)
    thumbs = app.extensions["mediaparser"].thumbnail_dir
    thumbs.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        name = f"IMG_{i:04d}" + ("_with_an_extremely_long_name_nobody_reads_to_the_end" * 2 if i == 1 else "") + ".jpg"
        gen.jpeg(str(src / name), img=gen.photo(640, 480, seed=70 + i))
        gen.photo(320, 240, seed=70 + i).save(thumbs / f"t{i}.jpg", "JPEG")
        rows.append({"rel_path": f"{src.name}/{name}", "source_path": str(src / name), "size": (src / name).stat().st_size,
                     "thumbnail": str(thumbs / f"t{i}.jpg"), "width": 640, "height": 480,
                     "captured_at": datetime(2019, 8, 12, 10 + i, 0, 0), "file_type": "JPEG", "extension": "jpg"})
    return seed(app, rows, job_path=str(tmp_path / "photos"))


def _picture_loaded(pg) -> None:
    """Wait until the examination view's picture has loaded."""
    page_until(pg, "() => { const i = document.querySelector('#exam-picture img'); return !!i && i.complete && i.naturalWidth > 0; }",
               "the examination view's picture loading")


def _swipe(pg, cdp, selector: str, dx: float, dy: float = 0) -> None:
    """A finger drawn across the element, as Chromium's touch screen reports it (touch and pointer events)."""
    box = pg.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2 - dx / 2, box["y"] + box["height"] / 2 - dy / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 9):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove",
                                              "touchPoints": [{"x": x + dx * step / 8, "y": y + dy * step / 8}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_the_examination_view_on_a_phone_swipes_to_the_next_file(tmp_path, live_server, browser):
    app = build_app(instance_env(tmp_path))
    ids = _photos(app, tmp_path)
    server = live_server(app)
    context, pg, errors = _context_page(browser, PHONE, touch=True)
    try:
        cdp = context.new_cdp_session(pg)
        pg.goto(f"{server.url}/review?open={ids[0]}")
        dialog = pg.locator("#examine")
        expect(dialog).to_be_visible()
        name = pg.locator("#exam-name")
        expect(name).to_have_text("IMG_0000.jpg")

        # Full screen: the view covers the phone's screen, and nothing in it is wider than the screen.
        box = dialog.bounding_box()
        assert box["width"] == PHONE["width"] and box["height"] == PHONE["height"], box
        picture = pg.locator("#exam-media").bounding_box()
        assert picture["width"] == PHONE["width"] and picture["height"] > 250, picture

        # A swipe to the left brings the next file, to the right the previous one; up and down does not move.
        _swipe(pg, cdp, "#exam-media", -200)
        expect(name).to_have_text(re.compile(r"^IMG_0001_with_an_extremely_long"))
        _picture_loaded(pg)
        for part in ("#examine .exam-side", "#examine .exam-media"):
            assert pg.evaluate(f"() => {{ const e = document.querySelector({part!r}); return e.scrollWidth <= e.clientWidth; }}"), part
        shot(pg, "phone-examine")
        _swipe(pg, cdp, "#exam-media", -200)
        expect(name).to_have_text("IMG_0002.jpg")
        _swipe(pg, cdp, "#exam-media", 0, -200)
        pg.wait_for_timeout(300)
        expect(name).to_have_text("IMG_0002.jpg")
        _swipe(pg, cdp, "#exam-media", 200)
        expect(name).to_have_text(re.compile(r"^IMG_0001_with"))
        # A short touch is not a swipe.
        _swipe(pg, cdp, "#exam-media", 20)
        pg.wait_for_timeout(300)
        expect(name).to_have_text(re.compile(r"^IMG_0001_with"))

        # The close button is on the picture, in reach, and closes the view.
        close = dialog.get_by_role("button", name="Close")
        expect(close).to_be_visible()
        close_box = close.bounding_box()
        assert close_box["y"] + close_box["height"] <= picture["y"] + picture["height"]
        assert close_box["width"] >= 40 and close_box["height"] >= 40, close_box
        close.tap()
        expect(dialog).to_be_hidden()
        assert not errors, errors
    finally:
        context.close()


# ----------------------------------------------------------- no page wider than the window --

LONG_FOLDER = "Grandmother's old backup disk from 2009 (copy) (copy) final version do not delete"
LONG_NAME = "IMG_20090812_143025_with_an_extremely_long_file_name_nobody_wants_to_read_to_the_end.jpg"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A small library as a family has it, behind a password: one import with exact and similar copies
    (one group of three), long folder and file names, a decided group, a tag, a date set by hand, and a
    finished export. Served by a live server; yields (server url, {name: id or folder})."""
    import shutil

    from sqlalchemy import select

    from mediaparser.runtime import tasks
    from mediaparser.store.db import db, write_transaction
    from mediaparser.store.models import DupGroup, DupMember, JobStatus, MediaFile
    from mediaparser.usecases import tagging as tag_service
    from mediaparser.usecases.duplicates import resolve_group
    from mediaparser.usecases.export.plan import start_export
    from mediaparser.usecases.importing import create_import_job

    from tests.support import media as gen
    from tests.support.instance import outside_roots
    from tests.support.live import Client
    from tests.support.photos import make_sources
    from tests.support.web import LiveServer

    root = tmp_path_factory.mktemp("library")
    make_sources(root)
    src = root / "src"
    deep = src / LONG_FOLDER
    deep.mkdir()
    shutil.copy(src / "a_phone" / "IMG_0.jpg", deep / "IMG_0 (another copy with a long name of its own).jpg")
    gen.jpeg(str(deep / LONG_NAME), exif={"Exif.Photo.DateTimeOriginal": "2009:08:12 14:30:25"}, img=gen.photo(seed=5))
    app = build_app(instance_env(root, MEDIAPARSER_HOST="0.0.0.0", MEDIAPARSER_PASSWORD=PASSWORD))
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        import_id = job.id
        files = {r.rel_path: r.id for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == import_id)).scalars()}
        sizes = {}
        for g in db.session.execute(select(DupGroup)).scalars():
            sizes[g.id] = db.session.query(DupMember).filter(DupMember.group_id == g.id).count()
        db.session.commit()
    three = next(g for g, n in sizes.items() if n == 3)
    similar = next(g for g, n in sizes.items() if n == 2)
    with app.app_context():
        resolve_group(similar, [files["a_phone/IMG_1.jpg"]], timezone="UTC")
        with write_transaction() as s:
            tag_service.link(s, [(files[f"{LONG_FOLDER}/{LONG_NAME}"], "Summer holiday at the lake with the whole family 2009", "user")])
        export = start_export(app.extensions["mediaparser"], import_id, output=str(outside_roots(root) / "archive"),
                              allow_unresolved=True)
        tasks.process_export_job.call_local(export.id)
        export_id = export.id
    server = LiveServer(app)
    client = Client(server.url)
    assert client.login(PASSWORD).status in (302, 303)
    res = client.post("/api/review/actions", {"action": "set_date", "ids": [files["b_backup/blank1.jpg"]],
                                              "value": "2001-02-03 04:05"})
    assert res.status == 200, res
    yield server.url, {"import": import_id, "export": export_id, "group": three, "year": "2009"}
    server.stop()


def _signed_in(browser, url: str, viewport: dict):
    context, pg, errors = _context_page(browser, viewport)
    pg.goto(url + "/login")
    expect(pg.locator("#password")).to_be_visible()
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"], "the login page fits"
    pg.fill("#password", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(re.compile(r".*/review$"))
    return context, pg, errors


def test_no_page_is_wider_than_the_window(library, browser):
    url, ids = library
    pages = {
        "jobs": ("/jobs", "#jobs-body tr[data-job]"),
        "import-job": (f"/jobs/{ids['import']}", "#f-elapsed-label:text('Finished in')"),
        "export-job": (f"/jobs/{ids['export']}", "#f-elapsed-label:text('Finished in')"),
        "import": ("/import", "#folder-list li button"),
        "export-index": ("/export", "#exportable-body tr[data-import]"),
        "export": (f"/export/{ids['import']}", "#done-folders li"),
        "export-year": (f"/export/{ids['import']}/year/{ids['year']}", "#year-body tr[data-name]"),
        "history": ("/history", "table.history tbody tr"),
        "tags": ("/tags", "#tag-rows tr"),
        "settings": ("/settings", "main h1"),
        "duplicates": ("/duplicates", ".dup-card"),
        "duplicates-group": (f"/duplicates?group={ids['group']}", ".dup-member >> nth=2"),
        "set-aside": ("/duplicates?tab=set-aside", "#aside-rows tr[data-file]"),
    }
    for viewport in SIZES:
        context, pg, errors = _signed_in(browser, url, viewport)
        try:
            for name, (path, ready) in pages.items():
                pg.goto(url + path)
                expect(pg.locator(ready).first).to_be_visible()
                pg.wait_for_timeout(150)  # the rest of the page's first answers
                width = pg.evaluate("() => document.documentElement.scrollWidth")
                assert width <= viewport["width"], f"{name} is {width} px wide in a {viewport['width']} px window"
                if viewport is PHONE:
                    shot(pg, f"phone-{name}")
            if viewport is PHONE:
                # A group's copies stand one above the other on a phone, each as wide as the page allows.
                pg.goto(f"{url}/duplicates?group={ids['group']}")
                members = pg.locator(".dup-member")
                expect(members).to_have_count(3)
                boxes = [members.nth(i).bounding_box() for i in range(3)]
                assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"] and len({round(b["x"]) for b in boxes}) == 1, boxes
            assert not errors, errors
        finally:
            context.close()
