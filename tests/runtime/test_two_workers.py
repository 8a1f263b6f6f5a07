"""Two real `mediaparser worker` processes share one import on PostgreSQL + Redis, and one is killed.

Each worker has one analysis process. The import's 2,000 files are cut into chunks that both
workers take from the Redis queue; every chunk records the lease owner whose commit finished it
(host:pid:token), so the test can tell which worker did what. Half-way, the worker that
coordinates the job is killed with -9 (its analysis process too). The job must still complete
with every file exactly once: the dead worker's chunks are taken over and only their uncommitted
files are analysed twice, the counts add up, and duplicate grouping ran once.
"""
from __future__ import annotations

import collections

import pytest
from sqlalchemy import func, select

from mediaparser.runtime import tasks
from mediaparser.store.db import db
from mediaparser.store.models import ChunkKind, ChunkStatus, FileStatus, JobStatus, MediaFile, UngroupedFile
from mediaparser.usecases.importing import create_import_job

from tests.support.instance import (PG_URL, REDIS_URL, SERVICES_REASON, build_app, instance_env, make_images,
                                    sha256, wait_until)
from tests.support.instance import chunk_rows as _chunks, job_row as _job

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (PG_URL and REDIS_URL), reason=SERVICES_REASON)]

FILES = 2000
CHUNK = 100


def _pid(owner: str | None) -> int | None:
    return int(owner.split(":")[1]) if owner else None


def _committers(job_id: int) -> set[int]:
    return {_pid(c.committed_by) for c in _chunks(job_id) if c.status == ChunkStatus.DONE and c.kind == ChunkKind.WORK}


def test_two_workers_share_an_import_and_a_kill_9_costs_only_its_chunks(tmp_path, workers):
    env = instance_env(tmp_path, "postgres+redis", MEDIAPARSER_WORKERS="1", MEDIAPARSER_CHUNK_SIZE=str(CHUNK))
    trace = tmp_path / "trace.txt"
    wenv = {"MEDIAPARSER_TRACE_FILE": str(trace)}
    src = tmp_path / "phone"
    paths = make_images(src, FILES, size=(64, 40))
    app = build_app(env)
    with app.app_context():
        a = workers(env, tmp_path / "a.log", extra_env=wenv)
        b = workers(env, tmp_path / "b.log", extra_env=wenv)
        by_pid = {a.pid: a, b.pid: b}
        job = create_import_job(app.extensions["mediaparser"], str(src))
        tasks.submit(job)
        job_id = job.id

        # Both workers take chunks; half-way, the one coordinating the job is killed.
        wait_until(lambda: _committers(job_id) == set(by_pid), 90, "both workers to commit a chunk")
        wait_until(lambda: _job(job_id).progress_current >= FILES * 0.4, 90, "the import to get near half-way")
        victim_pid = _pid(_job(job_id).lease_owner)
        assert victim_pid in by_pid, "the job's coordinator is one of the two workers"
        victim = by_pid[victim_pid]
        survivor_pid = next(p for p in by_pid if p != victim_pid)
        victim.kill9(group=True)
        held = [c for c in _chunks(job_id) if c.status == ChunkStatus.RUNNING and _pid(c.lease_owner) == victim_pid]
        progress_at_kill = _job(job_id).progress_current
        assert held, "the killed worker was working on a chunk"
        assert progress_at_kill < FILES, "the kill must land before the end"

        wait_until(lambda: _job(job_id).status in JobStatus.FINISHED, 120, "the survivor to finish the job")
        job = _job(job_id)
        assert job.status == JobStatus.COMPLETED, job.error_message

        # Every file exactly once: one row per file, each with its own content's hash, all analysed.
        rows = db.session.execute(select(MediaFile.rel_path, MediaFile.sha256, MediaFile.status)
                                  .where(MediaFile.job_id == job_id)).all()
        db.session.commit()
        assert len(rows) == FILES
        assert {r.rel_path: r.sha256 for r in rows} == {str(p.relative_to(src)): sha256(p) for p in paths}
        assert {r.status for r in rows} == {FileStatus.DONE}
        assert job.progress_current == job.progress_total == FILES and job.error_count == 0

        chunks = _chunks(job_id)
        work = [c for c in chunks if c.kind == ChunkKind.WORK]
        final = [c for c in chunks if c.kind == ChunkKind.FINAL]
        assert len(work) == FILES // CHUNK and all(c.status == ChunkStatus.DONE for c in chunks)
        # The counts add up: each chunk's commits are counted once, the redone ones included.
        assert sum(c.done_count for c in work) == FILES and sum(c.error_count for c in work) == 0
        committed = collections.Counter(_pid(c.committed_by) for c in work)
        assert set(committed) == {victim_pid, survivor_pid}, committed  # both workers finished chunks
        # The chunks the dead worker held were finished by the survivor, on a second attempt.
        for c in (c for c in work if c.id in {h.id for h in held}):
            assert _pid(c.committed_by) == survivor_pid and c.attempts == 2
        # The grouping ran once, after every chunk, and looked at every file.
        assert len(final) == 1 and final[0].attempts == 1 and _pid(final[0].committed_by) == survivor_pid
        ungrouped = db.session.execute(select(func.count()).select_from(UngroupedFile)
                                       .join(MediaFile, MediaFile.id == UngroupedFile.file_id)
                                       .where(MediaFile.job_id == job_id)).scalar()
        db.session.commit()
        assert ungrouped == 0

        # A kill -9 costs only its chunks: every file analysed at least once, and the only files
        # analysed twice are uncommitted ones of the chunks the dead worker held.
        db.session.commit()
        ids = dict(db.session.execute(select(MediaFile.id, MediaFile.rel_path).where(MediaFile.job_id == job_id)).all())
        db.session.commit()
        counts = collections.Counter(int(line.split("\t", 1)[0]) for line in trace.read_text().splitlines() if line)
        assert set(counts) == set(ids)
        twice = [i for i, n in counts.items() if n > 1]
        assert all(any(h.first_id <= i <= h.last_id for h in held) for i in twice), "work redone outside the lost chunks"
        assert len(twice) <= len(held) * CHUNK and max(counts.values()) <= 2
        survivor_log = by_pid[survivor_pid].log()
        assert "requeued" in survivor_log  # its reaper put the dead worker's chunks back in the queue
        print(f"\nchunks committed per worker: { {('killed' if p == victim_pid else 'survivor'): n for p, n in committed.items()} }"
              f"; killed at {progress_at_kill}/{FILES} files holding chunks {[h.seq for h in held]}; "
              f"{len(twice)} files analysed twice; job attempts {job.attempts}")
