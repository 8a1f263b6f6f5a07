"""One worker's own health answer, over plain HTTP (`mediaparser worker --health-port`).

`/api/health` on the web says whether *some* worker is alive. A supervisor
(Docker's healthcheck, a load balancer, a monitoring system) needs to ask one
worker process about itself: is this one still doing its job? So each worker
can listen on a port of its own and answer any GET with a small JSON report:

    worker_id, host, pid, uptime_seconds, concurrency
    last_beat / last_beat_age_seconds  the last time this worker's monitor wrote its beat
    in_flight                          the tasks (jobs, chunks) running in it right now
    database, queue                    reachable now (each asked with a short time limit)
    stopping                           a graceful stop (SIGTERM) is under way

It answers 200 when the database and the queue answer, the beat is recent
and the worker is not stopping; 503 otherwise, with `problems` saying why.
Nothing here changes state, and the answer holds no secrets (no URLs).

The server is the standard library's: one daemon thread, a thread per
request, off by default (port 0).
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from sqlalchemy import text

from mediaparser.runtime.lifecycle import WORKER_BEAT_FRESH_SECONDS
from mediaparser.runtime.queue import huey
from mediaparser.store.db import db

log = logging.getLogger(__name__)

CHECK_SECONDS = 3.0  # how long the database and the queue may take to answer one health question


class WorkerState:
    """What this worker process knows about itself; updated by the worker, read by the health answer."""

    def __init__(self, worker_id: str, concurrency: int) -> None:
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started = time.monotonic()
        self.last_beat: datetime | None = None
        self._last_beat_mono: float | None = None
        self.stopping = False
        self._lock = threading.Lock()
        self._running: dict[str, tuple[str, list, float]] = {}  # Huey task id -> (name, args, started)

    def beat(self) -> None:
        """The monitor wrote this worker's beat to the database."""
        self.last_beat = datetime.now(timezone.utc)
        self._last_beat_mono = time.monotonic()

    def beat_age(self) -> float | None:
        return None if self._last_beat_mono is None else time.monotonic() - self._last_beat_mono

    def task_started(self, task) -> None:
        with self._lock:
            self._running[task.id] = (task.name.rsplit(".", 1)[-1], list(task.args or ()), time.monotonic())

    def task_ended(self, task) -> None:
        with self._lock:
            self._running.pop(task.id, None)

    def in_flight(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            running = list(self._running.values())
        return [{"task": name, "args": [a for a in args if isinstance(a, (int, str))],
                 "running_seconds": round(now - t0, 1)} for name, args, t0 in sorted(running, key=lambda r: r[2])]

    def watch_tasks(self) -> Callable[[], None]:
        """Count this process's running tasks through Huey's pre/post-execute hooks; returns the undo."""
        name = f"mediaparser-health-{id(self)}"
        huey.pre_execute(name=name)(self.task_started)
        huey.post_execute(name=name)(lambda task, _value, _exc: self.task_ended(task))

        def unwatch() -> None:
            huey.unregister_pre_execute(name)
            huey.unregister_post_execute(name)

        return unwatch


class _Single:
    """Run one check at a time in a side thread and wait at most `seconds` for it.

    A database that does not answer must not hang the health answer (the
    supervisor would time out and learn nothing), and repeated questions to a
    hung one must not pile up threads: while a check is still waiting, the
    next question is told so at once."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.fn = fn
        self._busy = threading.Lock()

    def __call__(self, seconds: float) -> str | None:
        """None when the check passed, else why not."""
        if not self._busy.acquire(blocking=False):
            return "an earlier check is still waiting for an answer"
        outcome: list[str | None] = []

        def run() -> None:
            try:
                self.fn()
                outcome.append(None)
            except Exception as exc:  # the point is to report it
                outcome.append(f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"[:200])
            finally:
                self._busy.release()

        t = threading.Thread(target=run, name="mediaparser-health-check", daemon=True)
        t.start()
        t.join(seconds)
        if not outcome:
            return f"no answer within {seconds:g} s"
        return outcome[0]


class HealthReport:
    """Builds the answer: the state plus live checks of the database and the queue."""

    def __init__(self, app, state: WorkerState, *, check_seconds: float = CHECK_SECONDS,
                 queue_size: Callable[[], int] | None = None) -> None:
        self.app, self.state, self.check_seconds = app, state, check_seconds

        def database() -> None:
            with app.app_context():
                try:
                    db.session.execute(text("SELECT 1"))
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    raise

        self._database = _Single(database)
        self._queue = _Single(queue_size or (lambda: huey.storage.queue_size()))

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        s = self.state
        db_problem = self._database(self.check_seconds)
        queue_problem = self._queue(self.check_seconds)
        age = s.beat_age()
        problems = []
        if db_problem:
            problems.append(f"the database does not answer: {db_problem}")
        if queue_problem:
            problems.append(f"the queue does not answer: {queue_problem}")
        if age is None:
            problems.append("this worker has not written its beat yet")
        elif age > WORKER_BEAT_FRESH_SECONDS:
            problems.append(f"this worker last wrote its beat {age:.0f} s ago")
        if s.stopping:
            problems.append("this worker is stopping")
        info = {
            "status": "ok" if not problems else "unhealthy",
            "worker_id": s.worker_id, "host": s.host, "pid": s.pid,
            "uptime_seconds": round(time.monotonic() - s.started, 1),
            "concurrency": s.concurrency,
            "last_beat": s.last_beat.isoformat().replace("+00:00", "Z") if s.last_beat else None,
            "last_beat_age_seconds": None if age is None else round(age, 1),
            "in_flight": s.in_flight(),
            "database": db_problem is None, "queue": queue_problem is None,
            "stopping": s.stopping,
            "problems": problems,
        }
        return not problems, info


def serve_health(report: Callable[[], tuple[bool, dict[str, Any]]], host: str, port: int) -> ThreadingHTTPServer:
    """Answer every GET on host:port with `report()` as JSON (200 or 503), in a daemon thread.

    Returns the server (its `server_address` has the port actually bound; `shutdown()` stops it)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            try:
                ok, info = report()
            except Exception as exc:  # never leave a supervisor without an answer
                log.exception("worker health answer")
                ok, info = False, {"status": "unhealthy", "problems": [f"the health check failed: {exc}"]}
            body = json.dumps(info).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt: str, *args) -> None:  # a healthcheck every few seconds is not news
            log.debug("health %s", fmt % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="mediaparser-health", daemon=True).start()
    return server
