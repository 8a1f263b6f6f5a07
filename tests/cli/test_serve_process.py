"""`mediaparser serve` settles its process before the first request (web.ready_to_serve).

The objects start-up made (Flask, SQLAlchemy, the models, the routes) are
frozen out of Python's cyclic garbage collector: otherwise each full
collection walks all of them and holds a request up 90-130 ms at random
(bench/web.py's p99 spikes with a million files).
"""
from __future__ import annotations

import gc

import werkzeug.serving
from click.testing import CliRunner

from mediaparser.cli import main

from tests.support.instance import instance_env


class _Server:
    server_port = 5000
    frozen_when_serving: int | None = None

    def serve_forever(self) -> None:
        _Server.frozen_when_serving = gc.get_freeze_count()
        raise KeyboardInterrupt  # as Ctrl+C would

    def server_close(self) -> None:
        pass


def test_serve_freezes_what_start_up_made_before_serving(tmp_path, monkeypatch):
    monkeypatch.setattr(werkzeug.serving, "make_server", lambda *a, **kw: _Server())
    gc.unfreeze()
    try:
        result = CliRunner().invoke(main, ["serve"], env=instance_env(tmp_path), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        # The app's modules and objects (well over ten thousand) are out of the collector's walks.
        assert (_Server.frozen_when_serving or 0) > 10_000
    finally:
        gc.unfreeze()  # the rest of the test process collects as usual
