"""The duplicate-review API: listing, counts, one group, each way of deciding,
the bulk accept with its count check, set-aside files and restoring them."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.store.models import DupGroup, DupMember, FileTag, GroupStatus, MediaFile, Tag

from tests.support.web import seed


def make_group(app, kind: str, file_ids: list[int], *, confidence: float = 1.0) -> int:
    """A stored group as services.duplicates.regroup would leave it (representative = first file)."""
    with app.app_context():
        g = DupGroup(kind=kind, representative_id=file_ids[0], confidence=confidence,
                     confidence_label="high" if confidence > 0.8 else "medium", status=GroupStatus.OPEN,
                     sha256=("ab" * 32) if kind == "exact" else None)
        db.session.add(g)
        db.session.flush()
        for i, fid in enumerate(file_ids):
            db.session.add(DupMember(group_id=g.id, file_id=fid, distance=0 if kind == "exact" else 3 * i))
            row = db.session.get(MediaFile, fid)
            if kind == "exact":
                row.group_id = g.id
            else:
                row.similar_group_id = g.id
        db.session.commit()
        return g.id


def _source_paths(app, ids: list[int]) -> list[str]:
    with app.app_context():
        out = [db.session.get(MediaFile, i).source_path for i in ids]
        db.session.commit()
        return out


def tag(app, file_id: int, name: str) -> None:
    with app.app_context():
        t = db.session.execute(select(Tag).where(Tag.name == name)).scalar_one_or_none()
        if t is None:
            t = Tag(name=name)
            db.session.add(t)
            db.session.flush()
        db.session.add(FileTag(file_id=file_id, tag_id=t.id, origin="folder"))
        db.session.commit()


def decisions(app, gid: int) -> dict[int, str | None]:
    with app.app_context():
        out = dict(db.session.execute(select(DupMember.file_id, DupMember.decision)
                                      .where(DupMember.group_id == gid)).all())
        db.session.commit()
        return out


def status(app, gid: int) -> str:
    with app.app_context():
        s = db.session.get(DupGroup, gid, populate_existing=True).status
        db.session.commit()
        return s


@pytest.fixture
def library(web_app, tmp_path):
    """Two exact groups (a small copy and a big copy; three equal copies) and one similar pair.

    The rows' originals exist on disk (a copy whose original is gone is never recommended)."""
    photos = tmp_path / "photos"
    ids = seed(web_app, [
        # exact group 1: same bytes; the second has GPS, so it is the recommended keeper
        {"rel_path": "phone/IMG_1.jpg", "sha256": "11" * 32, "width": 4000, "height": 3000, "size": 5_000_000,
         "file_type": "jpeg"},
        {"rel_path": "backup/IMG_1.jpg", "sha256": "11" * 32, "width": 4000, "height": 3000, "size": 5_000_000,
         "file_type": "jpeg", "has_gps": True},
        # exact group 2: three copies
        {"rel_path": "a/IMG_2.jpg", "sha256": "22" * 32, "width": 2000, "height": 1500, "size": 900_000,
         "file_type": "jpeg"},
        {"rel_path": "b/IMG_2.jpg", "sha256": "22" * 32, "width": 2000, "height": 1500, "size": 900_000,
         "file_type": "jpeg"},
        {"rel_path": "c/IMG_2.jpg", "sha256": "22" * 32, "width": 2000, "height": 1500, "size": 900_000,
         "file_type": "jpeg"},
        # similar pair: full size and a small re-encode taken "later" by its file-system time
        {"rel_path": "cam/DSC_3.jpg", "sha256": "33" * 32, "width": 6000, "height": 4000, "size": 8_000_000,
         "file_type": "jpeg", "make": "NIKON", "model": "D750"},
        {"rel_path": "chat/small_3.webp", "sha256": "34" * 32, "width": 800, "height": 533, "size": 60_000,
         "file_type": "webp", "captured_at": datetime(2020, 1, 2, 9, 0, 0)},
    ], job_path=str(photos))
    for path in _source_paths(web_app, ids):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(b"stand-in for the original")
    e1 = make_group(web_app, "exact", ids[0:2])
    e2 = make_group(web_app, "exact", ids[2:5])
    s1 = make_group(web_app, "similar", ids[5:7], confidence=0.7)
    return {"ids": ids, "e1": e1, "e2": e2, "s1": s1}


def test_groups_are_listed_exact_first_and_counted_per_tab(api, library):
    listed = api.get("/api/duplicates").get_json()
    assert [g["group_id"] for g in listed["groups"]] == [library["e1"], library["e2"], library["s1"]]
    assert [g["kind"] for g in listed["groups"]] == ["exact", "exact", "similar"]
    first = listed["groups"][0]
    assert first["size"] == 2 and first["keeper"] == library["ids"][1] and first["file_ids"] == library["ids"][:2]
    assert listed["next_cursor"] is None
    assert api.get("/api/duplicates/counts").get_json() == {"exact": 2, "similar": 1, "resolved": 0, "set_aside": 0}

    # Paging continues across the change of kind.
    page1 = api.get("/api/duplicates?limit=2").get_json()
    assert [g["group_id"] for g in page1["groups"]] == [library["e1"], library["e2"]]
    page2 = api.get(f"/api/duplicates?limit=2&after={page1['next_cursor']}").get_json()
    assert [g["group_id"] for g in page2["groups"]] == [library["s1"]] and page2["next_cursor"] is None
    only_similar = api.get("/api/duplicates?kind=similar").get_json()["groups"]
    assert [g["group_id"] for g in only_similar] == [library["s1"]]
    assert api.get("/api/duplicates?status=resolved").get_json()["groups"] == []


def test_one_group_shows_facts_keeper_reasons_and_what_differs(api, library):
    g = api.get(f"/api/duplicates/{library['s1']}").get_json()
    assert g["kind"] == "similar" and g["status"] == "open"
    big, small = library["ids"][5], library["ids"][6]
    assert g["keeper"] == big and g["keeper_reasons"]
    by_id = {m["file_id"]: m for m in g["members"]}
    assert by_id[big]["recommended_keeper"] and not by_id[small]["recommended_keeper"]
    assert by_id[big]["camera"] == "NIKON D750" and by_id[big]["megapixels"] == 24.0
    assert by_id[small]["format"] == "webp" and by_id[small]["name"] == "small_3.webp"
    assert {"resolution", "bytes", "format", "capture_time", "camera"} <= set(g["differences"])
    assert "gps" not in g["differences"]
    # Exact copies differ in nothing but what the file says about itself.
    e1 = api.get(f"/api/duplicates/{library['e1']}").get_json()
    assert e1["differences"] == ["gps"]
    assert e1["next_open"] == library["e2"] and e1["open_groups"] == 3
    # The last open group points back to the first.
    assert api.get(f"/api/duplicates/{library['s1']}").get_json()["next_open"] == library["e1"]


def test_keep_the_recommended_copy_carries_tags_and_goes_on_to_the_next_group(api, web_app, library):
    keeper, other = library["ids"][1], library["ids"][0]
    tag(web_app, other, "holiday")
    resp = api.post(f"/api/duplicates/{library['e1']}/resolve", json={"keep": "recommended"})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["next_open"] == library["e2"]
    assert body["counts"] == {"exact": 1, "similar": 1, "resolved": 1, "set_aside": 1}
    assert decisions(web_app, library["e1"]) == {keeper: "keep", other: "discard"}
    assert status(web_app, library["e1"]) == "resolved"
    # The kept copy now carries the set-aside copy's tag, as the tags API shows it.
    tags = api.get(f"/api/files/{keeper}/tags").get_json()
    assert "holiday" in str(tags)
    group = api.get(f"/api/duplicates/{library['e1']}").get_json()
    assert {m["file_id"]: m["tags"] for m in group["members"]}[keeper] == ["holiday"]


def test_keep_this_one_several_or_all(api, web_app, library):
    a, b, c = library["ids"][2:5]
    assert api.post(f"/api/duplicates/{library['e2']}/resolve", json={"keep": [b]}).status_code == 200
    assert decisions(web_app, library["e2"]) == {a: "discard", b: "keep", c: "discard"}
    # A decided group can be decided again: keep several.
    assert api.post(f"/api/duplicates/{library['e2']}/resolve", json={"keep": [a, c]}).status_code == 200
    assert decisions(web_app, library["e2"]) == {a: "keep", b: "discard", c: "keep"}
    # "Not duplicates": keep all, nothing set aside.
    resp = api.post(f"/api/duplicates/{library['s1']}/resolve", json={"keep": "all"})
    assert resp.status_code == 200
    assert set(decisions(web_app, library["s1"]).values()) == {"keep"}
    assert status(web_app, library["s1"]) == "resolved"
    decided = api.get("/api/duplicates?status=resolved").get_json()["groups"]
    assert {g["group_id"] for g in decided} == {library["e2"], library["s1"]}
    e2 = next(g for g in decided if g["group_id"] == library["e2"])
    assert e2["kept"] == [a, c] and e2["set_aside"] == [b]


def test_bad_decisions_are_refused_and_nothing_changes(api, web_app, library):
    gid = library["e1"]
    for body in ({"keep": []}, {"keep": [library["ids"][4]]}, {"keep": "some"}, {"keep": ["1"]}, {}):
        resp = api.post(f"/api/duplicates/{gid}/resolve", json=body)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]
    assert api.post(f"/api/duplicates/{gid}/resolve", data="not json",
                    headers={"Content-Type": "application/json"}).status_code == 400
    assert set(decisions(web_app, gid).values()) == {None} and status(web_app, gid) == "open"
    assert api.get("/api/duplicates/99999").status_code == 404
    assert api.post("/api/duplicates/99999/resolve", json={"keep": [1]}).status_code == 404
    assert api.post("/api/duplicates/99999/resolve", json={"keep": "recommended"}).status_code == 404
    assert api.get("/api/duplicates?kind=blurry").status_code == 400
    assert api.get("/api/duplicates?status=maybe").status_code == 400
    assert api.get("/api/duplicates?after=nonsense").status_code == 400
    assert api.get("/api/duplicates?limit=ten").status_code == 400
    # Without the CSRF token a decision is refused before it reaches the service.
    raw = api.client.post(f"/api/duplicates/{gid}/resolve", json={"keep": "all"})
    assert raw.status_code in (400, 403)
    assert status(web_app, gid) == "open"


def test_accept_every_exact_group_needs_the_confirmed_count(api, web_app, library):
    for body in ({}, {"confirm": True}, {"expected": 2}, {"confirm": "yes", "expected": 2}):
        assert api.post("/api/duplicates/accept-exact", json=body).status_code == 400
    stale = api.post("/api/duplicates/accept-exact", json={"confirm": True, "expected": 3})
    assert stale.status_code == 409 and "2 open exact groups" in stale.get_json()["error"]
    assert status(web_app, library["e1"]) == "open" and status(web_app, library["e2"]) == "open"

    resp = api.post("/api/duplicates/accept-exact", json={"confirm": True, "expected": 2})
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["groups"], body["kept"], body["set_aside"]) == (2, 2, 3)
    assert body["counts"] == {"exact": 0, "similar": 1, "resolved": 2, "set_aside": 3}
    assert decisions(web_app, library["e1"]) == {library["ids"][0]: "discard", library["ids"][1]: "keep"}
    assert sorted(decisions(web_app, library["e2"]).values(), key=str) == ["discard", "discard", "keep"]
    # Similar groups always wait for a person.
    assert status(web_app, library["s1"]) == "open"
    assert set(decisions(web_app, library["s1"]).values()) == {None}
    # Nothing left: a second click with the old count is refused, not repeated.
    assert api.post("/api/duplicates/accept-exact", json={"confirm": True, "expected": 2}).status_code == 409


def test_set_aside_files_are_listed_with_their_keeper_and_can_be_restored(api, web_app, library):
    keep, aside = library["ids"][5], library["ids"][6]
    assert api.post(f"/api/duplicates/{library['s1']}/resolve", json={"keep": [keep]}).status_code == 200
    a, b, c = library["ids"][2:5]
    assert api.post(f"/api/duplicates/{library['e2']}/resolve", json={"keep": [a]}).status_code == 200

    listed = api.get("/api/duplicates/set-aside").get_json()
    assert [f["file_id"] for f in listed["files"]] == [b, c, aside]
    entry = listed["files"][2]
    assert entry["name"] == "small_3.webp" and entry["path"].endswith("chat/small_3.webp")
    assert [k["file_id"] for k in entry["kept_instead"]] == [keep]
    assert entry["groups"] == [{"group_id": library["s1"], "kind": "similar"}]
    paged = api.get("/api/duplicates/set-aside?limit=2").get_json()
    assert len(paged["files"]) == 2 and paged["next_after"] == c
    assert [f["file_id"] for f in api.get(f"/api/duplicates/set-aside?after={c}").get_json()["files"]] == [aside]

    resp = api.post("/api/duplicates/restore", json={"file_ids": [aside, keep]})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["restored"] == [aside] and body["not_set_aside"] == [keep]
    assert body["counts"]["set_aside"] == 2
    assert decisions(web_app, library["s1"]) == {keep: "keep", aside: "keep"}
    assert status(web_app, library["s1"]) == "resolved"
    assert [f["file_id"] for f in api.get("/api/duplicates/set-aside").get_json()["files"]] == [b, c]

    # The restored file is exported again: the export's set-aside rule no longer skips it.
    from mediaparser.usecases.export.plan import _set_aside

    with web_app.app_context():
        job_id = db.session.get(MediaFile, aside).job_id
        assert aside not in _set_aside(job_id) and {b, c} <= set(_set_aside(job_id))
        db.session.commit()

    for bad in ({}, {"file_ids": []}, {"file_ids": "7"}, {"file_ids": [True]}):
        assert api.post("/api/duplicates/restore", json=bad).status_code == 400


def test_first_open_group_and_page_url(api, library):
    assert api.get("/api/duplicates/first-open").get_json() == {"group_id": library["e1"]}
    assert api.get("/api/duplicates/first-open?kind=similar").get_json() == {"group_id": library["s1"]}
    html = api.get("/duplicates").get_data(as_text=True)
    assert 'id="dup-tabs"' in html and "duplicates.js" in html


def test_a_copy_whose_original_is_gone_is_never_recommended(api, library, web_app):
    # The backup copy (with GPS) is the recommended keeper of exact group 1 while it exists.
    g = api.get(f"/api/duplicates/{library['e1']}").get_json()
    assert g["keeper"] == library["ids"][1]
    Path(_source_paths(web_app, [library["ids"][1]])[0]).unlink()
    g = api.get(f"/api/duplicates/{library['e1']}").get_json()
    assert g["keeper"] == library["ids"][0]
    assert any("original no longer exists" in n for n in g["keeper_notes"])
    # With both originals gone there is no recommendation, and "keep the recommended" is refused.
    Path(_source_paths(web_app, [library["ids"][0]])[0]).unlink()
    g = api.get(f"/api/duplicates/{library['e1']}").get_json()
    assert g["keeper"] is None and not any(m["recommended_keeper"] for m in g["members"])
    r = api.post(f"/api/duplicates/{library['e1']}/resolve", json={"keep": "recommended"})
    assert r.status_code in (400, 409) and "no copy" in r.get_json()["error"]
    assert set(decisions(web_app, library["e1"]).values()) == {None}
    # The bulk accept leaves such a group open for a person.
    counts = api.get("/api/duplicates/counts").get_json()
    r = api.post("/api/duplicates/accept-exact", json={"confirm": True, "expected": counts["exact"]})
    assert r.status_code == 200 and r.get_json()["left_open"] == 1
    assert status(web_app, library["e1"]) == GroupStatus.OPEN and status(web_app, library["e2"]) != GroupStatus.OPEN
