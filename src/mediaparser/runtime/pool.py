"""Parallel per-file work inside a job: a process pool per worker process.

Why a pool inside the job rather than fan-out chunk tasks on the queue: the
job's lease, pause/cancel checks and batched commits stay in one place (the
job's own loop), a kill -9 loses at most the chunks in flight, and on one
machine it uses every core with no extra queue traffic. Several machines
scale out by running more workers, each taking whole jobs; splitting one huge
import across machines would be the next step (chunk tasks keyed by file-id
ranges, each guarded by the same lease rules).

The pool uses the "spawn" start method: the Huey consumer runs threads, and
forking a threaded process can copy held locks into the child. Pool processes
watch their parent and exit when it dies, so a killed worker leaves no
orphans behind. Each file runs under a time limit (SIGALRM in the pool
process); a file stuck inside C code past that limit is caught by the parent,
which recycles the pool and records the file as timed out.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

# Diagnostics, read from the environment by pool processes only:
# MEDIAPARSER_TRACE_FILE appends "id<TAB>path" for every file processed (the
# crash-safety tests count re-done files with it); MEDIAPARSER_DEBUG_FILE_DELAY
# adds seconds of sleep per file, to make a run slow enough to interrupt.
_TRACE_ENV = "MEDIAPARSER_TRACE_FILE"
_DELAY_ENV = "MEDIAPARSER_DEBUG_FILE_DELAY"


class FileTimeout(BaseException):
    """Raised by the alarm; a BaseException so that the per-file work's own
    `except Exception` (which turns a bad file into an error result) cannot
    swallow it."""


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(1.0)


_parent_pid: int | None = None


def _init_worker(parent_pid: int) -> None:
    global _parent_pid
    _parent_pid = parent_pid
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's business
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _resolve(func_path: str) -> Callable[..., Any]:
    module, _, name = func_path.partition(":")
    return getattr(importlib.import_module(module), name)


def _alarm(_signum, _frame):
    raise FileTimeout()


def run_chunk(func_path: str, items: list[tuple], kwargs: dict,
              timeout: float) -> tuple[list[tuple[int, Any]], float]:
    """Run `func(path, **kwargs, **extra)` for each (id, path) or (id, path, extra);
    runs in a pool process. `extra` holds per-file arguments (the importer's:
    the identity the walk saw for the file).

    Returns the (id, result) pairs and the seconds the chunk took (the caller
    sizes later chunks from it). A file over the time limit gets a TimedOut
    result instead.
    """
    started = time.perf_counter()
    func = _resolve(func_path)
    trace = os.environ.get(_TRACE_ENV)
    delay = float(os.environ.get(_DELAY_ENV) or 0)
    out: list[tuple[int, Any]] = []
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for item in items:
            item_id, path = item[0], item[1]
            extra = item[2] if len(item) > 2 else {}
            if _parent_pid is not None and os.getppid() != _parent_pid:
                os._exit(0)  # the worker died: its results could never be committed
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                if delay:
                    time.sleep(delay)
                result = func(path, **kwargs, **extra)
            except FileTimeout:
                result = TimedOut(f"analysis took longer than {timeout:g} s and was stopped")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if trace:
                # One O_APPEND write per file: lines from several processes never interleave.
                fd = os.open(trace, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, f"{item_id}\t{path}\n".encode("utf-8", "backslashreplace"))
                finally:
                    os.close(fd)
            out.append((item_id, result))
    finally:
        signal.signal(signal.SIGALRM, old)
    return out, time.perf_counter() - started


class TimedOut:
    """Result placeholder for a file that hit the per-file time limit."""

    def __init__(self, message: str) -> None:
        self.error = message

    def __reduce__(self):
        return (TimedOut, (self.error,))


class WorkPool:
    """A lazily started process pool that survives between jobs in one worker."""

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                ctx = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(max_workers=self.processes, mp_context=ctx,
                                                     initializer=_init_worker, initargs=(os.getpid(),))
            return self._executor

    def submit(self, func_path: str, items: list[tuple], kwargs: dict, timeout: float) -> Future:
        return self._ensure().submit(run_chunk, func_path, items, kwargs, timeout)

    def recycle(self) -> None:
        """Kill the pool's processes (a file is stuck in C code) and start afresh next time."""
        with self._lock:
            ex, self._executor = self._executor, None
        if ex is not None:
            for p in list(getattr(ex, "_processes", {}).values()):
                try:
                    p.kill()
                except Exception:
                    pass
            ex.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            ex, self._executor = self._executor, None
        if ex is not None:
            ex.shutdown(wait=True, cancel_futures=True)


_pools: dict[int, WorkPool] = {}
_pools_lock = threading.Lock()


def shared_pool(processes: int) -> WorkPool:
    with _pools_lock:
        pool = _pools.get(processes)
        if pool is None:
            pool = _pools[processes] = WorkPool(processes)
        return pool


def shutdown_pools() -> None:
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for p in pools:
        p.shutdown()


__all__ = ["WorkPool", "shared_pool", "shutdown_pools", "TimedOut", "BrokenProcessPool", "run_chunk"]
