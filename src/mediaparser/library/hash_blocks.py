"""The grouped files' hashes, packed per block of ids: a regrouping reads a million files in a blink.

A regrouping (usecases.duplicates.regroup) compares the files not grouped
yet with every grouped file, so it needs the grouping columns of the whole
library each time. Read as rows that is a Python value per column per file:
seconds for a million files on either database. `hash_blocks` keeps them
packed instead: one row per block of BLOCK consecutive file ids, holding the
block's grouped, groupable files as one (n, WIDTH) int64 array in id order
(the columns of the caller's row query: id, hashes, flags).

Which files are grouped is kept apart from media_files: a file still to
group has a row in ungrouped_files (store.models.UngroupedFile, migration
0016), which a trigger adds for every new file, and grouping a file deletes
that row. A regrouping reads the files to group from that table's key.

The blocks stay exact whichever code writes files:

- triggers (migration 0016) delete a block when a grouped file in it changes
  a column the grouping reads, is deleted or has to be grouped again; a
  block that is absent, or has no data, is read from media_files again;
- a regrouping first stamps the blocks it may write (those with files to
  group, and those without data) with a token of its own (`load`), then
  reads; while a block holds a token, the triggers delete it when any file
  in it changes or goes, grouped or not. The regrouping writes a block only
  where its token still is (`mark_and_write`), so a block is never written
  from rows that changed after they were read; a block it marks files in
  but cannot write is deleted in the same transaction. On PostgreSQL the
  stamp is taken under a table lock that waits for writers whose trigger
  already ran, so a change that was being committed while the stamp was
  taken is read by the regrouping;
- files become grouped only in a regrouping (one at a time): it deletes a
  block's files from ungrouped_files and writes the block in one
  transaction, from the rows it has just grouped; a run that stops between
  two blocks leaves the later blocks' files ungrouped and those blocks
  stamped or empty, to be read again.
"""
from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.orm import Session

from mediaparser.store.db import db, run_write
from mediaparser.store.dialect import is_sqlite
from mediaparser.store.models import HashBlock, MediaFile, UngroupedFile

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
    return np.empty((WIDTH, 0), np.int64)


@dataclass
class Loaded:
    """What a regrouping starts from."""

    # Column-major (WIDTH, n) arrays, files in id order: each column is contiguous, so the
    # grouping's columns are views, not copies of a million files' rows.
    library: np.ndarray  # grouped files
    new: np.ndarray  # files to group now
    token: int  # this run's stamp on the blocks it may write
    last: int = 0  # the largest file id when it started: later files wait for the next run
    rewrite: set[int] = field(default_factory=set)  # blocks to write back though no new file is in them
    files_read: int = 0  # grouped files read from media_files rather than from blocks
    blocks_read: int = 0  # blocks whose packed data was used
    writes: int = 0  # write transactions (the stamp)


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


def grouped():
    """The condition on media_files of a file that has been through grouping (no UngroupedFile row)."""
    return ~exists().where(UngroupedFile.file_id == MediaFile.id)


def _ungrouped(rows: RowQuery, after: int, limit: int, last: int):
    """The next `limit` files still to group after id `after` (up to `last`), read from
    ungrouped_files' key in order and joined to their media_files row (no other file of the
    library is read)."""
    # (The range on both tables: PostgreSQL's merge join otherwise walked media_files from its
    # first id on every read, 0.36 s for the 11th of 20 reads of a million files.)
    return (rows().join(UngroupedFile, UngroupedFile.file_id == MediaFile.id)
            .where(UngroupedFile.file_id > after, UngroupedFile.file_id <= last, MediaFile.id > after,
                   MediaFile.id <= last)
            .order_by(None).order_by(UngroupedFile.file_id).limit(limit))


def waiting(loaded: Loaded):
    """The ids of the files this run groups, and of any other file still to group up to its last
    id (not groupable yet), as a subquery (the run's list of new ids need not be sent back)."""
    return select(UngroupedFile.file_id).where(UngroupedFile.file_id <= loaded.last)


def load(rows: RowQuery, *, limit: int = 50_000) -> Loaded:
    """The grouped files (from blocks where they are up to date) and the files still to group.

    `rows(*conditions)` builds the row query of groupable files. Stamps the blocks it may write
    before it reads them (see the module doc); files that arrive after the stamp wait for the
    next regrouping.
    """
    token = random.getrandbits(62)
    # (Every file's largest id, one look-up in the primary key: the files after it wait.)
    last = db.session.execute(select(func.max(MediaFile.id))).scalar()
    db.session.commit()
    if last is None:
        return Loaded(_empty(), _empty(), token)
    blocks = list(range(0, last // BLOCK + 1))
    known = dict(db.session.execute(select(HashBlock.block, HashBlock.data.is_not(None))).all())
    waiting_in = db.session.execute(select(UngroupedFile.file_id // BLOCK).where(UngroupedFile.file_id <= last)
                                    .distinct()).scalars().all()
    db.session.commit()
    # Stamped: the blocks this run may write, those with files to group or without data.
    stamped = sorted({b for b in blocks if not known.get(b)} | set(waiting_in))
    if stamped:
        run_write(lambda s: _stamp(s, stamped, token))
    # Ungrouped files, in short reads (after a first import: all of them), into one array sized by
    # their count (no second copy of a million files' rows for a concatenation).
    waiting = db.session.execute(select(func.count()).select_from(UngroupedFile)
                                 .where(UngroupedFile.file_id <= last)).scalar() or 0
    new = _Rows(waiting)
    after = 0
    while True:
        part = fetch_array(_ungrouped(rows, after, limit, last))
        db.session.commit()
        if not len(part):
            break
        new.add(part)
        after = int(part[-1, 0])
        if len(part) < limit:
            break
    parts: dict[int, np.ndarray] = {}
    used = 0
    have = [b for b in blocks if known.get(b)]
    for k in range(0, len(have), 64):  # ~32 MB of packed blocks per read at most
        for b, data in fetch_rows(select(HashBlock.block, HashBlock.data).where(
                HashBlock.block.in_(have[k:k + 64]), HashBlock.data.is_not(None))):
            parts[b] = _unpack(data)
            used += 1
        db.session.commit()
    # Blocks to read from media_files: the ones without data (also any a trigger deleted just now).
    # None when no file is grouped yet (a first grouping): there is nothing in them to read.
    to_read = [b for b in blocks if b not in parts]
    files_read = 0
    for k in range(0, len(to_read) if len(to_read) <= _READ_BLOCKS or _any_grouped() else 0, _READ_BLOCKS):
        for lo, hi in _ranges(to_read[k:k + _READ_BLOCKS]):
            a = fetch_array(rows(grouped(), MediaFile.id >= lo * BLOCK, MediaFile.id < hi * BLOCK))
            files_read += len(a)
            for b, sub in _split(a):
                parts[b] = sub
        db.session.commit()
    library = _Rows(sum(len(p) for p in parts.values()))
    for b in sorted(parts):
        library.add(parts.pop(b))  # each block let go once copied
    return Loaded(library.rows(), new.rows(), token, last, set(to_read) & set(stamped), files_read, used,
                  1 if stamped else 0)


def _any_grouped() -> bool:
    """Whether any file has been grouped. Only a regrouping groups files (one at a time), so a
    no holds for the rest of the run. Both counts in one statement: one snapshot on either
    database."""
    n = db.session.execute(select(select(func.count()).select_from(MediaFile).scalar_subquery()
                                  - select(func.count()).select_from(UngroupedFile).scalar_subquery())).scalar()
    db.session.commit()
    return bool(n)


class _Rows:
    """Rows gathered, column by column, into one (WIDTH, n) array allocated up front (grown should
    more come than counted)."""

    def __init__(self, capacity: int):
        self.a = np.empty((WIDTH, max(capacity, 0)), np.int64)
        self.n = 0

    def add(self, part: np.ndarray) -> None:
        end = self.n + len(part)
        if end > self.a.shape[1]:  # files that arrived after the count
            grown = np.empty((WIDTH, max(end, 2 * self.a.shape[1])), np.int64)
            grown[:, :self.n] = self.a[:, :self.n]
            self.a = grown
        self.a[:, self.n:end] = part.T
        self.n = end

    def rows(self) -> np.ndarray:
        return self.a[:, :self.n]


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


def mark_and_write(loaded: Loaded, block_rows: Callable[[int], np.ndarray], new_ids: np.ndarray) -> int:
    """Mark `new_ids` grouped a block at a time, writing each block's rows in the same
    transaction (`block_rows(b)`: the library's and the new files' rows of block b); then write
    the blocks that were read from media_files, and take the token off the others. Returns the
    number of write transactions (a block's 8,192 files are a few tens of milliseconds)."""
    writes = 0
    by_block: dict[int, np.ndarray] = {}
    if new_ids.size:
        blk = new_ids // BLOCK
        cuts = np.flatnonzero(np.diff(blk)) + 1
        for part in np.split(new_ids, cuts):
            by_block[int(part[0] // BLOCK)] = part

    def marked(s: Session, b: int, ids: np.ndarray) -> None:
        _mark(s, ids)
        if not _write_block(s, b, block_rows(b), loaded.token):
            # Not stamped by this run (its files arrived after the stamp) or changed since: its data,
            # if any, lacks the files just marked, so the block goes, to be read again.
            s.execute(delete(HashBlock).where(HashBlock.block == b).execution_options(synchronize_session=False))
    for b, ids in by_block.items():
        run_write(lambda s, b=b, ids=ids: marked(s, b, ids))
        writes += 1
    rest = sorted(loaded.rewrite - set(by_block))
    for k in range(0, len(rest), _READ_BLOCKS):
        run_write(lambda s, part=rest[k:k + _READ_BLOCKS]: [
            _write_block(s, b, block_rows(b), loaded.token) for b in part])
        writes += 1
    # Stamped blocks not written (their files to group are not groupable yet): no longer stamped
    # (while stamped, any change of one of their files, grouped or not, drops them).
    run_write(lambda s: s.execute(update(HashBlock).where(HashBlock.token == loaded.token).values(token=None)
                                  .execution_options(synchronize_session=False)))
    return writes + 1


def _mark(s: Session, ids: np.ndarray) -> None:
    runs = _id_runs(ids)
    for k in range(0, len(runs), _RUNS_PER_STATEMENT):
        part = runs[k:k + _RUNS_PER_STATEMENT]
        cond = " OR ".join(f"file_id BETWEEN {int(a)} AND {int(b)}" for a, b in part)
        s.execute(text(f"DELETE FROM ungrouped_files WHERE {cond}"))


def _write_block(s: Session, block: int, rows: np.ndarray, token: int) -> bool:
    """Write one block if this run's token is still on it: then none of its files changed or went
    since the stamp, and `rows` are its grouped, groupable files."""
    rows = np.ascontiguousarray(rows)
    done = s.execute(update(HashBlock).where(HashBlock.block == block, HashBlock.token == token)
                     .values(data=rows.tobytes(), files=len(rows), token=None,
                             last_id=int(rows[-1, 0]) if len(rows) else None)
                     .execution_options(synchronize_session=False)).rowcount
    return bool(done)


__all__ = ["BLOCK", "WIDTH", "Loaded", "fetch_array", "fetch_rows", "grouped", "load",
           "mark_and_write", "waiting"]
