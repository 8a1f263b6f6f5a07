"""The worker process: Huey's consumer with our defaults, a beat and a reaper.

`mediaparser worker` runs this. Compared with a bare `huey_consumer`:

* polling tops out at 1 s (`max_delay`), so a new job starts within about a
  second on SqliteHuey, which polls;
* SIGTERM is graceful (as systemd and most supervisors send it): running
  jobs commit what they have, hand their lease back (status PENDING) and
  the consumer exits within `shutdown_timeout` seconds;
* a monitor thread writes this worker's beat (for /api/health and the UI's
  "no worker" banner) and runs the reaper every `reap_interval` seconds, so
  a job whose worker was killed is picked up again soon after its lease
  goes stale — Huey's periodic task (every minute) is the backstop for
  workers started some other way;
* the reaper also runs once at start-up;
* with a health port (`--health-port`, MEDIAPARSER_WORKER_HEALTH_PORT) the
  worker answers HTTP health questions about itself (runtime/health.py).

A plain `huey_consumer mediaparser.runtime.consumer.huey` runs the same
tasks (consumer.py says what differs).
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Callable

from huey.consumer import Consumer

from mediaparser.config import Settings
from mediaparser.runtime import lifecycle, tasks
from mediaparser.runtime.health import HealthReport, WorkerState, serve_health
from mediaparser.media.pool import shutdown_pools
from mediaparser.runtime.queue import huey

log = logging.getLogger(__name__)


class HealthPortUnavailable(RuntimeError):
    """The health port cannot be listened on (taken, or not ours to use); the message says which."""


class _Consumer(Consumer):
    worker_state: WorkerState | None = None

    def stop(self, graceful: bool = False) -> None:
        tasks.shutdown_requested.set()  # running jobs hand back their lease at the next checkpoint
        if self.worker_state is not None:
            self.worker_state.stopping = True  # the health answer turns 503 at once
        super().stop(graceful=graceful)


def _monitor(app, worker_id: str, settings: Settings, stop: threading.Event, periodic: bool,
             parent_pid: int | None, on_beat: Callable[[], None] | None) -> None:
    interval = min(settings.reap_interval, 5.0)
    last_reap = 0.0
    while not stop.is_set():
        if parent_pid is not None and os.getppid() != parent_pid:
            log.warning("the process that started this worker is gone; stopping")
            os.kill(os.getpid(), signal.SIGTERM)  # the graceful path
            parent_pid = None
        try:
            with app.app_context():
                lifecycle.worker_beat(worker_id)
                if on_beat is not None:
                    on_beat()
                if periodic and time.monotonic() - last_reap >= settings.reap_interval:
                    tasks.reap_now()
                    last_reap = time.monotonic()
        except Exception:  # keep beating; a DB hiccup must not kill the monitor
            log.exception("worker monitor")
        stop.wait(interval)


def start_monitor(app, worker_id: str, *, periodic: bool = True, parent_pid: int | None = None,
                  on_beat: Callable[[], None] | None = None) -> tuple[threading.Event, threading.Thread]:
    """Start the beat-and-reap thread for this process; set the returned event to stop it.

    Shared by `mediaparser worker` and each process of a plain `huey_consumer` (consumer.py).
    """
    settings: Settings = app.extensions["mediaparser"]
    stop = threading.Event()
    monitor = threading.Thread(target=_monitor, args=(app, worker_id, settings, stop, periodic, parent_pid, on_beat),
                               name="mediaparser-monitor", daemon=True)
    monitor.start()
    return stop, monitor


def run_worker(app, *, threads: int = 2, periodic: bool = True, shutdown_timeout: float = 20.0,
               parent_pid: int | None = None, health_port: int = 0, health_host: str = "127.0.0.1") -> None:
    """Run the consumer in this process until a signal stops it.

    `threads` is the worker's concurrency: how many tasks (jobs, chunks) it runs at
    once. `health_port` > 0 serves this worker's health answer there (runtime/health.py).
    """
    settings: Settings = app.extensions["mediaparser"]
    tasks.set_worker_app(app)
    worker_id = lifecycle.new_owner_token()
    state = WorkerState(worker_id, threads)
    health_server = None
    unwatch: Callable[[], None] | None = None
    if health_port:
        try:  # before anything else: a taken port stops the start with the reason
            health_server = serve_health(HealthReport(app, state), health_host, health_port)
        except OSError as exc:
            raise HealthPortUnavailable(
                f"cannot answer health questions on {health_host}:{health_port}: {exc.strerror or exc}") from exc
        unwatch = state.watch_tasks()
        log.info("worker health answer on http://%s:%d/", health_host, health_server.server_address[1])
    with app.app_context():
        report = tasks.reap_now() if periodic else None
        if report is not None:
            log.info("start-up reap: %s", report)
    stop, monitor = start_monitor(app, worker_id, periodic=periodic, parent_pid=parent_pid, on_beat=state.beat)
    consumer = _Consumer(huey, workers=threads, periodic=periodic, initial_delay=0.1, backoff=1.15,
                         max_delay=1.0, worker_type="thread", shutdown_timeout=shutdown_timeout,
                         graceful_signal="TERM", check_worker_health=True)
    consumer.worker_state = state
    log.info("worker %s started (%d job threads, %d analysis processes, queue %s)",
             worker_id, threads, settings.workers, settings.queue_url)
    try:
        consumer.run()
    finally:
        state.stopping = True
        stop.set()
        monitor.join(timeout=5)
        if unwatch is not None:
            unwatch()
        if health_server is not None:
            health_server.shutdown()
            health_server.server_close()
        shutdown_pools()
        try:
            with app.app_context():
                lifecycle.worker_gone(worker_id)
        except Exception:
            log.exception("could not remove worker beat")
