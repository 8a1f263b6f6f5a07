"""Stacks in the export and the clean-up: members named after their lead, renumbered
together on a clash; a stack's sources deleted only when every member's copy is verified."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from sqlalchemy import select, update

from mediaparser.media.analyze import analyze_file
from mediaparser.runtime import tasks
from mediaparser.store.db import db, write_transaction
from mediaparser.store.models import JobStatus, ManifestEntry, MediaFile
from mediaparser.usecases import cleanup, export as exporter

from tests.support import media as gen
from tests.support.export import import_and_resolve
from tests.support.instance import outside_roots

CID = "3F8E4C1A-2B7D-4E39-9A61-0C5D7E2F8B14"
DTO = "Exif.Photo.DateTimeOriginal"


def _phone_dump(src: Path) -> bytes:
    src.mkdir()
    gen.live_still(str(src / "IMG_0001.HEIC"), dto="2019:08:12 14:30:25", content_id=CID, img=gen.photo(seed=21))
    gen.live_clip(str(src / "IMG_0001.MOV"), local_with_offset="2019-08-12T14:30:24+0200",
                  utc="2019-08-12T12:30:24Z", content_id=CID)
    gen.jpeg(str(src / "IMG_0002.JPG"), exif={DTO: "2019:08:12 15:00:00"}, img=gen.photo(seed=22))
    gen.crw(str(src / "IMG_0002.CRW"), datetime(2019, 8, 12, 15, 0, 0))
    gen.jpeg(str(src / "IMG_0003.JPG"), exif={DTO: "2019:08:12 16:00:00"}, img=gen.photo(seed=23))
    gen.jpeg(str(src / "IMG_E0003.JPG"), exif={DTO: "2019:08:12 16:00:00"}, img=gen.photo(seed=23).rotate(3))
    gen.jpeg(str(src / "IMG_0003-edited.JPG"), exif={DTO: "2019:08:12 16:00:00"}, img=gen.photo(seed=23).rotate(6))
    gen.jpeg(str(src / "20190812_170000_BURST001_COVER.jpg"), exif={DTO: "2019:08:12 17:00:00"},
             img=gen.photo(seed=24))
    gen.jpeg(str(src / "20190812_170000_BURST002.jpg"), exif={DTO: "2019:08:12 17:00:01"}, img=gen.photo(seed=25))
    _, clip = gen.motion_photo(str(src / "PXL_20190812_180000.MP.jpg"), dto="2019:08:12 18:00:00",
                               img=gen.photo(seed=26))
    return clip


def _export(app, job_id: int, out: Path) -> None:
    with app.app_context():
        job, _ = exporter.create_export_job(app.extensions["mediaparser"], job_id, output=str(out),
                                            allow_unresolved=True)
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_stacks_are_named_after_their_lead_renumbered_together_and_cleaned_up_only_whole(app, tmp_path):
    src = tmp_path / "phone"
    clip = _phone_dump(src)
    job_id, ids = import_and_resolve(app, src, resolve=False)
    out = outside_roots(tmp_path) / "archive"
    (out / "2019").mkdir(parents=True)
    # Another picture already holds the clip's name: the still's name is free, yet both move on together.
    foreign = out / "2019" / "20190812_143025.mov"
    foreign.write_bytes(b"someone else's clip")
    with app.app_context():
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile)).scalars()}
        assert rows["IMG_0001.MOV"].stack_kind == "live" and rows["IMG_0002.CRW"].stack_kind == "raw_jpeg"
        assert rows["IMG_E0003.JPG"].stack_role == "edited"
        assert rows["20190812_170000_BURST002.jpg"].stack_kind == "burst"
        plan = exporter.build_plan(app.extensions["mediaparser"], job_id, output=str(out))
        dest = {Path(f.source_path).name: f.destination for f in plan.files}
        wanted = {f.destination: f.collision_of for f in plan.files if f.collision_of}
    planned = dict(dest)
    # Two edits of one photo (Apple's and Google's): `_edited` and `_edited_2`, in the order they were found.
    assert {dest.pop("IMG_E0003.JPG"), dest.pop("IMG_0003-edited.JPG")} == {
        "2019/20190812_160000_edited.jpg", "2019/20190812_160000_edited_2.jpg"}
    assert dest == {
        "IMG_0001.HEIC": "2019/20190812_143025_2.heic", "IMG_0001.MOV": "2019/20190812_143025_2.mov",
        "IMG_0002.JPG": "2019/20190812_150000.jpg", "IMG_0002.CRW": "2019/20190812_150000.crw",
        "IMG_0003.JPG": "2019/20190812_160000.jpg",
        # burst frames keep their own names
        "20190812_170000_BURST001_COVER.jpg": "2019/20190812_170000.jpg",
        "20190812_170000_BURST002.jpg": "2019/20190812_170001.jpg",
        "PXL_20190812_180000.MP.jpg": "2019/20190812_180000.jpg",
    }
    assert wanted == {"2019/20190812_143025_2.heic": "2019/20190812_143025.heic",
                      "2019/20190812_143025_2.mov": "2019/20190812_143025.mov"}
    _export(app, job_id, out)
    assert foreign.read_bytes() == b"someone else's clip"
    assert _sha(out / "2019" / "20190812_143025_2.mov") == _sha(src / "IMG_0001.MOV")  # a MOV is copied as it is
    assert (out / "2019" / "20190812_150000.crw").is_file() and (out / "2019" / "20190812_160000_edited.jpg").is_file()
    assert not (out / "2019" / "20190812_143025.heic").exists()
    # A Motion Photo stays one whole file with its video: the date written into the JPEG, the MP4 still at its end.
    moving = analyze_file(str(out / "2019" / "20190812_180000.jpg"))
    data = (out / "2019" / "20190812_180000.jpg").read_bytes()
    assert data.endswith(clip) and moving.motion_offset == len(data) - len(clip)
    # Exported again: everything is already there under the same names, nothing renumbered further.
    with app.app_context():
        again = exporter.build_plan(app.extensions["mediaparser"], job_id, output=str(out))
        assert {f.action for f in again.files} == {"present"}
        assert {Path(f.source_path).name: f.destination for f in again.files} == planned
    # (one import and export serve both checks: the clean-up's below)
    _clean_up_removes_a_pair_only_when_both_copies_are_verified(app, src, job_id, ids)


def _clean_up_removes_a_pair_only_when_both_copies_are_verified(app, src: Path, job_id: int, ids: dict[str, int]):
    settings = app.extensions["mediaparser"]
    still, clip = src / "IMG_0001.HEIC", src / "IMG_0001.MOV"
    with app.app_context():
        # The clip's copy is not verified: neither half of the Live Photo may go; the rest may.
        # A burst frame without a verified copy keeps only itself: frames are photos of their own.
        unverified = [ids["IMG_0001.MOV"], ids["20190812_170000_BURST002.jpg"]]
        with write_transaction() as s:
            s.execute(update(ManifestEntry).where(ManifestEntry.file_id.in_(unverified)).values(verified=False))
        plan = cleanup.plan_cleanup(settings, job_id)
        names = {Path(d.path).name for d in plan.deletable}
        assert "IMG_0001.HEIC" not in names and "IMG_0001.MOV" not in names
        assert {"IMG_0002.JPG", "IMG_0002.CRW", "IMG_0003.JPG", "IMG_E0003.JPG"} <= names
        assert "20190812_170000_BURST001_COVER.jpg" in names and "20190812_170000_BURST002.jpg" not in names
        assert plan.kept[cleanup.KEEP_STACK] == [str(still)]
        with write_transaction() as s:
            s.execute(update(ManifestEntry).where(ManifestEntry.file_id.in_(unverified)).values(verified=True))
        plan = cleanup.plan_cleanup(settings, job_id)
        assert {"IMG_0001.HEIC", "IMG_0001.MOV"} <= {Path(d.path).name for d in plan.deletable}
        # At deletion the clip's archive copy no longer matches its manifest: the still stays too.
        clip_copy = next(Path(d.archived_as) for d in plan.deletable if d.path.endswith("IMG_0001.MOV"))
        clip_copy.write_bytes(clip_copy.read_bytes() + b"damaged")
        result = cleanup.delete_sources(settings, job_id)
        assert still.is_file() and clip.is_file()
        assert cleanup.KEEP_STACK in result.refused[str(still)]
        assert "no longer matches" in result.refused[str(clip)]
        assert not (src / "IMG_0002.CRW").exists() and not (src / "IMG_0002.JPG").exists()
        assert not (src / "IMG_E0003.JPG").exists()


def test_a_name_taken_between_the_plan_and_the_copy_moves_the_whole_stack(app, tmp_path, monkeypatch):
    from mediaparser.usecases.export import run

    src = tmp_path / "phone"
    src.mkdir()
    gen.live_still(str(src / "IMG_0001.HEIC"), dto="2019:08:12 14:30:25", content_id=CID)
    gen.live_clip(str(src / "IMG_0001.MOV"), local_with_offset="2019-08-12T14:30:24+0200",
                  utc="2019-08-12T12:30:24Z", content_id=CID)
    job_id, _ids = import_and_resolve(app, src, resolve=False)
    out = outside_roots(tmp_path) / "archive"
    real_plan = run.build_plan

    def plan_then_someone_writes(*args, **kw):
        plan = real_plan(*args, **kw)
        assert {f.destination for f in plan.files} == {"2019/20190812_143025.heic", "2019/20190812_143025.mov"}
        (out / "2019").mkdir(parents=True, exist_ok=True)
        (out / "2019" / "20190812_143025.heic").write_bytes(b"another photo, copied in meanwhile")
        return plan

    monkeypatch.setattr(run, "build_plan", plan_then_someone_writes)
    _export(app, job_id, out)
    assert (out / "2019" / "20190812_143025.heic").read_bytes() == b"another photo, copied in meanwhile"
    assert _sha(out / "2019" / "20190812_143025_2.mov") == _sha(src / "IMG_0001.MOV")
    assert (out / "2019" / "20190812_143025_2.heic").is_file()
    assert not (out / "2019" / "20190812_143025.mov").exists()  # the clip did not stay behind
