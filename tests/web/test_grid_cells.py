"""Time-ordered pages of a filter that names review states, confidences or a camera are read cell by cell
(library.queries._rows_by_cell): they must list exactly the matching files, once each, in grid order,
both ways, across page boundaries that fall inside ties of capture time; the day headers' counts
(read cell by cell too) and the drawer's previous and next agree with them."""
from __future__ import annotations

import random
from collections import Counter
from datetime import datetime

import pytest

from mediaparser.library.filters import review_state_of
from mediaparser.store.db import db
from mediaparser.store.models import MediaFile

from tests.support.instance import instance_env
from tests.support.web import seed


@pytest.fixture
def web_env(tmp_path, backend):
    return instance_env(tmp_path, backend)


def _walk(api, query: str, limit: int) -> list[int]:
    out, cursor = [], None
    for _ in range(500):
        body = api.get(f"/api/files?{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")).get_json()
        out.extend(f["id"] for f in body["files"])
        cursor = body["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("paging never ends")


CASES = [
    ("state=reviewed", lambda f: f["state"] == "reviewed"),
    ("state=needs_review&kind=image", lambda f: f["state"] == "needs_review" and f["kind"] == "image"),
    ("confidence=low,none", lambda f: f["confidence"] in ("low", "none", None)),
    ("state=auto&camera=X-T3", lambda f: f["state"] == "auto" and f["model"] == "X-T3"),
    ("camera=X-T3&kind=video", lambda f: f["model"] == "X-T3" and f["kind"] == "video"),  # the camera index alone
    ("state=needs_review&year=2019", lambda f: f["state"] == "needs_review" and f["t"] and f["t"].year == 2019),
]


def test_filtered_time_pages_list_each_matching_file_once_in_order(api, web_app):
    rng = random.Random(5)
    files = []
    for i in range(90):
        t = None if i % 8 == 0 else datetime(2018 + i % 3, 1 + i % 12, 1 + i % 5, 12) if i % 6 else datetime(2019, 5, 5)
        files.append({"captured_at": t, "confidence": rng.choice(["high", "medium", "low"]) if t else "none",
                      "review_state": "reviewed" if i % 4 == 0 else None, "kind": rng.choice(["image", "video"]),
                      "model": rng.choice(["X-T3", "Pixel 7"]), "status": "PENDING" if i % 29 == 0 else "DONE"})
    seed(web_app, files)
    with web_app.app_context():
        rows = [{"id": f.id, "t": f.captured_at, "confidence": f.confidence, "kind": f.kind, "model": f.model,
                 "state": review_state_of(f.review_state, f.confidence)}
                for f in db.session.execute(db.select(MediaFile).where(MediaFile.status != "PENDING")).scalars()]
        db.session.commit()
    for query, wanted in CASES:
        for order in ("asc", "desc"):
            chosen = [f for f in rows if wanted(f)]
            dated = sorted((f for f in chosen if f["t"]), key=lambda f: (f["t"], f["id"]), reverse=order == "desc")
            undated = sorted((f["id"] for f in chosen if not f["t"]), reverse=order == "desc")
            expected = [f["id"] for f in dated] + undated
            assert len(expected) >= 5
            assert _walk(api, f"{query}&order={order}", limit=4) == expected, (query, order)
            shown = api.get(f"/api/files?{query}&order={order}&limit=6").get_json()  # the day headers' counts
            days = {f["captured_at"][:10] for f in shown["files"] if f["captured_at"]}
            lo, hi = min(days), max(days)
            assert shown["days"] == dict(Counter(d for d in (str(f["t"].date()) for f in dated) if lo <= d <= hi))
            for i in (0, len(dated) // 2, len(dated) - 1, len(dated), len(expected) - 1):  # the drawer's arrows
                if i >= len(expected):
                    continue
                n = api.get(f"/api/files/{expected[i]}/neighbours?{query}&order={order}").get_json()
                assert n["previous"] == (expected[i - 1] if i else None), (query, order, i)
                assert n["next"] == (expected[i + 1] if i + 1 < len(expected) else None), (query, order, i)
