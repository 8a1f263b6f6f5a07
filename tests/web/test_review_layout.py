"""The review page's layout in a browser, over a library that spans a century
(1919–2026, one file in every month: 1,292 months): it never gets wider than
the window, the timeline zooms (decades → years → months) instead of drawing a
bar per month, and a click in the timeline leaves the reader where they are.

Rows are seeded directly (no media): these tests are about the page, not the import.
"""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.support.instance import BACKENDS, build_app, instance_env
from tests.support.web import BrowserLikeClient, seed, shot, page_until

pytestmark = pytest.mark.slow

PHONE, LAPTOP, DESKTOP = (390, 844), (1280, 800), (1920, 1080)


def _century(app) -> list[int]:
    files = []
    for y in range(1919, 2027):
        for m in range(1, 13):
            if (y, m) > (2026, 8):
                break
            files.append({"captured_at": datetime(y, m, 10, 12, 0), "rel_path": f"{y}/{m:02d}/IMG_{y}{m:02d}.jpg"})
    # One short day with many files (a tall bar beside short ones), and three files without a date.
    files += [{"captured_at": datetime(2019, 8, 12, 10, k), "rel_path": f"2019/trip/IMG_{k:03d}.jpg"} for k in range(30)]
    files += [{"captured_at": None, "confidence": "none", "precision": None, "rel_path": f"scan{k}.jpg"}
              for k in range(3)]
    return seed(app, files)


@pytest.fixture
def century(web_app, live_server):
    _century(web_app)
    return live_server(web_app)


@pytest.fixture
def open_at(browser):
    """A page at a given window size; fails the test on a JavaScript error."""
    contexts, errors = [], []

    def open_(size):
        ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.set_default_timeout(15_000)
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        return pg

    yield open_
    for ctx in contexts:
        ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _no_overflow(pg) -> None:
    width, inner = pg.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page is {width} px wide in a {inner} px window"


def _timeline_inside_its_card(pg) -> None:
    right = pg.evaluate("""() => {
        const card = document.querySelector('.timeline-card').getBoundingClientRect();
        return [card.right, Math.max(...[...document.querySelectorAll('#timeline .bar')].map(b => b.getBoundingClientRect().right))];
    }""")
    assert right[1] <= right[0], "a timeline bar lies beyond the card"


@pytest.mark.parametrize("size", [PHONE, LAPTOP, DESKTOP], ids=["390", "1280", "1920"])
def test_a_century_of_months_fits_the_window(century, open_at, size):
    pg = open_at(size)
    pg.goto(century.url + "/review")
    expect(pg.locator(".tile").first).to_be_visible()
    expect(pg.locator("#timeline .bar").first).to_be_visible()
    _no_overflow(pg)
    _timeline_inside_its_card(pg)
    # Not a bar per month: a bar per year (or decade) until the reader zooms in.
    assert pg.locator("#timeline .bar[data-month]").count() == 0
    assert 0 < pg.locator("#timeline .bar").count() <= 120
    # The grid has as many columns as fit beside the filters, not dozens.
    columns = pg.evaluate("getComputedStyle(document.querySelector('#grid .day-tiles')).gridTemplateColumns.split(' ').length")
    assert columns == 3 if size == PHONE else columns <= (6 if size == LAPTOP else 10)
    shot(pg, f"review-century-{size[0]}")


def test_the_timeline_zooms_years_to_months_and_back_out(century, open_at):
    pg = open_at(LAPTOP)
    pg.goto(century.url + "/review")
    expect(pg.locator("#timeline .bar.year")).to_have_count(2026 - 1919 + 1)
    expect(pg.locator("#timeline .bar.nodate")).to_have_count(1)
    pg.evaluate("window.scrollTo(0, 120)")
    pg.click('#timeline .bar[data-year="2019"]')
    expect(pg.locator("#date-filter")).to_have_text("The year 2019")
    expect(pg.locator("#timeline .bar.month")).to_have_count(12)
    expect(pg.locator("#tl-crumbs")).to_contain_text("All years")
    expect(pg.locator("#match-count")).to_have_text("42 files")
    assert pg.evaluate("scrollY") == 120, "a click in the timeline leaves the reader where they are"
    pg.click('#timeline .bar[data-month="2019-08"]')
    expect(pg.locator("#date-filter")).to_have_text("August 2019")
    expect(pg.locator(".tile")).to_have_count(31)
    assert pg.evaluate("scrollY") == 120
    expect(pg.locator('#timeline .bar[data-month="2019-08"]')).to_have_attribute("aria-current", "true")
    _no_overflow(pg)
    pg.locator("#tl-crumbs").get_by_role("button", name="All years").click()
    expect(pg.locator("#date-filter")).to_have_text("All dates")
    expect(pg.locator("#timeline .bar.year")).to_have_count(108)


def test_on_a_narrow_screen_the_timeline_starts_at_decades(century, open_at):
    pg = open_at(PHONE)
    pg.goto(century.url + "/review")
    expect(pg.locator("#timeline .bar.decade")).to_have_count(12)  # the 1910s … the 2020s
    expect(pg.locator("#timeline .bar.decade[data-decade='1910']")).to_have_attribute("aria-label", "The 1910s, 12 files")
    _timeline_inside_its_card(pg)
    # A decade zooms in without changing the files shown; a year shows its months and filters.
    pg.click('#timeline .bar[data-decade="2010"]')
    expect(pg.locator("#timeline .bar.year")).to_have_count(10)
    expect(pg.locator("#date-filter")).to_have_text("All dates")
    expect(pg.locator('#timeline .bar[data-year="2010"]')).to_be_focused()
    pg.click('#timeline .bar[data-year="2019"]')
    expect(pg.locator("#timeline .bar.month")).to_have_count(12)
    expect(pg.locator("#date-filter")).to_have_text("The year 2019")
    # Out again, one level at a time.
    pg.locator("#tl-crumbs").get_by_role("button", name="2010s").click()
    expect(pg.locator("#timeline .bar.year")).to_have_count(10)
    expect(pg.locator("#date-filter")).to_have_text("All dates")
    pg.locator("#tl-crumbs").get_by_role("button", name="All decades").click()
    expect(pg.locator("#timeline .bar.decade")).to_have_count(12)


def test_a_short_bar_takes_a_click_anywhere_in_its_column_and_labels_take_none(century, open_at):
    pg = open_at(LAPTOP)
    pg.goto(century.url + "/review")
    pg.click('#timeline .bar[data-year="2019"]')
    short = pg.locator('#timeline .bar[data-month="2019-03"]')  # 1 file beside August's 31
    fill, column = short.locator(".fill").bounding_box(), short.bounding_box()
    assert fill["height"] < column["height"] / 3, "the bar is short"
    # A click high above the short bar still picks its month.
    pg.mouse.click(column["x"] + column["width"] / 2, column["y"] + 3)
    expect(pg.locator("#date-filter")).to_have_text("March 2019")
    # The month labels under the bars never catch a click.
    hit = pg.evaluate("""() => {
        const label = document.querySelector('#timeline-years span');
        const r = label.getBoundingClientRect();
        const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return at.closest('#timeline-years') === null;
    }""")
    assert hit, "a label under the timeline took the click"


def _overlap(a, b) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def test_on_a_phone_the_filters_are_a_drawer(century, open_at):
    pg = open_at(PHONE)
    pg.goto(century.url + "/review")
    toggle = pg.locator("#filters-toggle")
    expect(pg.get_by_role("button", name="Filters", exact=True)).to_be_visible()
    drawer = pg.get_by_role("complementary", name="Filters")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert toggle.get_attribute("aria-controls") == "filters"
    expect(drawer).to_be_hidden()
    # Keyboard: Enter opens it and puts the focus inside, Escape closes it and gives the focus back.
    toggle.focus()
    pg.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(drawer).to_be_visible()
    expect(pg.locator('input[name="state"][value="all"]')).to_be_focused()
    # It slides in (0.2 s) and ends inside the window.
    page_until(pg, "() => document.getElementById('filters').getBoundingClientRect().left >= 0", "the drawer's slide-in")
    box = drawer.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE[0]
    shot(pg, "phone-review-filters")
    pg.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    # A filter chosen in the drawer applies; the Close button and a tap beside the drawer close it.
    toggle.click()
    pg.check('input[name="state"][value="needs_review"]')
    expect(pg.locator("#match-count")).to_have_text("3 files")
    expect(toggle).to_have_attribute("aria-label", "Filters, 1 in use")
    pg.get_by_role("button", name="Close the filters").click()
    expect(drawer).to_be_hidden()
    toggle.click()
    pg.mouse.click(PHONE[0] - 10, PHONE[1] // 2)
    expect(drawer).to_be_hidden()
    _no_overflow(pg)
    shot(pg, "phone-review")


def test_on_a_wide_screen_the_filters_are_a_sidebar(century, open_at):
    pg = open_at(LAPTOP)
    pg.goto(century.url + "/review")
    expect(pg.get_by_role("complementary", name="Filters")).to_be_visible()
    expect(pg.locator("#filters-toggle")).to_be_hidden()


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390", "1280"])
def test_the_toast_never_covers_the_selection_bar(century, open_at, size):
    pg = open_at(size)
    pg.goto(century.url + "/review")
    tiles = pg.locator(".tile")
    tiles.nth(1).click()
    tiles.nth(2).click(modifiers=["Control"])
    pg.click("#act-confirm")
    toast = pg.locator("#toast")
    expect(toast).to_contain_text("2 files")
    box = toast.bounding_box()
    buttons = pg.locator("#selection-bar button:visible")
    assert buttons.count() >= 6
    for i in range(buttons.count()):
        assert not _overlap(box, buttons.nth(i).bounding_box()), buttons.nth(i).inner_text()
    # The undo in the toast still works from there.
    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone")
    shot(pg, f"review-toast-{size[0]}")


def test_tiles_have_a_frame_so_a_white_picture_is_not_an_empty_tile(century, open_at):
    pg = open_at(LAPTOP)
    pg.goto(century.url + "/review")
    frame = pg.locator(".tile").first.evaluate("""t => {
        const s = getComputedStyle(t), pic = getComputedStyle(t.querySelector('.thumb'), '::after');
        return [s.borderTopWidth, s.borderTopColor, pic.boxShadow];
    }""")
    assert frame[0] != "0px" and frame[1] not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), frame
    assert "inset" in frame[2], "the picture has a frame of its own"


# ------------------------------------------------- days, sizes, the scrubber --

@pytest.mark.parametrize("backend", BACKENDS)
def test_a_page_can_start_at_a_date_and_counts_the_days_it_shows(tmp_path, backend):
    app = build_app(instance_env(tmp_path, backend))
    try:
        _check_start_at(app)
    finally:
        from mediaparser.store.db import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _check_start_at(app) -> None:
    _century(app)
    api = BrowserLikeClient(app)
    first = api.get("/api/files?at=2019-08&limit=2").get_json()
    assert [f["captured_at"] for f in first["files"]] == ["2019-08-10T12:00:00", "2019-08-12T10:00:00"]
    # The day header counts every file of the day, not only those on the page.
    assert first["days"] == {"2019-08-10": 1, "2019-08-12": 30}
    # Paging back: the first file's cursor in the opposite order gives the files before it.
    back = api.get(f"/api/files?order=desc&limit=2&cursor={first['first_cursor']}").get_json()
    assert [f["captured_at"] for f in back["files"]] == ["2019-07-10T12:00:00", "2019-06-10T12:00:00"]
    newest_first = api.get("/api/files?at=2019-08&order=desc&limit=1").get_json()
    assert newest_first["files"][0]["captured_at"] == "2019-08-12T10:29:00"
    day = api.get("/api/files?at=2019-08-12&limit=1").get_json()
    assert day["files"][0]["captured_at"] == "2019-08-12T10:00:00"
    undated = api.get("/api/files?at=none&limit=5").get_json()
    assert [f["captured_at"] for f in undated["files"]] == [None, None, None] and undated["days"] == {}
    assert api.get("/api/files?at=August").status_code == 400
    assert api.get("/api/files?at=2019-08&sort=name").status_code == 400


def _first_visible_day(pg) -> str:
    return pg.evaluate("""() => {
        for (const s of document.querySelectorAll('#grid .day')) if (s.getBoundingClientRect().bottom > 60) return s.dataset.day;
    }""")


def test_files_sit_under_sticky_day_headers(century, open_at):
    pg = open_at(LAPTOP)
    pg.goto(century.url + "/review?year=2019&month=8")
    days = pg.locator("#grid .day")
    expect(days).to_have_count(2)
    expect(pg.locator('#grid .day[data-day="2019-08-12"] .day-head')).to_have_text("Monday, 12 August 2019 · 30")
    expect(pg.locator('#grid .day[data-day="2019-08-10"] .day-head')).to_have_text("Saturday, 10 August 2019 · 1")
    assert pg.get_attribute('#grid .day[data-day="2019-08-12"]', "aria-label") == "Monday, 12 August 2019, 30 files"
    expect(pg.locator('#grid .day[data-day="2019-08-12"] .tile')).to_have_count(30)
    # Scrolled into the day, its header stays at the top of the window.
    top = pg.evaluate("document.querySelector('#grid .day[data-day=\"2019-08-12\"]').getBoundingClientRect().top + scrollY")
    pg.evaluate(f"window.scrollTo(0, {top} + 300)")
    head = pg.locator('#grid .day[data-day="2019-08-12"] .day-head').bounding_box()
    assert abs(head["y"]) <= 1, head
    shot(pg, "review-day-header-stuck")
    # Arrow keys move through the tiles, Down to the row below.
    first = pg.locator('#grid .day[data-day="2019-08-12"] .tile').first
    first.focus()
    pg.keyboard.press("ArrowRight")
    expect(pg.locator('#grid .day[data-day="2019-08-12"] .tile').nth(1)).to_be_focused()
    columns = pg.evaluate("getComputedStyle(document.querySelector('#grid .day-tiles')).gridTemplateColumns.split(' ').length")
    pg.keyboard.press("ArrowDown")
    expect(pg.locator('#grid .day[data-day="2019-08-12"] .tile').nth(1 + columns)).to_be_focused()
    pg.keyboard.press("ArrowLeft")
    expect(pg.locator('#grid .day[data-day="2019-08-12"] .tile').nth(columns)).to_be_focused()


def test_the_thumbnail_size_changes_the_tiles_and_is_remembered(century, open_at):
    pg = open_at(LAPTOP)
    pg.goto(century.url + "/review")
    width = lambda: pg.locator(".tile").first.bounding_box()["width"]  # noqa: E731
    expect(pg.get_by_role("radio", name="Medium")).to_be_checked()
    medium = width()
    pg.get_by_text("Large", exact=True).click()
    expect(pg.get_by_role("radio", name="Large")).to_be_checked()
    large = width()
    assert large > medium * 1.3
    pg.reload()
    expect(pg.locator(".tile").first).to_be_visible()
    expect(pg.get_by_role("radio", name="Large")).to_be_checked()
    assert width() == large
    pg.get_by_role("radio", name="Small").focus()  # a keyboard picks a size as well
    pg.keyboard.press("Space")
    expect(pg.get_by_role("radio", name="Small")).to_be_checked()
    assert width() < medium
    assert pg.evaluate("localStorage.getItem('mediaparser.review.tileSize')") == "small"


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390", "1280"])
def test_the_scrubber_jumps_to_a_date_and_shows_it_while_dragging(century, open_at, size):
    pg = open_at(size)
    pg.goto(century.url + "/review")
    scrubber = pg.get_by_role("slider", name="Jump to a date")
    expect(scrubber).to_be_visible()
    track = pg.locator("#scrubber .scrub-track").bounding_box()
    assert track["x"] + track["width"] <= size[0]
    x = track["x"] + track["width"] / 2
    pg.mouse.move(x, track["y"] + track["height"] * 0.5)
    pg.mouse.down()
    pg.mouse.move(x, track["y"] + track["height"] * 0.8, steps=5)
    bubble = pg.locator("#scrub-bubble")
    expect(bubble).to_be_visible()
    month = bubble.inner_text()  # e.g. "August 2019"
    assert scrubber.get_attribute("aria-valuetext") == month
    pg.mouse.up()
    expect(bubble).to_be_hidden()
    from datetime import datetime as dt
    wanted = dt.strptime(month, "%B %Y").strftime("%Y-%m")
    # The page now starts at that month, the month at the top of the window ...
    expect(pg.locator(f'#grid .day[data-day^="{wanted}"]').first).to_be_visible()
    assert _first_visible_day(pg).startswith(wanted)
    # ... and the files before it come in above (scrolling up goes on into the month before).
    expect(pg.locator("#grid .day").first).not_to_have_attribute("data-day", re.compile(f"^{wanted}"))
    assert _first_visible_day(pg).startswith(wanted), "files put in above kept the reader's place"
    assert pg.locator(".tile").count() <= 400, "pages, not the whole library"
    # Its marker follows the month at the top of the window while scrolling.
    pg.evaluate("document.querySelectorAll('#grid .day')[document.querySelectorAll('#grid .day').length - 3].scrollIntoView()")
    shown = dt.strptime(_first_visible_day(pg)[:7], "%Y-%m").strftime("%B %Y")
    assert shown != month
    expect(scrubber).to_have_attribute("aria-valuetext", shown)
    _no_overflow(pg)
    shot(pg, f"review-scrubbed-{size[0]}")


def test_the_scrubber_works_from_the_keyboard(century, open_at):
    pg = open_at(LAPTOP)
    pg.goto(century.url + "/review")
    scrubber = pg.get_by_role("slider", name="Jump to a date")
    scrubber.focus()
    pg.keyboard.press("End")  # the files without a date come last
    expect(scrubber).to_have_attribute("aria-valuetext", "No date")
    pg.keyboard.press("PageUp")  # a year before
    expect(scrubber).to_have_attribute("aria-valuetext", "September 2025")
    pg.keyboard.press("Enter")
    expect(pg.locator('#grid .day[data-day="2025-09-10"]')).to_be_visible()
    assert _first_visible_day(pg) == "2025-09-10"


def test_a_file_known_only_to_its_year_or_month_is_not_put_on_a_day(web_app, live_server, open_at):
    seed(web_app, [{"captured_at": datetime(2019, 1, 1), "precision": "year", "rel_path": "scan.jpg"},
                   {"captured_at": datetime(2019, 8, 1), "precision": "month", "rel_path": "album.jpg"},
                   {"captured_at": datetime(2019, 8, 12, 10, 0), "rel_path": "IMG_1.jpg"}])
    server = live_server(web_app)
    pg = open_at(LAPTOP)
    pg.goto(server.url + "/review")
    expect(pg.locator("#grid .day-head")).to_have_text(["Sometime in 2019 · 1", "August 2019 · 1", "Monday, 12 August 2019 · 1"])


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["390", "1280"])
def test_a_double_click_near_the_bottom_opens_the_file_though_the_selection_bar_appears(century, open_at, size):
    pg = open_at(size)
    pg.goto(century.url + "/review?year=2019&month=8")
    expect(pg.locator(".tile")).to_have_count(31)
    # A tile whose middle sits where the selection bar will appear.
    pg.evaluate("""h => { const t = document.querySelectorAll('.tile')[3];
        window.scrollBy(0, t.getBoundingClientRect().top + t.offsetHeight / 2 - (h - 30)); }""", size[1])
    tile = pg.locator(".tile").nth(3)
    box = tile.bounding_box()
    pg.mouse.dblclick(box["x"] + box["width"] / 2, size[1] - 30)
    expect(pg.locator("#examine[open]")).to_have_count(1)
