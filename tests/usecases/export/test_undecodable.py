"""Issue 10 item 5: a file whose pixels cannot be decoded but whose bytes were read and
dated is imported with a warning, grouped by its hash and archived byte for byte, its
capture time in an XMP sidecar; only unreadable bytes fail."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from mediaparser.media.analyze import NO_PREVIEW
from mediaparser.media.embed import read_embedded
from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import (DupMember, ExportItem, ExportItemStatus, FileStatus, JobStatus,
                                      MediaFile)
from mediaparser.usecases import export as exporter
from mediaparser.usecases import jobs as job_service
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.export import digest, tree_digest
from tests.support.instance import outside_roots


def _truncated_jpeg(path: Path) -> Path:
    gen.jpeg(str(path), img=gen.photo(640, 480, seed=5), exif={"Exif.Photo.DateTimeOriginal": "2019:08:12 14:30:25"})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


def test_undecodable_files_are_imported_with_a_warning_grouped_and_archived_byte_for_byte(app, tmp_path):
    src = tmp_path / "dump"
    src.mkdir()
    cut = _truncated_jpeg(src / "IMG_0001.jpg")
    (src / "copy of IMG_0001.jpg").write_bytes(cut.read_bytes())  # an exact copy of the damaged file
    heif = Path(gen.broken_heic(str(src / "IMG_0002.heic"), dto="2018:05:06 07:08:09"))
    (src / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 40)  # a magic number and nothing else
    good = Path(gen.jpeg(str(src / "IMG_0003.jpg"), exif={"Exif.Photo.DateTimeOriginal": "2020:01:02 03:04:05"}))
    before = digest([cut, heif, good])

    with app.app_context():
        settings = app.extensions["mediaparser"]
        job = create_import_job(settings, str(src))
        assert tasks.process_import_job.call_local(job.id) == JobStatus.COMPLETED
        rows = {r.rel_path: r for r in db.session.execute(
            select(MediaFile).where(MediaFile.job_id == job.id)).scalars()}
        for name in ("IMG_0001.jpg", "copy of IMG_0001.jpg", "IMG_0002.heic"):
            r = rows[name]
            assert r.status == FileStatus.DONE and r.error is None, (name, r.error)
            assert any(w.startswith(NO_PREVIEW) for w in r.warnings), (name, r.warnings)
            assert r.thumbnail is None and r.captured_at is not None
        assert rows["junk.jpg"].status == FileStatus.FAILED
        # The two damaged copies are one exact group, by their hash.
        assert rows["IMG_0001.jpg"].group_id is not None
        assert rows["IMG_0001.jpg"].group_id == rows["copy of IMG_0001.jpg"].group_id
        # The job's summary counts them.
        summary = job_service.job_summary(job_service.get_job(job.id), with_errors=True)
        assert summary["error_count"] == 1
        assert summary["no_preview_count"] == 3 and summary["warning_count"] >= 3
        # Keep the first copy of the damaged pair.
        from mediaparser.usecases.duplicates import resolve_group
        resolve_group(rows["IMG_0001.jpg"].group_id, [rows["IMG_0001.jpg"].id], timezone="UTC")
        assert db.session.execute(select(DupMember.decision).where(
            DupMember.file_id == rows["copy of IMG_0001.jpg"].id)).scalar_one() == "discard"

        out = outside_roots(tmp_path) / "archive"
        export_job, _plan = exporter.create_export_job(settings, job.id, output=str(out))
        assert tasks.process_export_job.call_local(export_job.id) == JobStatus.COMPLETED
        items = {i.file_id: i for i in db.session.execute(
            select(ExportItem).where(ExportItem.job_id == export_job.id)).scalars()}
        assert items[rows["junk.jpg"].id].status == ExportItemStatus.SKIPPED
        for name in ("IMG_0001.jpg", "IMG_0002.heic"):
            assert items[rows[name].id].status == ExportItemStatus.DONE, items[rows[name].id].reason
        db.session.commit()

    tree = tree_digest(out)
    assert {"2019/20190812_143025.jpg", "2019/20190812_143025.jpg.xmp", "2018/20180506_070809.heic",
            "2018/20180506_070809.heic.xmp", "2020/20200102_030405.jpg"} <= set(tree)
    # Byte for byte the damaged originals (verified by hash); the time is in the sidecar.
    assert tree["2019/20190812_143025.jpg"] == before[str(cut)]
    assert tree["2018/20180506_070809.heic"] == before[str(heif)]
    side = read_embedded((out / "2019/20190812_143025.jpg.xmp").read_bytes())
    assert side.tags["Xmp.exif.DateTimeOriginal"] == "2019-08-12T14:30:25"
    # A decodable JPEG still gets the time written into the copy itself.
    assert read_embedded(str(out / "2020/20200102_030405.jpg")).tags["Exif.Photo.DateTimeOriginal"] \
        == "2020:01:02 03:04:05"
    assert digest([cut, heif, good]) == before  # originals untouched

    lines = {json.loads(x)["destination"]: json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()}
    cut_line = lines["2019/20190812_143025.jpg"]
    assert cut_line["final_sha256"] == cut_line["sha256"] == before[str(cut)]
    assert cut_line["metadata"] == "sidecar" and "could not be decoded" in cut_line["note"]
    assert lines["2020/20200102_030405.jpg"]["metadata"] == "in the copy"
    assert lines["2020/20200102_030405.jpg"]["note"] is None


# A file whose bytes cannot be read (gone between listing and analysis) still fails:
# tests/usecases/test_bad_input.py ("disappeared") and tests/media/test_analyze.py.
