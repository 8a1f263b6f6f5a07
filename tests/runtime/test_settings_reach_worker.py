"""A running worker takes what the settings page saved, from its next job on — no restart needed."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from mediaparser.store.db import db
from mediaparser.runtime import lifecycle, tasks
from mediaparser.store.models import Job, JobStatus, MediaFile
from mediaparser.usecases import settings_store
from mediaparser.usecases.importing import create_import_job

from tests.support import media as gen
from tests.support.instance import build_app, instance_env, outside_roots, wait_until


def _import(app, src: Path) -> MediaFile:
    job = create_import_job(app.extensions["mediaparser"], str(src))
    lifecycle.record_task_id(job.id, tasks.enqueue_job(job))

    def done():
        db.session.commit()
        return db.session.get(Job, job.id, populate_existing=True).status == JobStatus.COMPLETED

    wait_until(done, 60, "the worker to finish the import")
    row = db.session.execute(select(MediaFile).where(MediaFile.job_id == job.id)).scalar_one()
    db.session.commit()
    return row


@pytest.mark.slow
def test_a_new_default_time_zone_applies_to_the_next_import_of_a_running_worker(tmp_path, workers):
    env = instance_env(tmp_path)
    env.pop("MEDIAPARSER_TIMEZONE", None)
    app = build_app(env)
    for name in ("berlin", "new-york"):
        (tmp_path / name).mkdir()
        # A video's creation time is UTC: its local time comes from the default time zone.
        gen.video(str(tmp_path / name / "clip.mp4"), metadata={"creation_time": "2021-07-01T12:00:00Z"})
    with app.app_context():
        app.extensions["mediaparser"] = settings_store.save(app.extensions["mediaparser"], {"timezone": "Europe/Berlin"})
        workers(env, tmp_path / "worker.log")
        first = _import(app, tmp_path / "berlin")
        assert first.utc_offset == 120 and first.offset_assumed  # summer time in Berlin
        assert first.captured_at == datetime(2021, 7, 1, 14, 0, 0)

        # The person changes the default time zone on the settings page; the worker keeps running.
        app.extensions["mediaparser"] = settings_store.save(app.extensions["mediaparser"], {"timezone": "America/New_York"})
        second = _import(app, tmp_path / "new-york")
        assert second.utc_offset == -240 and second.offset_assumed
        assert second.captured_at == datetime(2021, 7, 1, 8, 0, 0)


def test_refreshed_reads_the_saved_values_but_not_over_the_environment(tmp_path):
    env = instance_env(tmp_path)
    app = build_app(env)
    with app.app_context():
        start = app.extensions["mediaparser"]
        out = outside_roots(tmp_path) / "elsewhere"
        out.mkdir()
        settings_store.save(start, {"timezone": "Asia/Tokyo", "output": str(out)})
        fresh = settings_store.refreshed(start, environ={})
        assert fresh.timezone == "Asia/Tokyo" and fresh.output == out
        locked = settings_store.refreshed(start, environ={"MEDIAPARSER_TIMEZONE": "UTC"})
        assert locked.timezone == start.timezone and locked.output == out
        (start.home / "config.json").write_text("{not json")
        assert settings_store.refreshed(start, environ={}) is start
