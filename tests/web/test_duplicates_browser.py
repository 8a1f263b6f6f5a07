"""Browser test of the duplicate review: real pictures imported and grouped by
the real pipeline, then decided in Chromium with buttons and keyboard
shortcuts, bulk-accepted with one confirmation, and restored from "Set aside".

Screenshots: duplicates-list.png, duplicates-group.png, duplicates-set-aside.png.
"""
from __future__ import annotations

import re
import shutil

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import DupGroup, DupMember, JobStatus, MediaFile
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import build_app, instance_env
from tests.support.photos import photo
from tests.support.web import at_laptop_and_phone, is_phone, shot, page_until

pytestmark = pytest.mark.slow


def _sources(root):
    a, b = root / "src" / "a_phone", root / "src" / "b_backup"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    for seed in range(4):
        photo(seed).save(a / f"IMG_{seed}.jpg", quality=92)
    shutil.copy(a / "IMG_0.jpg", b / "IMG_0 copy.jpg")   # exact group 1
    shutil.copy(a / "IMG_3.jpg", b / "IMG_3 copy.jpg")   # exact group 2
    big = photo(1)
    big.resize((big.width // 2, big.height // 2), Image.Resampling.LANCZOS).save(b / "small_1.jpg", quality=80)
    photo(2).rotate(90, expand=True).save(b / "turned_2.png")  # similar, turned


def _groups(app) -> dict[int, dict]:
    """{group id: {"kind", "status", "members": {file name: decision}}}"""
    with app.app_context():
        db.session.commit()
        names = {r.id: r.rel_path.rsplit("/", 1)[-1] for r in db.session.execute(select(MediaFile.id, MediaFile.rel_path))}
        out = {}
        for g in db.session.execute(select(DupGroup).order_by(DupGroup.kind, DupGroup.id)).scalars():
            members = {names[m.file_id]: m.decision for m in db.session.execute(
                select(DupMember).where(DupMember.group_id == g.id)).scalars()}
            out[g.id] = {"kind": g.kind, "status": g.status, "members": members}
        db.session.commit()
        return out


def _pictures_loaded(page, selector: str) -> None:
    """Wait until every picture under `selector` has loaded."""
    page_until(page, f"() => [...document.querySelectorAll({selector!r})].every(i => i.complete && i.naturalWidth > 0)",
               f"loading the pictures under {selector}")


def _by_names(groups: dict[int, dict], *names: str) -> int:
    return next(gid for gid, g in groups.items() if set(names) <= set(g["members"]))


@at_laptop_and_phone
def test_review_groups_by_keyboard_bulk_accept_and_restore(tmp_path, live_server, page):
    _sources(tmp_path)
    app = build_app(instance_env(tmp_path))
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(tmp_path / "src"))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
    groups = _groups(app)
    exact0 = _by_names(groups, "IMG_0.jpg", "IMG_0 copy.jpg")
    exact3 = _by_names(groups, "IMG_3.jpg", "IMG_3 copy.jpg")
    sim1 = _by_names(groups, "IMG_1.jpg", "small_1.jpg")
    sim2 = _by_names(groups, "IMG_2.jpg", "turned_2.png")
    assert [g["kind"] for g in groups.values()] == ["exact", "exact", "similar", "similar"]
    server = live_server(app)

    # The list: exact copies first, with counts on the tabs.
    page.goto(server.url + "/duplicates")
    expect(page.locator('#dup-tabs [data-tab="exact"]')).to_have_attribute("aria-selected", "true")
    expect(page.locator(".dup-card")).to_have_count(2)
    expect(page.locator('[data-count="exact"]')).to_have_text("2")
    expect(page.locator('[data-count="similar"]')).to_have_text("2")
    expect(page.locator("#dup-accept-exact")).to_contain_text("all 2 exact groups")
    _pictures_loaded(page, ".dup-card img")
    shot(page, "duplicates-list")

    # A similar group side by side: equal boxes, the keeper marked, differences highlighted.
    page.click('#dup-tabs [data-tab="similar"]')
    expect(page).to_have_url(re.compile(r"\?tab=similar$"))
    page.click(f'.dup-card[data-group="{sim1}"]')
    expect(page).to_have_url(re.compile(rf"\?group={sim1}$"))
    expect(page.locator(".dup-member")).to_have_count(2)
    _pictures_loaded(page, ".dup-media img")
    boxes = [page.locator(".dup-member .dup-media").nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["width"] == boxes[1]["width"] and boxes[0]["height"] == boxes[1]["height"]
    if is_phone(page):  # too narrow for two: one above the other, each the window's width
        assert boxes[0]["x"] == boxes[1]["x"] and boxes[0]["y"] < boxes[1]["y"], "stacked"
    else:
        assert boxes[0]["y"] == boxes[1]["y"] and boxes[0]["x"] < boxes[1]["x"], "side by side"
    rec = page.locator(".dup-member.recommended")
    expect(rec).to_have_count(1)
    expect(rec.locator(".dup-name")).to_have_text("IMG_1.jpg")
    expect(page.locator("#dup-keeper")).to_contain_text("We recommend keeping copy")
    expect(page.locator(".dup-member").first.locator(".dup-fact.differs", has_text="Resolution")).to_have_count(1)
    expect(page.locator(".dup-member").first.locator(".dup-fact.differs", has_text="File size")).to_have_count(1)
    expect(page.locator("#dup-keys")).to_contain_text("keep the recommended one")
    shot(page, "duplicates-group")

    # Reload keeps the place.
    page.reload()
    expect(page.locator(".dup-member")).to_have_count(2)

    # → skips without deciding; A keeps all ("not duplicates") and goes straight on to the next open group.
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(rf"\?group={sim2}$"))
    expect(page.locator(".dup-member", has_text="turned_2.png")).to_have_count(1)
    page.keyboard.press("a")
    expect(page).to_have_url(re.compile(rf"\?group={exact0}$"))
    assert set(_groups(app)[sim2]["members"].values()) == {"keep"}
    assert _groups(app)[sim1]["status"] == "open"

    # Enter keeps the recommended copy of this exact group and goes on again.
    expect(page.locator(".dup-member", has_text="IMG_0 copy.jpg")).to_have_count(1)
    recommended = page.locator(".dup-member.recommended .dup-name").inner_text()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"\?group={exact3}$"))
    decided = _groups(app)[exact0]
    assert decided["status"] == "resolved" and decided["members"][recommended] == "keep"
    assert sorted(decided["members"].values()) == ["discard", "keep"]

    # Bulk: accept the recommendation for every exact group, with one confirmation showing the count.
    expect(page.locator(".dup-member", has_text="IMG_3 copy.jpg")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"\?tab=exact$"))
    expect(page.locator(".dup-card")).to_have_count(1)
    page.click("#dup-accept-exact")
    expect(page.locator("#dup-confirm")).to_be_visible()
    expect(page.locator("#dup-confirm-title")).to_have_text("Accept the recommendation for 1 exact groups?")
    page.click("#dup-confirm-ok")
    expect(page.locator('[data-count="exact"]')).to_have_text("0")
    assert _groups(app)[exact3]["status"] == "resolved"
    assert sorted(_groups(app)[exact3]["members"].values()) == ["discard", "keep"]

    # Keep several: tick the small copy with X on the focused card, then K (keeps only the ticked one).
    page.goto(server.url + f"/duplicates?group={sim1}")
    small = page.locator(".dup-member", has_text="small_1.jpg")
    small.focus()
    page.keyboard.press("x")
    expect(small).to_have_class(re.compile(r"\bticked\b"))
    expect(page.locator("#dup-keep-ticked")).to_be_enabled()
    page.keyboard.press("k")
    # Nothing left open: the page says so and shows the decided groups.
    expect(page).to_have_url(re.compile(r"\?tab=resolved$"))
    expect(page.locator(".dup-card")).to_have_count(4)
    assert _groups(app)[sim1]["members"] == {"IMG_1.jpg": "discard", "small_1.jpg": "keep"}

    # Set aside: three copies, each with the file kept instead; restore one, then a selection.
    page.click('#dup-tabs [data-tab="set-aside"]')
    rows = page.locator("#aside-rows tr[data-file]")
    expect(rows).to_have_count(3)
    expect(page.locator('[data-count="set_aside"]')).to_have_text("3")
    img1 = rows.filter(has_text="IMG_1.jpg")
    expect(img1.locator(".aside-kept")).to_contain_text("small_1.jpg")
    _pictures_loaded(page, "#aside-rows img")
    shot(page, "duplicates-set-aside")
    page.reload()
    expect(rows).to_have_count(3)
    img1.get_by_role("button", name="Restore").click()
    expect(rows).to_have_count(2)
    expect(page.locator('[data-count="set_aside"]')).to_have_text("2")
    assert _groups(app)[sim1]["members"] == {"IMG_1.jpg": "keep", "small_1.jpg": "keep"}
    page.check("#aside-all")
    expect(page.locator("#aside-restore-sel")).to_have_text("Restore the 2 selected files")
    page.click("#aside-restore-sel")
    expect(page.locator("#aside-rows")).to_contain_text("No file is set aside.")
    assert all(d == "keep" for g in _groups(app).values() for d in g["members"].values())

    # A decided group opens with its decision shown and can be decided again.
    page.click('#dup-tabs [data-tab="resolved"]')
    page.click(f'.dup-card[data-group="{exact0}"]')
    expect(page.locator(".dup-member .badge", has_text="Kept")).to_have_count(2)
    expect(page.locator("#dup-group-sub")).to_contain_text("decided")
    shot(page, "duplicates-decided")
    second = page.locator(".dup-member").nth(1)
    chosen = second.locator(".dup-name").inner_text()
    second.get_by_role("button", name="Keep this one").click()
    expect(page).to_have_url(re.compile(r"\?tab=resolved$"))
    members = _groups(app)[exact0]["members"]
    assert members[chosen] == "keep" and sorted(members.values()) == ["discard", "keep"]
