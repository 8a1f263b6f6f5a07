"""Per-file errors read as sentences, with the technical detail behind a "details" toggle (issue 14 item 5).

A real import of broken files: the job's error list, the examination view's data and
`status` show the plain sentence; the detail is there without memory addresses or bogus
error numbers. Rows recorded before the sentence was stored still show sensibly.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from mediaparser.media.errors import GENERIC
from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import JobStatus, MediaFile
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import build_app, instance_env, make_images
from tests.support.web import shot

NOT_A_PICTURE = "This file is not a picture MediaParser can read (it may be damaged or in an unknown format)."


def _import_broken(app, tmp_path) -> tuple[int, dict[str, int]]:
    src = tmp_path / "dump"
    good = make_images(src, 1)[0]
    # JPEG's first bytes, then nothing Pillow can make sense of: "cannot identify image file <_io.BytesIO …>".
    (src / "garbled.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
    (src / "zero.jpg").write_bytes(b"")
    (src / "cut.jpg").write_bytes(good.read_bytes()[:300])
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        ids = {r.rel_path: r.id for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == job.id))
               .scalars()}
        return job.id, ids


def test_errors_are_sentences_with_a_clean_detail_in_every_api(tmp_path):
    app = build_app(instance_env(tmp_path))
    job_id, ids = _import_broken(app, tmp_path)
    client = app.test_client()
    errors = {e["path"]: e for e in client.get(f"/api/jobs/{job_id}/errors").get_json()["errors"]}
    assert set(errors) == {"garbled.jpg", "zero.jpg", "cut.jpg"}
    garbled = errors["garbled.jpg"]
    assert garbled["error"] == NOT_A_PICTURE
    assert "cannot identify image file" in garbled["error_detail"] and "0x" not in garbled["error_detail"]
    assert errors["zero.jpg"]["error"].startswith("The file is empty")
    assert errors["cut.jpg"]["error"] != GENERIC and errors["cut.jpg"]["error_detail"]
    summary = client.get(f"/api/jobs/{job_id}").get_json()
    assert {e["path"]: e["error"] for e in summary["errors"]} == {p: e["error"] for p, e in errors.items()}
    detail = client.get(f"/api/files/{ids['garbled.jpg']}").get_json()
    assert (detail["error"], detail["error_detail"]) == (garbled["error"], garbled["error_detail"])
    grid = {f["name"]: f for f in client.get(f"/api/files?job={job_id}&error=1").get_json()["files"]}
    assert grid["garbled.jpg"]["error"] == NOT_A_PICTURE


def test_a_row_recorded_before_the_sentences_shows_one_and_its_raw_text_as_detail(tmp_path):
    app = build_app(instance_env(tmp_path))
    job_id, ids = _import_broken(app, tmp_path)
    raw = "cannot decode image: cannot identify image file <_io.BytesIO object at 0x7f3a2b1c9e50>"
    with app.app_context():
        db.session.execute(update(MediaFile).where(MediaFile.id == ids["garbled.jpg"])
                           .values(error=raw, error_detail=None))
        db.session.execute(update(MediaFile).where(MediaFile.id == ids["zero.jpg"])
                           .values(error="frobnicator said no", error_detail=None))
        db.session.commit()
    errors = {e["path"]: e for e in app.test_client().get(f"/api/jobs/{job_id}/errors").get_json()["errors"]}
    assert errors["garbled.jpg"]["error"] == NOT_A_PICTURE
    assert errors["garbled.jpg"]["error_detail"] == (
        "cannot decode image: cannot identify image file <_io.BytesIO object>")
    assert errors["zero.jpg"] == {**errors["zero.jpg"], "error": GENERIC, "error_detail": "frobnicator said no"}


@pytest.mark.slow
def test_the_job_page_and_the_examination_view_hide_the_detail_behind_a_toggle(tmp_path, live_server, page):
    app = build_app(instance_env(tmp_path))
    job_id, ids = _import_broken(app, tmp_path)
    server = live_server(app)

    page.goto(f"{server.url}/jobs/{job_id}")
    item = page.locator("#errors li", has_text="garbled.jpg")
    expect(item.locator(".why-text")).to_have_text(NOT_A_PICTURE)
    detail = item.locator("details.why-detail")
    expect(detail.locator("code")).to_be_hidden()  # closed until asked for
    detail.locator("summary").click()
    expect(detail.locator("code")).to_be_visible()
    expect(detail.locator("code")).to_contain_text("cannot identify image file <_io.BytesIO object>")
    assert "0x" not in page.inner_text("#errors")
    shot(page, "errors-job-details")

    page.goto(f"{server.url}/review?job={job_id}&error=1")
    page.locator(f'.tile[data-id="{ids["garbled.jpg"]}"]').dblclick()
    expect(page.locator("#examine")).to_be_visible()
    reason = page.locator("#exam-reasons .why-text")
    expect(reason).to_have_text(NOT_A_PICTURE)
    toggle = page.locator("#exam-reasons details.why-detail")
    expect(toggle.locator("code")).to_be_hidden()
    toggle.locator("summary").click()
    expect(toggle.locator("code")).to_contain_text("cannot identify image file")
    shot(page, "errors-examine-details")
