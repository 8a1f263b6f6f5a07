"""Upkeep of the tables the review reads, after many of their rows changed (PostgreSQL).

PostgreSQL answers the review grid's counts and filtered pages from its
indexes alone (index-only scans: a camera's month histogram counts its
cells in ix_media_files_camera_time) only on table pages its visibility
map marks all-visible, and only VACUUM sets that map: on a table freshly
filled by an import every index entry costs a visit to the table row as
well (at a million files, counting one camera's cells took 0.5-2.8 s
instead of 20 ms). VACUUM also clears the rows a DELETE left behind: the counts' fold
(library.counts) empties file_count_changes every minute, and a regrouping
deletes the rows of the files it grouped from ungrouped_files (a million
after a first import) and rewrites hash blocks; until a VACUUM every reader
still steps over each row they ever held. ANALYZE, which
VACUUM (ANALYZE) runs too, gives the planner its row estimates.

PostgreSQL's autovacuum normally does all of this, but it can be turned
off, and on a busy server it may lag behind a large import. `tend()` does
what it would do for these tables: PostgreSQL counts, per table, the rows
inserted, changed and deleted since its last VACUUM and ANALYZE
(pg_stat_user_tables); when a count passes autovacuum's own default
threshold, or the table was never vacuumed nor analysed (the counts
start from zero in a copied database, and after a crash), `tend` runs
VACUUM (ANALYZE) on that table. Where autovacuum
keeps up, the counts stay low and `tend` does nothing. The worker runs it
every minute after folding the counts (runtime.tasks), so it follows a
large import, a bulk review or a regrouping within a minute — never in a
web request.

SQLite: nothing. It has no visibility map (its indexes answer on their
own), and its planner works without statistics here on purpose: the grid's
queries pin their index (store.dialect.indexed, library.filters.unindexed),
where statistics from ANALYZE or PRAGMA optimize could lead it to other
indexes, plan by plan, as the data changes.
"""
from __future__ import annotations

import logging
import time
import zlib

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

TABLES = ("media_files", "file_counts", "file_count_changes", "ungrouped_files", "hash_blocks")

# autovacuum's defaults (autovacuum_vacuum_threshold / _scale_factor, the
# _insert_ ones, autovacuum_analyze_*): rows changed since the last VACUUM or
# ANALYZE, as a base plus a share of the table.
VACUUM_DEAD = (50, 0.2)
VACUUM_INSERTED = (1000, 0.2)
ANALYZE_CHANGED = (50, 0.1)

_LOCK = zlib.crc32(b"mediaparser:upkeep")  # one process tends at a time


def _over(count: int | None, threshold: tuple[int, float], rows: float) -> bool:
    base, share = threshold
    return (count or 0) > base + share * rows


def due(engine: Engine) -> list[str]:
    """The tables whose changes since their last VACUUM / ANALYZE pass autovacuum's thresholds."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.*, c.reltuples AS rows_known FROM pg_stat_user_tables s "
            "JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = current_schema() AND s.relname = ANY(:t)"),
            {"t": list(TABLES)}).mappings().all()
        conn.rollback()
    out = []
    for r in rows:
        n = float(r["rows_known"])
        if n < 0:  # never vacuumed nor analysed (PostgreSQL 14+; a copied database has no counts yet)
            out.append(r["relname"])
        elif (_over(r["n_dead_tup"], VACUUM_DEAD, n) or _over(r.get("n_ins_since_vacuum"), VACUUM_INSERTED, n)
                or _over(r["n_mod_since_analyze"], ANALYZE_CHANGED, n)):
            out.append(r["relname"])
    return sorted(out, key=TABLES.index)


def tend(engine: Engine) -> list[str]:
    """VACUUM (ANALYZE) each of the review's tables that is `due`; the tables done (none on SQLite,
    none when another process is tending)."""
    tables = due(engine)
    if not tables:
        return []
    # VACUUM cannot run in a transaction: an autocommit connection, holding a session lock meanwhile.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK}).scalar():
            return []
        try:
            for table in tables:  # names from TABLES only
                t0 = time.monotonic()
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
                log.info("vacuumed and analysed %s in %.1f s (many rows changed since the last time)",
                         table, time.monotonic() - t0)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK})
    return tables
