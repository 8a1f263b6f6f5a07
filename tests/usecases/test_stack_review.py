"""Stacks in the review: one tile per stack with its kind and count, a date decision on a stack reaches
every member, a burst's 'keep the cover only' / 'keep the sharpest N' set frames aside with an undo,
and duplicate grouping judges a stack on its lead."""
from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest
from PIL import ImageFilter
from sqlalchemy import select, update

from mediaparser.runtime import tasks
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import DupGroup, DupMember, GroupKind, JobStatus, MediaFile
from mediaparser.usecases import duplicates
from mediaparser.usecases.export.plan import SKIP_ASIDE_BURST, build_plan
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.instance import build_app
from tests.support.web import BrowserLikeClient

DTO = "Exif.Photo.DateTimeOriginal"


@pytest.fixture
def sqlite_app(sqlite_env):
    """The tests of the paging and filters run on both databases; the rest on SQLite only (time)."""
    app = build_app(sqlite_env)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _import(app, folder) -> int:
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(folder))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def _rows(app) -> dict[str, MediaFile]:
    with app.app_context():
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile)).scalars()}
        db.session.expunge_all()
        return rows


def _tiles(api, query: str = "") -> list[dict]:
    r = api.get(f"/api/files?limit=200{query}")
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_json()["files"]


def _camera(when: str, model: str = "SM-G991B") -> dict[str, str]:
    return {DTO: when, "Exif.Image.Make": "samsung", "Exif.Image.Model": model}


def test_a_raw_jpeg_pair_and_an_edited_copy_are_one_tile_each_and_every_file_is_counted(app, tmp_path):
    src = tmp_path / "card"
    src.mkdir()
    gen.jpeg(str(src / "IMG_0001.JPG"), exif={DTO: "2019:08:12 14:30:25"})
    gen.crw(str(src / "IMG_0001.CRW"), datetime(2019, 8, 12, 14, 30, 25))
    gen.jpeg(str(src / "IMG_0002.JPG"), exif={DTO: "2019:08:12 15:00:00"}, img=gen.photo(seed=2))
    gen.jpeg(str(src / "IMG_E0002.JPG"), exif={DTO: "2019:08:12 15:00:00"},
             img=gen.photo(seed=2).convert("L").convert("RGB"))
    gen.jpeg(str(src / "IMG_0003.JPG"), exif={DTO: "2019:08:13 09:00:00"}, img=gen.photo(seed=3))
    _import(app, src)
    rows = _rows(app)
    api = BrowserLikeClient(app)
    tiles = {t["name"]: t for t in _tiles(api)}
    assert set(tiles) == {"IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"}
    assert tiles["IMG_0001.JPG"]["stack"] == {"kind": "raw_jpeg", "label": "RAW+JPEG", "role": "jpeg",
                                              "lead": rows["IMG_0001.JPG"].id, "count": 2}
    assert tiles["IMG_0002.JPG"]["stack"]["kind"] == "edited" and tiles["IMG_0002.JPG"]["stack"]["count"] == 2
    assert tiles["IMG_0003.JPG"]["stack"] is None
    summary = api.get("/api/files/summary").get_json()
    assert summary["count"] == 5  # files, not tiles
    assert summary["stacks"] == {"raw_jpeg": {"files": 2, "stacks": 1, "noun": "RAW+JPEG pair"},
                                 "edited": {"files": 2, "stacks": 1, "noun": "edited photo"}}
    # The examination view lists the members, lead first, with their roles.
    detail = api.get(f"/api/files/{rows['IMG_0002.JPG'].id}").get_json()
    assert [(m["name"], m["role"]) for m in detail["stack"]["members"]] == [("IMG_0002.JPG", "original"),
                                                                            ("IMG_E0002.JPG", "edited")]
    assert detail["stack"]["label"] == "Edited"
    # Stepping through the grid goes tile by tile, the RAW (taken at the JPEG's second) is not a stop of its
    # own, with or without a filter of confidences (whose pages are read cell by cell).
    jpeg, edit = rows["IMG_0001.JPG"].id, rows["IMG_0002.JPG"].id
    for query in ("", "confidence=high,medium,low,none"):
        assert [t["name"] for t in _tiles(api, "&" + query)] == ["IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG"]
        assert api.get(f"/api/files/{jpeg}/neighbours?{query}").get_json()["next"] == edit
        assert api.get(f"/api/files/{jpeg}/neighbours?{query}").get_json()["previous"] is None
        assert api.get(f"/api/files/{edit}/neighbours?{query}").get_json()["previous"] == jpeg


def test_a_member_whose_lead_the_filter_leaves_out_shows_on_its_own(app, tmp_path):
    src = tmp_path / "card"
    src.mkdir()
    gen.jpeg(str(src / "IMG_0001.JPG"), exif={DTO: "2019:08:12 14:30:25"})
    gen.crw(str(src / "IMG_0001.CRW"), datetime(2019, 8, 12, 14, 30, 25))
    _import(app, src)
    rows = _rows(app)
    with app.app_context(), write_transaction() as s:  # the RAW alone needs review
        s.execute(update(MediaFile).where(MediaFile.id == rows["IMG_0001.CRW"].id).values(confidence="low"))
        s.execute(update(MediaFile).where(MediaFile.id == rows["IMG_0001.JPG"].id).values(confidence="high"))
    api = BrowserLikeClient(app)
    assert [t["name"] for t in _tiles(api, "&state=needs_review")] == ["IMG_0001.CRW"]
    assert api.get("/api/files/summary?state=needs_review").get_json()["count"] == 1
    assert [t["name"] for t in _tiles(api)] == ["IMG_0001.JPG"]


def test_a_date_decision_on_a_stack_applies_to_every_member_and_its_undo_to_all_of_them(sqlite_app, tmp_path):
    app = sqlite_app
    src = tmp_path / "card"
    src.mkdir()
    gen.jpeg(str(src / "IMG_0001.JPG"), exif={DTO: "2019:08:12 14:30:25"})
    gen.crw(str(src / "IMG_0001.CRW"), datetime(2019, 8, 12, 14, 30, 25))
    _import(app, src)
    rows = _rows(app)
    jpeg, raw = rows["IMG_0001.JPG"].id, rows["IMG_0001.CRW"].id
    api = BrowserLikeClient(app)
    r = api.post("/api/review/actions", json={"action": "set_date", "ids": [jpeg], "value": "2001-02-03 04:05"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["changed"] == 2
    after = _rows(app)
    assert after["IMG_0001.JPG"].captured_at == after["IMG_0001.CRW"].captured_at == datetime(2001, 2, 3, 4, 5)
    r = api.post("/api/review/actions", json={"action": "shift", "ids": [raw], "seconds": 3600})
    assert r.get_json()["changed"] == 2
    assert _rows(app)["IMG_0001.JPG"].captured_at == datetime(2001, 2, 3, 5, 5)
    assert api.post(f"/api/review/batches/{r.get_json()['batch_id']}/undo").status_code == 200
    back = _rows(app)
    assert back["IMG_0001.JPG"].captured_at == back["IMG_0001.CRW"].captured_at == datetime(2001, 2, 3, 4, 5)


def _burst(src, blur: list[float]) -> None:
    """A Samsung burst of one scene, frame i blurred by blur[i] (0: sharp); frame 1 is marked the cover."""
    scene = gen.photo(480, 360, seed=7)
    for i, radius in enumerate(blur, start=1):
        img = scene.filter(ImageFilter.GaussianBlur(radius)) if radius else scene
        name = f"20190812_143025_BURST{i:03d}" + ("_COVER" if i == 1 else "") + ".jpg"
        gen.jpeg(str(src / name), exif=_camera(f"2019:08:12 14:30:{25 + i // 5:02d}"), img=img, quality=95)


def _decisions(app) -> dict[str, str | None]:
    """Each burst frame's decision (a frame no choice touched is absent)."""
    with app.app_context():
        out = {rel: dec for rel, dec in db.session.execute(
            select(MediaFile.rel_path, DupMember.decision).join(DupMember, DupMember.file_id == MediaFile.id)
            .join(DupGroup, DupGroup.id == DupMember.group_id).where(DupGroup.kind == GroupKind.BURST))}
        db.session.commit()
        return out


def test_a_burst_is_one_tile_and_keep_the_cover_or_the_sharpest_frames_sets_the_others_aside(app, tmp_path):
    src = tmp_path / "phone"
    src.mkdir()
    _burst(src, [3.0, 0, 4.0, 0.8, 2.0])  # frame 2 the sharpest, then 4
    job_id = _import(app, src)
    rows = _rows(app)
    cover = rows["20190812_143025_BURST001_COVER.jpg"].id
    api = BrowserLikeClient(app)
    tiles = _tiles(api)
    assert len(tiles) == 1 and tiles[0]["id"] == cover
    assert tiles[0]["stack"]["kind"] == "burst" and tiles[0]["stack"]["count"] == 5
    assert api.get("/api/files/summary").get_json()["stacks"] == {"burst": {"files": 5, "stacks": 1, "noun": "burst"}}
    assert _decisions(app) == {}  # by default every frame is kept
    # The frames are not near-duplicates of each other: no similar group forms.
    assert all(r.similar_group_id is None for r in rows.values())

    r = api.post(f"/api/stacks/{rows['20190812_143025_BURST003.jpg'].id}/keep", json={"keep": "sharpest", "count": 2})
    assert r.status_code == 200, r.get_data(as_text=True)
    kept_names = {n for n, d in _decisions(app).items() if d == "keep"}
    assert kept_names == {"20190812_143025_BURST002.jpg", "20190812_143025_BURST004.jpg"}
    sharpest = r.get_json()["batch_id"]

    r = api.post(f"/api/stacks/{cover}/keep", json={"keep": "cover"})
    latest = api.get("/api/review/batches?limit=1").get_json()["batches"][0]  # one decision in the History
    assert (latest["id"], latest["action"]) == (r.get_json()["batch_id"], "burst_keep")
    assert latest["summary"] == ("Kept the cover only of the burst 20190812_143025_BURST001_COVER.jpg "
                                 "(4 frames set aside)")
    assert {n for n, d in _decisions(app).items() if d == "keep"} == {"20190812_143025_BURST001_COVER.jpg"}
    detail = api.get(f"/api/files/{cover}").get_json()["stack"]
    assert detail["set_aside"] == 4 and [m["set_aside"] for m in detail["members"]] == [False] + [True] * 4
    with app.app_context():  # the set-aside list shows them with the cover kept instead, like duplicates
        page = duplicates.set_aside_page()
        assert len(page["files"]) == 4
        assert all([k["file_id"] for k in f["kept_instead"]] == [cover] for f in page["files"])
        plan = build_plan(app.extensions["mediaparser"], job_id)  # and the export leaves them out
        assert {f.file_id for f in plan.files if f.action == "copy"} == {cover}
        # ... saying why in the burst's words, not a duplicate's
        assert {f.reason for f in plan.files if f.action == "skip"} == {SKIP_ASIDE_BURST}
        db.session.commit()

    # Undo the cover choice: the sharpest-two choice is back; undo that: every frame kept again.
    assert api.post(f"/api/review/batches/{r.get_json()['batch_id']}/undo").status_code == 200
    assert {n for n, d in _decisions(app).items() if d == "keep"} == {"20190812_143025_BURST002.jpg",
                                                                      "20190812_143025_BURST004.jpg"}
    assert api.post(f"/api/review/batches/{sharpest}/undo").status_code == 200
    assert set(_decisions(app).values()) == {None}
    # The duplicates page never lists a burst choice as a group.
    assert api.get("/api/duplicates/counts").get_json()["resolved"] == 0


def test_a_burst_choice_refuses_what_does_not_fit(sqlite_app, tmp_path):
    app = sqlite_app
    src = tmp_path / "phone"
    src.mkdir()
    _burst(src, [0, 0.5])
    gen.jpeg(str(src / "alone.jpg"), exif={DTO: "2019:08:12 18:00:00"})
    _import(app, src)
    rows = _rows(app)
    api = BrowserLikeClient(app)
    r = api.post(f"/api/stacks/{rows['alone.jpg'].id}/keep", json={"keep": "cover"})
    assert r.status_code == 400 and "not part of a burst" in r.get_json()["error"]
    r = api.post(f"/api/stacks/{rows['20190812_143025_BURST002.jpg'].id}/keep", json={"keep": "sharpest", "count": 3})
    assert r.status_code == 400 and "1 to 2" in r.get_json()["error"]
    assert _decisions(app) == {}


def test_apple_burst_frames_that_share_a_burst_uuid_are_one_stack(sqlite_app, tmp_path):
    app = sqlite_app
    src = tmp_path / "iphone"
    src.mkdir()
    for i in range(4):  # Apple's maker note carries the BurstUUID (read by media.metadata)
        gen.live_still(str(src / f"IMG_{i + 10:04d}.JPG"), dto="2019:08:12 14:30:25", img=gen.photo(seed=20 + i),
                       burst_id="6F1B2C3D-0000-4A5B-8C9D-0E1F2A3B4C5D")
    gen.live_still(str(src / "IMG_0099.JPG"), dto="2019:08:12 14:30:26", img=gen.photo(seed=99),
                   burst_id="0A0A0A0A-1111-4222-8333-444455556666")  # alone in its burst: no stack
    _import(app, src)
    api = BrowserLikeClient(app)
    tiles = {t["name"]: t for t in _tiles(api)}
    assert set(tiles) == {"IMG_0010.JPG", "IMG_0099.JPG"}
    assert tiles["IMG_0010.JPG"]["stack"]["count"] == 4 and tiles["IMG_0010.JPG"]["stack"]["kind"] == "burst"
    assert tiles["IMG_0099.JPG"]["stack"] is None


def test_duplicate_grouping_sees_a_raw_or_clip_or_burst_frame_only_through_its_lead():
    row = dict(id=1, sha256="a" * 64, phash=5, dhash=7, low_detail=False, phash90=None, dhash90=None, phash180=None,
               dhash180=None)
    assert duplicates.hash_item(SimpleNamespace(**row, stack_role="jpeg")).low_detail is False
    for role in ("raw", "clip", "frame"):  # exact copies only
        assert duplicates.hash_item(SimpleNamespace(**row, stack_role=role)).low_detail is True
