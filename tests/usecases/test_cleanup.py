"""Source clean-up deletes exactly the sources whose export (or kept duplicate's export) is verified."""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import DupGroup, DupMember, JobStatus, ManifestEntry, MediaFile
from mediaparser.usecases import cleanup, export as exporter
from mediaparser.usecases.duplicates import resolve_group
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.export import import_and_resolve
from tests.support.instance import outside_roots


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

    from tests.support.photos import photo

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


def test_a_set_aside_file_goes_only_through_the_export_of_the_file_a_person_kept(app, tmp_path):
    """Three similar pictures: one archived earlier (another import), then a person keeps a new
    one and sets the other two aside. The archived picture was set aside, so its export does not
    stand for anything: until the kept one is exported, nothing of the new import is deletable."""
    from PIL import Image

    from tests.support.photos import photo

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    img = photo(31)
    img.save(a / "kept.jpg", quality=95)
    img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS).save(a / "half.jpg", quality=85)
    img.save(b / "earlier.jpg", quality=70)
    for p in (a / "kept.jpg", a / "half.jpg", b / "earlier.jpg"):
        gen.write_tags(str(p), exif={"Exif.Photo.DateTimeOriginal": "2017:04:05 06:07:08"})
    out = outside_roots(tmp_path) / "archive"
    job_b, ids_b = import_and_resolve(app, b, resolve=False)
    _export(app, job_b, out)
    job_a, ids_a = import_and_resolve(app, a, resolve=False)
    with app.app_context():
        group = db.session.execute(select(DupGroup)).scalar_one()
        members = set(db.session.execute(select(DupMember.file_id).where(DupMember.group_id == group.id)).scalars())
        assert members == {ids_a["kept.jpg"], ids_a["half.jpg"], ids_b["earlier.jpg"]}
        resolve_group(group.id, [ids_a["kept.jpg"]], timezone="UTC")
        db.session.commit()
    settings = app.extensions["mediaparser"]
    with app.app_context():
        assert cleanup.plan_cleanup(settings, job_a).deletable == []
        assert cleanup.delete_sources(settings, job_a).deleted == []
    assert _files(a) == {"kept.jpg", "half.jpg"}
    _export(app, job_a, out)  # now the kept one is archived: the set-aside one may go through it
    with app.app_context():
        plan = cleanup.plan_cleanup(settings, job_a)
    assert {Path(d.path).name: d.via_keeper for d in plan.deletable} == {"kept.jpg": False, "half.jpg": True}


def _dump_of_three(app, tmp_path: Path) -> tuple[Path, int]:
    src = tmp_path / "dump"
    src.mkdir()
    for i in range(3):
        gen.jpeg(str(src / f"p{i}.jpg"), img=gen.photo(seed=40 + i),
                 exif={"Exif.Photo.DateTimeOriginal": f"2021:02:03 04:05:0{i}"})
    job_id, _ids = import_and_resolve(app, src)
    _export(app, job_id, outside_roots(tmp_path) / "archive")
    return src, job_id


def _kept_as_changed(plan) -> set[str]:
    return {Path(p).name for reason, paths in plan.kept.items() if "changed since the import" in reason
            for p in paths}


def test_a_source_whose_size_or_only_its_time_changed_since_the_import_is_kept(app, tmp_path):
    src, job_id = _dump_of_three(app, tmp_path)
    grown = src / "p0.jpg"  # grown, with its modification time put back
    st = os.stat(grown)
    with open(grown, "ab") as fh:
        fh.write(b"x")
    os.utime(grown, ns=(st.st_atime_ns, st.st_mtime_ns))
    touched = src / "p1.jpg"  # the same bytes, saved again later
    st = os.stat(touched)
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 60 * 10**9))
    settings = app.extensions["mediaparser"]
    with app.app_context():
        plan = cleanup.plan_cleanup(settings, job_id)
        assert _kept_as_changed(plan) == {"p0.jpg", "p1.jpg"}
        assert [Path(d.path).name for d in plan.deletable] == ["p2.jpg"]
        assert [Path(p).name for p in cleanup.delete_sources(settings, job_id).deleted] == ["p2.jpg"]
    assert _files(src) == {"p0.jpg", "p1.jpg"}


def test_only_a_verified_manifest_entry_of_the_analysed_content_counts_as_an_export(app, tmp_path):
    src, job_id = _dump_of_three(app, tmp_path)
    settings = app.extensions["mediaparser"]
    # p1 was edited in place after its export (size and time put back) and analysed again: the
    # archive holds its old content, which does not stand for the new one.
    p1 = src / "p1.jpg"
    st = os.stat(p1)
    data = bytearray(p1.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p1.write_bytes(bytes(data))
    os.utime(p1, ns=(st.st_atime_ns, st.st_mtime_ns))
    with app.app_context():
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == job_id)).scalars()}
        rows["p1.jpg"].sha256 = hashlib.sha256(bytes(data)).hexdigest()
        # p0's manifest entry is not (or no longer) marked verified.
        entry = db.session.execute(select(ManifestEntry).where(ManifestEntry.file_id == rows["p0.jpg"].id)).scalar_one()
        entry.verified = False
        db.session.commit()
        plan = cleanup.plan_cleanup(settings, job_id)
        assert [Path(d.path).name for d in plan.deletable] == ["p2.jpg"]
        assert [Path(p).name for p in cleanup.delete_sources(settings, job_id).deleted] == ["p2.jpg"]
    assert _files(src) == {"p0.jpg", "p1.jpg"}


def test_a_file_reached_through_a_link_into_another_folder_is_not_the_imports_to_delete(app, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    gen.jpeg(str(other / "theirs.jpg"), img=gen.photo(seed=50),
             exif={"Exif.Photo.DateTimeOriginal": "2021:03:04 05:06:07"})
    mine = tmp_path / "mine"
    mine.mkdir()
    gen.jpeg(str(mine / "own.jpg"), img=gen.photo(seed=51), exif={"Exif.Photo.DateTimeOriginal": "2021:03:04 05:06:08"})
    os.symlink(other / "theirs.jpg", mine / "link.jpg")
    job_id, _ids = import_and_resolve(app, mine)
    _export(app, job_id, outside_roots(tmp_path) / "archive")
    settings = app.extensions["mediaparser"]
    with app.app_context():
        cleanup.delete_sources(settings, job_id)
    assert (other / "theirs.jpg").is_file()  # another folder's picture, whatever the link made of it
    assert not (mine / "own.jpg").exists()


def test_a_source_whose_archive_copy_is_gone_is_not_even_listed(app, tmp_path):
    src, job_id = _dump_of_three(app, tmp_path)
    settings = app.extensions["mediaparser"]
    with app.app_context():
        gone = next(d.archived_as for d in cleanup.plan_cleanup(settings, job_id).deletable if d.path.endswith("p2.jpg"))
        os.unlink(gone)
        plan = cleanup.plan_cleanup(settings, job_id)
    assert sorted(Path(d.path).name for d in plan.deletable) == ["p0.jpg", "p1.jpg"]
    assert [Path(p).name for reason, paths in plan.kept.items() if "archive copy is missing" in reason
            for p in paths] == ["p2.jpg"]
