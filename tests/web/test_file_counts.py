"""The pre-counted month histogram (library.counts, migration 0012) stays exact.

After each kind of change — files added, analysed (PENDING to DONE or FAILED),
re-dated, reviewed, an undo, files deleted one by one and with their job —
the fast summary read from file_counts must equal the straightforward count
over media_files (the planner-driven plans `queries` used before, which the
grid-walking test in test_review_api.py checks against the grid itself), and
the table's rows must equal a count of the files per key done here in Python.
On SQLite, and on PostgreSQL when MEDIAPARSER_TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select, text

from mediaparser.library import counts, queries
from mediaparser.library.filters import Filter
from mediaparser.store.db import db
from mediaparser.store.dialect import is_sqlite
from mediaparser.store.models import FileCount, FileCountChange, Job, MediaFile

from tests.support.instance import instance_env
from tests.support.web import seed

FILTERS = ["", "state=needs_review", "state=reviewed", "state=auto", "state=reviewed&confidence=low,none",
           "state=auto&kind=video", "year=2019", "year=2019&month=6&state=needs_review", "year=none",
           "year=none&state=needs_review", "confidence=none", "confidence=high,medium&error=0", "error=1",
           "kind=other", "kind=image&state=needs_review&year=2020"]


@pytest.fixture
def web_env(tmp_path, backend):
    return instance_env(tmp_path, backend)


def _files(rng: random.Random, n: int) -> list[dict]:
    out = []
    for i in range(n):
        failed = rng.random() < 0.1
        pending = not failed and rng.random() < 0.1
        t = None if failed or rng.random() < 0.15 else datetime(2018 + rng.randrange(4), rng.randrange(1, 13),
                                                                rng.randrange(1, 28), rng.randrange(24))
        out.append({
            "rel_path": f"a/{rng.randrange(10**9)}.jpg", "status": "FAILED" if failed else "PENDING" if pending else "DONE",
            "captured_at": None if pending else t,
            "confidence": None if failed or pending else ("none" if t is None else rng.choice(["high", "medium", "low"])),
            "kind": None if failed or pending else rng.choice(["image", "image", "video", "other"]),
            "review_state": "reviewed" if not pending and rng.random() < 0.2 else None,
            "model": rng.choice(["Pixel 7", "X-T3", None]),
        })
    return out


def _key_counts_by_hand() -> Counter:
    c: Counter = Counter()
    for f in db.session.execute(select(MediaFile)).scalars():
        if f.status == "PENDING":
            continue
        month = f"{f.captured_at.year:04d}-{f.captured_at.month:02d}" if f.captured_at else ""
        c[(month, f.review_state or "", f.confidence or "", f.kind or "", f.status)] += 1
    return c


def _stored_key_counts() -> Counter:
    c: Counter = Counter()
    for model in (FileCount, FileCountChange):
        for r in db.session.execute(select(model.month, model.review_state, model.confidence, model.kind,
                                           model.status, model.n)).all():
            c[tuple(r[:5])] += r[5]
    return +c  # keys that add up to 0 are gone


def _straight_summary(flt: Filter) -> dict:
    return queries._summary_by_cells(flt) if is_sqlite(db.session) else queries._summary_grouped(flt)


def _agree(app, api, note: str) -> None:
    with app.app_context():
        db.session.expire_all()
        assert _stored_key_counts() == _key_counts_by_hand(), f"file_counts after: {note}"
        for query in FILTERS:
            flt = Filter.from_args(dict(parse_qsl(query)))
            assert counts.answers(flt)
            fast = counts.summary(flt)
            assert fast == _straight_summary(flt), f"{query!r} after: {note}"
        db.session.commit()
    # and through the API (the route takes the counted plan)
    assert api.get("/api/files/summary?state=needs_review").get_json() == _straight_needs(app)


def _straight_needs(app) -> dict:
    with app.app_context():
        flt = Filter(state="needs_review")  # the route adds the files in stacks (queries.stack_counts)
        return {**_straight_summary(flt), "stacks": queries.stack_counts(flt)}


def test_the_counted_histogram_equals_a_straight_count_after_every_kind_of_change(api, web_app, backend):
    rng = random.Random(11)
    ids = seed(web_app, _files(rng, 80))
    _agree(web_app, api, "files added")

    more = seed(web_app, _files(rng, 40), job_path="/second")
    _agree(web_app, api, "a second import")

    with web_app.app_context():  # the analysis finishes the PENDING files: DONE or FAILED
        for f in db.session.execute(select(MediaFile).where(MediaFile.status == "PENDING")).scalars():
            failed = rng.random() < 0.3
            f.status = "FAILED" if failed else "DONE"
            if not failed:
                f.captured_at, f.confidence, f.kind = datetime(2019, 6, 2, 9), "low", "image"
        db.session.commit()
    _agree(web_app, api, "pending files analysed")

    with web_app.app_context():  # re-dated by code: another month, the same month, no date, a date again
        rows = db.session.execute(select(MediaFile).where(MediaFile.id.in_(ids[:30]))).scalars().all()
        for i, f in enumerate(rows):
            if f.captured_at is None:
                f.captured_at = datetime(2021, 2, 3)
            elif i % 3 == 0:
                f.captured_at = None
            else:
                f.captured_at += timedelta(days=[1, 45, 400][i % 3])
        db.session.commit()
        # one bulk statement touching many rows at once
        db.session.execute(MediaFile.__table__.update().where(MediaFile.id.in_(more[:15]))
                           .values(confidence="medium"))
        db.session.commit()
    _agree(web_app, api, "re-dated")

    dated = [i for i in ids[30:] if i]  # review actions through the API: confirm, set a date, shift, undo
    r = api.post("/api/review/actions", json={"action": "confirm", "ids": dated[:20]})
    assert r.status_code == 200, r.get_json()
    r = api.post("/api/review/actions", json={"action": "set_date", "ids": dated[20:30], "value": "2017-03-04 10:00"})
    assert r.status_code == 200, r.get_json()
    _agree(web_app, api, "reviewed")
    r = api.post("/api/review/actions", json={"action": "shift", "selection": {
        "all_matching": True, "filter": {"state": "needs_review"}, "except": []}, "seconds": 40 * 86400})
    assert r.status_code == 200, r.get_json()
    _agree(web_app, api, "a shift of everything needing review")
    batch = r.get_json()["batch_id"]
    assert api.post(f"/api/review/batches/{batch}/undo").status_code == 200
    _agree(web_app, api, "an undo")

    with web_app.app_context():
        for fid in ids[::7]:
            db.session.delete(db.session.get(MediaFile, fid))
        db.session.commit()
        job_id = db.session.get(MediaFile, more[0]).job_id
        db.session.delete(db.session.get(Job, job_id))  # its files go with it (ON DELETE CASCADE)
        db.session.commit()
        assert db.session.execute(select(func.count()).where(MediaFile.job_id == job_id)).scalar() == 0
    _agree(web_app, api, "files and a job deleted")

    with web_app.app_context():
        assert db.session.execute(select(func.count()).select_from(FileCountChange)).scalar() > 0
        assert counts.fold(batch=25) == 25  # a part of them: the rest still counts from the changes
        db.session.commit()
    _agree(web_app, api, "a partial fold")
    with web_app.app_context():
        counts.fold_all()
        assert db.session.execute(select(func.count()).select_from(FileCountChange)).scalar() == 0
        assert db.session.execute(select(func.count()).where(FileCount.n == 0)).scalar() == 0
        db.session.commit()
    _agree(web_app, api, "everything folded")


def test_the_head_schema_has_the_counting_triggers(web_app, backend):
    """A later migration that rebuilds media_files on SQLite drops its triggers; this says so at once."""
    with web_app.app_context():
        if is_sqlite(db.session):
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'media_files'"
        else:
            sql = ("SELECT DISTINCT trigger_name FROM information_schema.triggers "
                   "WHERE event_object_table = 'media_files'")
        names = {n for (n,) in db.session.execute(text(sql)).all()}
        db.session.commit()
    assert {"media_files_counts_insert", "media_files_counts_delete", "media_files_counts_update"} <= names


def test_filters_the_counts_cannot_answer_take_the_counting_plan(api, web_app):
    """Camera, job, group, tag and Takeout place are not columns of file_counts: those summaries count the files."""
    seed(web_app, [{"model": "X-T3", "captured_at": datetime(2019, 5, 1)}, {"model": "Pixel 7"}])
    for query in ("camera=X-T3", "job=1", "group=1", "tag=beach", "takeout=trash"):
        assert not counts.answers(Filter.from_args(dict(parse_qsl(query))))
    body = api.get("/api/files/summary?camera=X-T3").get_json()
    assert body["count"] == 1 and body["months"] == [{"month": "2019-05", "count": 1}]


def test_0012_counts_the_files_already_there(tmp_path):
    """Upgrading an instance at 0011 fills file_counts from its files (PENDING ones are not counted)."""
    from sqlalchemy import create_engine

    from mediaparser.config import Settings
    from mediaparser.store.migrate import head_revision, upgrade

    s = Settings.load(environ=instance_env(tmp_path))
    assert upgrade(s, "0011") == "0011"
    engine = create_engine(s.database_url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO jobs (id, job_type, status, options, progress_total, progress_current, "
                           "error_count, skipped_count, skipped, enumerated, created_at, updated_at, run_seconds, "
                           "run_progress_start, attempts, max_attempts) VALUES (1, 'import', 'COMPLETED', '{}', "
                           "0, 0, 0, 0, '{}', true, '2020-01-01', '2020-01-01', 0, 0, 0, 3)"))
            for i, (status, when, conf, review) in enumerate([
                    ("DONE", "2019-08-12 10:00:00.000000", "high", None), ("DONE", "2019-08-30 10:00:00.000000", "high", None),
                    ("DONE", "2019-09-01 00:00:00.000000", "low", "reviewed"), ("DONE", None, "none", None),
                    ("FAILED", None, None, None), ("PENDING", None, None, None)]):
                c.execute(text("INSERT INTO media_files (job_id, source_path, rel_path, status, grouped, captured_at, "
                               "confidence, review_state, kind) VALUES (1, :p, :p, :s, false, :t, :c, :r, :k)"),
                          {"p": f"/a/{i}.jpg", "s": status, "t": when, "c": conf, "r": review,
                           "k": "image" if conf else None})
        assert upgrade(s) == head_revision()
        with engine.begin() as c:
            rows = c.execute(text("SELECT month, review_state, confidence, kind, status, n FROM file_counts")).all()
    finally:
        engine.dispose()
    assert sorted(tuple(r) for r in rows) == [
        ("", "", "", "", "FAILED", 1), ("", "", "none", "image", "DONE", 1),
        ("2019-08", "", "high", "image", "DONE", 2), ("2019-09", "reviewed", "low", "image", "DONE", 1)]


CAMERA_FILTERS = ["camera=X-T3", "camera=X-T3&state=needs_review", "camera=X-T3&kind=video",
                  "camera=Pixel 7&state=reviewed&confidence=low,none", "camera=X-T3&year=2019&state=auto",
                  "camera=Pixel 7&year=none&error=1"]


def _camera_summary_by_hand(rows: list[dict], query: str) -> dict:
    """What /api/files/summary must say for `query`, counted here file by file."""
    from mediaparser.library.filters import review_state_of

    q = dict(parse_qsl(query))
    confs = set(q["confidence"].split(",")) if "confidence" in q else None
    states = {"needs_review": 0, "auto": 0, "reviewed": 0}
    months: Counter = Counter()
    no_date = 0
    for f in rows:
        if f["status"] == "PENDING" or f["model"] != q["camera"]:
            continue
        if "kind" in q and f["kind"] != q["kind"]:
            continue
        if q.get("error") == "1" and f["status"] != "FAILED":
            continue
        if confs is not None and not (f["confidence"] in confs or ("none" in confs and f["confidence"] is None)):
            continue
        state = review_state_of(f["review_state"], f["confidence"])
        t = f["captured_at"]
        in_dates = (t is None) if q.get("year") == "none" else (t is not None and t.year == int(q["year"])) \
            if "year" in q else True
        if in_dates:
            states[state] += 1
        if q.get("state", "all") in ("all", state):
            if t is None:
                no_date += 1
            else:
                months[f"{t.year:04d}-{t.month:02d}"] += 1
    states_all = {"all": sum(states.values()), **states}
    return {"count": states_all[q.get("state", "all")], "states": states_all,
            "months": [{"month": m, "count": months[m]} for m in sorted(months)], "no_date": no_date}


def test_a_cameras_summary_read_from_the_camera_index_equals_a_count_by_hand(api, web_app):
    """A filter naming a camera counts that camera's cells from the camera-led index (migration 0014):
    the state counts, the month histogram and the undated files must equal a count of the files done
    here in Python, with and without states, confidences, kinds, dates and errors beside the camera."""
    rows = _files(random.Random(11), 160)
    seed(web_app, rows)
    for query in CAMERA_FILTERS:
        body = api.get(f"/api/files/summary?{query}").get_json()
        expected = _camera_summary_by_hand(rows, query)
        assert expected["count"] >= 1, query  # the case is not empty
        assert {k: body[k] for k in expected} == expected, query


def test_a_cameras_summary_counts_cells_and_never_groups_its_files_by_month(api, web_app):
    """On either database a camera's summary counts its (review state, confidence) cells per month
    from the camera-led index: PostgreSQL's one GROUP BY over the camera's files sorted ~90,000 rows
    by month at a million files (150 ms), the cells' counts take 20 ms once the table is vacuumed."""
    from sqlalchemy import event

    rows = _files(random.Random(5), 60)
    seed(web_app, rows)
    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    with web_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        body = api.get("/api/files/summary?camera=X-T3&state=needs_review").get_json()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert {k: body[k] for k in ("count", "states", "months", "no_date")} == \
        _camera_summary_by_hand(rows, "camera=X-T3&state=needs_review")
    reads = [s for s in seen if "media_files" in s]
    assert reads and not [s for s in reads if "GROUP BY" in s and "stack_kind" not in s], reads
