"""regroup() at library scale: loaded in reads, grouped with no transaction
open, stored in short write batches; incremental equals from scratch; a
decision or a removal made meanwhile is respected."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sqlalchemy import delete, event, select, text, update

from mediaparser.media.similarity import HashItem, group_items
from mediaparser.store.db import db
from mediaparser.store.models import (DupGroup, DupMember, FileStatus, GroupStatus, Job, JobStatus, MediaFile,
                                      to_signed64)
from mediaparser.usecases import duplicates

from tests.support.instance import BACKENDS, build_app, instance_env

N = 1500


def _rows(n: int, seed: int = 3) -> list[dict]:
    """Random hashes; every 10th file a near copy of an earlier one, every 25th a byte-identical copy."""
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2**63, size=(n, 6), dtype=np.int64).astype(np.uint64) * 2 + rng.integers(0, 2, (n, 6)).astype(np.uint64)
    sha = [f"{i:064x}" for i in range(n)]
    for i in range(10, n, 10):
        src = int(rng.integers(0, i))
        flips = rng.choice(64, size=5, replace=False)
        mask = np.uint64(sum(1 << int(b) for b in flips))
        h[i] = h[src]
        h[i, 0] ^= mask  # pHash 5 bits off, dHash equal: similar
    for i in range(25, n, 25):
        src = int(rng.integers(0, i))
        h[i], sha[i] = h[src], sha[src]
    return [{"id": i + 1, "sha256": sha[i], "low_detail": False,
             **{c: to_signed64(int(h[i, k])) for k, c in enumerate(("phash", "dhash", "phash90", "dhash90",
                                                                    "phash180", "dhash180"))}}
            for i in range(n)]


def _insert(rows: list[dict]) -> None:
    job = Job(job_type="import", status=JobStatus.COMPLETED, options={"path": "/x"}, enumerated=True)
    db.session.add(job)
    db.session.commit()
    db.session.execute(MediaFile.__table__.insert(), [
        {**r, "job_id": job.id, "source_path": f"/x/{r['id']}.jpg", "rel_path": f"{r['id']}.jpg",
         "status": FileStatus.DONE} for r in rows])
    db.session.commit()


def ungroup_all() -> None:
    """Every file back to "not grouped yet" (as before a first grouping), its group pointers cleared."""
    db.session.execute(text("INSERT INTO ungrouped_files (file_id) SELECT id FROM media_files "
                            "WHERE NOT EXISTS (SELECT 1 FROM ungrouped_files u WHERE u.file_id = media_files.id)"))
    db.session.execute(update(MediaFile).values(group_id=None, similar_group_id=None))
    db.session.commit()


def _stored() -> set[tuple[str, int, frozenset[int]]]:
    members: dict[int, set[int]] = {}
    for gid, fid in db.session.execute(select(DupMember.group_id, DupMember.file_id)):
        members.setdefault(gid, set()).add(fid)
    out = {(k, rep, frozenset(members[gid])) for gid, k, rep in
           db.session.execute(select(DupGroup.id, DupGroup.kind, DupGroup.representative_id))}
    pointers = {(fid, g, sg) for fid, g, sg in db.session.execute(
        select(MediaFile.id, MediaFile.group_id, MediaFile.similar_group_id)
        .where((MediaFile.group_id.is_not(None)) | (MediaFile.similar_group_id.is_not(None))))}
    # Every file points at the groups it is in, and only those.
    want = Counter()
    for gid, kind in db.session.execute(select(DupGroup.id, DupGroup.kind)):
        for fid in members[gid]:
            want[(fid, kind)] = gid
    assert {(fid, want.get((fid, "exact")), want.get((fid, "similar"))) for fid, _k in want} == pointers
    db.session.commit()
    return out


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(duplicates, "_LOAD_ROWS", 400)
    monkeypatch.setattr(duplicates, "_GROUPS_PER_WRITE", 15)
    monkeypatch.setattr(duplicates, "_IDS_PER_STATEMENT", 100)


@pytest.mark.parametrize("backend", BACKENDS)
def test_incremental_regrouping_stores_what_grouping_from_scratch_stores(tmp_path, backend, small_batches):
    rows = _rows(N)
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        for a, b in ((0, 600), (600, 1100), (1100, N)):  # three imports, each grouped when it ends
            _insert(rows[a:b])
            report = duplicates.regroup()
            assert report.new_files == b - a and report.library_files == a
        incremental = _stored()
        # The same library grouped in one go.
        db.session.execute(delete(DupMember))
        db.session.execute(delete(DupGroup))
        ungroup_all()
        duplicates.regroup()
        assert _stored() == incremental
    items = [HashItem(r["id"], r["sha256"], r["phash"] % 2**64, r["dhash"] % 2**64, False,
                      (r["phash90"] % 2**64, r["dhash90"] % 2**64), (r["phash180"] % 2**64, r["dhash180"] % 2**64))
             for r in rows]
    expected = {(g.kind, g.representative, frozenset(g.ids)) for g in group_items(items).groups}
    assert incremental == expected and len(expected) > 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_regrouping_writes_in_short_batches_and_respects_changes_made_meanwhile(tmp_path, backend, small_batches,
                                                                                monkeypatch):
    rows = _rows(N)
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1000])
        duplicates.regroup()
        # A person decided a similar group; the next import brings it a new copy.
        target = db.session.execute(select(DupGroup).where(DupGroup.kind == "similar").order_by(DupGroup.id)).scalars().first()
        rep_row = next(r for r in rows if r["id"] == target.representative_id)
        kept = sorted(db.session.execute(select(DupMember.file_id).where(DupMember.group_id == target.id)).scalars())
        db.session.execute(update(DupMember).where(DupMember.group_id == target.id).values(decision="keep"))
        db.session.execute(update(DupGroup).where(DupGroup.id == target.id).values(status=GroupStatus.RESOLVED))
        db.session.commit()
        copy = {**rep_row, "id": 2001, "sha256": "f" * 64, "phash": to_signed64((rep_row["phash"] % 2**64) ^ 0b111)}
        twin = {**rep_row, "id": 2002, "sha256": "e" * 64}  # removed while the grouping runs
        _insert([*rows[1000:], copy, twin])

        engine = db.engine
        txs: list[dict] = []
        state: dict[int, dict] = {}
        during: dict[str, object] = {}

        @event.listens_for(engine, "begin")
        def _begin(conn):
            if not during.get("other"):  # the test's own write meanwhile is not the regroup's
                state[id(conn)] = {"writes": 0, "statements": 0}

        @event.listens_for(engine, "before_cursor_execute")
        def _exec(conn, cursor, statement, params, context, executemany):
            st = state.get(id(conn))
            if st is not None:
                st["statements"] += 1
                if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                    st["writes"] += 1 + (len(params) - 1 if executemany else 0)

        def _end(conn):
            st = state.pop(id(conn), None)
            if st and st["writes"]:
                txs.append(st)

        event.listen(engine, "commit", _end)
        event.listen(engine, "rollback", _end)
        real = duplicates.update_grouping

        def grouping_meanwhile(*args, **kwargs):
            # No transaction is open while grouping: another writer gets the lock at once.
            during["open"] = db.session().in_transaction()
            during["other"] = True
            other = db.engine.connect()
            if db.engine.dialect.name == "sqlite":
                other.exec_driver_sql("PRAGMA busy_timeout = 0")  # fail at once if anyone held the lock
                other.commit()
            with other.begin():
                other.execute(delete(MediaFile).where(MediaFile.id == 2002))
            other.close()
            during["other"] = False
            return real(*args, **kwargs)

        monkeypatch.setattr(duplicates, "update_grouping", grouping_meanwhile)
        try:
            report = duplicates.regroup()
        finally:
            event.remove(engine, "begin", _begin)
            event.remove(engine, "before_cursor_execute", _exec)
            event.remove(engine, "commit", _end)
            event.remove(engine, "rollback", _end)
        assert during["open"] is False
        # Many small write transactions, none of them the whole result.
        total_groups = report.created + report.changed + report.removed
        # (Groups in batches of 15; the new files' marks and packed hashes in one more, per hash block.)
        assert report.write_batches == len(txs) and len(txs) >= total_groups // 15 + 1
        # Each bounded by its batch (15 groups: a few statements each), none near the whole.
        assert max(t["statements"] for t in txs) <= 4 * 15
        assert max(t["writes"] for t in txs) < sum(t["writes"] for t in txs) / 3
        group = db.session.get(DupGroup, target.id, populate_existing=True)
        members = set(db.session.execute(select(DupMember.file_id).where(DupMember.group_id == target.id)).scalars())
        assert 2001 in members and 2002 not in members and set(kept) <= members
        assert group.status == GroupStatus.OPEN  # a new copy needs a decision
        decisions = dict(db.session.execute(select(DupMember.file_id, DupMember.decision)
                                            .where(DupMember.group_id == target.id)).all())
        assert all(decisions[f] == "keep" for f in kept) and decisions[2001] is None
        assert db.session.execute(text("SELECT count(*) FROM ungrouped_files")).scalar() == 0
        db.session.commit()
