"""An export cut into chunks (runtime/chunks.py): every file copied once, the manifest checked once
at the end, and a chunk removes only its own left-over temporary files (another chunk's may be
being written by another worker)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from mediaparser.runtime import lifecycle, runner, tasks
from mediaparser.store.db import db
from mediaparser.store.models import ChunkKind, ChunkStatus, ExportItem, JobChunk, JobStatus
from mediaparser.usecases import export as exporter

from tests.support.export import import_and_resolve
from tests.support.instance import build_app, instance_env, outside_roots
from tests.usecases.export.test_export_crash import _assert_archive_consistent, _dated_photos


def test_chunked_export_copies_every_file_once_and_cleans_only_its_own_temps(tmp_path):
    app = build_app(instance_env(tmp_path, MEDIAPARSER_CHUNK_SIZE="3"))
    _dated_photos(tmp_path / "src", 8)
    import_id, _ids = import_and_resolve(app, tmp_path / "src")
    out = outside_roots(tmp_path) / "archive"
    with app.app_context():
        settings = app.extensions["mediaparser"]
        job, _plan = exporter.create_export_job(settings, import_id, output=str(out))
        # The plan is stored by the job's first step: run it, then hand the job back.
        lease = lifecycle.claim(job.id, "planner", settings)
        assert exporter.ExportSteps(job.id, settings).begin(runner.LeaseControl(lease, lambda: False)) is None
        assert lifecycle.finish(lease, JobStatus.PENDING)
        items = db.session.execute(select(ExportItem.id, ExportItem.destination)
                                   .where(ExportItem.job_id == job.id).order_by(ExportItem.id)).all()
        db.session.commit()
        assert len(items) == 8
        # Left-overs of an interrupted run: one temporary file for the first item, one for the last.
        folder = out / Path(items[0].destination).parent
        folder.mkdir(parents=True)
        first_tmp = folder / f"{exporter.TEMP_PREFIX}{job.id}-{items[0].id}-dead0001.jpg"
        last_tmp = folder / f"{exporter.TEMP_PREFIX}{job.id}-{items[-1].id}-dead0002.jpg"
        for p in (first_tmp, last_tmp):
            p.write_bytes(b"half a copy")
        steps = exporter.ExportSteps(job.id, settings)
        steps.chunk_work(items[0].id, items[2].id).close()  # the first chunk's range
        assert not first_tmp.exists() and last_tmp.exists()  # the other chunk's file is not touched

        assert tasks.process_export_job.call_local(job.id) == JobStatus.COMPLETED
        chunks = db.session.execute(select(JobChunk).where(JobChunk.job_id == job.id)
                                    .order_by(JobChunk.seq)).scalars().all()
        db.session.commit()
        assert [c.kind for c in chunks] == [ChunkKind.WORK] * 3 + [ChunkKind.FINAL]
        assert all(c.status == ChunkStatus.DONE for c in chunks) and sum(c.done_count for c in chunks) == 8
        assert not last_tmp.exists()
        _assert_archive_consistent(out, job.id, 8)  # no temp file, manifest lines == database == disk
