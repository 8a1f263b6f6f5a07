"""Stacks in the review page (issue 13): a burst and a RAW+JPEG pair are one tile each with a badge,
the count line says how many files sit in stacks, the examination view steps through a burst's
frames and keeps the sharpest with an undo. Screenshots: review-stacks.png, examine-burst.png
(and -phone.png at 390×844)."""
from __future__ import annotations

from datetime import datetime

import pytest
from PIL import ImageFilter
from playwright.sync_api import expect

from mediaparser.runtime import tasks
from mediaparser.store.models import JobStatus
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.instance import build_app, instance_env
from tests.support.web import at_laptop_and_phone, page_until, shot

pytestmark = pytest.mark.slow
DTO = "Exif.Photo.DateTimeOriginal"


def _library(src) -> None:
    src.mkdir(parents=True)
    scene = gen.photo(480, 360, seed=7)
    for i, blur in enumerate((2.5, 0, 3.5, 0.6), start=1):
        name = f"20190812_143025_BURST{i:03d}" + ("_COVER" if i == 1 else "") + ".jpg"
        gen.jpeg(str(src / name), img=scene.filter(ImageFilter.GaussianBlur(blur)) if blur else scene,
                 exif={DTO: "2019:08:12 14:30:25", "Exif.Image.Model": "SM-G991B"})
    gen.jpeg(str(src / "IMG_0001.JPG"), img=gen.photo(480, 360, seed=3), exif={DTO: "2019:08:12 16:00:00"})
    gen.crw(str(src / "IMG_0001.CRW"), datetime(2019, 8, 12, 16, 0, 0))
    gen.jpeg(str(src / "IMG_0002.JPG"), img=gen.photo(480, 360, seed=4), exif={DTO: "2019:08:12 17:00:00"})


@at_laptop_and_phone
def test_a_burst_is_one_tile_whose_frames_are_stepped_through_and_chosen_among(tmp_path, live_server, page):
    src = tmp_path / "phone"
    _library(src)
    app = build_app(instance_env(tmp_path))
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    server = live_server(app)

    page.goto(server.url + f"/review?job={job.id}")
    expect(page.locator(".tile")).to_have_count(3)  # 7 files: a burst of 4, a RAW+JPEG pair, one photo
    burst = page.locator(".tile", has_text="BURST001_COVER")
    expect(burst.locator(".stackb")).to_have_text("Burst · 4")
    expect(page.locator(".tile", has_text="IMG_0001.JPG").locator(".stackb")).to_have_text("RAW+JPEG")
    expect(page.locator(".tile", has_text="IMG_0002.JPG").locator(".stackb")).to_have_count(0)
    expect(page.locator("#match-count")).to_have_text("7 files · 4 in 1 burst, 2 in 1 RAW+JPEG pair")
    page_until(page, "() => [...document.images].every((i) => i.complete)", "loading the pictures")
    shot(page, "review-stacks")

    burst.focus()
    page.keyboard.press("Enter")
    stack = page.locator("#exam-stack")
    expect(stack).to_be_visible()
    expect(page.locator("#exam-stack-title")).to_have_text("Burst · 4 frames")
    expect(page.locator("#exam-stack-note")).to_contain_text("applies to all 4 files")
    members = page.locator("#exam-stack-members .stack-member")
    expect(members).to_have_count(4)
    expect(members.nth(0)).to_have_attribute("aria-current", "true")
    members.nth(2).click()  # step to the third frame
    expect(page.locator("#exam-name")).to_have_text("20190812_143025_BURST003.jpg")
    expect(members.nth(2)).to_have_attribute("aria-current", "true")

    page.fill("#burst-count", "2")
    page.click("#burst-sharpest")
    expect(page.locator("#exam-status")).to_contain_text("Kept the sharpest 2 frames")
    expect(page.locator("#exam-stack-note")).to_contain_text("2 kept, 2 set aside")
    aside = [members.nth(i).get_attribute("aria-label") for i in range(4)]
    assert [("set aside" in a) for a in aside] == [True, False, True, False], aside  # frames 2 and 4 are the sharp ones
    stack.scroll_into_view_if_needed()
    shot(page, "examine-burst")

    page.locator("#exam-status button", has_text="Undo").click()
    expect(page.locator("#exam-stack-note")).to_contain_text("Every frame is kept")
    expect(page.locator("#exam-stack-members .stack-member.aside")).to_have_count(0)
