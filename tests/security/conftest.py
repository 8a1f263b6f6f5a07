"""The real app under attack: `mediaparser serve` and `mediaparser worker` as
subprocesses on a free port, on SQLite or on PostgreSQL + Redis.

Every test in this folder replays an attack against a running server the way
a hostile or careless user would: over HTTP, with a browser-like client that
keeps the session cookie and sends the page's CSRF token. Nothing is called
in-process, so what passes here holds for `make run`. LiveApp and Client are in
tests/support/live.py.
"""
from __future__ import annotations

import pytest

from tests.support.instance import BACKENDS
from tests.support.live import LiveApp


@pytest.fixture(params=BACKENDS)
def live(request, tmp_path):
    """The real app (serve + worker) on SQLite, and on PostgreSQL + Redis when CI provides them."""
    started: list[LiveApp] = []

    def start(extra_env: dict[str, str] | None = None, worker: bool = True) -> LiveApp:
        a = LiveApp(tmp_path, request.param, extra_env, worker)
        started.append(a)
        return a

    yield start
    for a in started:
        a.stop()
