"""The archive and the sources never stand for each other.

Each test builds the situation a careless sequence of ordinary steps leads to
(an archive that overlaps the sources, a copy of the archive imported again, a
source edited after its export, a hard link, a link swapped in) and proves
that the clean-up keeps the picture, the export does not archive it twice and
the duplicate review does not recommend the archive's file over an original.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import select, update

from mediaparser.store.db import db
from mediaparser.runtime import tasks
from mediaparser.store.models import DupMember, JobStatus, ManifestEntry, MediaFile
from mediaparser.usecases import cleanup, export as exporter
from mediaparser.usecases.duplicates import review_group
from mediaparser.usecases.importing import create_import_job
from mediaparser.library.in_archive import ALREADY_IN_ARCHIVE

from tests.support import media as gen
from tests.support.export import import_and_resolve
from tests.support.instance import outside_roots, sha256


def _export(app, import_job_id: int, out: Path) -> int:
    with app.app_context():
        job, _ = exporter.create_export_job(app.extensions["mediaparser"], import_job_id, output=str(out))
        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def _organised(folder: Path, n: int = 2) -> list[Path]:
    """A folder already laid out like an archive: 2020/20200102_03040N.jpg with matching capture times."""
    (folder / "2020").mkdir(parents=True)
    return [Path(gen.jpeg(str(folder / "2020" / f"20200102_03040{i}.jpg"), img=gen.photo(seed=20 + i),
                          exif={"Exif.Photo.DateTimeOriginal": f"2020:01:02 03:04:0{i}"})) for i in range(n)]


def _import(app, folder: Path, *, check_roots: bool = True) -> int:
    with app.app_context():
        job = create_import_job(app.extensions["mediaparser"], str(folder), check_roots=check_roots)
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        return job.id


def _rows(app, job_id: int) -> dict[str, MediaFile]:
    with app.app_context():
        rows = {r.rel_path: r for r in db.session.execute(select(MediaFile).where(MediaFile.job_id == job_id)).scalars()}
        db.session.expunge_all()
        db.session.commit()
        return rows


def _skipped(app, job_id: int) -> dict:
    from mediaparser.store.models import Job

    with app.app_context():
        skipped = dict(db.session.get(Job, job_id).skipped or {})
        db.session.commit()
        return skipped


def test_an_archive_that_is_the_source_folder_itself_never_loses_a_file(app, tmp_path):
    """Repro A, as an older install could have it: the manifest points at the very files imported."""
    src = tmp_path / "organised"
    files = _organised(src)
    before = {p: sha256(p) for p in files}
    job = _import(app, src)
    _export(app, job, outside_roots(tmp_path) / "archive")
    with app.app_context():
        # The overlap the output rule now refuses: each entry's archive copy is the source itself.
        db.session.execute(update(ManifestEntry).values(output_root=str(src), final_sha256=ManifestEntry.sha256))
        db.session.commit()
        settings = app.extensions["mediaparser"]
        plan = cleanup.plan_cleanup(settings, job)
        assert plan.deletable == []
        assert sorted(plan.kept[cleanup.KEEP_IN_ARCHIVE]) == sorted(str(p) for p in files)
        assert cleanup.delete_sources(settings, job).deleted == []
    assert {p: sha256(p) for p in files} == before


def test_a_hard_linked_archive_copy_is_the_same_file_and_deletes_nothing(app, tmp_path):
    src = tmp_path / "a"
    src.mkdir()
    photo = Path(gen.jpeg(str(src / "IMG_1.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2021:03:04 05:06:07"}))
    digest = sha256(photo)
    job = _import(app, src)
    out = outside_roots(tmp_path) / "archive"
    _export(app, job, out)
    copy = out / "2021" / "20210304_050607.jpg"
    # Same bytes, same file: a hard link to the source where the copy was (the manifest agrees on the hash).
    copy.unlink()
    os.link(photo, copy)
    with app.app_context():
        db.session.execute(update(ManifestEntry).values(final_sha256=digest))
        db.session.commit()
        settings = app.extensions["mediaparser"]
        plan = cleanup.plan_cleanup(settings, job)
        assert plan.deletable == [] and plan.kept[cleanup.KEEP_SAME_FILE] == [str(photo)]
        assert cleanup.delete_sources(settings, job).deleted == []
    assert sha256(photo) == digest


def test_a_source_edited_after_its_export_with_size_and_time_restored_is_kept(app, tmp_path):
    src = tmp_path / "a"
    src.mkdir()
    photo = Path(gen.jpeg(str(src / "IMG_1.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2021:03:04 05:06:07"}))
    job = _import(app, src)
    _export(app, job, outside_roots(tmp_path) / "archive")
    st = photo.stat()
    data = bytearray(photo.read_bytes())
    data[-10] ^= 0xFF  # an edit that keeps the size
    photo.write_bytes(bytes(data))
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and the modification time
    with app.app_context():
        settings = app.extensions["mediaparser"]
        assert [d.path for d in cleanup.plan_cleanup(settings, job).deletable] == [str(photo)]
        result = cleanup.delete_sources(settings, job)
        assert result.deleted == [] and "no longer matches the analysed SHA-256" in result.refused[str(photo)]
    assert photo.read_bytes() == bytes(data)


def test_a_source_swapped_for_a_link_between_plan_and_delete_is_kept(app, tmp_path):
    src = tmp_path / "a"
    src.mkdir()
    photo = Path(gen.jpeg(str(src / "IMG_1.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2021:03:04 05:06:07"}))
    job = _import(app, src)
    out = outside_roots(tmp_path) / "archive"
    _export(app, job, out)
    elsewhere = src / "sub" / "moved.jpg"  # still inside the import's folder: only the link rule can catch it
    elsewhere.parent.mkdir()
    shutil.move(photo, elsewhere)
    photo.symlink_to(elsewhere)
    with app.app_context():
        settings = app.extensions["mediaparser"]
        plan = cleanup.plan_cleanup(settings, job)
        assert plan.deletable == [] and plan.kept[cleanup.KEEP_NOT_REGULAR] == [str(photo)]
    assert elsewhere.is_file() and photo.is_symlink()


def test_the_archive_imported_again_is_recognised_and_never_a_source(app, tmp_path):
    """Repro B: the archive (or a copy of it) comes back in through an import."""
    src = tmp_path / "a"
    src.mkdir()
    originals = [Path(gen.jpeg(str(src / f"IMG_{i}.jpg"), img=gen.photo(seed=40 + i),
                               exif={"Exif.Photo.DateTimeOriginal": f"2022:02:0{i + 1} 10:00:00"}))
                 for i in range(3)]
    job_a, _ = import_and_resolve(app, src)
    out = outside_roots(tmp_path) / "archive"
    _export(app, job_a, out)
    archive_before = {p.name: sha256(p) for p in out.rglob("*.jpg")}
    assert len(archive_before) == 3

    # 1. The archive folder itself, from the shell: every file is "already in the archive", none becomes a row.
    job_arch = _import(app, out, check_roots=False)
    assert _rows(app, job_arch) == {}
    assert _skipped(app, job_arch)[ALREADY_IN_ARCHIVE]["count"] == 3

    # 2. A copy of the whole archive put back among the photos: its manifest.jsonl says what it is.
    shutil.copytree(out, tmp_path / "backup of the archive")
    job_copy = _import(app, tmp_path / "backup of the archive")
    assert _rows(app, job_copy) == {}
    assert _skipped(app, job_copy)[ALREADY_IN_ARCHIVE]["count"] == 3

    # 3. One archive file copied loose, without its manifest: its bytes are an export's (date and tags written).
    loose = tmp_path / "loose"
    loose.mkdir()
    one = next(out.rglob("*.jpg"))
    shutil.copy(one, loose / "sent back by grandma.jpg")
    job_loose = _import(app, loose)
    rows = _rows(app, job_loose)
    assert list(rows) == ["sent back by grandma.jpg"]
    settings = app.extensions["mediaparser"]
    with app.app_context():
        plan = exporter.build_plan(settings, job_loose, output=str(out))
        assert [(f.action, f.reason) for f in plan.files] == [("skip", exporter.SKIP_IN_ARCHIVE)]
        kept = cleanup.plan_cleanup(settings, job_loose).kept
        assert kept[cleanup.KEEP_IN_ARCHIVE] == [str(loose / "sent back by grandma.jpg")]
        # In a duplicate group with its original, the original is recommended, never the archive's copy.
        fid = rows["sent back by grandma.jpg"].id
        gids = db.session.execute(select(DupMember.group_id).where(DupMember.file_id == fid)).scalars().all()
        db.session.commit()
        assert gids, "the loose archive copy is grouped with its original"
        for gid in gids:
            view = review_group(gid)
            keeper = view["keeper"]
            assert keeper is not None and keeper != fid
            mine = next(m for m in view["members"] if m["file_id"] == fid)
            assert not mine["recommended_keeper"]
        assert cleanup.delete_sources(settings, job_loose).deleted == []
    assert {p.name: sha256(p) for p in out.rglob("*.jpg")} == archive_before
    assert all(p.is_file() for p in originals)
