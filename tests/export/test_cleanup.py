"""Source clean-up deletes exactly the sources whose export (or kept duplicate's export) is verified."""
from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select

from mediaparser.db import db
from mediaparser.jobs import tasks
from mediaparser.models import DupGroup, DupMember, JobStatus, MediaFile
from mediaparser.services import cleanup, exporter
from mediaparser.services.duplicates import resolve_group
from mediaparser.services.importer import create_import_job

from ..conftest import outside_roots
from ..media import gen
from .helpers import import_and_resolve


def _export(app, import_job_id: int, out: Path) -> int:
    with app.app_context():
        job, _ = exporter.create_export_job(app.extensions["mediaparser"], import_job_id, output=str(out))
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_cleanup_deletes_exactly_the_verified_set(app, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    gen.jpeg(str(a / "one.jpg"), img=gen.photo(seed=1), exif={"Exif.Photo.DateTimeOriginal": "2020:01:01 10:00:00"})
    gen.jpeg(str(a / "two.jpg"), img=gen.photo(seed=2), exif={"Exif.Photo.DateTimeOriginal": "2020:01:01 10:00:01"})
    (a / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)  # failed analysis
    shutil.copy(a / "one.jpg", a / "one again.jpg")  # exact duplicate inside import A
    shared = gen.jpeg(str(b / "shared.jpg"), img=gen.photo(seed=3),
                      exif={"Exif.Photo.DateTimeOriginal": "2020:01:01 10:00:02"})
    shutil.copy(shared, a / "shared copy.jpg")  # duplicate of import B's file
    gen.jpeg(str(b / "other.jpg"), img=gen.photo(seed=4), exif={"Exif.Photo.DateTimeOriginal": "2020:01:01 10:00:03"})

    job_b, ids_b = import_and_resolve(app, b, resolve=False)
    job_a, ids_a = import_and_resolve(app, a, resolve=False)
    with app.app_context():
        # "one again" is set aside for "one" (same import); "shared copy" is set aside for B's "shared".
        for g in db.session.execute(select(DupGroup)).scalars().all():
            members = set(db.session.execute(select(DupMember.file_id).where(DupMember.group_id == g.id)).scalars())
            keep = [i for i in members if i in (ids_a["one.jpg"], ids_b["shared.jpg"])]
            resolve_group(g.id, keep, timezone="UTC")
        db.session.commit()
    out = outside_roots(tmp_path) / "archive"
    _export(app, job_a, out)
    settings = app.extensions["mediaparser"]
    with app.app_context():
        plan = cleanup.plan_cleanup(settings, job_a)
        got = {Path(d.path).name for d in plan.deletable}
        # B's keeper is not exported yet: its set-aside copy in A stays.
        assert got == {"one.jpg", "two.jpg", "one again.jpg"}
        assert any("no verified export" in r for r in plan.kept)
        assert plan.kept["not analysed (failed or pending): never exported"] == [str(a / "broken.jpg")]
        assert next(d for d in plan.deletable if d.path.endswith("one again.jpg")).via_keeper
        before_b = _files(b)
        result = cleanup.delete_sources(settings, job_a)
        assert sorted(Path(p).name for p in result.deleted) == ["one again.jpg", "one.jpg", "two.jpg"]
    assert _files(a) == {"broken.jpg", "shared copy.jpg"}
    assert _files(b) == before_b  # another import's files are never touched
    assert len(_files(out)) == 3  # "one", "two" and the manifest: the archive is intact

    # Once B (the keeper) is exported, A's set-aside copy becomes deletable; B's own sources are B's business.
    _export(app, job_b, out)
    with app.app_context():
        assert {Path(d.path).name for d in cleanup.plan_cleanup(settings, job_a).deletable} == {"shared copy.jpg"}
        cleanup.delete_sources(settings, job_a)
    assert _files(a) == {"broken.jpg"}
    assert _files(b) == before_b


def test_cleanup_leaves_files_outside_the_roots_and_changed_or_unverifiable_ones(app, tmp_path):
    src = tmp_path / "dump"
    src.mkdir()
    for i in range(3):
        gen.jpeg(str(src / f"p{i}.jpg"), img=gen.photo(seed=10 + i),
                 exif={"Exif.Photo.DateTimeOriginal": f"2021:02:03 04:05:0{i}"})
    job_id, _ids = import_and_resolve(app, src)
    out = outside_roots(tmp_path) / "archive"
    _export(app, job_id, out)
    settings = app.extensions["mediaparser"]
    with app.app_context():
        # With import roots that do not include the dump (a CLI import of another folder): nothing is deleted.
        narrow = settings.with_overrides(import_roots=(tmp_path / "elsewhere",))
        assert cleanup.plan_cleanup(narrow, job_id).deletable == []
        assert cleanup.delete_sources(narrow, job_id).deleted == []
        # A source changed since the import stays; an archive copy that no longer verifies blocks its source.
        (src / "p0.jpg").write_bytes((src / "p0.jpg").read_bytes() + b"x")
        archived = next(d.archived_as for d in cleanup.plan_cleanup(settings, job_id).deletable
                        if d.path.endswith("p1.jpg"))
        Path(archived).write_bytes(b"damaged")
        result = cleanup.delete_sources(settings, job_id)
    assert [Path(p).name for p in result.deleted] == ["p2.jpg"]
    assert str(src / "p1.jpg") in result.refused
    assert _files(src) == {"p0.jpg", "p1.jpg"}


def test_uploaded_working_copies_are_removed_only_on_request(app, tmp_path):
    settings = app.extensions["mediaparser"]
    up = settings.upload_dir / "u1" / "Trip"
    up.mkdir(parents=True)
    gen.jpeg(str(up / "a.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2021:02:03 04:05:06"})
    job_id, ids = import_and_resolve(app, settings.upload_dir / "u1")
    _export(app, job_id, outside_roots(tmp_path) / "archive")
    with app.app_context():
        thumb = db.session.get(MediaFile, ids["Trip/a.jpg"]).thumbnail
        db.session.commit()
        plan = cleanup.plan_cleanup(settings, job_id)
        assert plan.deletable == [] and "uploaded working copy (removed only on request)" in plan.kept
        assert cleanup.delete_sources(settings, job_id).deleted == []
        assert (up / "a.jpg").exists() and thumb and Path(thumb).exists()
        result = cleanup.delete_sources(settings, job_id, working_copies=True)
    assert result.deleted == [str((up / "a.jpg").resolve())] and result.thumbnails_removed == 1
    assert not (up / "a.jpg").exists() and not Path(thumb).exists()


def test_a_similar_picture_a_person_kept_is_never_deleted_through_its_group_mates_export(app, tmp_path):
    """"Keep all" says "these are not duplicates": each kept picture needs its own verified export.

    A similar (not identical) pair spans two imports; a person keeps both. Once only the other
    import is exported, the unexported one must stay, whatever its group-mate's export says."""
    from PIL import Image

    from ..duplicates.photos import photo

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    big = photo(21)
    big.save(a / "full.jpg", quality=92)
    big.resize((big.width // 2, big.height // 2), Image.Resampling.LANCZOS).save(b / "small.jpg", quality=80)
    for p in (a / "full.jpg", b / "small.jpg"):
        gen.write_tags(str(p), exif={"Exif.Photo.DateTimeOriginal": "2018:05:06 07:08:09"})
    job_a, ids_a = import_and_resolve(app, a, resolve=False)
    job_b, ids_b = import_and_resolve(app, b, resolve=False)
    with app.app_context():
        group = db.session.execute(select(DupGroup)).scalar_one()
        assert group.kind == "similar"
        members = set(db.session.execute(select(DupMember.file_id).where(DupMember.group_id == group.id)).scalars())
        assert members == {ids_a["full.jpg"], ids_b["small.jpg"]}
        resolve_group(group.id, sorted(members), timezone="UTC")  # keep all: not duplicates
        db.session.commit()
    _export(app, job_b, outside_roots(tmp_path) / "archive")
    settings = app.extensions["mediaparser"]
    before = (a / "full.jpg").read_bytes()
    with app.app_context():
        assert cleanup.plan_cleanup(settings, job_a).deletable == []
        assert cleanup.delete_sources(settings, job_a).deleted == []
        # The exported one is deletable through its own export (the clean-up works at all here).
        assert [Path(d.path).name for d in cleanup.plan_cleanup(settings, job_b).deletable] == ["small.jpg"]
    assert (a / "full.jpg").read_bytes() == before
