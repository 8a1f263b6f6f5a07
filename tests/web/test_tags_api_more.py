"""The tags API the pages use: the full listing, tags on a selection, the rename preview, tags in the grid."""
from __future__ import annotations

from sqlalchemy import event, select

from mediaparser.store.db import db
from mediaparser.store.models import FileTag, Tag
from mediaparser.usecases import tagging as tag_service

from tests.support.web import Api, seed_files


def _tag(api: Api, ids: list[int], *names: str) -> None:
    r = api.post("/api/tags/add", {"ids": ids, "tags": list(names)})
    assert r.status_code == 200, r.get_json()


def test_listing_is_most_used_first_filters_and_pages(app):
    ids = seed_files(app, 5)
    api = Api(app)
    _tag(api, ids, "beach")
    _tag(api, ids[:3], "family")
    _tag(api, ids[:3], "bench")
    _tag(api, ids[:1], "oma")
    got = api.get("/api/tags/list").get_json()
    assert got["total"] == 4
    # Most used first; equal counts by name.
    assert got["tags"] == [{"name": "beach", "uses": 5}, {"name": "bench", "uses": 3},
                           {"name": "family", "uses": 3}, {"name": "oma", "uses": 1}]
    # A filter matches anywhere in the name, and the total counts the matches only.
    got = api.get("/api/tags/list?q=M").get_json()
    assert [t["name"] for t in got["tags"]] == ["family", "oma"] and got["total"] == 2
    # Pages.
    got = api.get("/api/tags/list?limit=2&offset=2").get_json()
    assert [t["name"] for t in got["tags"]] == ["family", "oma"] and got["total"] == 4
    # LIKE's wildcards are taken literally.
    assert api.get("/api/tags/list?q=%25").get_json() == {"tags": [], "total": 0, "offset": 0, "limit": 200}
    assert api.get("/api/tags/list?limit=x").status_code == 400


def test_tags_on_a_selection_count_the_selected_files_only(app):
    ids = seed_files(app, 5)
    api = Api(app)
    _tag(api, ids[:2], "beach")
    _tag(api, ids[1:4], "family")
    _tag(api, [ids[4]], "elsewhere")
    got = api.post("/api/tags/on-selection", {"ids": ids[:3]}).get_json()
    assert got == {"files": 3, "tags": [{"name": "beach", "files": 2}, {"name": "family", "files": 2}]}
    # "Select all matching" with the grid's filter and an exception, as the review page sends it.
    sel = {"selection": {"all_matching": True, "filter": {"tag": "family"}, "except": [ids[3]]}}
    got = api.post("/api/tags/on-selection", sel).get_json()
    assert got == {"files": 2, "tags": [{"name": "family", "files": 2}, {"name": "beach", "files": 1}]}
    # The same selection drives a bulk remove: only those two files lose "family".
    r = api.post("/api/tags/remove", {**sel, "tags": ["family"]}).get_json()
    assert r["removed"] == 2 and r["files"] == 2
    assert [t["name"] for t in api.get(f"/api/files/{ids[3]}/tags").get_json()["tags"]] == ["family"]
    assert api.post("/api/tags/on-selection", {"ids": []}).status_code == 400


def test_big_selections_are_split_into_chunks(app, monkeypatch):
    monkeypatch.setattr(tag_service, "CHUNK", 2)  # so five files need three IN lists
    ids = seed_files(app, 5)
    api = Api(app)
    _tag(api, ids, "beach", "family")
    got = api.post("/api/tags/on-selection", {"ids": ids}).get_json()
    assert got["tags"] == [{"name": "beach", "files": 5}, {"name": "family", "files": 5}]
    assert api.post("/api/tags/remove", {"ids": ids, "tags": ["beach"]}).get_json()["removed"] == 5
    with app.app_context():
        assert list(db.session.execute(select(Tag.name)).scalars()) == ["family"]  # unused tag dropped


def test_rename_dry_run_says_whether_it_merges_and_changes_nothing(app):
    ids = seed_files(app, 4)
    api = Api(app)
    _tag(api, ids[:3], "beach")
    _tag(api, ids[2:], "beech")
    r = api.post("/api/tags/rename", {"from": "Beech", "to": "beach", "dry_run": True}).get_json()
    assert r == {"from": "beech", "to": "beach", "files": 2, "merged": True, "into_files": 3, "dry_run": True}
    with app.app_context():
        assert sorted(db.session.execute(select(Tag.name)).scalars()) == ["beach", "beech"]
    r = api.post("/api/tags/rename", {"from": "beech", "to": "sand", "dry_run": True}).get_json()
    assert r["merged"] is False and r["into_files"] == 0
    # The real merge: four files carry "beach" once each.
    r = api.post("/api/tags/rename", {"from": "beech", "to": "beach"}).get_json()
    assert r["merged"] is True and r["dry_run"] is False
    assert api.get("/api/tags/list").get_json()["tags"] == [{"name": "beach", "uses": 4}]
    with app.app_context():
        assert db.session.execute(select(FileTag)).scalars().all().__len__() == 4
    assert api.post("/api/tags/rename", {"from": "nope", "to": "x", "dry_run": True}).status_code == 400


def test_grid_items_carry_their_tags_with_one_query_per_page(app):
    ids = seed_files(app, 30)
    api = Api(app)
    _tag(api, ids[:2], "beach", "family")
    _tag(api, ids[5:6], "oma")

    def grid(limit: int) -> tuple[dict, int]:
        statements: list[str] = []
        with app.app_context():
            engine = db.engine

        def count(conn, cursor, statement, *a):
            if "file_tags" in statement:
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            data = api.get(f"/api/files?sort=name&limit={limit}").get_json()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return data, len(statements)

    data, small = grid(3)
    by_id = {f["id"]: f["tags"] for f in data["files"]}
    assert by_id[ids[0]] == ["beach", "family"] and by_id[ids[10]] == []  # names sort 0, 1, 10
    data, big = grid(30)
    assert {f["id"]: f["tags"] for f in data["files"]}[ids[5]] == ["oma"]
    assert small == big == 1  # not one per file
