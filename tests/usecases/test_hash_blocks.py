"""The grouped files' packed hashes (library.hash_blocks): what a regrouping reads instead of a
million rows must always be what media_files holds, whoever changed a file meanwhile."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, select, text, update

from mediaparser.library import hash_blocks
from mediaparser.store.db import db
from mediaparser.store.models import DupGroup, DupMember, HashBlock, MediaFile, to_signed64
from mediaparser.usecases import duplicates

from tests.support.instance import BACKENDS, build_app, instance_env
from tests.usecases.test_regroup_batches import _insert, _rows, _stored

SPREAD = 37  # file ids 37 apart: 1,500 files over 7 blocks


def _spread(rows: list[dict]) -> list[dict]:
    return [{**r, "id": r["id"] * SPREAD} for r in rows]


def _blocks_match_files() -> int:
    """Every block with data holds exactly its grouped, groupable files' columns as media_files has
    them now; how many blocks have data."""
    n = 0
    for block, data in db.session.execute(select(HashBlock.block, HashBlock.data).where(HashBlock.data.is_not(None))):
        lo, hi = block * hash_blocks.BLOCK, (block + 1) * hash_blocks.BLOCK
        want = hash_blocks.fetch_array(duplicates._rows(MediaFile.grouped, MediaFile.id >= lo, MediaFile.id < hi))
        got = np.frombuffer(data, np.int64).reshape(-1, hash_blocks.WIDTH)
        assert np.array_equal(got, want), f"block {block} differs from media_files"
        n += 1
    db.session.commit()
    return n


def _from_scratch() -> set:
    db.session.execute(delete(DupMember))
    db.session.execute(delete(DupGroup))
    db.session.execute(update(MediaFile).values(grouped=False, group_id=None, similar_group_id=None))
    db.session.commit()
    duplicates.regroup()
    return _stored()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_regrouping_reads_the_library_from_blocks_that_match_the_files(tmp_path, backend):
    rows = _spread(_rows(1500))
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1000])
        first = duplicates.regroup()
        assert first.new_files == 1000 and first.library_read_from_files == 0
        assert _blocks_match_files() == 1000 * SPREAD // hash_blocks.BLOCK + 1
        _insert(rows[1000:])
        second = duplicates.regroup()
        # The whole library came from its blocks, none of it read row by row.
        assert second.library_files == 1000 and second.library_read_from_files == 0
        assert _blocks_match_files() == 1500 * SPREAD // hash_blocks.BLOCK + 1
        incremental = _stored()
        assert _from_scratch() == incremental


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_grouped_file_that_changes_or_goes_drops_its_block_and_only_its_block(tmp_path, backend):
    rows = _spread(_rows(1500))
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1200])
        duplicates.regroup()
        blocks = set(db.session.execute(select(HashBlock.block)).scalars())
        changed, gone = rows[100]["id"], rows[900]["id"]
        assert changed // hash_blocks.BLOCK != gone // hash_blocks.BLOCK
        # Another writer (re-analysis) changes one grouped file's pHash, a clean-up deletes another.
        db.session.execute(update(MediaFile).where(MediaFile.id == changed).values(phash=to_signed64(12345)))
        db.session.execute(delete(MediaFile).where(MediaFile.id == gone))
        # A file not grouped yet changing does not touch any block.
        _insert(rows[1200:])
        db.session.execute(update(MediaFile).where(MediaFile.id == rows[1300]["id"]).values(phash=to_signed64(99)))
        db.session.commit()
        left = set(db.session.execute(select(HashBlock.block)).scalars())
        assert left == blocks - {changed // hash_blocks.BLOCK, gone // hash_blocks.BLOCK}
        report = duplicates.regroup()
        # The two dropped blocks were read from media_files (and written again); nothing else was.
        per_block = {b: sum(1 for r in rows[:1200] if r["id"] // hash_blocks.BLOCK == b and r["id"] != gone)
                     for b in blocks - left}
        assert report.library_read_from_files == sum(per_block.values())
        assert _blocks_match_files() == len(blocks | {r["id"] // hash_blocks.BLOCK for r in rows})
        incremental = _stored()
        assert _from_scratch() == incremental


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_change_made_while_grouping_never_ends_up_in_a_block(tmp_path, backend, monkeypatch):
    rows = _spread(_rows(1500))
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1000])
        duplicates.regroup()
        _insert(rows[1000:])
        # Same block as some of the new files: the regrouping writes that block back.
        victim = max((r for r in rows[:1000] if r["id"] // hash_blocks.BLOCK == rows[1000]["id"] // hash_blocks.BLOCK),
                     key=lambda r: r["id"])
        real = duplicates.update_grouping

        def meanwhile(*args, **kwargs):
            other = db.engine.connect()
            with other.begin():
                other.execute(update(MediaFile).where(MediaFile.id == victim["id"]).values(dhash=to_signed64(7)))
            other.close()
            return real(*args, **kwargs)

        monkeypatch.setattr(duplicates, "update_grouping", meanwhile)
        duplicates.regroup()
        # The block was dropped by the change and not written back from the stale copy.
        assert db.session.get(HashBlock, victim["id"] // hash_blocks.BLOCK) is None
        assert _blocks_match_files() >= 1
        monkeypatch.undo()
        _insert([{**rows[0], "id": 1500 * SPREAD + 1, "sha256": "d" * 64}])
        report = duplicates.regroup()
        assert report.library_read_from_files > 0
        _blocks_match_files()


def test_the_files_to_group_are_found_through_their_own_index(tmp_path):
    app = build_app(instance_env(tmp_path, "sqlite"))
    with app.app_context():
        stmt = duplicates._rows(duplicates._UNGROUPED, MediaFile.id > 0).limit(10)
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r) for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)).all())
        assert "ix_media_files_ungrouped" in plan, plan


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_regrouping_stopped_half_way_through_a_block_leaves_it_to_be_read_again(tmp_path, backend, monkeypatch):
    rows = _spread(_rows(1500))
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1000])
        duplicates.regroup()
        _insert(rows[1000:])
        block = rows[1000]["id"] // hash_blocks.BLOCK
        assert db.session.get(HashBlock, block).data  # the block holds library files already
        db.session.commit()
        monkeypatch.setattr(hash_blocks, "MARKS_PER_WRITE", 50)

        def killed(*args, **kwargs):
            raise RuntimeError("the worker died here")

        monkeypatch.setattr(hash_blocks, "_write_block", killed)
        with pytest.raises(RuntimeError):
            duplicates.regroup()
        monkeypatch.undo()
        in_block = [r["id"] for r in rows[1000:] if r["id"] // hash_blocks.BLOCK == block]
        marked = db.session.execute(select(MediaFile.id).where(MediaFile.id.in_(in_block), MediaFile.grouped)).scalars().all()
        assert 0 < len(marked) < len(in_block)  # stopped between two of the block's marking batches
        row = db.session.get(HashBlock, block)
        assert row is None or row.data is None  # not trusted any more: it lacks the files marked since
        db.session.commit()
        report = duplicates.regroup()
        assert report.library_read_from_files > 0 and report.new_files == 500 - len(marked)
        _blocks_match_files()
        incremental = _stored()
        assert _from_scratch() == incremental
