"""The main flow of PRODUCT.md in a real browser, end to end: upload a folder,
let a real worker analyse it, resolve the duplicate groups on the duplicates
page, export from the export page, and check the archive on disk.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.media.analyze import analyze_file
from mediaparser.media.embed import read_embedded
from mediaparser.store.models import DupGroup, DupMember, Job, JobStatus, ManifestEntry, MediaFile

from tests.support import media as gen
from tests.support.instance import build_app, instance_env, outside_roots
from tests.support.photos import photo
from tests.support.web import at_laptop_and_phone, review_filters, shot

pytestmark = pytest.mark.slow


def _dump(root: Path) -> Path:
    """A phone dump as a household has it: a folder tag, an exact copy, a
    turned-and-shrunk copy, a file name carrying tags."""
    trip = root / "Crete"
    (trip / "DCIM").mkdir(parents=True)
    (trip / "sent to grandma").mkdir()
    gen.jpeg(str(trip / "DCIM" / "IMG_0101.JPG"), img=photo(101), quality=95,
             exif={"Exif.Photo.DateTimeOriginal": "2023:07:14 09:15:00", "Exif.Image.Model": "Pixel 7"})
    # An exact copy (same bytes) under another name.
    (trip / "sent to grandma" / "IMG_0101 (1).JPG").write_bytes((trip / "DCIM" / "IMG_0101.JPG").read_bytes())
    # A second photo and a copy of it turned by 90° and made smaller, as a messenger app sends it.
    gen.jpeg(str(trip / "DCIM" / "IMG_0102.JPG"), img=photo(102), quality=95,
             exif={"Exif.Photo.DateTimeOriginal": "2023:07:14 18:40:10", "Exif.Image.Model": "Pixel 7"})
    small = photo(102).rotate(90, expand=True).resize((240, 320))
    small.save(trip / "sent to grandma" / "IMG-20230715-WA0003.jpg", quality=80)
    # Tags in the file name.
    gen.jpeg(str(trip / "DCIM" / "IMG_0103 {beach,Family}.jpg"), img=photo(103),
             exif={"Exif.Photo.DateTimeOriginal": "2023:07:15 11:02:03"})
    return trip


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@at_laptop_and_phone
def test_from_a_messy_folder_to_a_verified_archive_in_the_browser(tmp_path, workers, live_server, page):
    src = _dump(tmp_path / "on-my-computer")
    before_local = _digests(src)
    out = outside_roots(tmp_path) / "Archive"
    env = instance_env(tmp_path)
    app = build_app(env)
    workers(env, tmp_path / "worker.log")
    server = live_server(app)

    # 1. Upload the folder from the import page; a worker analyses it.
    page.goto(server.url + "/import")
    page.set_input_files("#folder-input", str(src))
    page.wait_for_url(re.compile(r".*/jobs/\d+$"), timeout=60_000)
    job_id = int(page.url.rsplit("/", 1)[1])
    page.wait_for_selector("#job-state.COMPLETED", timeout=90_000)
    with app.app_context():
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == job_id)).scalars()}
        uploaded = {p: r.source_path for p, r in rows.items()}
        groups = {g.kind: g for g in db.session.execute(select(DupGroup)).scalars()}
        db.session.commit()
    assert len(rows) == 5, sorted(rows)
    assert sorted(groups) == ["exact", "similar"], "one exact and one similar group were found"
    before_uploaded = {p: hashlib.sha256(Path(s).read_bytes()).hexdigest() for p, s in uploaded.items()}

    # 2. The grid marks the copies; the mark opens their group. Resolve both groups on the duplicates page
    #    with the keyboard: exact copies first, then the similar pair.
    page.goto(server.url + "/review")
    expect(page.locator(".tile .dup")).to_have_count(4)
    page.locator(".tile", has_text="IMG_0102.JPG").locator(".dup").click()
    page.wait_for_url(re.compile(rf".*/duplicates\?group={groups['similar'].id}$"))
    expect(page.locator("#dup-group-title")).to_contain_text("similar")
    page.go_back()
    with review_filters(page):
        page.get_by_role("link", name="Compare the groups side by side →").click()
    page.wait_for_url(server.url + "/duplicates")
    expect(page.locator('[data-count="exact"]')).to_have_text("1")
    expect(page.locator('[data-count="similar"]')).to_have_text("1")
    page.locator(".dup-card").first.click()
    expect(page.locator("#dup-group-view")).to_be_visible()
    expect(page.locator(".dup-member")).to_have_count(2)
    shot(page, "e2e-exact-group")
    page.keyboard.press("Enter")  # keep the recommended copy; straight on to the next open group
    expect(page.locator("#dup-group-title")).to_contain_text("similar")
    expect(page.locator("#dup-group-sub")).to_contain_text("1 group still open")
    recommended = page.locator(".dup-member", has_text="Recommended")
    expect(recommended).to_have_count(1)
    expect(recommended).to_contain_text("IMG_0102.JPG")  # the full-size original, not the shrunk copy
    shrunk = page.locator(".dup-member", has_text="IMG-20230715-WA0003.jpg")
    expect(shrunk).to_contain_text("240 × 320")
    expect(shrunk).to_contain_text("15 Jul 2023")  # the day from the messenger name; no invented midnight
    expect(shrunk).not_to_contain_text("00:00")
    shot(page, "e2e-similar-group")
    page.keyboard.press("Enter")
    expect(page.locator('[data-count="exact"]')).to_have_text("0")
    expect(page.locator('[data-count="similar"]')).to_have_text("0")
    expect(page.locator('[data-count="set_aside"]')).to_have_text("2")
    with app.app_context():
        decided = dict(db.session.execute(select(MediaFile.rel_path, DupMember.decision)
                                          .join(DupMember, DupMember.file_id == MediaFile.id)).all())
        db.session.commit()
    assert sorted(decided.values()) == ["discard", "discard", "keep", "keep"]
    assert decided["Crete/DCIM/IMG_0102.JPG"] == "keep"
    assert decided["Crete/sent to grandma/IMG-20230715-WA0003.jpg"] == "discard"
    kept_exact = next(p for p, d in decided.items() if "IMG_0101" in p and d == "keep")

    # 3. The export page: the plan, then the export, then the done screen.
    page.goto(f"{server.url}/export/{job_id}")
    # Type only once the default folder is in: a fill racing the page's first plan can be
    # interleaved with the default being written into the field.
    expect(page.locator("#x-output")).not_to_have_value("")
    page.fill("#x-output", str(out))
    expect(page.locator("#plan-for")).to_have_text(f"Planned for {out}")
    expect(page.locator('#plan-facts [data-fact="to_copy"] dd')).to_have_text("3")
    expect(page.locator('#plan-facts [data-fact="skipped"] dd')).to_have_text("2")
    expect(page.locator('[data-warning="open_groups"]')).to_have_count(0)
    shot(page, "e2e-export-plan")
    assert not out.exists(), "the plan copies nothing"
    page.click("#x-start")
    expect(page.locator("#done-section")).to_be_visible(timeout=90_000)
    assert page.inner_text("#d-copied") == "3" and page.inner_text("#d-skipped") == "2"
    assert page.inner_text("#d-failed") == "0" and page.inner_text("#done-output") == str(out)
    expect(page.locator('#done-folders li[data-folder="2023"] a')).to_have_count(1)
    shot(page, "e2e-export-done")

    # 4. The archive on disk: names from the local capture time, nothing partial, nothing else.
    tree = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert tree == ["2023/20230714_091500.jpg", "2023/20230714_184010.jpg", "2023/20230715_110203.jpg",
                    "manifest.jsonl"]
    expected = {
        "2023/20230714_091500.jpg": ("2023:07:14 09:15:00", ["Crete", "sent to grandma"]),  # tags of the copy carried over
        "2023/20230714_184010.jpg": ("2023:07:14 18:40:10", ["Crete", "sent to grandma"]),
        "2023/20230715_110203.jpg": ("2023:07:15 11:02:03", ["Crete", "Family", "beach"]),  # braces gone; case as found
    }
    for rel, (when, tags) in expected.items():
        emb = read_embedded(str(out / rel))
        assert emb.tags["Exif.Photo.DateTimeOriginal"] == when, rel
        assert sorted(emb.subject) == sorted(emb.keywords) == tags, rel
        assert analyze_file(out / rel).captured_at == datetime.strptime(when, "%Y:%m:%d %H:%M:%S"), rel

    # 5. The originals — on this computer and the uploaded working copies — are byte-identical to before.
    assert _digests(src) == before_local
    assert {p: hashlib.sha256(Path(s).read_bytes()).hexdigest() for p, s in uploaded.items()} == before_uploaded

    # 6. The manifest: one line per database entry, each matching the analysed source and the file on disk.
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    with app.app_context():
        entries = db.session.execute(select(ManifestEntry)).scalars().all()
        db.session.commit()
    assert sorted(x["destination"] for x in lines) == sorted(e.destination for e in entries) == tree[:3]
    by_dest = {x["destination"]: x for x in lines}
    for e in entries:
        assert e.verified and e.sha256 == before_uploaded[rows_by_id(rows)[e.file_id]]
        assert e.final_sha256 == hashlib.sha256((out / e.destination).read_bytes()).hexdigest()
        assert by_dest[e.destination]["sha256"] == e.sha256
        assert sorted(by_dest[e.destination]["tags"]) == expected[e.destination][1]
    assert by_dest["2023/20230714_091500.jpg"]["source"] == uploaded[kept_exact]
    with app.app_context():
        assert db.session.get(Job, job_id).status == JobStatus.COMPLETED


def rows_by_id(rows: dict[str, MediaFile]) -> dict[int, str]:
    return {r.id: p for p, r in rows.items()}
