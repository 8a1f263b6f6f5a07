"""Tags in the browser: add and bulk-remove tags on a grid selection (with
autocomplete), filter by tag, edit one file's tags in the examination view,
rename and merge tags on the tags page. Chromium through Playwright against a
live server; the database is checked after each step.
"""
from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import FileTag, Tag
from mediaparser.usecases import tagging as tag_service

from tests.support import media as gen
from tests.support.instance import build_app, instance_env
from tests.support.web import at_laptop_and_phone, review_filters, seed, shot

pytestmark = pytest.mark.slow

PATHS = ["Summer/IMG_0000.jpg", "Summer/IMG_0001.jpg", "Summer/IMG_0002 {beach}.jpg", "Oma/IMG_0003.jpg",
         "Oma/IMG_0004.jpg", "plain.jpg"]


def _files(app, tmp_path) -> list[int]:
    """Six analysed photos with real pictures and thumbnails, and the tags an import would have given them,
    plus a misspelt "beech" a person added to two of them."""
    thumbs = app.extensions["mediaparser"].thumbnail_dir
    thumbs.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "photos"
    rows = []
    for i, rel in enumerate(PATHS):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        gen.jpeg(str(src / rel), img=gen.photo(640, 480, seed=50 + i))
        gen.photo(320, 240, seed=50 + i).save(thumbs / f"t{i}.jpg", "JPEG")
        rows.append({"rel_path": rel, "source_path": str(src / rel), "thumbnail": str(thumbs / f"t{i}.jpg"),
                     "captured_at": datetime(2019, 8, 12, 10 + i, 0, 0), "width": 640, "height": 480,
                     "file_type": "JPEG", "extension": "jpg"})
    ids = seed(app, rows, job_path=str(src))
    with app.app_context(), write_transaction() as s:
        tag_service.record_auto_tags(s, list(zip(ids, PATHS)))
        tag_service.link(s, [(ids[3], "beech", "user"), (ids[4], "beech", "user")])
    return ids


def _tags(app, file_id: int) -> dict[str, str]:
    with app.app_context():
        db.session.commit()
        return {t["name"]: t["origin"] for t in tag_service.tags_of([file_id])[file_id]}


def _tile_tags(page, file_id: int) -> list[str]:
    return page.locator(f'.tile[data-id="{file_id}"] .tile-tags .tt').all_inner_texts()


@at_laptop_and_phone
def test_tag_a_selection_filter_edit_one_file_then_rename_and_merge(tmp_path, live_server, page):
    app = build_app(instance_env(tmp_path))
    ids = _files(app, tmp_path)
    server = live_server(app)

    page.goto(server.url + "/review")
    expect(page.locator(".tile")).to_have_count(6)
    assert _tile_tags(page, ids[2]) == ["beach", "Summer"]  # the grid shows each file's tags

    # Select the first two files and open the tags dialog from the selection bar.
    tiles = page.locator(".tile")
    tiles.nth(0).click()
    tiles.nth(1).click(modifiers=["Control"])
    assert page.inner_text("#sel-what") == "2 selected"
    page.click("#act-tags")
    expect(page.locator("#tags-dialog")).to_be_visible()
    expect(page.locator("#tags-title")).to_have_text("Tags of 2 selected files")
    # What the two carry now: the folder tag, on both.
    expect(page.locator("#tags-present li")).to_have_count(1)
    expect(page.locator('#tags-present li[data-tag="Summer"]')).to_contain_text("2 of 2")

    # "bea" suggests the existing "beach" (1 file); ↓ and Enter take it as a chip; "family," makes another.
    field = page.locator("#tags-add-field input")
    field.press_sequentially("bea")
    option = page.locator('#tags-add-field [role="option"][data-name="beach"]')
    expect(option).to_be_visible()
    expect(option).to_contain_text("1 file")
    field.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    field.press("Enter")
    field.press_sequentially("family,")
    expect(page.locator("#tags-add-field .tag-chip")).to_have_text(["beach×", "family×"])
    expect(field).to_have_value("")
    shot(page, "tags-grid-add")
    page.click("#tags-add")
    expect(page.locator("#toast")).to_contain_text("Added beach, family to 2 files")
    expect(page.locator('#tags-present li[data-tag="beach"]')).to_contain_text("2 of 2")
    expect(page.locator('#tags-present li[data-tag="family"]')).to_contain_text("2 of 2")
    assert _tags(app, ids[0]) == {"beach": "user", "family": "user", "Summer": "folder"}
    assert _tags(app, ids[1]) == {"beach": "user", "family": "user", "Summer": "folder"}
    assert _tags(app, ids[5]) == {}
    page.click("#tags-dialog button[value=done]")
    expect(page.locator("#tags-dialog")).to_be_hidden()
    # The tiles show the new tags.
    expect(page.locator(f'.tile[data-id="{ids[0]}"] .tile-tags .tt')).to_have_text(["beach", "family", "Summer"])

    # Filter the grid by tag (with suggestions), then bulk-remove "beach" from every matching file.
    with review_filters(page):
        page.fill("#f-tag", "family")
        page.dispatch_event("#f-tag", "change")
    expect(page.locator(".tile")).to_have_count(2)
    expect(page.locator("#match-count")).to_have_text("2 files")
    page.click("#select-all")
    assert page.inner_text("#sel-what") == "All 2 matching files selected"
    page.click("#act-tags")
    expect(page.locator("#tags-present li")).to_have_count(3)
    shot(page, "tags-grid")
    page.get_by_role("button", name="Remove beach from the selected files").click()
    expect(page.locator("#toast")).to_contain_text("Removed “beach” from 2 files.")
    expect(page.locator("#tags-present li")).to_have_count(2)
    page.keyboard.press("Escape")
    expect(page.locator(f'.tile[data-id="{ids[0]}"] .tile-tags .tt')).to_have_text(["family", "Summer"])
    assert "beach" not in _tags(app, ids[0]) and "beach" not in _tags(app, ids[1])
    assert _tags(app, ids[2]) == {"beach": "filename", "Summer": "folder"}  # outside the selection: untouched

    # The examination view: chips with their origin; remove one, add one with the keyboard.
    page.locator(f'.tile[data-id="{ids[0]}"]').dblclick()
    expect(page.locator("#examine")).to_be_visible()
    chips = page.locator("#exam-tags li.tag-chip")
    expect(chips).to_have_count(2)
    expect(page.locator('#exam-tags li[data-tag="family"] .origin')).to_have_text("you")
    expect(page.locator('#exam-tags li[data-tag="Summer"] .origin')).to_have_text("folder")
    page.get_by_role("button", name="Remove the tag family").click()
    expect(chips).to_have_count(1)
    expect(page.locator("#exam-status")).to_have_text("Removed the tag family.")
    exam_field = page.locator("#exam-tag-field input")
    exam_field.press_sequentially("Sunset")
    exam_field.press("Enter")
    expect(page.locator('#exam-tags li[data-tag="Sunset"] .origin')).to_have_text("you")
    expect(page.locator("#examine")).to_be_visible()  # Enter in the tag field did not confirm or close
    # Suggestions leave out the tags the file already has; Esc closes them, not the view.
    exam_field.press_sequentially("fa")
    expect(page.locator('#exam-tag-field [role="option"]')).to_have_text(["family1 file"])
    exam_field.press("Escape")
    expect(page.locator('#exam-tag-field [role="listbox"]')).to_be_hidden()
    expect(page.locator("#examine")).to_be_visible()
    # ↓ in the empty field lists the most used tags, still without this file's own.
    exam_field.fill("")
    exam_field.press("ArrowDown")
    expect(page.locator('#exam-tag-field [role="option"]')).to_have_text(
        ["beech2 files", "Oma2 files", "beach1 file", "family1 file"])
    shot(page, "tags-examine")
    assert _tags(app, ids[0]) == {"Summer": "folder", "Sunset": "user"}
    page.keyboard.press("Escape")  # the suggestions first
    expect(page.locator('#exam-tag-field [role="listbox"]')).to_be_hidden()
    page.keyboard.press("Escape")  # then the view
    expect(page.locator("#examine")).to_be_hidden()
    # The grid was refreshed: the file left the "family" filter.
    expect(page.locator(".tile")).to_have_count(1)

    # The tags page: most used first, a link to the grid, rename, and a merge that asks first.
    page.goto(server.url + "/tags")
    expect(page.locator("#tag-rows tr")).to_have_count(6)
    names = page.locator("#tag-rows tr td.name").all_inner_texts()
    assert names[0] == "Summer" and set(names) == {"Summer", "beech", "Oma", "beach", "family", "Sunset"}
    expect(page.locator('#tag-rows tr[data-tag="Summer"] td.num')).to_have_text("3")
    assert page.get_attribute('#tag-rows tr[data-tag="Oma"] a', "href") == "/review?tag=Oma"
    page.fill("#tag-filter", "su")
    expect(page.locator("#tag-rows tr")).to_have_count(2)
    expect(page.locator("#tag-count")).to_have_text("2 tags matching “su”")
    page.locator('#tag-rows tr[data-tag="Sunset"]').get_by_role("button", name="Rename").click()
    page.get_by_label("New name for Sunset").fill("Evening")
    page.get_by_label("New name for Sunset").press("Enter")
    expect(page.locator("#toast")).to_contain_text("Renamed “Sunset” to “Evening” on 1 file.")
    assert _tags(app, ids[0]) == {"Summer": "folder", "Evening": "user"}
    page.fill("#tag-filter", "")
    expect(page.locator("#tag-rows tr")).to_have_count(6)
    shot(page, "tags-page")

    page.locator('#tag-rows tr[data-tag="beech"]').get_by_role("button", name="Rename").click()
    page.get_by_label("New name for beech").fill("beach")
    page.locator('#tag-rows tr[data-tag="beech"]').get_by_role("button", name="Save").click()
    expect(page.locator("#merge-dialog")).to_be_visible()
    expect(page.locator("#merge-title")).to_have_text("Merge “beech” into “beach”? 2 files")
    shot(page, "tags-page-merge")
    # Cancel first: nothing changes.
    page.locator("#merge-dialog").get_by_role("button", name="Cancel").click()
    expect(page.locator("#merge-dialog")).to_be_hidden()
    assert _tags(app, ids[3]) == {"beech": "user", "Oma": "folder"}
    page.locator('#tag-rows tr[data-tag="beech"]').get_by_role("button", name="Save").click()
    page.locator("#merge-dialog").get_by_role("button", name="Merge").click()
    expect(page.locator("#toast")).to_contain_text("Merged “beech” into “beach”: 2 files moved over.")
    expect(page.locator('#tag-rows tr[data-tag="beech"]')).to_have_count(0)
    expect(page.locator('#tag-rows tr[data-tag="beach"] td.num')).to_have_text("3")
    with app.app_context():
        db.session.commit()
        assert db.session.execute(select(Tag).where(Tag.name == "beech")).first() is None
        beach = db.session.execute(select(Tag.id).where(Tag.name == "beach")).scalar_one()
        assert sorted(db.session.execute(select(FileTag.file_id).where(FileTag.tag_id == beach)).scalars()) \
            == sorted([ids[2], ids[3], ids[4]])

    # The tag's link opens the grid filtered by it.
    page.locator('#tag-rows tr[data-tag="beach"]').get_by_role("link", name="Show files").click()
    expect(page.locator(".tile")).to_have_count(3)
    expect(page.locator("#f-tag")).to_have_value("beach")
