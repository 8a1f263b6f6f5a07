"""Browser tests: Debian's Chromium through Playwright against a real server
(werkzeug in a thread) and a real worker subprocess, on a throw-away instance.

Each test saves 1280×800 screenshots of the pages it visits under
test-artifacts/screenshots/.
"""
from __future__ import annotations

import http.server
import re
import threading
from datetime import datetime

import pytest
from playwright.sync_api import expect

from mediaparser.store.db import db
from mediaparser.store.models import Job, JobStatus, MediaFile

from tests.support import media as gen
from tests.support.instance import build_app, instance_env, make_images, wait_until
from tests.support.web import at_laptop_and_phone, review_filters, shot

pytestmark = pytest.mark.slow


def _generate_holiday(folder) -> None:
    """Real JPEGs: four dated by EXIF, two whose names contradict their EXIF
    (low confidence), one in a Unicode sub-folder, one whose only date is its folder's year."""
    trip = folder / "Summer 2019"
    trip.mkdir(parents=True)
    for i in range(4):
        gen.jpeg(str(trip / f"IMG_{i:04d}.JPG"), img=gen.photo(320, 240, seed=i),
                 exif={"Exif.Photo.DateTimeOriginal": f"2019:08:12 10:{i:02d}:25", "Exif.Image.Model": "Pixel 7"})
    for i in range(2):
        gen.jpeg(str(trip / f"IMG_20190812_16{i:02d}25.jpg"), img=gen.photo(320, 240, seed=20 + i),
                 exif={"Exif.Photo.DateTimeOriginal": f"2019:08:12 14:{i:02d}:25"})
    (trip / "Straße Ünïcode").mkdir()
    gen.jpeg(str(trip / "Straße Ünïcode" / "Weihnachten.jpg"), img=gen.photo(320, 240, seed=30),
             exif={"Exif.Photo.DateTimeOriginal": "2018:12:24 18:00:00"})
    gen.jpeg(str(trip / "scan.jpg"), img=gen.photo(240, 320, seed=40))


def _job(app, job_id: int) -> Job:
    with app.app_context():
        db.session.commit()
        job = db.session.get(Job, job_id, populate_existing=True)
        db.session.commit()
        return job


@at_laptop_and_phone
def test_upload_a_folder_then_review_a_file_that_needs_a_look(tmp_path, workers, live_server, page):
    src = tmp_path / "on-my-computer"
    _generate_holiday(src)
    env = instance_env(tmp_path)
    app = build_app(env)
    workers(env, tmp_path / "worker.log")
    server = live_server(app)

    page.goto(server.url + "/import")
    shot(page, "import")
    page.set_input_files("#folder-input", str(src / "Summer 2019"))
    page.wait_for_url(re.compile(r".*/jobs/\d+$"), timeout=60_000)
    job_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_selector("#job-state.COMPLETED", timeout=90_000)
    assert page.inner_text("#job-counts").startswith("8 of 8 files done")
    shot(page, "job-finished")
    job = _job(app, job_id)
    assert job.status == JobStatus.COMPLETED and job.error_count == 0
    with app.app_context():
        paths = sorted(r for (r,) in db.session.execute(db.select(MediaFile.rel_path)).all())
    # Relative paths and Unicode names survive the upload.
    assert "Summer 2019/Straße Ünïcode/Weihnachten.jpg" in paths and len(paths) == 8

    page.goto(server.url + "/jobs")
    page.wait_for_selector(f'tr[data-job="{job_id}"] .pill.COMPLETED')
    shot(page, "jobs")

    page.click("#btn-review") if page.url.endswith(f"/jobs/{job_id}") else page.goto(server.url + "/review")
    page.goto(server.url + "/review")
    page.wait_for_selector(".tile")
    assert page.locator(".tile").count() == 8
    assert page.locator(".tile img[loading=lazy]").count() >= 7, "thumbnails load lazily"
    with review_filters(page):
        page.check('input[name="state"][value="needs_review"]')
        expect(page.locator(".tile")).to_have_count(3)
        assert page.inner_text('[data-count="needs_review"]') == "3"
    shot(page, "review-needs-a-look")

    # Open the first low-confidence file (double-click) and use the date in its name.
    tile = page.locator(".tile", has_text="IMG_20190812_1600").first
    file_id = int(tile.get_attribute("data-id"))
    tile.dblclick()
    page.wait_for_selector("#examine[open]")
    page.wait_for_selector("#exam-cands tr[data-candidate]")
    assert "Low" in page.inner_text("#exam-badges")
    shot(page, "examine")
    page.locator("#exam-cands tr", has_text="the file name").get_by_role("button", name="Use this").click()
    page.wait_for_selector("#exam-status:not([hidden])")
    assert "the file name" in page.inner_text("#exam-status")
    assert "12 August 2019, 16:00:25" in page.inner_text("#exam-time")
    # Enter confirms and moves on to the next file that needs a look.
    page.locator("#examine").press("Enter")
    expect(page.locator("#exam-name")).not_to_have_text("IMG_20190812_160025.jpg")
    shot(page, "examine-next")
    # Arrows move through the files of the current view (the scan, dated only by its folder's year, sorts first).
    expect(page.locator("#exam-name")).to_have_text("scan.jpg")
    page.locator("#examine").press("ArrowRight")
    expect(page.locator("#exam-name")).to_have_text("IMG_20190812_160125.jpg")
    page.locator("#examine").press("ArrowLeft")
    expect(page.locator("#exam-name")).to_have_text("scan.jpg")
    page.keyboard.press("Escape")
    page.wait_for_selector("#examine", state="hidden")
    expect(page.locator(".tile")).to_have_count(2)
    assert page.locator(f'.tile[data-id="{file_id}"]').count() == 0, "the reviewed file left the filter"
    with app.app_context():
        row = db.session.get(MediaFile, file_id)
        assert row.captured_at == datetime(2019, 8, 12, 16, 0, 25) and row.review_state == "reviewed"
        assert row.time_source == "filename"

    # Select two files (click, then Ctrl-click), shift them by one hour, undo from the toast.
    with review_filters(page):
        page.check('input[name="state"][value="all"]')
    expect(page.locator(".tile")).to_have_count(8)
    tiles = page.locator(".tile")
    first_id, third_id = int(tiles.nth(1).get_attribute("data-id")), int(tiles.nth(3).get_attribute("data-id"))
    tiles.nth(1).click()
    tiles.nth(3).click(modifiers=["Control"])
    assert page.inner_text("#sel-what") == "2 selected"
    tiles.nth(2).click(modifiers=["Shift"])  # a range from the last clicked one
    assert page.inner_text("#sel-what") == "2 selected"
    tiles.nth(1).click()
    tiles.nth(3).click(modifiers=["Shift"])
    assert page.inner_text("#sel-what") == "3 selected"
    shot(page, "review-selection")
    with app.app_context():
        before = {i: db.session.get(MediaFile, i).captured_at for i in (first_id, third_id)}
    page.click("#act-shift")
    page.fill("#bulk-h", "1")
    page.dispatch_event("#bulk-h", "input")
    page.click("#bulk-ok")
    page.wait_for_selector("#toast:not([hidden])")
    assert "Shifted the time by +1 h: 3 files" in page.inner_text("#toast")
    with app.app_context():
        db.session.commit()
        moved = {i: db.session.get(MediaFile, i, populate_existing=True).captured_at for i in (first_id, third_id)}
    assert all((moved[i] - before[i]).total_seconds() == 3600 for i in before)
    page.locator("#toast").get_by_role("button", name="Undo").click()
    expect(page.locator("#toast")).to_contain_text("Undone")
    with app.app_context():
        db.session.commit()
        assert {i: db.session.get(MediaFile, i, populate_existing=True).captured_at for i in before} == before

    # The month timeline filters by month.
    page.click('#timeline .bar[data-month="2018-12"]')
    expect(page.locator(".tile")).to_have_count(1)
    expect(page.locator("#date-filter")).to_contain_text("December 2018")  # the summary may come after the files
    shot(page, "review-month")

    page.goto(server.url + "/history")
    page.wait_for_selector("tr[data-batch]")
    assert page.locator("tr.undone").count() == 1
    shot(page, "history")
    page.goto(server.url + "/settings")
    page.fill("#s-layout", "{year}/{year}-{month}/{year}{month}{day}_{hour}{minute}{second}")
    expect(page.locator("#s-layout-example")).to_have_text("2024/2024-12/20241231_200000.jpg")
    shot(page, "settings")


@at_laptop_and_phone
def test_pause_and_resume_a_running_job_from_its_page(tmp_path, workers, live_server, page):
    make_images(tmp_path / "slow", 240, size=(32, 24))
    env = instance_env(tmp_path)
    app = build_app(env)
    worker = workers(env, tmp_path / "worker.log", extra_env={"MEDIAPARSER_DEBUG_FILE_DELAY": "0.05"})
    server = live_server(app)
    # Start it the way a person would: pick the server folder in the browser.
    page.goto(server.url + "/import")
    page.click('button[data-folder="slow"]')
    expect(page.locator("#folder-info")).to_contain_text("240 photo")
    page.click("#import-folder")
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_selector("#job-state.RUNNING", timeout=30_000)
    expect(page.locator("#job-counts")).to_have_text(re.compile(r"^[1-9]\d* of 240"), timeout=30_000)
    # A running job proves a worker: the "no worker" banner must not stay up.
    expect(page.locator("#worker-banner")).to_be_hidden(timeout=3_000)
    shot(page, "job-running")
    page.click("#btn-pause")
    page.wait_for_selector("#job-state.PAUSED", timeout=5_000)
    # Paused: the worker lets go of the job, and the count stops moving.
    wait_until(lambda: _job(app, job_id).lease_owner is None, 10, "the worker to let go of the job")
    done = _job(app, job_id).progress_current
    # The count stays once the paused run has returned (Huey logs "<task> executed in"): wait for that.
    wait_until(lambda: any("process_import_job" in line and " executed in " in line
                           for line in worker.log().splitlines()), 10, "the paused run to return")
    assert _job(app, job_id).progress_current == done < 240
    assert page.locator("#btn-resume").is_visible() and not page.locator("#btn-pause").is_visible()
    shot(page, "job-paused")
    page.click("#btn-resume")
    page.wait_for_selector("#job-state.COMPLETED", timeout=90_000)
    job = _job(app, job_id)
    assert job.progress_current == job.progress_total == 240 and job.error_count == 0


@at_laptop_and_phone
def test_the_page_says_when_no_worker_is_running(tmp_path, live_server, page):
    app = build_app(instance_env(tmp_path))
    make_images(tmp_path / "p", 1)
    c = app.test_client()
    job_id = c.post("/api/jobs", json={"type": "import", "path": str(tmp_path / "p")}).get_json()["id"]
    server = live_server(app)
    page.goto(f"{server.url}/jobs/{job_id}")
    page.wait_for_selector("#worker-banner:not([hidden])")
    assert "mediaparser worker" in page.inner_text("#worker-banner")
    # The banner (from /api/health) and the explanation (from the job's first poll) arrive separately.
    expect(page.locator("#job-explain")).to_contain_text("Waiting for the background worker", timeout=15_000)
    shot(page, "no-worker")


@at_laptop_and_phone
def test_login_is_required_when_listening_beyond_localhost(tmp_path, live_server, page):
    app = build_app(instance_env(tmp_path, MEDIAPARSER_HOST="0.0.0.0", MEDIAPARSER_PASSWORD="open sesame"))
    server = live_server(app)  # the test binds 127.0.0.1; the app believes it is exposed
    page.goto(server.url + "/review")
    assert "/login" in page.url
    shot(page, "login")
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    assert "not right" in page.inner_text(".error-box")
    page.fill("#password", "open sesame")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/review$"))
    expect(page.locator("#match-count")).to_have_text("0 files")
    assert page.locator("text=Sign out").is_visible()
    cookie = [c for c in page.context.cookies() if c["name"] == "mediaparser_session"][0]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


class _EvilSite:
    """Another origin serving pages that try to change things on MediaParser."""

    def __init__(self, target: str, job_id: int) -> None:
        pages = {
            "/form": f"""<html><body><form id="f" method="post" action="{target}/api/jobs/{job_id}/cancel">
                <input name="x" value="1"></form><script>document.getElementById('f').submit()</script></body></html>""",
            "/fetch": f"""<html><body><script>
                fetch("{target}/api/jobs/{job_id}/cancel", {{method: "POST", mode: "no-cors", credentials: "include",
                       body: "x=1", headers: {{"Content-Type": "application/x-www-form-urlencoded"}}}})
                  .finally(() => {{ document.title = "sent"; }});
                </script></body></html>""",
        }

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@at_laptop_and_phone
def test_a_cross_site_post_is_refused(tmp_path, live_server, page):
    app = build_app(instance_env(tmp_path))
    make_images(tmp_path / "p", 1)
    job_id = app.test_client().post("/api/jobs", json={"type": "import", "path": str(tmp_path / "p")}).get_json()["id"]
    server = live_server(app)
    page.goto(server.url + "/jobs")  # the person has MediaParser open (a session cookie exists)
    evil = _EvilSite(server.url, job_id)
    try:
        page.goto(evil.url + "/form")
        page.wait_for_url(f"{server.url}/api/jobs/{job_id}/cancel")
        assert "cross-site request refused" in page.content().lower()
        shot(page, "cross-site-refused")
        page.goto(evil.url + "/fetch")
        expect(page).to_have_title("sent")
    finally:
        evil.stop()
    assert _job(app, job_id).status == JobStatus.PENDING, "neither request cancelled the job"
