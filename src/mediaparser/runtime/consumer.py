"""Huey's own consumer runs our tasks too:

    huey_consumer mediaparser.runtime.consumer.huey -w 2 -k process

Importing this module loads Settings from the environment (MEDIAPARSER_HOME,
MEDIAPARSER_QUEUE_URL, …, as `mediaparser worker` does), points the shared
Huey instance at the configured queue, registers the tasks (tasks.py) and
adds start-up/shutdown hooks. Each consumer worker (process, thread or
greenlet) runs the start-up hook; the first one in a process builds the core
app (runtime/app.py) once for that process — after Huey forked it, so no
database connection is shared across a fork — and starts that process's
beat-and-reap monitor (worker.py). Every task then pushes its own context,
exactly as under `mediaparser worker`; Huey's periodic reaper runs too.

What differs from `mediaparser worker`:

* each consumer *process* has its own worker beat, so /api/health lists one
  worker per process (-w 2 -k process: two);
* stopping: Huey's SIGINT waits for running jobs to finish (an import may
  take long); its SIGTERM interrupts them, and their leases go stale and the
  reaper resumes them — `mediaparser worker` instead treats SIGTERM as
  "hand the job back at the next checkpoint";
* polling follows Huey's flags (-d/-m/-b), not our 1 s cap.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading

from mediaparser.config import Settings
from mediaparser.runtime import lifecycle, tasks
from mediaparser.runtime.queue import configure

log = logging.getLogger(__name__)

huey = configure(Settings.load())

_started_in: int | None = None  # the pid whose monitor runs (hooks run once per worker, not per process)
_lock = threading.Lock()
_monitor: tuple[str, threading.Event, threading.Thread] | None = None


@huey.on_startup()
def _start_process() -> None:
    global _started_in, _monitor
    with _lock:
        if _started_in == os.getpid():
            return
        _started_in = os.getpid()
        # Huey marks its worker processes daemonic (they end with the consumer), and
        # multiprocessing refuses children to a daemonic process — but the import's
        # analysis pool needs them. The pool's processes watch their parent and exit
        # when it dies, so they leave no orphans either way.
        if multiprocessing.current_process().daemon:
            multiprocessing.current_process().daemon = False
        _share_huey_logging()
        app = tasks.worker_app()  # built here, after the fork, once per process
        from mediaparser.runtime.worker import start_monitor

        worker_id = lifecycle.new_owner_token()
        stop, thread = start_monitor(app, worker_id)
        _monitor = (worker_id, stop, thread)
        log.info("huey_consumer process %s ready (worker %s)", os.getpid(), worker_id)


@huey.on_shutdown()
def _stop_process() -> None:
    global _monitor
    with _lock:
        if _monitor is None or _started_in != os.getpid():
            return
        worker_id, stop, thread = _monitor
        _monitor = None
    stop.set()
    thread.join(timeout=5)
    from mediaparser.media.pool import shutdown_pools

    shutdown_pools()
    try:
        with tasks.worker_app().app_context():
            lifecycle.worker_gone(worker_id)
    except Exception:
        log.exception("could not remove worker beat")


def _share_huey_logging() -> None:
    """huey_consumer sets up only the "huey" logger; let ours (job claims, failures) show beside it."""
    ours, theirs = logging.getLogger("mediaparser"), logging.getLogger("huey")
    if not ours.handlers and not logging.getLogger().handlers:
        for handler in theirs.handlers:
            ours.addHandler(handler)
