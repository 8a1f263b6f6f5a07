"""The review API: bounded keyset paging, filters, the month histogram,
bulk actions over ids and over "everything matching", undo, typed dates."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from mediaparser.store.db import db
from mediaparser.store.models import MediaFile, ReviewBatch, ReviewDecision

from tests.support.instance import instance_env
from tests.support.web import seed


@pytest.fixture
def web_env(tmp_path, backend):
    """The review queries run on SQLite and on PostgreSQL (when configured)."""
    return instance_env(tmp_path, backend)


def _walk(api, query: str, limit: int) -> list[dict]:
    out, cursor, pages = [], None, 0
    while True:
        url = f"/api/files?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = api.get(url)
        assert r.status_code == 200, r.get_data(as_text=True)
        body = r.get_json()
        assert len(body["files"]) <= limit
        out.extend(body["files"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return out
        assert pages < 1000, "paging never ends"


@pytest.fixture
def mixed(web_app):
    """57 files: ties in time, files without a date, failed files, videos, two cameras."""
    rng = random.Random(3)
    files = []
    for i in range(57):
        t = datetime(2019, 1 + i % 12, 1 + i % 27, 10, 0, 0) if i % 9 else None
        if i % 5 == 0 and t is not None:
            t = datetime(2019, 6, 15, 12, 0, 0)  # many identical times: ties broken by id
        conf = ["high", "medium", "low", "none"][i % 4] if t else "none"
        files.append({
            "rel_path": f"album {i % 3}/IMG_{rng.randrange(10**6):06d}.jpg", "size": rng.choice([500, 1500, 2500, None]),
            "captured_at": t, "confidence": conf, "kind": "video" if i % 7 == 0 else "image",
            "status": "FAILED" if i % 13 == 0 else "DONE", "error": "broken" if i % 13 == 0 else None,
            "model": "Pixel 7" if i % 2 else "X-T3", "group_id": 5 if i % 10 == 0 else None,
        })
    ids = seed(web_app, files)
    return ids


@pytest.mark.parametrize("sort,order", [("time", "asc"), ("time", "desc"), ("name", "asc"), ("size", "desc"),
                                        ("size", "asc")])
def test_keyset_paging_visits_every_file_once_in_order(api, mixed, sort, order):
    rows = _walk(api, f"sort={sort}&order={order}", limit=7)
    ids = [r["id"] for r in rows]
    assert sorted(ids) == sorted(mixed), "each file exactly once, none missing"
    # The page boundaries agree with one big ordered list computed here.
    with api.app.app_context():
        all_rows = db.session.execute(db.select(MediaFile)).scalars().all()
        key = {"time": "captured_at", "name": "rel_path", "size": "size"}[sort]
        with_value = [r for r in all_rows if getattr(r, key) is not None]
        without = [r for r in all_rows if getattr(r, key) is None]
        desc = order == "desc"
        expected = sorted(with_value, key=lambda r: (getattr(r, key), r.id), reverse=desc)
        expected += sorted(without, key=lambda r: r.id, reverse=desc)  # files without a value come last
    assert ids == [r.id for r in expected]


def test_pages_are_never_unbounded(api, web_app):
    seed(web_app, [{} for _ in range(230)])
    body = api.get("/api/files?limit=100000").get_json()
    assert len(body["files"]) == 200 and body["limit"] == 200 and body["next_cursor"]
    assert len(api.get("/api/files").get_json()["files"]) == 100  # the default page
    assert len(api.get("/api/files?limit=0").get_json()["files"]) == 1
    assert api.get("/api/files?limit=lots").status_code == 400
    assert api.get("/api/files?cursor=not-a-cursor").status_code == 400
    assert api.get("/api/files?sort=random").status_code == 400
    assert api.get("/api/files?state=maybe").status_code == 400
    assert api.get("/api/files?confidence=certain").status_code == 400
    assert api.get("/api/files?month=5").status_code == 400  # a month needs its year
    # Every list endpoint of the review API is capped too.
    assert len(api.get("/api/review/batches?limit=100000").get_json()["batches"]) <= 200


def test_filters_combine(api, web_app):
    ids = seed(web_app, [
        {"captured_at": datetime(2019, 8, 12, 14, 0), "confidence": "low", "kind": "image", "model": "Pixel 7"},
        {"captured_at": datetime(2019, 8, 13, 9, 0), "confidence": "high", "kind": "image", "model": "Pixel 7"},
        {"captured_at": datetime(2019, 9, 1, 9, 0), "confidence": "low", "kind": "video", "model": "X-T3"},
        {"captured_at": None, "confidence": "none", "kind": "image"},
        {"captured_at": None, "confidence": None, "kind": None, "status": "FAILED", "error": "cannot decode"},
        {"captured_at": datetime(2020, 1, 1), "confidence": "medium", "kind": "image", "group_id": 7},
        {"captured_at": datetime(2020, 1, 2), "confidence": "low", "kind": "image", "review_state": "reviewed"},
        # Not analysed yet: the importer has written nothing but the listing.
        {"captured_at": None, "confidence": None, "kind": None, "status": "PENDING", "precision": None,
         "time_source": None},
        {"captured_at": datetime(2020, 2, 1), "confidence": "high", "kind": "image", "similar_group_id": 3},
    ])
    other_job = seed(web_app, [{"captured_at": datetime(2019, 8, 12), "confidence": "low"}], job_path="/other")

    def got(q: str) -> list[int]:
        r = api.get(f"/api/files?{q}")
        assert r.status_code == 200, r.get_data(as_text=True)
        return [f["id"] for f in r.get_json()["files"]]

    assert ids[7] not in got(""), "files not analysed yet are not in the grid"
    assert got("state=needs_review") == [other_job[0], ids[0], ids[2], ids[3], ids[4]]
    assert got("state=reviewed") == [ids[6]]
    assert got("state=auto") == [ids[1], ids[5], ids[8]]
    assert got("confidence=low") == [other_job[0], ids[0], ids[2], ids[6]]
    assert got("confidence=none") == [ids[3], ids[4]]  # no confidence at all counts as none
    assert got("year=2019&month=8") == [other_job[0], ids[0], ids[1]]
    assert got("year=2019&month=8&state=needs_review&confidence=low&kind=image&camera=Pixel 7") == [ids[0]]
    assert got("year=none") == [ids[3], ids[4]]
    assert got("kind=video") == [ids[2]]
    assert got("error=1") == [ids[4]]
    assert ids[4] not in got("error=0")
    assert got("group=1") == [ids[5], ids[8]]  # an exact or a near-duplicate group
    assert ids[5] not in got("group=0") and ids[8] not in got("group=0") and ids[0] in got("group=0")
    assert got(f"job={other_job and seed_job(web_app, other_job[0])}") == other_job
    summary = api.get("/api/files/summary?year=2019").get_json()
    assert summary["count"] == 4 and summary["states"] == {"all": 4, "needs_review": 3, "reviewed": 0, "auto": 1}
    # The histogram ignores the date filter (so other months stay clickable) but keeps the rest.
    assert {m["month"]: m["count"] for m in summary["months"]} == \
        {"2019-08": 3, "2019-09": 1, "2020-01": 2, "2020-02": 1}
    assert summary["no_date"] == 2
    s2 = api.get("/api/files/summary?state=needs_review").get_json()
    assert s2["count"] == 5 and {m["month"]: m["count"] for m in s2["months"]} == {"2019-08": 2, "2019-09": 1}
    assert s2["no_date"] == 2 and s2["states"]["all"] == 9
    assert api.get("/api/files/summary?year=none").get_json()["count"] == 2
    cams = api.get("/api/files/cameras").get_json()["cameras"]
    assert cams[0] == {"camera": "Pixel 7", "count": 2}


def seed_job(app, file_id: int) -> int:
    with app.app_context():
        return db.session.get(MediaFile, file_id).job_id


def _row(app, file_id: int) -> MediaFile:
    with app.app_context():
        r = db.session.get(MediaFile, file_id, populate_existing=True)
        db.session.commit()
        return r


def test_confirm_clear_set_date_and_shift_are_recorded_and_undoable(api, web_app):
    t0 = datetime(2019, 8, 12, 14, 30, 25)
    ids = seed(web_app, [{"captured_at": t0, "confidence": "low", "utc_offset": 120},
                         {"captured_at": t0 + timedelta(minutes=1), "confidence": "low"},
                         {"captured_at": None, "confidence": "none"}])
    r = api.action("confirm", ids[:2])
    assert r.status_code == 200 and r.get_json()["changed"] == 2
    confirm_batch = r.get_json()["batch_id"]
    assert _row(web_app, ids[0]).review_state == "reviewed"
    assert api.get("/api/files?state=needs_review").get_json()["files"][0]["id"] == ids[2]
    # Confirming again changes nothing and records nothing.
    again = api.action("confirm", ids[:2]).get_json()
    assert again["changed"] == 0 and again["batch_id"] is None

    shift = api.action("shift", ids, seconds=72 * 60).get_json()
    assert shift["changed"] == 2 and shift["skipped"] == 1  # the file without a date cannot move
    assert _row(web_app, ids[0]).captured_at == t0 + timedelta(hours=1, minutes=12)
    assert _row(web_app, ids[0]).utc_offset == 120, "a clock shift keeps the time zone"
    assert "Shifted by +1 h 12 min" in _row(web_app, ids[0]).review_note

    setd = api.action("set_date", [ids[2]], value="24.12.2018 18:00").get_json()
    assert setd["changed"] == 1
    r2 = _row(web_app, ids[2])
    assert (r2.captured_at, r2.precision, r2.time_source, r2.review_state) == \
        (datetime(2018, 12, 24, 18, 0), "minute", "person", "reviewed")

    # History says who, when, and what was replaced.
    with web_app.app_context():
        d = db.session.execute(db.select(ReviewDecision).where(ReviewDecision.batch_id == shift["batch_id"],
                                                               ReviewDecision.file_id == ids[0])).scalar_one()
        assert d.before["captured_at"] == t0.isoformat() and d.after["captured_at"] == "2019-08-12T15:42:25"
        b = db.session.get(ReviewBatch, shift["batch_id"])
        assert b.actor == "local user" and b.created_at and b.file_count == 2
    detail = api.get(f"/api/files/{ids[0]}").get_json()
    assert [h["action"] for h in detail["history"]] == ["shift", "confirm"]

    # Undo the shift: both files go back; undoing twice is refused.
    u = api.post(f"/api/review/batches/{shift['batch_id']}/undo").get_json()
    assert u["changed"] == 2 and u["skipped"] == 0
    assert _row(web_app, ids[0]).captured_at == t0 and _row(web_app, ids[0]).review_note is None
    assert api.post(f"/api/review/batches/{shift['batch_id']}/undo").status_code == 400
    # Clear review, then undo the original confirm: the cleared file is left alone (changed since).
    assert api.action("clear", [ids[0]]).get_json()["changed"] == 1
    u2 = api.post(f"/api/review/batches/{confirm_batch}/undo").get_json()
    assert u2["changed"] == 1 and u2["skipped"] == 1 and "changed again" in u2["notes"][0]
    assert _row(web_app, ids[1]).review_state is None
    # An undo is itself a change in the history, and can be undone.
    listed = api.get("/api/review/batches").get_json()["batches"]
    assert listed[0]["action"] == "undo" and listed[0]["undoes"] == confirm_batch
    assert api.post(f"/api/review/batches/{listed[0]['id']}/undo").get_json()["changed"] == 1
    assert _row(web_app, ids[1]).review_state == "reviewed"
    assert api.post("/api/review/batches/99999/undo").status_code == 404


def test_pick_a_candidate_sets_time_offset_and_source(api, web_app):
    cands = [
        {"source": "exif:DateTimeOriginal", "value": "2019-08-12T14:30:25", "utc_offset": None, "precision": "second",
         "basis": "local", "accepted": True, "reason": None, "raw": "2019:08:12 14:30:25"},
        {"source": "quicktime:CreateDate", "value": "2019-08-12T12:30:25", "utc_offset": None, "precision": "second",
         "basis": "utc", "accepted": True, "reason": None, "raw": None},
        {"source": "filename", "value": "2019-08-12T16:30:25", "utc_offset": "+02:00", "precision": "second",
         "basis": "local", "accepted": True, "reason": None, "raw": "IMG_20190812_163025"},
        {"source": "exif:ModifyDate", "value": None, "utc_offset": None, "precision": "second",
         "basis": "local", "accepted": False, "reason": "rejected: blank or zero date", "raw": "0000:00:00"},
    ]
    (fid,) = seed(web_app, [{"captured_at": datetime(2019, 8, 12, 14, 30, 25), "candidates": cands,
                             "confidence": "low", "utc_offset": None}])
    detail = api.get(f"/api/files/{fid}").get_json()
    assert [c["chosen"] for c in detail["candidates"]] == [True, False, False, False]
    assert detail["candidates"][1]["local"] == "2019-08-12T12:30:25"  # UTC shown in the default zone (UTC here)
    r = api.action("pick", [fid], candidate=2).get_json()
    row = _row(web_app, fid)
    assert (row.captured_at, row.utc_offset, row.time_source, row.review_state) == \
        (datetime(2019, 8, 12, 16, 30, 25), 120, "filename", "reviewed")
    assert api.get(f"/api/files/{fid}").get_json()["candidates"][2]["chosen"] is True
    # A UTC candidate takes the file's known offset (+02:00 now) to become local time.
    api.action("pick", [fid], candidate=1)
    assert _row(web_app, fid).captured_at == datetime(2019, 8, 12, 14, 30, 25)
    assert api.action("pick", [fid], candidate=3).status_code == 400  # no usable date
    assert api.action("pick", [fid], candidate=9).status_code == 400
    assert api.action("pick", [fid, fid + 1], candidate=0).status_code == 400  # one file at a time
    api.post(f"/api/review/batches/{r['batch_id']}/undo")  # the pick was changed again: undo leaves it
    assert _row(web_app, fid).time_source == "quicktime:CreateDate"


def test_bulk_action_over_everything_matching_a_filter_with_exceptions(api, web_app):
    ids = seed(web_app, [{"confidence": "low", "model": "X-T3"} for _ in range(30)]
               + [{"confidence": "low", "model": "Pixel 7"} for _ in range(5)])
    body = {"action": "shift", "seconds": -3600,
            "selection": {"all_matching": True, "filter": {"camera": "X-T3", "state": "needs_review"},
                          "except": [ids[0], ids[1]]}}
    r = api.post("/api/review/actions", json=body).get_json()
    assert r["changed"] == 28
    assert _row(web_app, ids[2]).captured_at == datetime(2020, 1, 1, 11, 0)
    assert _row(web_app, ids[0]).captured_at == datetime(2020, 1, 1, 12, 0)  # excepted
    assert _row(web_app, ids[31]).captured_at == datetime(2020, 1, 1, 12, 0)  # other camera
    assert api.get("/api/files/summary?state=needs_review").get_json()["count"] == 7
    bad = api.post("/api/review/actions", json={"action": "confirm", "selection": {"all_matching": True,
                                                                                    "filter": {"state": "nope"}}})
    assert bad.status_code == 400
    assert api.post("/api/review/actions", json={"action": "confirm"}).status_code == 400
    assert api.post("/api/review/actions", json={"action": "delete", "ids": [ids[0]]}).status_code == 400
    assert api.action("shift", [ids[0]], seconds=0).status_code == 400
    assert api.action("set_date", [ids[0]], value="someday").status_code == 400
    gone = api.action("confirm", [999999]).get_json()  # an id that does not exist is skipped, not invented
    assert gone["changed"] == 0 and gone["skipped"] == 1 and gone["batch_id"] is None


def test_neighbours_and_next_needing_review_follow_the_view(api, web_app):
    ids = seed(web_app, [
        {"captured_at": datetime(2019, 1, 1), "confidence": "low"},
        {"captured_at": datetime(2019, 1, 2), "confidence": "high"},
        {"captured_at": datetime(2019, 1, 3), "confidence": "none"},
        {"captured_at": None, "confidence": "none"},
    ])
    n = api.get(f"/api/files/{ids[1]}/neighbours").get_json()
    assert n == {"previous": ids[0], "next": ids[2], "next_needing_review": ids[2]}
    n = api.get(f"/api/files/{ids[2]}/neighbours").get_json()
    assert n["next"] == ids[3] and n["previous"] == ids[1]
    n = api.get(f"/api/files/{ids[3]}/neighbours").get_json()
    assert n["next"] is None and n["previous"] == ids[2] and n["next_needing_review"] == ids[0]  # wraps
    n = api.get(f"/api/files/{ids[1]}/neighbours?order=desc").get_json()
    assert n["previous"] == ids[2] and n["next"] == ids[0]
    assert api.get("/api/files/424242/neighbours").status_code == 404


@pytest.mark.parametrize("text,value,precision,offset", [
    ("2019-08-12 14:30", "2019-08-12T14:30:00", "minute", None),
    ("2019:08:12 14:30:25", "2019-08-12T14:30:25", "second", None),
    ("2019-08-12T14:30:25+02:00", "2019-08-12T14:30:25", "second", "+02:00"),
    ("12.08.2019 14:30", "2019-08-12T14:30:00", "minute", None),
    ("12/08/2019", "2019-08-12T00:00:00", "day", None),
    ("12 Aug 2019 2:30 pm", "2019-08-12T14:30:00", "minute", None),
    ("August 12, 2019 14:30:05", "2019-08-12T14:30:05", "second", None),
    ("Monday 12th August 2019", "2019-08-12T00:00:00", "day", None),
    ("20190812_143025", "2019-08-12T14:30:25", "second", None),
    ("2019-08", "2019-08-01T00:00:00", "month", None),
])
def test_typed_dates_are_understood_before_saving(api, text, value, precision, offset):
    r = api.get("/api/review/parse-date", query_string={"text": text})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    assert (body["value"], body["precision"], body["utc_offset"]) == (value, precision, offset)
    assert "2019" in body["text"]


@pytest.mark.parametrize("text,words", [
    ("", "type a date"), ("yesterday", "Try a form"), ("31.02.2019", "not a real calendar date"),
    ("1700-01-01", "before 1826"), ("2999-01-01", "future"), ("13 pm 2019", "Try a form"),
])
def test_typed_dates_that_are_not_dates_say_why(api, text, words):
    r = api.get("/api/review/parse-date", query_string={"text": text})
    assert r.status_code == 400 and words.lower() in r.get_json()["error"].lower()


def test_file_detail_and_unknown_ids(api, web_app):
    (fid,) = seed(web_app, [{"reasons": ["EXIF DateTimeOriginal chosen"], "model": "Pixel 7", "make": "Google"}])
    d = api.get(f"/api/files/{fid}").get_json()
    assert d["reasons"] == ["EXIF DateTimeOriginal chosen"] and d["camera"] == "Pixel 7"
    assert d["time_source_label"] == "EXIF DateTimeOriginal"
    assert api.get("/api/files/424242").status_code == 404
    assert api.get("/api/files/abc").status_code == 404


@pytest.mark.parametrize("query", [
    "", "state=needs_review", "state=reviewed&confidence=low,none", "state=auto&kind=video", "year=2019",
    "year=2019&month=6&state=needs_review", "year=none", "confidence=none", "error=1", "group=1&camera=X-T3",
    "kind=other", "confidence=high,medium&error=0",
])
def test_summary_agrees_with_the_files_the_grid_lists(api, web_app, mixed, query):
    """Counts and the histogram are computed by index seeks; they must say exactly
    what walking the grid finds."""
    from collections import Counter
    from urllib.parse import parse_qsl

    with web_app.app_context():  # some files reviewed by a person, in both date phases
        for fid in mixed[::4]:
            db.session.get(MediaFile, fid).review_state = "reviewed"
        db.session.commit()
    args = dict(parse_qsl(query))
    summary = api.get(f"/api/files/summary?{query}").get_json()
    listed = _walk(api, query, limit=50)
    assert summary["count"] == len(listed)
    without_state = {k: v for k, v in args.items() if k != "state"}
    everything = _walk(api, "&".join(f"{k}={v}" for k, v in without_state.items()), limit=50)
    assert summary["states"] == {"all": len(everything), **{s: sum(1 for f in everything if f["review"] == s)
                                                            for s in ("needs_review", "auto", "reviewed")}}
    undated = {k: v for k, v in args.items() if k not in ("year", "month")}
    timeline = _walk(api, "&".join(f"{k}={v}" for k, v in undated.items()), limit=50)
    months = Counter(f["captured_at"][:7] for f in timeline if f["captured_at"])
    assert {m["month"]: m["count"] for m in summary["months"]} == dict(months)
    assert summary["no_date"] == sum(1 for f in timeline if not f["captured_at"])


def test_grid_and_counts_still_work_without_the_pinned_indexes(api, web_app, backend):
    """An instance migrated by an earlier draft of 0003 lacks the newer index:
    slower, never broken."""
    if backend != "sqlite":
        pytest.skip("index hints are SQLite-only")
    from mediaparser.store import dialect

    seed(web_app, [{"confidence": "low"}, {"confidence": "high", "captured_at": None}])
    with web_app.app_context():
        db.session.execute(db.text("DROP INDEX ix_media_files_review_time"))
        db.session.execute(db.text("DROP INDEX ix_media_files_grid_time"))
        db.session.commit()
    dialect._present.clear()
    assert len(api.get("/api/files").get_json()["files"]) == 2
    assert api.get("/api/files/summary").get_json()["states"]["needs_review"] == 1


def test_tag_filter_uses_the_stored_spelling(api, web_app):
    from mediaparser.store.models import FileTag, Tag

    ids = seed(web_app, [{"confidence": "low"}, {"confidence": "high"}, {"confidence": "low"}])
    with web_app.app_context():
        beach, family = Tag(name="beach"), Tag(name="family")
        db.session.add_all([beach, family])
        db.session.flush()
        db.session.add_all([FileTag(file_id=ids[0], tag_id=beach.id, origin="folder"),
                            FileTag(file_id=ids[1], tag_id=beach.id, origin="user"),
                            FileTag(file_id=ids[2], tag_id=family.id, origin="user")])
        db.session.commit()
    assert [f["id"] for f in api.get("/api/files?tag=beach").get_json()["files"]] == ids[:2]
    assert [f["id"] for f in api.get("/api/files?tag=%20Beach%20").get_json()["files"]] == ids[:2]
    s = api.get("/api/files/summary?tag=beach&state=needs_review").get_json()
    assert s["count"] == 1 and s["states"]["all"] == 2
    assert api.get("/api/files?tag=nothing-like-it").get_json()["files"] == []
    r = api.post("/api/review/actions", json={"action": "confirm", "selection": {"all_matching": True,
                                                                                 "filter": {"tag": "beach"}}})
    assert r.get_json()["changed"] == 2
