"""After many files changed, the worker's minute task leaves PostgreSQL's review tables vacuumed and
analysed (store.upkeep), as autovacuum would — also where it is off or lags behind an import.

Without a VACUUM, PostgreSQL's visibility map is empty and every index-only read of the review (a
camera's counts from the camera-led index) visits each file's table row too; and the rows the counts'
fold deletes from file_count_changes stay for every summary to scan. On SQLite there is nothing to do.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from mediaparser.runtime import tasks
from mediaparser.store import upkeep
from mediaparser.store.db import db

from tests.support.web import seed_files


def _table_facts(name: str) -> dict:
    row = db.session.execute(text(
        "SELECT c.relpages, c.relallvisible, c.reltuples, s.last_vacuum, s.last_analyze, s.n_dead_tup "
        "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
        "WHERE c.relname = :n AND s.schemaname = current_schema()"), {"n": name}).mappings().one()
    db.session.commit()
    return dict(row)


def _until(check, timeout: float = 15.0) -> bool:
    """Poll `check` (PostgreSQL reports a backend's row counts when it goes idle, within a second or so)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_the_minute_task_vacuums_and_analyses_the_review_tables_after_an_import(app, backend):
    if backend == "sqlite":
        with app.app_context():
            seed_files(app, 50)
            assert upkeep.due(db.engine) == [] and upkeep.tend(db.engine) == []
        return
    seed_files(app, 3000)
    with app.app_context():  # once PostgreSQL has counted the inserted rows
        assert _until(lambda: "media_files" in upkeep.due(db.engine))
    tasks.set_worker_app(app)
    try:
        tasks.fold_file_counts.call_local()  # folds the 3000 files' counts, then tends the tables
    finally:
        tasks.set_worker_app(None)
    with app.app_context():
        files = _table_facts("media_files")
        assert files["last_vacuum"] is not None and files["last_analyze"] is not None
        assert files["reltuples"] == 3000
        assert files["relpages"] > 0 and files["relallvisible"] == files["relpages"]  # index-only reads stay there
        changes = _table_facts("file_count_changes")
        assert changes["last_vacuum"] is not None


def test_tables_are_due_once_many_rows_changed_since_their_last_vacuum(app, backend):
    if backend == "sqlite":
        pytest.skip("SQLite has no VACUUM to keep up (store.upkeep)")
    with app.app_context():
        upkeep.tend(db.engine)  # the new schema's tables were never vacuumed: all of them are due
        assert _until(lambda: "media_files" not in upkeep.due(db.engine))
    seed_files(app, 1500)  # more than autovacuum's 1000 inserted rows on a table of none
    with app.app_context():
        assert _until(lambda: "media_files" in upkeep.due(db.engine))
        assert "media_files" in upkeep.tend(db.engine)
        assert _table_facts("media_files")["reltuples"] == 1500
