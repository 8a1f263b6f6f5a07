"""The grouped files' hashes, packed per block of ids: a regrouping reads a million files in a blink.

A regrouping (usecases.duplicates.regroup) compares the files not grouped
yet with every grouped file, so it needs the grouping columns of the whole
library each time. Read as rows that is a Python value per column per file:
seconds for a million files on either database. `hash_blocks` keeps them
packed instead: one row per block of BLOCK consecutive file ids, holding the
block's grouped, groupable files as one (n, WIDTH) int64 array in id order
(the columns of the caller's row query: id, hashes, flags).

Exact whichever code writes files:

- triggers (migration 0015) delete a block when a grouped file in it changes
  a column the grouping reads, stops being grouped, or is deleted; a block
  that is absent, or has no data, is read from media_files again;
- files become grouped only in a regrouping (one at a time), and it writes
  a block in the transaction that marks the block's last new files grouped
  (`mark_and_write`), from the rows it has just grouped; when a block's new
  files take several transactions, the first one empties the block's data,
  so a run that stops half-way leaves the block to be read again;
- a regrouping first stamps every block it will write back with a token of
  its own (`load`), and writes only where its token still is: a block a
  trigger deleted meanwhile stays absent. On PostgreSQL the stamp is taken
  under a table lock that waits for writers whose trigger already ran, so a
  change that was being committed while the block was read is never lost.
  Before writing, it checks that the block's grouped files in media_files are
  the ones it holds (a file removed meanwhile is left out, an unknown one
  leaves the block to be read again).
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from mediaparser.store.db import db, run_write
from mediaparser.store.dialect import is_sqlite
from mediaparser.store.models import HashBlock, MediaFile

BLOCK = 8192  # file ids per block: one block's marking and write is one short write transaction
WIDTH = 8  # int64 columns per file in a block (the row query's: id first)
_READ_BLOCKS = 16  # blocks per read transaction when blocks are read from media_files

RowQuery = Callable[..., object]  # (*conditions) -> a Select of WIDTH integer columns, id first, in id order


def fetch_rows(stmt, *, session: Session | None = None) -> list[tuple]:
    """The rows of `stmt` as the driver's plain tuples (no Row object, no type processing: for
    integer, text and float columns only)."""
    conn = (session or db.session).connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = [params[k] for k in compiled.positiontup] if compiled.positiontup is not None else params
    driver = conn.connection.driver_connection
    # PostgreSQL: results in binary form (a bytea block arrives as its bytes, not as hex text
    # to decode: 64 MB of blocks in 0.08 s instead of 0.3 s).
    cur = driver.cursor(binary=True) if conn.dialect.name == "postgresql" else driver.cursor()
    try:
        cur.execute(str(compiled), args)
        return cur.fetchall()
    finally:
        cur.close()


def fetch_array(stmt, width: int = WIDTH, *, session: Session | None = None) -> np.ndarray:
    """The rows of `stmt` (all integer columns) as an (n, width) int64 array, through the driver's cursor:
    no Row object per file (SQLAlchemy's rows cost ~5 µs each, numpy inspecting them far more)."""
    rows = fetch_rows(stmt, session=session)
    return np.fromiter(itertools.chain.from_iterable(rows), np.int64, len(rows) * width).reshape(-1, width)


def _unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.int64).reshape(-1, WIDTH)


def _empty() -> np.ndarray:
    return np.empty((0, WIDTH), np.int64)


@dataclass
class Loaded:
    """What a regrouping starts from."""

    library: np.ndarray  # grouped files, in id order
    new: np.ndarray  # files to group now, in id order
    token: int  # this run's stamp on the blocks it will write back
    stamped: set[int] = field(default_factory=set)  # those blocks
    files_read: int = 0  # grouped files read from media_files rather than from blocks
    blocks_read: int = 0  # blocks whose packed data was used
    writes: int = 0  # write transactions (the stamp)


def _blocks_of(ids: np.ndarray) -> np.ndarray:
    return np.unique(ids // BLOCK)


def _stamp(s: Session, blocks: list[int], token: int) -> None:
    if not is_sqlite(s):
        # Waits for transactions whose trigger already deleted a block (ROW EXCLUSIVE on the
        # table) and holds back new ones until the stamp is committed.
        s.execute(text("LOCK TABLE hash_blocks IN SHARE ROW EXCLUSIVE MODE"))
    have: set[int] = set()
    for k in range(0, len(blocks), 1000):
        part = blocks[k:k + 1000]
        have.update(s.execute(select(HashBlock.block).where(HashBlock.block.in_(part))).scalars())
        s.execute(update(HashBlock).where(HashBlock.block.in_(part)).values(token=token)
                  .execution_options(synchronize_session=False))
    missing = [{"block": b, "files": 0, "data": None, "token": token} for b in blocks if b not in have]
    if missing:
        s.execute(HashBlock.__table__.insert(), missing)


def load(rows: RowQuery, grouped, ungrouped, *, limit: int = 50_000) -> Loaded:
    """The grouped files (from blocks where they are up to date) and the files still to group.

    `rows(*conditions)` builds the row query; `grouped` / `ungrouped` are the conditions that
    select the two sets. Stamps the blocks this run will write back (see the module doc).
    """
    token = random.getrandbits(62)
    writes = 0
    # Ungrouped files, in short reads (after a first import: all of them), into one array sized by
    # the partial index's count (no second copy of a million files' rows for a concatenation).
    waiting = db.session.execute(select(func.count()).select_from(MediaFile).where(ungrouped)).scalar() or 0
    new = _Rows(waiting)
    after = 0
    while True:
        part = fetch_array(rows(ungrouped, MediaFile.id > after).limit(limit))
        db.session.commit()
        if not len(part):
            break
        new.add(part)
        after = int(part[-1, 0])
        if len(part) < limit:
            break
    # (Every file's largest id, one look-up in the primary key; the blocks past the last grouped
    # file hold no grouped file and are written empty.)
    last = db.session.execute(select(func.max(MediaFile.id))).scalar()
    known = dict(db.session.execute(select(HashBlock.block, HashBlock.data.is_not(None))).all())
    db.session.commit()
    wanted = set(range(0, (last // BLOCK) + 1)) if last is not None else set()
    to_read = sorted(b for b in wanted if not known.get(b))
    stamped = sorted(set(to_read) | set(_blocks_of(new.rows()[:, 0]).tolist()))
    if stamped:
        run_write(lambda s: _stamp(s, stamped, token))
        writes = 1
    parts: dict[int, np.ndarray] = {}
    used = 0
    have = sorted(b for b in wanted if known.get(b))
    for k in range(0, len(have), 64):  # ~32 MB of packed blocks per read at most
        for b, data in fetch_rows(select(HashBlock.block, HashBlock.data).where(
                HashBlock.block.in_(have[k:k + 64]), HashBlock.data.is_not(None))):
            parts[b] = _unpack(data)
            used += 1
        db.session.commit()
    # Blocks to read from media_files: the ones without data (also any a trigger deleted just now).
    to_read = sorted(wanted - set(parts))
    files_read = 0
    for k in range(0, len(to_read), _READ_BLOCKS):
        for lo, hi in _ranges(to_read[k:k + _READ_BLOCKS]):
            a = fetch_array(rows(grouped, MediaFile.id >= lo * BLOCK, MediaFile.id < hi * BLOCK))
            files_read += len(a)
            for b, sub in _split(a):
                parts[b] = sub
        db.session.commit()
    library = _Rows(sum(len(p) for p in parts.values()))
    for b in sorted(parts):
        library.add(parts.pop(b))  # each block let go once copied
    return Loaded(library.rows(), new.rows(), token, set(stamped), files_read, used, writes)


class _Rows:
    """Rows gathered into one array allocated up front (grown should more come than counted)."""

    def __init__(self, capacity: int):
        self.a = np.empty((max(capacity, 0), WIDTH), np.int64)
        self.n = 0

    def add(self, part: np.ndarray) -> None:
        end = self.n + len(part)
        if end > len(self.a):  # files that arrived after the count
            grown = np.empty((max(end, 2 * len(self.a)), WIDTH), np.int64)
            grown[:self.n] = self.a[:self.n]
            self.a = grown
        self.a[self.n:end] = part
        self.n = end

    def rows(self) -> np.ndarray:
        return self.a[:self.n]



def _ranges(blocks: list[int]) -> list[tuple[int, int]]:
    """Consecutive blocks as [lo, hi) runs."""
    out: list[tuple[int, int]] = []
    for b in blocks:
        if out and out[-1][1] == b:
            out[-1] = (out[-1][0], b + 1)
        else:
            out.append((b, b + 1))
    return out


def _split(a: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """An array of rows in id order, cut per block."""
    if not len(a):
        return []
    blk = a[:, 0] // BLOCK
    cuts = np.flatnonzero(np.diff(blk)) + 1
    return [(int(p[0, 0] // BLOCK), p) for p in np.split(a, cuts)]


def _id_runs(ids: np.ndarray) -> list[tuple[int, int]]:
    """Sorted ids as inclusive [first, last] runs of consecutive ids."""
    if not ids.size:
        return []
    cut = np.flatnonzero(np.diff(ids) != 1) + 1
    starts, ends = np.r_[ids[:1], ids[cut]], np.r_[ids[cut - 1], ids[-1:]]
    return list(zip(starts.tolist(), ends.tolist()))


_RUNS_PER_STATEMENT = 200
# Files marked grouped per write transaction: a block's 8,192 took 1.5 s on PostgreSQL (each
# marked row is a new version in every one of media_files' indexes), too long to hold rows locked.
MARKS_PER_WRITE = 2048


def mark_and_write(loaded: Loaded, block_rows: Callable[[int], np.ndarray], new_ids: np.ndarray,
                   groupable: Callable[[], tuple]) -> int:
    """Mark `new_ids` grouped, a block at a time, writing each stamped block's rows in the same
    transaction (`block_rows(b)`: the library's and the new files' rows of block b); then write
    the stamped blocks that got no new file. Returns the number of write transactions."""
    writes = 0
    by_block: dict[int, np.ndarray] = {}
    if new_ids.size:
        blk = new_ids // BLOCK
        cuts = np.flatnonzero(np.diff(blk)) + 1
        for part in np.split(new_ids, cuts):
            by_block[int(part[0] // BLOCK)] = part
    for b, ids in by_block.items():
        parts = [ids[k:k + MARKS_PER_WRITE] for k in range(0, ids.size, MARKS_PER_WRITE)]
        for k, part in enumerate(parts):
            last = k == len(parts) - 1

            def work(s: Session, b: int = b, part: np.ndarray = part, first: bool = k == 0, last: bool = last) -> None:
                if first and not last:
                    # The block's data goes first: should the run stop half-way, the block is
                    # read from media_files again rather than trusted without the files marked.
                    s.execute(update(HashBlock).where(HashBlock.block == b, HashBlock.token == loaded.token)
                              .values(data=None).execution_options(synchronize_session=False))
                _mark(s, part)
                if last:
                    _write_block(s, b, block_rows(b), loaded.token, groupable)
            run_write(work)
            writes += 1
    rest = sorted(loaded.stamped - set(by_block))
    for k in range(0, len(rest), _READ_BLOCKS):
        run_write(lambda s, part=rest[k:k + _READ_BLOCKS]: [
            _write_block(s, b, block_rows(b), loaded.token, groupable) for b in part])
        writes += 1
    return writes


def _mark(s: Session, ids: np.ndarray) -> None:
    runs = _id_runs(ids)
    for k in range(0, len(runs), _RUNS_PER_STATEMENT):
        part = runs[k:k + _RUNS_PER_STATEMENT]
        cond = " OR ".join(f"id BETWEEN {int(a)} AND {int(b)}" for a, b in part)
        s.execute(text(f"UPDATE media_files SET grouped = true WHERE {cond}"))


def _write_block(s: Session, block: int, rows: np.ndarray, token: int, groupable: Callable[[], tuple]) -> bool:
    """Write one stamped block if its token is still there and media_files' grouped, groupable files
    of the block are among `rows` (those not there any more are left out)."""
    present = fetch_array(select(MediaFile.id).where(
        MediaFile.id >= block * BLOCK, MediaFile.id < (block + 1) * BLOCK, MediaFile.grouped, *groupable()), 1,
        session=s)[:, 0]
    keep = np.isin(rows[:, 0], present)
    if np.count_nonzero(keep) != present.size:
        # A grouped file this run does not hold: leave the block to be read from media_files.
        s.execute(delete(HashBlock).where(HashBlock.block == block, HashBlock.token == token))
        return False
    rows = np.ascontiguousarray(rows[keep])
    done = s.execute(update(HashBlock).where(HashBlock.block == block, HashBlock.token == token)
                     .values(data=rows.tobytes(), files=len(rows), token=None)
                     .execution_options(synchronize_session=False)).rowcount
    return bool(done)


__all__ = ["BLOCK", "MARKS_PER_WRITE", "WIDTH", "Loaded", "fetch_array", "fetch_rows", "load", "mark_and_write"]
