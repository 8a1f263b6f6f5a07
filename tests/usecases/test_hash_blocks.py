"""The grouped files' packed hashes (library.hash_blocks): what a regrouping reads instead of a
million rows must always be what media_files holds, whoever changed a file meanwhile."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, func, select, text, update

from mediaparser.library import hash_blocks
from mediaparser.store.db import db
from mediaparser.store.models import DupGroup, DupMember, HashBlock, MediaFile, UngroupedFile, to_signed64
from mediaparser.usecases import duplicates

from tests.support.instance import BACKENDS, build_app, instance_env
from tests.usecases.test_regroup_batches import _insert, _rows, _stored, ungroup_all

SPREAD = 37  # file ids 37 apart: 1,500 files over 7 blocks


def _spread(rows: list[dict]) -> list[dict]:
    return [{**r, "id": r["id"] * SPREAD} for r in rows]


def _blocks_match_files() -> int:
    """Every block with data holds exactly its grouped, groupable files' columns as media_files has
    them now; how many blocks have data."""
    n = 0
    for block, data in db.session.execute(select(HashBlock.block, HashBlock.data).where(HashBlock.data.is_not(None))):
        lo, hi = block * hash_blocks.BLOCK, (block + 1) * hash_blocks.BLOCK
        want = hash_blocks.fetch_array(duplicates._rows(hash_blocks.grouped(), MediaFile.id >= lo, MediaFile.id < hi))
        got = np.frombuffer(data, np.int64).reshape(-1, hash_blocks.WIDTH)
        assert np.array_equal(got, want), f"block {block} differs from media_files"
        n += 1
    db.session.commit()
    return n


def _from_scratch() -> set:
    db.session.execute(delete(DupMember))
    db.session.execute(delete(DupGroup))
    ungroup_all()
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
@pytest.mark.parametrize("victim_is", ["grouped", "new", "new, deleted"])
def test_a_change_made_while_grouping_never_ends_up_in_a_block(tmp_path, backend, victim_is, monkeypatch):
    rows = _spread(_rows(1500))
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1000])
        duplicates.regroup()
        _insert(rows[1000:])
        # Same block as some of the new files: the regrouping writes that block back.
        block = rows[1000]["id"] // hash_blocks.BLOCK
        pool = rows[:1000] if victim_is == "grouped" else rows[1000:]
        victim = max((r for r in pool if r["id"] // hash_blocks.BLOCK == block), key=lambda r: r["id"])
        real = duplicates.update_grouping

        def meanwhile(*args, **kwargs):
            other = db.engine.connect()
            with other.begin():
                if victim_is == "new, deleted":
                    other.execute(delete(MediaFile).where(MediaFile.id == victim["id"]))
                else:
                    other.execute(update(MediaFile).where(MediaFile.id == victim["id"]).values(dhash=to_signed64(7)))
            other.close()
            return real(*args, **kwargs)

        monkeypatch.setattr(duplicates, "update_grouping", meanwhile)
        duplicates.regroup()
        # The block was dropped by the change and not written back from the stale copy.
        assert db.session.get(HashBlock, block) is None
        # The other blocks were written, or kept, and none is left stamped.
        assert _blocks_match_files() == len({r["id"] // hash_blocks.BLOCK for r in rows}) - 1
        assert db.session.execute(select(func.count()).where(HashBlock.token.is_not(None))).scalar() == 0
        db.session.commit()
        monkeypatch.undo()
        _insert([{**rows[0], "id": 1500 * SPREAD + 1, "sha256": "d" * 64}])
        report = duplicates.regroup()
        assert report.library_read_from_files > 0
        _blocks_match_files()


def test_the_files_to_group_are_read_from_their_own_table_not_by_scanning_the_library(tmp_path):
    app = build_app(instance_env(tmp_path, "sqlite"))
    with app.app_context():
        def plan(stmt) -> str:
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            return " | ".join(r[-1] for r in db.session.execute(text("EXPLAIN QUERY PLAN " + sql)).all())

        # The files still to group: a range of ungrouped_files' key, each file looked up by its id.
        new = plan(hash_blocks._ungrouped(duplicates._rows, 0, 10, 10**9))
        assert "SEARCH ungrouped_files USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in new, new
        assert "SEARCH media_files USING INTEGER PRIMARY KEY (rowid=?)" in new and "SCAN" not in new, new
        assert "TEMP B-TREE" not in new, new  # already in order, nothing sorted
        # A block read from media_files: its range of ids, each tested against ungrouped_files' key.
        block = plan(duplicates._rows(hash_blocks.grouped(), MediaFile.id >= 0, MediaFile.id < hash_blocks.BLOCK))
        assert "SEARCH media_files USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in block, block
        assert "SEARCH ungrouped_files USING INTEGER PRIMARY KEY (rowid=?)" in block and "SCAN" not in block, block


@pytest.mark.parametrize("backend", BACKENDS)
def test_new_files_leave_their_block_alone_and_a_file_grouped_again_drops_it(tmp_path, backend):
    rows = _spread(_rows(1500))
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1000])
        duplicates.regroup()
        shared = rows[1000]["id"] // hash_blocks.BLOCK
        assert shared == rows[999]["id"] // hash_blocks.BLOCK  # the new files start in a block with data
        _insert(rows[1000:])  # new ids, after every id the block holds: its data stays valid
        assert db.session.get(HashBlock, shared).data is not None
        db.session.commit()
        assert set(db.session.execute(select(UngroupedFile.file_id)).scalars()) == {r["id"] for r in rows[1000:]}
        db.session.commit()
        # A grouped file that has to be grouped again (its row back in ungrouped_files) drops its block.
        again = rows[500]["id"]
        db.session.add(UngroupedFile(file_id=again))
        db.session.commit()
        assert db.session.get(HashBlock, again // hash_blocks.BLOCK) is None
        db.session.commit()
        report = duplicates.regroup()
        assert report.new_files == 501
        _blocks_match_files()
        assert db.session.execute(select(func.count()).select_from(UngroupedFile)).scalar() == 0
        db.session.commit()
        incremental = _stored()
        assert _from_scratch() == incremental


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_regrouping_stopped_between_two_blocks_leaves_the_rest_to_the_next_one(tmp_path, backend, monkeypatch):
    rows = _spread(_rows(1500))
    app = build_app(instance_env(tmp_path, backend))
    with app.app_context():
        _insert(rows[:1000])
        duplicates.regroup()
        _insert(rows[1000:])
        new_blocks = sorted({r["id"] // hash_blocks.BLOCK for r in rows[1000:]})
        assert len(new_blocks) >= 3
        real, calls = hash_blocks._write_block, []

        def killed(*args, **kwargs):
            calls.append(args[1])
            if len(calls) == 2:
                raise RuntimeError("the worker died here")
            return real(*args, **kwargs)

        monkeypatch.setattr(hash_blocks, "_write_block", killed)
        with pytest.raises(RuntimeError):
            duplicates.regroup()
        monkeypatch.undo()
        # The first block's files are grouped and it is written; the second block's marking was
        # rolled back with its write, so its files and every later block's are still to group.
        done = [r["id"] for r in rows[1000:] if r["id"] // hash_blocks.BLOCK == new_blocks[0]]
        left = set(db.session.execute(select(UngroupedFile.file_id)).scalars())
        assert left == {r["id"] for r in rows[1000:]} - set(done)
        assert _blocks_match_files() >= 1
        db.session.commit()
        report = duplicates.regroup()
        assert report.new_files == len(left)
        assert _blocks_match_files() == len({r["id"] // hash_blocks.BLOCK for r in rows})
        incremental = _stored()
        assert _from_scratch() == incremental


def test_0016_moves_the_grouped_flag_into_its_own_table(tmp_path, env):
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from mediaparser.config import Settings
    from mediaparser.store.migrate import alembic_config, head_revision, upgrade

    s = Settings.load(environ=env)
    assert upgrade(s, "0015") == "0015"
    engine = create_engine(s.database_url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO jobs (id, job_type, status, options, progress_total, progress_current, "
                           "error_count, skipped_count, skipped, enumerated, created_at, updated_at, run_seconds, "
                           "run_progress_start, attempts, max_attempts) VALUES (1, 'import', 'COMPLETED', '{}', "
                           "0, 0, 0, 0, '{}', true, '2020-01-01', '2020-01-01', 0, 0, 0, 3)"))
            for i, grouped in ((1, True), (2, False), (3, True), (4, False)):
                c.execute(text("INSERT INTO media_files (id, job_id, source_path, rel_path, status, grouped, kind) "
                               "VALUES (:i, 1, :p, :p, 'DONE', :g, 'image')"), {"i": i, "p": f"/a/{i}.jpg", "g": grouped})
            c.execute(text("INSERT INTO hash_blocks (block, files, data) VALUES (0, 2, :d)"), {"d": b"x" * 128})
        assert upgrade(s) == head_revision()
        insp = inspect(engine)
        assert "grouped" not in {c["name"] for c in insp.get_columns("media_files")}
        assert "ix_media_files_ungrouped" not in {i["name"] for i in insp.get_indexes("media_files")}
        with engine.begin() as c:
            assert c.execute(text("SELECT file_id FROM ungrouped_files ORDER BY file_id")).scalars().all() == [2, 4]
            assert c.execute(text("SELECT count(*) FROM hash_blocks")).scalar() == 0  # read again once
            changes = c.execute(text("SELECT count(*) FROM file_count_changes")).scalar()
            # A file inserted afterwards is ungrouped, and 0012's counting triggers still count it.
            c.execute(text("INSERT INTO media_files (id, job_id, source_path, rel_path, status, kind) "
                           "VALUES (5, 1, '/a/5.jpg', '5.jpg', 'DONE', 'image')"))
            assert c.execute(text("SELECT file_id FROM ungrouped_files ORDER BY file_id")).scalars().all() == [2, 4, 5]
            assert c.execute(text("SELECT count(*) FROM file_count_changes")).scalar() == changes + 1
            c.execute(text("DELETE FROM media_files WHERE id IN (2, 3)"))
            assert c.execute(text("SELECT file_id FROM ungrouped_files ORDER BY file_id")).scalars().all() == [4, 5]
        # And back: the flag again, from the table.
        with engine.connect() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0015")
            conn.commit()
        with engine.begin() as c:
            assert c.execute(text("SELECT id, grouped FROM media_files ORDER BY id")).all() == [
                (1, True), (4, False), (5, False)]
    finally:
        engine.dispose()
