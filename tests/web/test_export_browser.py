"""The export pages in a browser, against a real server and a real worker: the plan (dry
run), the refusal while duplicate groups are open, the running export (pause, reload,
resume), the done screen, a year folder, and the clean-up of the originals.

Screenshots: export-index, export-plan, export-running, export-done, export-year,
export-cleanup, export-cleanup-done, export-cancelled (test-artifacts/screenshots/).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import DupGroup, DupMember, GroupStatus, Job, JobStatus, JobType, MediaFile
from mediaparser.usecases.duplicates import resolve_group

from tests.support import media as gen
from tests.support.export import import_and_resolve
from tests.support.instance import build_app, instance_env, outside_roots, wait_until
from tests.support.web import at_laptop_and_phone, shot, page_until

pytestmark = pytest.mark.slow


def _dump(src: Path) -> dict[str, Path]:
    """Eight dated photos (one with a tag in its name), two exact-duplicate pairs,
    a picture without any date and a broken file."""
    (src / "copies").mkdir(parents=True)
    dated = {
        "IMG_0001 {beach}.jpg": "2019:08:12 14:30:25", "IMG_0002.jpg": "2019:08:13 09:00:00",
        "IMG_0003.jpg": "2020:01:02 03:04:05", "IMG_0004.jpg": "2020:05:05 12:00:00",
        "IMG_0005.jpg": "2021:06:06 18:30:00", "IMG_0006.jpg": "2021:06:07 07:15:00",
        "IMG_0007.jpg": "2022:01:01 00:00:10", "IMG_0008.jpg": "2022:02:02 10:20:30",
    }
    files = {}
    for i, (name, when) in enumerate(dated.items()):
        files[name] = Path(gen.jpeg(str(src / name), img=gen.photo(200, 150, seed=100 + i * 7),
                                    exif={"Exif.Photo.DateTimeOriginal": when}))
    for name, copy in (("IMG_0007.jpg", "IMG_0007 copy.jpg"), ("IMG_0008.jpg", "IMG_0008 (1).jpg")):
        files[copy] = src / "copies" / copy
        files[copy].write_bytes(files[name].read_bytes())
    files["scan.png"] = src / "scan.png"
    gen.photo(200, 150, seed=999).save(files["scan.png"], "PNG")
    files["broken.jpg"] = src / "broken.jpg"
    files["broken.jpg"].write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)
    return files


def _groups(app) -> dict[str, int]:
    """Group id by the name of its original (IMG_0007.jpg / IMG_0008.jpg)."""
    with app.app_context():
        rows = db.session.execute(select(DupMember.group_id, MediaFile.rel_path)
                                  .join(MediaFile, MediaFile.id == DupMember.file_id)).all()
        db.session.commit()
    out = {}
    for gid, rel in rows:
        if "/" not in rel:
            out[rel] = gid
    return out


def _file_id(app, rel: str) -> int:
    with app.app_context():
        fid = db.session.execute(select(MediaFile.id).where(MediaFile.rel_path == rel)).scalar_one()
        db.session.commit()
        return fid


def _reopen(app, group_id: int) -> None:
    """Someone undoes a group decision elsewhere (another tab) after the page planned."""
    with app.app_context():
        with write_transaction() as s:
            s.execute(update(DupMember).where(DupMember.group_id == group_id).values(decision=None))
            s.execute(update(DupGroup).where(DupGroup.id == group_id).values(status=GroupStatus.OPEN, resolved_at=None))


def _export_jobs(app) -> list[Job]:
    with app.app_context():
        db.session.commit()
        jobs = db.session.execute(select(Job).where(Job.job_type == JobType.EXPORT).order_by(Job.id)).scalars().all()
        db.session.commit()
        return jobs


def _worker_alive(app) -> bool:
    from mediaparser.runtime import lifecycle

    with app.app_context():
        alive = bool(lifecycle.live_workers())
        db.session.commit()
        return alive


def _fact(page, key: str) -> str:
    return page.inner_text(f'#plan-facts [data-fact="{key}"] dd')


@at_laptop_and_phone
def test_plan_export_year_folder_and_clean_up_through_the_pages(tmp_path, workers, live_server, page):
    src = tmp_path / "dump"
    files = _dump(src)
    env = instance_env(tmp_path)
    app = build_app(env)
    job_id, _ids = import_and_resolve(app, src, resolve=False)
    groups = _groups(app)
    assert set(groups) == {"IMG_0007.jpg", "IMG_0008.jpg"}, groups
    # One group resolved by a person: the copy of IMG_0007 is set aside. IMG_0008's group stays open.
    with app.app_context():
        resolve_group(groups["IMG_0007.jpg"], [_file_id(app, "IMG_0007.jpg")], timezone="UTC")
    # Slow enough per file to pause it mid-way.
    workers(env, tmp_path / "worker.log", extra_env={"MEDIAPARSER_DEBUG_FILE_DELAY": "0.6"})
    server = live_server(app)
    wait_until(lambda: _worker_alive(app), 30, "the worker to report in")

    # The finished import offers the export on its job page; /export lists it.
    page.goto(f"{server.url}/jobs/{job_id}")
    expect(page.locator("#btn-export")).to_be_visible()
    page.goto(server.url + "/export")
    row = page.locator(f'tr[data-import="{job_id}"]')
    expect(row).to_contain_text("11 files")
    expect(row).to_contain_text("1 unreadable")
    expect(row).to_contain_text("not exported yet")
    shot(page, "export-index")
    row.get_by_role("link", name="Export…").click()
    page.wait_for_url(f"{server.url}/export/{job_id}")

    # (a) The plan, for the default output folder from the settings.
    default_out = os.path.realpath(outside_roots(tmp_path) / "instance" / "archive")
    expect(page.locator("#x-output")).to_have_value(default_out)
    expect(page.locator("#plan-facts")).to_be_visible()
    # A relative path is refused with the reason; Start stays off.
    page.fill("#x-output", "relative/archive")
    expect(page.locator("#plan-error")).to_contain_text("full path")
    expect(page.locator("#x-start")).to_be_disabled()
    out = outside_roots(tmp_path) / "my archive"
    page.fill("#x-output", str(out))
    expect(page.locator("#plan-error")).to_be_hidden()
    expect(page.locator("#plan-for")).to_have_text(f"Planned for {out}")  # planned again for the new folder
    assert _fact(page, "total") == "12"
    assert _fact(page, "skipped") == "2"  # the set-aside copy and the broken file
    assert _fact(page, "unknown") == "1"
    # IMG_0008 and its copy (open group) land on one name with identical content: one is already present.
    assert _fact(page, "to_copy") == "9" and _fact(page, "already_present") == "1"
    folders = {r.get_attribute("data-folder"): r for r in page.locator("#plan-folders tbody tr").all()}
    assert set(folders) == {"2019", "2020", "2021", "2022", "unknown"}
    assert folders["2019"].locator("td").nth(1).inner_text() == "2"
    expect(page.locator('#plan-folders tr[data-folder="unknown"]')).to_contain_text("unknown/scan.png")
    expect(page.locator('#plan-skipped [data-skip="set aside as a duplicate"]')).to_contain_text("IMG_0007 copy.jpg")
    expect(page.locator('#plan-skipped [data-skip="analysis failed"]')).to_contain_text("broken.jpg")
    expect(page.locator('#plan-skipped [data-skip="unknown"]')).to_contain_text("unknown/")
    # Warnings: the undated file needs review (a link to the grid, filtered), the open group links to /duplicates.
    review = page.locator('[data-warning="needs_review"]')
    expect(review).to_contain_text("1 file still needs review")
    assert review.get_by_role("link").get_attribute("href") == f"/review?job={job_id}&state=needs_review"
    warning = page.locator('[data-warning="open_groups"]')
    expect(warning).to_contain_text("1 duplicate group is not resolved")
    assert warning.get_by_role("link").get_attribute("href") == "/duplicates"
    # (b) Start is disabled while the group is open, unless the person overrides.
    expect(page.locator("#x-start")).to_be_disabled()
    expect(page.locator("#override-row")).to_be_visible()
    shot(page, "export-plan")
    page.check("#x-override")
    expect(page.locator("#x-start")).to_be_enabled()
    page.uncheck("#x-override")
    expect(page.locator("#x-start")).to_be_disabled()
    assert not out.exists(), "planning copies nothing"

    # Resolving the group (elsewhere) and planning again enables Start.
    with app.app_context():
        resolve_group(groups["IMG_0008.jpg"], [_file_id(app, "IMG_0008.jpg")], timezone="UTC")
    page.click("#x-replan")
    expect(page.locator("#x-start")).to_be_enabled()
    expect(page.locator('[data-warning="open_groups"]')).to_have_count(0)
    expect(page.locator("#override-row")).to_be_hidden()
    # The server enforces the same rule: the group is reopened before the click → 409, its message is shown.
    _reopen(app, groups["IMG_0008.jpg"])
    page.click("#x-start")
    expect(page.locator("#start-message")).to_contain_text("not resolved")
    assert _export_jobs(app) == [] and not out.exists()

    # Plan again (the warning is back), override, start.
    page.click("#x-replan")
    expect(page.locator('[data-warning="open_groups"]')).to_be_visible()
    expect(page.locator("#x-start")).to_be_disabled()
    page.check("#x-override")
    page.click("#x-start")

    # (c) Running: progress, pause, the page survives a reload, resume.
    expect(page.locator("#run-section")).to_be_visible()
    expect(page.locator("#plan-section")).to_be_hidden()
    expect(page.locator("#export-state")).to_have_class(re.compile(r"\bRUNNING\b"), timeout=30_000)
    expect(page.locator("#run-counts")).to_contain_text(re.compile(r"[1-9]\d* of 12 files done"))
    shot(page, "export-running")
    page.click("#r-pause")
    expect(page.locator("#export-state")).to_have_class(re.compile(r"\bPAUSED\b"))
    [export] = _export_jobs(app)
    assert export.options["allow_unresolved"] is True and export.options["output"] == str(out)
    wait_until(lambda: _export_jobs(app)[0].lease_owner is None, 10, "the worker to let go of the export")
    assert _export_jobs(app)[0].progress_current < 12
    page.reload()
    expect(page.locator("#run-section")).to_be_visible()
    expect(page.locator("#plan-section")).to_be_hidden()
    expect(page.locator("#export-state")).to_have_class(re.compile(r"\bPAUSED\b"))
    expect(page.locator("#r-resume")).to_be_visible()
    page.click("#r-resume")

    # (d) The done screen.
    expect(page.locator("#done-section")).to_be_visible(timeout=60_000)
    assert _export_jobs(app)[0].status == JobStatus.COMPLETED
    assert page.inner_text("#d-copied") == "9" and page.inner_text("#d-present") == "1"
    assert page.inner_text("#d-skipped") == "2" and page.inner_text("#d-failed") == "0"
    assert page.inner_text("#done-output") == str(out)
    links = page.locator("#done-folders a")
    expect(links).to_have_count(5)
    shot(page, "export-done")
    page.reload()  # the done screen is found again
    expect(page.locator("#done-section")).to_be_visible()
    expect(page.locator("#d-copied")).to_have_text("9")

    # A year folder lists what went there, from the manifest.
    page.locator('#done-folders li[data-folder="2019"] a').click()
    page.wait_for_url(re.compile(rf".*/export/{job_id}/year/2019\?export=\d+$"))
    rows = page.locator("#year-body tr")
    expect(rows).to_have_count(2)
    beach = page.locator('#year-body tr[data-name="20190812_143025.jpg"]')
    expect(beach).to_contain_text(str(files["IMG_0001 {beach}.jpg"]))
    expect(beach).to_contain_text("12 Aug 2019, 14:30:25")
    expect(beach.locator(".x-tag")).to_have_text(["beach"])
    expect(beach.locator("img")).to_have_attribute("src", re.compile(r"/files/\d+/thumb$"))
    page_until(page, "() => [...document.querySelectorAll('#year-body img')].every(i => i.complete && i.naturalWidth > 0)",
               "loading the year folder's pictures")
    expect(page.locator("#year-lead")).to_contain_text(f"2 files in {out}/2019/")
    assert sorted(p.name for p in (out / "2019").iterdir()) == ["20190812_143025.jpg", "20190813_090000.jpg"]
    shot(page, "export-year")
    page.go_back()

    # (e) Clean-up: exactly the verified originals go; a file changed since the import stays.
    changed = files["IMG_0002.jpg"]
    changed.write_bytes(changed.read_bytes() + b"\0")
    page.reload()
    expect(page.locator("#cleanup-section")).to_be_visible()
    expect(page.locator("#cleanup-summary")).to_contain_text("10 originals")
    listed = {li.get_attribute("data-path") for li in page.locator("#cleanup-files li").all()}
    expected_gone = {os.path.realpath(p) for name, p in files.items() if name not in ("broken.jpg", "IMG_0002.jpg")}
    assert listed == expected_gone
    expect(page.locator(f'#cleanup-files li[data-path="{os.path.realpath(files["IMG_0007 copy.jpg"])}"]')
           ).to_contain_text("duplicate you kept")
    expect(page.locator('#cleanup-kept [data-kept="changed since the import"]')).to_contain_text("IMG_0002.jpg")
    expect(page.locator("#cleanup-kept")).to_contain_text("broken.jpg")
    expect(page.locator("#c-delete")).to_have_text("Delete the originals of 10 exported files")
    page.evaluate("document.getElementById('cleanup-section').scrollIntoView()")
    shot(page, "export-cleanup")
    assert all(p.exists() for p in files.values()), "listing deletes nothing"
    page.click("#c-delete")
    expect(page.locator("#c-confirm")).to_be_visible()
    page.click("#c-confirm-yes")
    expect(page.locator("#cleanup-done")).to_contain_text("Deleted 10 originals.")
    page.evaluate("document.getElementById('cleanup-section').scrollIntoView()")
    shot(page, "export-cleanup-done")
    remaining = {str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()}
    assert remaining == {"broken.jpg", "IMG_0002.jpg"}
    # The archive is whole: 9 copied files (+ manifest), nothing taken from it.
    archived = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert len([a for a in archived if a != "manifest.jsonl"]) == 9 and "manifest.jsonl" in archived
    expect(page.locator("#c-delete")).to_be_hidden()  # nothing left that may be deleted
    expect(page.locator('#cleanup-kept [data-kept="already gone"]')).to_contain_text("10")


@at_laptop_and_phone
def test_cancel_an_export_from_its_page_then_plan_again(tmp_path, workers, live_server, page):
    from tests.support.instance import make_images

    make_images(tmp_path / "src", 20)
    env = instance_env(tmp_path)
    app = build_app(env)
    job_id, _ids = import_and_resolve(app, tmp_path / "src")
    workers(env, tmp_path / "worker.log", extra_env={"MEDIAPARSER_DEBUG_FILE_DELAY": "0.4"})
    server = live_server(app)
    wait_until(lambda: _worker_alive(app), 30, "the worker to report in")
    out = outside_roots(tmp_path) / "archive"

    page.goto(f"{server.url}/export/{job_id}")
    expect(page.locator("#x-output")).not_to_have_value("")  # the default folder is in
    page.fill("#x-output", str(out))
    expect(page.locator("#plan-for")).to_have_text(f"Planned for {out}")
    assert _fact(page, "to_copy") == "20" and _fact(page, "unknown") == "20"  # no dates: unknown/, original names
    # Dates still to review are a warning, not a reason to refuse.
    expect(page.locator('[data-warning="needs_review"]')).to_contain_text("20 files still need review")
    expect(page.locator("#no-warnings")).to_be_hidden()
    expect(page.locator("#x-start")).to_be_enabled()
    page.click("#x-start")
    expect(page.locator("#export-state")).to_have_class(re.compile(r"\bRUNNING\b"), timeout=30_000)
    page.once("dialog", lambda d: d.accept())
    page.click("#r-cancel")
    expect(page.locator("#export-state")).to_have_class(re.compile(r"\bCANCELLED\b"))
    expect(page.locator("#run-explain")).to_contain_text("Cancelled")
    # An ended export says how long it ran, without the cards that only mean something while it runs.
    expect(page.locator("#r-elapsed-label")).to_have_text("Cancelled after")
    expect(page.locator("#r-eta-card")).to_be_hidden()
    expect(page.locator("#r-current-card")).to_be_hidden()
    # The plan is offered again, for the same folder: what was copied is now already present.
    expect(page.locator("#plan-section")).to_be_visible()
    expect(page.locator("#plan-facts")).to_be_visible()
    shot(page, "export-cancelled")
    wait_until(lambda: _export_jobs(app)[0].lease_owner is None, 10, "the worker to let go of the export")
    copied = len([p for p in (out / "unknown").iterdir()])
    assert 0 < copied < 20
    page.reload()
    expect(page.locator("#run-section")).to_be_hidden()
    expect(page.locator("#x-output")).to_have_value(str(out))
    expect(page.locator("#plan-facts")).to_be_visible()
    assert _fact(page, "already_present") == str(copied) and _fact(page, "to_copy") == str(20 - copied)
    page.click("#x-start")
    expect(page.locator("#done-section")).to_be_visible(timeout=60_000)
    assert page.inner_text("#d-copied") == str(20 - copied) and page.inner_text("#d-present") == str(copied)
    assert len([p for p in (out / "unknown").iterdir()]) == 20
