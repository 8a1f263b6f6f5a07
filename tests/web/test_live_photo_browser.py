"""Live Photos and Motion Photos on the web: the clip route, the file's JSON, and the
examination view playing a Live Photo's clip and a Motion Photo's video."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from mediaparser.runtime import tasks
from mediaparser.store.models import JobStatus
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.instance import build_app, instance_env
from tests.support.web import at_laptop_and_phone, page_until, shot

CID = "3F8E4C1A-2B7D-4E39-9A61-0C5D7E2F8B14"


def _library(tmp_path: Path):
    src = tmp_path / "phone"
    src.mkdir()
    gen.live_still(str(src / "IMG_0001.HEIC"), dto="2019:08:12 14:30:25", content_id=CID,
                   img=gen.photo(640, 480, seed=5))
    gen.live_clip(str(src / "IMG_0001.MOV"), local_with_offset="2019-08-12T14:30:24+0200",
                  utc="2019-08-12T12:30:24Z", content_id=CID, frames=25)
    motion, clip = gen.motion_photo(str(src / "PXL_20190812_150000.MP.jpg"), dto="2019:08:12 15:00:00",
                                    img=gen.photo(640, 480, seed=6), frames=25)
    gen.jpeg(str(src / "IMG_0002.JPG"), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 16:00:00"})
    app = build_app(instance_env(tmp_path))
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    return app, job.id, src, Path(motion), clip


def _ids(app) -> dict[str, int]:
    from sqlalchemy import select

    from mediaparser.store.db import db
    from mediaparser.store.models import MediaFile

    with app.app_context():
        return {r.rel_path: r.id for r in db.session.execute(select(MediaFile)).scalars()}


def test_the_motion_route_serves_exactly_the_appended_video_and_the_json_names_the_clip(tmp_path):
    app, _job, src, motion, clip = _library(tmp_path)
    ids = _ids(app)
    before = motion.read_bytes()
    client = app.test_client()
    r = client.get(f"/files/{ids['PXL_20190812_150000.MP.jpg']}/motion")
    assert r.status_code == 200 and r.mimetype == "video/mp4" and r.data == clip
    part = client.get(f"/files/{ids['PXL_20190812_150000.MP.jpg']}/motion", headers={"Range": "bytes=4-11"})
    assert part.status_code == 206 and part.data == clip[4:12]
    assert part.headers["Content-Range"] == f"bytes 4-11/{len(clip)}"
    assert client.get(f"/files/{ids['IMG_0002.JPG']}/motion").status_code == 404  # no video inside
    assert motion.read_bytes() == before  # only read
    still = client.get(f"/api/files/{ids['IMG_0001.HEIC']}").get_json()
    assert still["live_clip"] == ids["IMG_0001.MOV"] and still["motion_photo"] is False
    moving = client.get(f"/api/files/{ids['PXL_20190812_150000.MP.jpg']}").get_json()
    assert moving["motion_photo"] is True and moving["live_clip"] is None
    # The source is replaced by other bytes of the same size: the video is not served from it.
    motion.write_bytes(before[:len(before) - len(clip)] + bytes(len(clip)))
    assert client.get(f"/files/{ids['PXL_20190812_150000.MP.jpg']}/motion").status_code == 410


def _played_through(page, what: str) -> None:
    """The clip's video element plays (has frames) and, at its end, gives the still back."""
    page_until(page, "() => { const v = document.querySelector('#exam-picture video.exam-motion');"
                     " return !!v && v.readyState >= 2 && v.videoWidth > 0; }", f"the {what} to play")
    expect(page.locator("#exam-picture video.exam-motion")).to_have_count(0, timeout=15_000)
    expect(page.locator("#exam-picture img")).to_be_visible()
    expect(page.locator(".exam-play")).to_be_visible()


@pytest.mark.slow
@at_laptop_and_phone
def test_the_examination_view_plays_a_live_photo_and_a_motion_photo(tmp_path, live_server, page):
    app, job_id, _src, _motion, _clip = _library(tmp_path)
    ids = _ids(app)
    server = live_server(app)
    page.goto(server.url + f"/review?job={job_id}")
    motion_tile = page.locator(f'.tile[data-id="{ids["PXL_20190812_150000.MP.jpg"]}"]')
    expect(motion_tile.locator(".play.motion")).to_contain_text("Motion Photo")
    expect(page.locator(f'.tile[data-id="{ids["IMG_0002.JPG"]}"] .play')).to_have_count(0)

    page.locator(f'.tile[data-id="{ids["IMG_0001.HEIC"]}"]').dblclick()
    play = page.locator(".exam-play")
    expect(play).to_have_attribute("aria-label", "Play the Live Photo")
    page_until(page, "() => { const i = document.querySelector('#exam-picture img'); return i && i.complete; }",
               "the still to load")
    shot(page, "examine-live-photo")
    play.click()
    expect(page.locator("#exam-picture video.exam-motion")).to_have_attribute(
        "src", f"/files/{ids['IMG_0001.MOV']}/original")
    shot(page, "examine-live-photo-playing")
    _played_through(page, "Live Photo's clip")

    page.goto(server.url + f"/review?job={job_id}")
    page.locator(f'.tile[data-id="{ids["PXL_20190812_150000.MP.jpg"]}"]').dblclick()
    expect(page.locator("#exam-badges")).to_contain_text("Motion Photo")
    expect(play).to_have_attribute("aria-label", "Play the Motion Photo")
    play.click()
    expect(page.locator("#exam-picture video.exam-motion")).to_have_attribute(
        "src", f"/files/{ids['PXL_20190812_150000.MP.jpg']}/motion")
    _played_through(page, "Motion Photo's video")
