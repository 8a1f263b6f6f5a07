"""Files without a preview (issue 10 item 5, issue 14 item 7): a truncated JPEG and a RAW
without an embedded preview are kept; the grid and the examination view show a "no
preview" tile with the facts — never a broken image — and the thumbnail URL answers 404.
"""
from __future__ import annotations

import re

from pathlib import Path

import pytest
from playwright.sync_api import expect

from mediaparser.runtime import tasks
from mediaparser.store.models import JobStatus
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.instance import build_app, instance_env
from tests.support.web import shot, page_until

pytestmark = pytest.mark.slow


def _library(src: Path) -> None:
    src.mkdir(parents=True)
    cut = Path(gen.jpeg(str(src / "IMG_0001.jpg"), img=gen.photo(640, 480, seed=2),
                        exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"}))
    cut.write_bytes(cut.read_bytes()[:4000])
    raw = str(src / "DSC_0002.NEF")  # a TIFF-based raw without any embedded preview
    gen.photo(64, 48).save(raw, "TIFF")
    gen.write_tags(raw, exif={"Exif.Photo.DateTimeOriginal": "2019:08:13 09:00:00"})
    gen.jpeg(str(src / "IMG_0003.jpg"), img=gen.photo(320, 240, seed=3),
             exif={"Exif.Photo.DateTimeOriginal": "2019:08:14 10:00:00"})


def _broken_images(page) -> int:
    return page.evaluate("() => [...document.images].filter((i) => i.complete && i.naturalWidth === 0).length")


def test_grid_and_examination_show_a_no_preview_tile_with_the_facts(tmp_path, live_server, page):
    src = tmp_path / "photos"
    _library(src)
    env = instance_env(tmp_path)
    app = build_app(env)
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    server = live_server(app)

    page.goto(server.url + f"/review?job={job.id}")
    expect(page.locator(".tile")).to_have_count(3)
    cut = page.locator(".tile", has_text="IMG_0001.jpg")
    raw = page.locator(".tile", has_text="DSC_0002.NEF")
    for tile, kind in ((cut, "JPEG"), (raw, "NEF")):
        expect(tile.locator(".no-preview-tile")).to_contain_text("No preview")
        expect(tile.locator(".no-preview-tile")).to_contain_text(kind)
        assert tile.locator("img").count() == 0, "no image element, so no broken image"
    # The date from its EXIF, kept: the tile sits under that day's header and shows its time.
    day = page.locator('.day[data-day="2019-08-12"]')
    expect(day).to_have_attribute("aria-label", re.compile(r"^Monday, 12 August 2019"))
    expect(day.locator(".tile", has_text="IMG_0001.jpg")).to_have_count(1)
    expect(cut).to_contain_text("14:30")
    expect(page.locator(".tile", has_text="IMG_0003.jpg").locator("img")).to_have_count(1)
    page_until(page, "() => [...document.images].every((i) => i.complete)", "loading the pictures")
    assert _broken_images(page) == 0
    shot(page, "review-no-preview")

    # The API says there is no picture, and the thumbnail URL answers 404, not a broken image.
    cut_id = int(cut.get_attribute("data-id"))
    with app.app_context():
        client = app.test_client()
        assert client.get(f"/files/{cut_id}/thumb").status_code == 404

    cut.dblclick()
    pic = page.locator("#exam-picture .no-preview")
    expect(pic).to_contain_text("No preview")
    expect(pic).to_contain_text("IMG_0001.jpg")
    expect(pic).to_contain_text("JPEG")
    expect(pic).to_contain_text("12 August 2019")
    assert page.locator("#exam-picture img").count() == 0
    # The warning is in view: the picture could not be decoded, the file is kept.
    expect(page.locator("#exam-reasons")).to_contain_text("could not be decoded")
    expect(page.locator("#exam-reasons")).to_be_visible()
    shot(page, "examine-no-preview")
    assert _broken_images(page) == 0

    # Item 6 in the same view: a partial date typed by a person is understood and shown as what it is.
    page.keyboard.press("Escape")
    page.locator(".tile", has_text="IMG_0003.jpg").dblclick()
    expect(page.locator("#exam-name")).to_have_text("IMG_0003.jpg")
    page.fill("#exam-date", "summer 1987")
    expect(page.locator("#exam-date-interp")).to_contain_text("1987 (year only)")
    expect(page.locator("#exam-date-interp")).to_contain_text("A season is not a month")
    page.click("#exam-date-save")
    expect(page.locator("#exam-time")).to_have_text("1987")
    expect(page.locator("#exam-badges")).to_contain_text("year only")
    expect(page.locator("#exam-history")).to_contain_text("summer 1987")
    shot(page, "examine-partial-date")
    page.keyboard.press("Escape")
    expect(page.locator(".tile", has_text="IMG_0003.jpg").locator(".time")).to_have_text("1987")

    # The import's page counts the files kept without a preview.
    page.goto(server.url + f"/jobs/{job.id}")
    expect(page.locator("#f-warnings")).to_contain_text("2 without a preview")
    shot(page, "job-no-preview")
