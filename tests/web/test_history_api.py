"""The history through the API and on the History page: tag, duplicate and restore decisions are listed
beside date changes with their words and files, undone with the page's button, and an undo that later
decisions overtook is refused with 409 and a sentence."""
from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.store.models import DupGroup, DupMember, FileTag, GroupStatus, MediaFile, Tag

from tests.support.instance import build_app, instance_env
from tests.support.web import BrowserLikeClient, seed, shot


@pytest.fixture
def web_env(tmp_path, backend):
    return instance_env(tmp_path, backend)


def _tags(app) -> list[tuple]:
    with app.app_context():
        out = [tuple(r) for r in db.session.execute(
            select(FileTag.id, FileTag.file_id, Tag.id, Tag.name, FileTag.origin)
            .join(Tag, Tag.id == FileTag.tag_id).order_by(FileTag.id))]
        db.session.commit()
        return out


def _group(app, ids: list[int]) -> int:
    with app.app_context():
        g = DupGroup(kind="exact", representative_id=ids[0], confidence=1.0, confidence_label="high",
                     status=GroupStatus.OPEN, sha256="cd" * 32)
        db.session.add(g)
        db.session.flush()
        for fid in ids:
            db.session.add(DupMember(group_id=g.id, file_id=fid, distance=0))
            db.session.get(MediaFile, fid).group_id = g.id
        db.session.commit()
        return g.id


def test_every_kind_of_decision_is_listed_with_its_words_files_and_undo(api, web_app):
    ids = seed(web_app, [{"rel_path": "Trip/IMG_1.jpg"}, {"rel_path": "Trip/IMG_1 copy.jpg"},
                         {"rel_path": "IMG_9.jpg", "captured_at": datetime(2019, 8, 12, 14, 30)}])
    assert api.action("shift", [ids[2]], seconds=3600).status_code == 200
    assert api.post("/api/tags/add", json={"ids": ids[:2], "tags": ["familienfeier"]}).status_code == 200
    assert api.post("/api/tags/rename", json={"from": "familienfeier", "to": "familienfest"}).status_code == 200
    gid = _group(web_app, ids[:2])
    assert api.post(f"/api/duplicates/{gid}/resolve", json={"keep": [ids[0]]}).status_code == 200
    assert api.post("/api/duplicates/restore", json={"file_ids": [ids[1]]}).status_code == 200

    listed = api.get("/api/review/batches").get_json()["batches"]
    assert [(b["action"], b["summary"], b["file_count"], b["actor"]) for b in listed] == [
        ("dup_restore", "Brought back IMG_1 copy.jpg from the set-aside copies", 1, "local user"),
        ("dup_resolve", "Kept IMG_1.jpg, set aside 1 copy", 2, "local user"),
        ("tag_rename", "Renamed tag ‘familienfeier’ to ‘familienfest’", 2, "local user"),
        ("tag_add", "Added tag ‘familienfeier’ to 2 files", 2, "local user"),
        ("shift", "Shifted the time by +1 h", 1, "local user"),
    ]
    by = {b["action"]: b["id"] for b in listed}
    detail = api.get(f"/api/review/batches/{by['tag_add']}").get_json()
    assert [(f["path"], f["change"]) for f in detail["files"]] == [
        ("Trip/IMG_1.jpg", "tag ‘familienfeier’ added"), ("Trip/IMG_1 copy.jpg", "tag ‘familienfeier’ added")]
    assert detail["about"] is None
    rename = api.get(f"/api/review/batches/{by['tag_rename']}").get_json()
    assert rename["files"] == [] and "now called ‘familienfest’" in rename["about"]
    group = api.get(f"/api/review/batches/{by['dup_resolve']}").get_json()
    assert [(f["path"], f["change"]) for f in group["files"]] == [("Trip/IMG_1.jpg", "kept"),
                                                                  ("Trip/IMG_1 copy.jpg", "set aside")]
    # The examination view's "Changes to this file" lists them too.
    assert [h["summary"] for h in api.get(f"/api/files/{ids[1]}").get_json()["history"]] == [
        "Brought back IMG_1 copy.jpg from the set-aside copies", "Kept IMG_1.jpg, set aside 1 copy",
        "Added tag ‘familienfeier’ to 2 files"]
    shift = api.get(f"/api/review/batches/{by['shift']}").get_json()
    assert shift["files"][0]["before"] == "2019-08-12T14:30:00" and shift["files"][0]["after"] == "2019-08-12T15:30:00"

    # The decision before the restore is overtaken: refused with 409 and the sentence naming the restore.
    r = api.post(f"/api/review/batches/{by['dup_resolve']}/undo")
    assert r.status_code == 409
    assert "“Brought back IMG_1 copy.jpg from the set-aside copies”" in r.get_json()["error"]
    # Undone in order, newest first, everything is as it was.
    for action in ("dup_restore", "dup_resolve", "tag_rename", "tag_add"):
        r = api.post(f"/api/review/batches/{by[action]}/undo")
        assert r.status_code == 200, r.get_json()
    assert _tags(web_app) == []
    assert api.get(f"/api/duplicates/{gid}").get_json()["status"] == "open"
    assert api.post(f"/api/review/batches/{by['tag_add']}/undo").status_code == 400  # already undone
    undos = api.get("/api/review/batches").get_json()["batches"][:4]
    assert [b["summary"] for b in undos] == ["Undid: Added tag ‘familienfeier’ to 2 files",
                                             "Undid: Renamed tag ‘familienfeier’ to ‘familienfest’",
                                             "Undid: Kept IMG_1.jpg, set aside 1 copy",
                                             "Undid: Brought back IMG_1 copy.jpg from the set-aside copies"]
    assert all(b["action"] == "undo" for b in undos)


def test_a_date_undo_that_later_decisions_overtook_entirely_is_refused(api, web_app):
    (fid,) = seed(web_app, [{"captured_at": datetime(2019, 8, 12, 14, 30), "confidence": "low"}])
    first = api.action("shift", [fid], seconds=60).get_json()["batch_id"]
    api.action("set_date", [fid], value="2019-08-13 10:00")
    r = api.post(f"/api/review/batches/{first}/undo")
    assert r.status_code == 409 and "“Set the date to 2019-08-13 10:00”" in r.get_json()["error"]


@pytest.mark.slow
def test_history_page_lists_a_tag_add_and_its_undo_button_restores_the_files(tmp_path, live_server, page):
    app = build_app(instance_env(tmp_path))
    ids = seed(app, [{"rel_path": f"Sommer/IMG_{i}.jpg", "captured_at": datetime(2019, 8, 12, 10 + i)}
                     for i in range(3)])
    client = BrowserLikeClient(app)
    client.action("shift", ids[2:], seconds=7200)
    assert client.post("/api/tags/add", json={"ids": ids[:2], "tags": ["holiday 2019"]}).status_code == 200
    gid = _group(app, ids[:2])
    client.post(f"/api/duplicates/{gid}/resolve", json={"keep": [ids[0]]})
    client.post("/api/tags/add", json={"ids": ids[2:], "tags": ["oma"]})
    client.post("/api/tags/rename", json={"from": "oma", "to": "omi"})
    client.post("/api/tags/rename", json={"from": "omi", "to": "grandma"})
    server = live_server(app)

    page.goto(server.url + "/history")
    row = page.locator("tr[data-action=tag_add]", has_text="holiday 2019")
    expect(row.locator(".summary")).to_have_text("Added tag ‘holiday 2019’ to 2 files")
    expect(row.locator(".history-kind")).to_have_text("Tags")
    row.get_by_role("button", name="Which files?").click()
    expect(row.locator(".history-file")).to_have_text(["IMG_0.jpg: tag ‘holiday 2019’ added",
                                                       "IMG_1.jpg: tag ‘holiday 2019’ added"])
    assert "null" not in row.inner_text()
    page.locator("tr[data-action=dup_resolve]").get_by_role("button", name="Which files?").click()
    expect(page.locator("tr[data-action=dup_resolve] .history-file")).to_have_text(["IMG_0.jpg: kept",
                                                                                   "IMG_1.jpg: set aside"])
    # The first rename was overtaken by the second: refused, and the row says why.
    first_rename = page.locator("tr[data-action=tag_rename]", has_text="to ‘omi’")
    first_rename.get_by_role("button", name="Undo").click()
    expect(first_rename.locator(".history-refused")).to_contain_text("“Renamed tag ‘omi’ to ‘grandma’”")
    shot(page, "history-kinds")

    row.get_by_role("button", name="Undo").click()
    row = page.locator("tr[data-action=tag_add]", has_text="holiday 2019")
    expect(row).to_have_class("undone")
    expect(page.locator("tr[data-action=undo]").first.locator(".summary")).to_have_text(
        "Undid: Added tag ‘holiday 2019’ to 2 files")
    assert [t[3] for t in _tags(app)] == ["grandma"], "the holiday tag is gone from both files, and as a tag"
    shot(page, "history-undone")
