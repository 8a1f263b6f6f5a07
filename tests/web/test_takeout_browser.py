"""Google Takeout in the browser: the job page lists the parts and names the missing one;
the review marks the Trash / Archive files and its "Google Photos" filter shows them alone;
the examination view shows the JSON's place and album. At 1280×800 and on a phone."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mediaparser.runtime import tasks
from mediaparser.store.models import JobStatus
from mediaparser.usecases.importing import create_import_job

from tests.support import takeout as gen
from tests.support.instance import build_app, instance_env
from tests.support.web import at_laptop_and_phone, review_filters, shot

pytestmark = pytest.mark.slow
TAKEN = 1565613025


@at_laptop_and_phone
def test_job_page_parts_and_review_flags(tmp_path, live_server, page):
    downloads = tmp_path / "downloads"
    p = "Photos from 2019"
    gen.write_part(downloads, 1, {
        f"{p}/IMG_0001.jpg": gen.jpeg_bytes(1, size=(320, 240)),
        f"{p}/IMG_0001.jpg.supplemental-metadata.json": gen.photo_json("IMG_0001.jpg", TAKEN, geo=(48.1372, 11.5756)),
        "Trash/IMG_0002.jpg": gen.jpeg_bytes(2, size=(320, 240)),
        "Trash/IMG_0002.jpg.supplemental-metadata.json": gen.photo_json("IMG_0002.jpg", TAKEN + 60, trashed=True),
        f"{p}/IMG_0004.jpg.json": gen.photo_json("IMG_0004.jpg", TAKEN + 120),  # its photo is in part 2
    })
    gen.write_part(downloads, 3, {
        "Lake trip/metadata.json": gen.album_json("Lake trip: Garda"),
        "Lake trip/IMG_0003.jpg": gen.jpeg_bytes(3, size=(320, 240)),
        "Lake trip/IMG_0003.jpg.json": gen.photo_json("IMG_0003.jpg", TAKEN + 180, archived=True),
    }, fmt="tgz")
    app = build_app(instance_env(tmp_path, MEDIAPARSER_TIMEZONE="Europe/Berlin"))
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(downloads))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    server = live_server(app)

    # The import page says parts are taken as they are; the folder browser counts them.
    page.goto(server.url + "/import")
    expect(page.locator("#dropzone")).to_contain_text("Google Takeout downloads too")
    page.click('button[data-folder="downloads"]')
    expect(page.locator("#folder-info .takeout-note")).to_have_text(
        "2 Google Takeout parts here: no need to unpack them. The photos inside are unpacked once into"
        " MediaParser's own folder and imported; the parts are only read.")
    shot(page, "takeout-import")

    page.goto(server.url + f"/jobs/{job.id}")
    card = page.locator("#takeout-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("2 of 3 parts")
    expect(card.locator(".part")).to_have_text(["001", "002", "003"])
    expect(card.locator(".part.missing")).to_have_text("002")
    expect(card.locator(".takeout-missing")).to_have_text("Part 002 of 3 is missing: 1 JSON file has no photo yet.")
    card.scroll_into_view_if_needed()
    shot(page, "takeout-job")

    page.goto(server.url + f"/review?job={job.id}")
    expect(page.locator(".tile")).to_have_count(3)
    expect(page.locator(".tile", has_text="IMG_0002.jpg").locator(".gflag")).to_have_text("Trash")
    expect(page.locator(".tile", has_text="IMG_0003.jpg").locator(".gflag")).to_have_text("Archived")
    expect(page.locator(".tile", has_text="IMG_0001.jpg").locator(".gflag")).to_have_count(0)
    with review_filters(page):
        page.select_option("#f-takeout", "trash")
    expect(page.locator(".tile")).to_have_count(1)
    expect(page.locator(".tile")).to_contain_text("IMG_0002.jpg")
    assert "takeout=trash" in page.url
    shot(page, "takeout-review-trash")
    with review_filters(page):
        page.select_option("#f-takeout", "none")
    expect(page.locator(".tile")).to_have_count(1)  # neither the trashed nor the archived one
    expect(page.locator(".tile")).to_contain_text("IMG_0001.jpg")

    page.locator(".tile", has_text="IMG_0001.jpg").dblclick()
    facts = page.locator("#exam-facts")
    expect(facts).to_contain_text("48.13720, 11.57560")
