"""Chunked jobs in-process (runtime/chunks.py), on SQLite and on PostgreSQL + Redis: each chunk's
fence, the final step's single winner, a pause or cancel seen by chunks, a dead worker's chunk."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

from sqlalchemy import func, select, update

from mediaparser.runtime import chunks, lifecycle, runner
from mediaparser.store.db import db
from mediaparser.store.models import ChunkKind, ChunkStatus, FileStatus, JobChunk, JobStatus, MediaFile
from mediaparser.usecases.importing import ImportSteps, create_import_job

from tests.support.instance import chunk_rows as _chunks, job_row as _job, make_images


def _age_chunk(chunk_id: int) -> None:
    """Move a chunk's heartbeat far into the past: its worker went silent."""
    db.session.commit()
    chunk = db.session.get(JobChunk, chunk_id, populate_existing=True)
    chunk.heartbeat_at = chunk.heartbeat_at.replace(year=2000)
    db.session.commit()


def _statuses(job_id: int) -> dict[str, int]:
    db.session.commit()
    rows = dict(db.session.execute(select(MediaFile.status, func.count()).where(MediaFile.job_id == job_id)
                                   .group_by(MediaFile.status)).all())
    db.session.commit()
    return rows


def _planned(app, tmp_path, n_files: int, size: int):
    """An import job listed and cut into chunks of `size` files, its coordinator's lease held."""
    settings = replace(app.extensions["mediaparser"], chunk_size=size)
    make_images(tmp_path / "p", n_files)
    job = create_import_job(settings, str(tmp_path / "p"))
    lease = lifecycle.claim(job.id, "coordinator", settings)
    steps = ImportSteps(job.id, settings)
    assert steps.begin(runner.LeaseControl(lease, lambda: False)) is None
    planned = lifecycle.plan_chunks(lease, steps.item_ids, size)
    assert planned == -(-n_files // size)
    assert lifecycle.plan_chunks(lease, steps.item_ids, size) == planned  # planned once
    return settings, job.id, lease, steps


class CountingSteps(ImportSteps):
    ends: list[str] = []
    lock = threading.Lock()

    def end(self, control) -> None:
        with self.lock:
            CountingSteps.ends.append(threading.current_thread().name)
        super().end(control)


class OneAtATime(ImportSteps):
    """A chunk's analysis that commits after every result and hands one file to each pool task."""

    def chunk_work(self, first_id: int, last_id: int):
        work = super().chunk_work(first_id, last_id)
        work.batch_rows, work.chunk_files = 1, 1
        return work


def test_chunks_cover_every_file_once_and_the_final_chunk_comes_last(app, tmp_path):
    with app.app_context():
        _settings, job_id, _lease, _steps = _planned(app, tmp_path, 7, 3)
        rows = _chunks(job_id)
        assert [c.kind for c in rows] == [ChunkKind.WORK] * 3 + [ChunkKind.FINAL]
        assert [c.size for c in rows] == [3, 3, 1, 0]
        db.session.commit()
        ids = sorted(db.session.execute(select(MediaFile.id).where(MediaFile.job_id == job_id)).scalars())
        db.session.commit()
        covered = [i for c in rows[:-1] for i in ids if c.first_id <= i <= c.last_id]
        assert covered == ids  # every file in exactly one chunk


def test_late_chunk_commit_after_takeover_is_refused(app, tmp_path):
    with app.app_context():
        settings, job_id, _lease, _steps = _planned(app, tmp_path, 4, 2)
        first = _chunks(job_id)[0]
        lease_a = lifecycle.claim_chunk(job_id, first.id, "worker-a", settings)
        assert lease_a is not None
        assert lifecycle.claim_chunk(job_id, first.id, "worker-b", settings) is None  # held, fresh
        # Worker A goes silent past the lease (SIGSTOP); the reaper hands its chunk to the queue again.
        _age_chunk(first.id)
        queued = []
        report = lifecycle.reap_chunks(settings, lambda j, c, **_: queued.append((j, c)))
        assert report.requeued == [(job_id, first.id)] and queued == [(job_id, first.id)]
        lease_b = lifecycle.claim_chunk(job_id, first.id, "worker-b", settings)
        assert lease_b is not None
        before = _job(job_id).progress_current
        file_id = first.first_id

        def mark_done(s) -> None:
            s.execute(update(MediaFile).where(MediaFile.id == file_id).values(status=FileStatus.DONE))

        try:
            lifecycle.chunk_checkpoint(lease_a, done=1, apply=mark_done)
        except lifecycle.LeaseLost:
            pass
        else:
            raise AssertionError("a chunk's commit under a lost lease must be refused")
        assert _job(job_id).progress_current == before  # nothing of A's batch landed
        assert _statuses(job_id).get(FileStatus.DONE, 0) == 0
        assert not lifecycle.finish_chunk(lease_a, done=True)  # nor can A mark the chunk done
        assert lifecycle.chunk_checkpoint(lease_b, done=1, apply=mark_done) == JobStatus.RUNNING
        assert _job(job_id).progress_current == before + 1
        assert _statuses(job_id)[FileStatus.DONE] == 1
        assert lifecycle.finish_chunk(lease_b, done=True)
        chunk = _chunks(job_id)[0]
        assert (chunk.status, chunk.committed_by, chunk.done_count, chunk.attempts) == (
            ChunkStatus.DONE, "worker-b", 1, 2)


def test_final_step_is_claimed_once_and_only_after_every_chunk(app, tmp_path):
    with app.app_context():
        settings, job_id, _lease, _steps = _planned(app, tmp_path, 4, 2)
        work = [c for c in _chunks(job_id) if c.kind == ChunkKind.WORK]
        leases = [lifecycle.claim_chunk(job_id, c.id, f"w{c.seq}", settings) for c in work]
        assert lifecycle.finish_chunk(leases[0], done=True)
        assert lifecycle.claim_final(job_id, "early", settings) is None  # chunk 1 is not done yet
        assert lifecycle.finish_chunk(leases[1], done=True)

        # Several finishers ask at the same instant: one conditional UPDATE, one winner.
        barrier = threading.Barrier(4)
        won: list[lifecycle.ChunkLease] = []

        def finisher(n: int) -> None:
            with app.app_context():
                barrier.wait()
                lease = lifecycle.claim_final(job_id, f"finisher-{n}", settings)
                if lease is not None:
                    won.append(lease)
                db.session.remove()

        threads = [threading.Thread(target=finisher, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(won) == 1 and won[0].kind == ChunkKind.FINAL
        assert lifecycle.claim_final(job_id, "late", settings) is None
        assert lifecycle.complete_job(won[0])
        job = _job(job_id)
        assert job.status == JobStatus.COMPLETED and job.lease_owner is None and job.completed_at is not None


def test_two_workers_finishing_together_run_the_final_step_once(app, tmp_path):
    with app.app_context():
        settings, job_id, lease, _steps = _planned(app, tmp_path, 6, 3)
        lifecycle.finish(lease, "released")  # the coordinator is gone; the chunks' takers finish the job
        work = [c.id for c in _chunks(job_id) if c.kind == ChunkKind.WORK]
        CountingSteps.ends = []
        results: dict[int, str] = {}
        barrier = threading.Barrier(len(work))

        def worker(chunk_id: int) -> None:
            with app.app_context():
                barrier.wait()
                results[chunk_id] = chunks.take_chunk(job_id, chunk_id, lambda: CountingSteps(job_id, settings),
                                                      settings, lambda: False, lambda *a, **k: None)
                db.session.remove()

        threads = [threading.Thread(target=worker, args=(c,), name=f"worker-{c}") for c in work]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(CountingSteps.ends) == 1  # the grouping ran once, in one of the two
        assert sorted(results.values()) == sorted([chunks.DONE, JobStatus.COMPLETED])
        job = _job(job_id)
        assert job.status == JobStatus.COMPLETED
        assert job.progress_current == job.progress_total == 6 and job.error_count == 0
        assert _statuses(job_id) == {FileStatus.DONE: 6}
        rows = _chunks(job_id)
        assert all(c.status == ChunkStatus.DONE and c.attempts == 1 for c in rows)
        assert sum(c.done_count for c in rows) == 6


def test_pause_and_cancel_are_seen_by_chunks(app, tmp_path):
    with app.app_context():
        settings, job_id, lease, steps = _planned(app, tmp_path, 12, 6)
        work = [c for c in _chunks(job_id) if c.kind == ChunkKind.WORK]
        held = lifecycle.claim_chunk(job_id, work[0].id, "other-worker", settings)
        lifecycle.pause(job_id)
        # The chunk's next checkpoint sees the pause ...
        assert lifecycle.chunk_checkpoint(held, done=0) == JobStatus.PAUSED
        assert chunks.ChunkControl(held, lambda: False).stop_reason(JobStatus.PAUSED) == JobStatus.PAUSED
        # ... no other chunk can be taken while the job is paused ...
        assert lifecycle.claim_chunk(job_id, work[1].id, "w", settings) is None
        # ... and the coordinator lets go of the job only once no chunk is held any more.
        ended: list[str | None] = []

        def wind_down() -> None:
            with app.app_context():
                ended.append(chunks._wind_down(lease, JobStatus.PAUSED, settings, lambda: False))
                db.session.remove()

        t = threading.Thread(target=wind_down)
        t.start()
        time.sleep(1.0)
        assert not ended and _job(job_id).lease_owner == "coordinator"
        assert lifecycle.finish_chunk(held, done=False, handed_back=True)
        t.join(timeout=30)
        assert ended == [JobStatus.PAUSED]
        job = _job(job_id)
        assert job.status == JobStatus.PAUSED and job.lease_owner is None
        assert _chunks(job_id)[0].attempts == 0  # a chunk handed back on a pause used no attempt

        # A chunk running when the job is cancelled stops at its first checkpoint (here: after its first
        # result, one file per pool task), commits what finished and hands the chunk back.
        lifecycle.resume(job_id, lambda j: "t")
        lease2 = lifecycle.claim(job_id, "coordinator-2", settings)
        running = lifecycle.claim_chunk(job_id, work[1].id, "w", settings)
        lifecycle.cancel(job_id)
        assert chunks.run_chunk(running, OneAtATime(job_id, settings), settings, lambda: False,
                                lambda *a, **k: None) == JobStatus.CANCELLED
        assert lifecycle.claim_chunk(job_id, work[0].id, "w", settings) is None
        assert chunks._wind_down(lease2, JobStatus.CANCELLED, settings, lambda: False) == JobStatus.CANCELLED
        job = _job(job_id)
        counts = _statuses(job_id)
        assert job.status == JobStatus.CANCELLED and job.lease_owner is None
        assert counts.get(FileStatus.DONE, 0) == job.progress_current and sum(counts.values()) == 12
        assert 1 <= counts[FileStatus.DONE] < 6  # the cancel stopped the chunk part-way
        assert _chunks(job_id)[1].status == ChunkStatus.PENDING


def test_a_dead_workers_chunk_is_requeued_and_redone_and_fails_the_job_after_max_attempts(app, tmp_path):
    with app.app_context():
        settings, job_id, _lease, steps = _planned(app, tmp_path, 4, 2)
        first = _chunks(job_id)[0]
        dead = lifecycle.claim_chunk(job_id, first.id, "killed-worker", settings)
        assert dead is not None
        _age_chunk(first.id)
        queued = []
        lifecycle.reap_chunks(settings, lambda j, c, **_: queued.append(c))
        chunk = _chunks(job_id)[0]
        assert queued == [first.id] and chunk.status == ChunkStatus.PENDING and chunk.lease_owner is None
        assert "stopped responding" in chunk.last_error
        # Whoever takes the message redoes the chunk.
        assert chunks.take_chunk(job_id, first.id, lambda: steps, settings, lambda: False,
                                 lambda *a, **k: None) == chunks.DONE
        assert _statuses(job_id) == {FileStatus.DONE: 2, FileStatus.PENDING: 2}
        assert _job(job_id).progress_current == 2

        # The other chunk's worker dies every time: after max_attempts the job fails, with the reason.
        second = _chunks(job_id)[1]
        for n in range(settings.max_attempts):
            assert lifecycle.claim_chunk(job_id, second.id, f"doomed-{n}", settings) is not None
            _age_chunk(second.id)
            lifecycle.reap_chunks(settings, lambda j, c, **_: None)
        job = _job(job_id)
        assert job.status == JobStatus.FAILED
        assert job.error_message.startswith(f"gave up after {settings.max_attempts} attempts: the worker running "
                                            f"chunk 1 (files {second.first_id}–{second.last_id}) stopped responding")
        assert lifecycle.claim_chunk(job_id, second.id, "w", settings) is None
        # A person's resume gives every unfinished chunk its budget back.
        lifecycle.resume(job_id, lambda j: "t")
        assert _chunks(job_id)[1].attempts == 0
