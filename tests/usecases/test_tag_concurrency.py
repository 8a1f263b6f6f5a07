"""Tag writers side by side: the retried unit of work (db.run_write) and the lock order of services/tags.py.

The storm against the real app is tests/security/test_tag_race.py; these pin
down single interleavings on PostgreSQL, where writers really overlap: one
writer is held at a chosen statement while the other runs into it.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from mediaparser.store import db as db_module
from mediaparser.store.db import db, run_write
from mediaparser.store.models import Tag
from mediaparser.usecases import tagging as tag_service

from tests.support.instance import wait_until
from tests.support.web import seed_files


class _Orig(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


def _names(app) -> set[str]:
    with app.app_context():
        names = set(db.session.execute(select(Tag.name)).scalars())
        db.session.commit()
        return names


def test_run_write_runs_the_whole_unit_again_after_a_deadlock(app, monkeypatch):
    monkeypatch.setattr(db_module, "BACKOFF_SECONDS", 0)
    calls = []

    def unit(s):
        calls.append(1)
        s.add(Tag(name=f"attempt {len(calls)}"))
        s.flush()
        if len(calls) == 1:
            raise OperationalError("UPDATE …", {}, _Orig(db_module.DEADLOCK_DETECTED))
        return "done"

    with app.app_context():
        assert run_write(unit) == "done"
    assert len(calls) == 2
    assert _names(app) == {"attempt 2"}  # the aborted attempt left nothing behind


def test_run_write_gives_other_errors_at_once_and_gives_up_after_its_attempts(app, monkeypatch):
    monkeypatch.setattr(db_module, "BACKOFF_SECONDS", 0)
    calls = []

    def taken(_s):
        calls.append(1)
        raise IntegrityError("INSERT …", {}, _Orig(db_module.UNIQUE_VIOLATION))

    def always_deadlocked(_s):
        calls.append(1)
        raise OperationalError("UPDATE …", {}, _Orig(db_module.DEADLOCK_DETECTED))

    with app.app_context():
        with pytest.raises(IntegrityError):
            run_write(taken)  # not retryable unless the caller says so
        assert len(calls) == 1
        calls.clear()
        with pytest.raises(IntegrityError):
            run_write(taken, retry_on=frozenset({db_module.UNIQUE_VIOLATION}), attempts=3)
        assert len(calls) == 3
        calls.clear()
        with pytest.raises(OperationalError):
            run_write(always_deadlocked, attempts=4)
        assert len(calls) == 4


# ------------------------------------------------- interleavings on PostgreSQL --

def _held_before_links():
    """Hold the thread that runs `target` just before it inserts file_tags rows, until released."""
    reached, release = threading.Event(), threading.Event()
    held: set[int] = set()

    def hook(_conn, _cursor, statement, _params, _context, _many):
        if threading.get_ident() in held and statement.lstrip().upper().startswith("INSERT INTO FILE_TAGS"):
            reached.set()
            assert release.wait(30), "the test never released the held writer"

    return reached, release, held, hook


def _run(app, fn, out: dict, key: str, held: set[int] | None = None) -> threading.Thread:
    def body():
        if held is not None:
            held.add(threading.get_ident())
        with app.app_context():
            try:
                out[key] = fn()
            except Exception as exc:  # the test reports it
                out[key] = exc
            finally:
                db.session.remove()

    t = threading.Thread(target=body)
    t.start()
    return t


def _someone_waits_for_a_lock(app) -> bool:
    with app.app_context():
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND wait_event_type = 'Lock'")).scalar_one() > 0


def _tags_of(app, fid: int) -> list[str]:
    with app.app_context():
        return [t["name"] for t in tag_service.tags_of([fid])[fid]]


@pytest.fixture
def pg_app(app, backend):
    if backend != "postgres+redis":
        pytest.skip("SQLite's writers take turns (BEGIN IMMEDIATE): there is no interleaving to pin down")
    return app


def test_a_merge_waits_for_an_add_in_flight_on_its_tag(pg_app):
    """Before: the merge deleted "a" under the add, whose links then failed (ForeignKeyViolation, a 500)."""
    app = pg_app
    f1, f2 = seed_files(app, 2)
    with app.app_context():
        tag_service.add_tags([f1], ["a"])
        tag_service.add_tags([f2], ["b"])
    reached, release, held, hook = _held_before_links()
    out: dict = {}
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", hook)
    try:
        adder = _run(app, lambda: tag_service.add_tags([f2], ["a"]), out, "add", held)
        assert reached.wait(30), "the add reached its links"
        merger = _run(app, lambda: tag_service.rename_tag("a", "b"), out, "merge")
        # The merge must wait for the add's tag lock (or, unfixed, runs to its end).
        wait_until(lambda: not merger.is_alive() or _someone_waits_for_a_lock(app), 30, "the merge waits or ends")
        release.set()
        adder.join(30)
        merger.join(30)
    finally:
        release.set()
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", hook)
    assert isinstance(out["add"], tag_service.Changed) and out["add"].links == 1, out
    assert isinstance(out["merge"], tag_service.Renamed) and out["merge"].merged, out
    # The add landed first, then the merge moved its link: both files carry "b" once, "a" is gone.
    assert _tags_of(app, f1) == ["b"] and _tags_of(app, f2) == ["b"]
    assert _names(app) == {"b"}


def test_a_rename_that_meets_a_name_created_meanwhile_becomes_a_merge(pg_app):
    """Before: the rename's UPDATE hit the new name's unique key (UniqueViolation, a 500)."""
    app = pg_app
    f1, f2 = seed_files(app, 2)
    with app.app_context():
        tag_service.add_tags([f1], ["a"])
    reached, release, held, hook = _held_before_links()
    out: dict = {}
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", hook)
    try:
        adder = _run(app, lambda: tag_service.add_tags([f2], ["b"]), out, "add", held)  # creates "b", uncommitted
        assert reached.wait(30), "the add created its tag and reached its links"
        renamer = _run(app, lambda: tag_service.rename_tag("a", "b"), out, "rename")
        wait_until(lambda: not renamer.is_alive() or _someone_waits_for_a_lock(app), 30, "the rename waits or ends")
        release.set()
        adder.join(30)
        renamer.join(30)
    finally:
        release.set()
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", hook)
    assert isinstance(out["add"], tag_service.Changed) and out["add"].links == 1, out
    r = out["rename"]
    assert isinstance(r, tag_service.Renamed), out
    assert (r.merged, r.files, r.into_files) == (True, 1, 1)
    assert _tags_of(app, f1) == ["b"] and _tags_of(app, f2) == ["b"]
    assert _names(app) == {"b"}
