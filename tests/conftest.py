"""Shared fixtures: an instance per test, on SQLite or on PostgreSQL + Redis.

Service-backed variants read MEDIAPARSER_TEST_DATABASE_URL and
MEDIAPARSER_TEST_REDIS_URL and are skipped, with the reason, when unset.
The helpers behind them (instance_env, build_app, WorkerProcess…) are in
tests/support/instance.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.instance import BACKENDS, WorkerProcess, build_app, instance_env


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def env(tmp_path, backend) -> dict[str, str]:
    return instance_env(tmp_path, backend)


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    return instance_env(tmp_path, "sqlite")


@pytest.fixture
def app(env):
    app = build_app(env)
    yield app
    from mediaparser.store.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def workers():
    started: list[WorkerProcess] = []

    def start(env: dict[str, str], log_path: Path, *args: str, extra_env: dict | None = None) -> WorkerProcess:
        w = WorkerProcess(env, log_path, *args, extra_env=extra_env)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop(timeout=10)
