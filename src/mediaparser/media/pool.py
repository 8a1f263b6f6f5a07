"""The one process pool: per-file work with a time limit and crash isolation.

Every parallel analysis goes through here — the import job (chunks of files,
`WorkPool.submit`), the `analyze` and `duplicates` commands and the web's
"duplicates among these folders" (`map_ordered`, one file per task). This
module is the single owner of the per-file time limit and of what happens
when a file kills or hangs its process.

Why it lives in the pure layer: it is generic process machinery (no Flask,
no database, no queue), and the use cases (importing, duplicates) as well as
the CLI need it, while use cases may not import the runtime layer.

Two lines of defence per file:

1. `time_limit` (SIGALRM in the pool process) stops slow Python code between
   C calls and turns the overrun into a `TimedOut` result; cheap, and the
   process stays alive.
2. A hard deadline per task, enforced by the parent (pebble's
   `schedule(timeout=)`): a decoder stuck inside C code ignores the alarm, so
   the parent stops that one process, pebble starts a replacement, and the
   task's files get a `TimedOut` result. Other tasks are not disturbed.

Crash isolation: a process that dies (a segfault in a C library, the OOM
killer) fails only its own task (pebble's `ProcessExpired`); a chunk of
several files is then re-run one file per task so the culprit alone gets the
error.

Why pebble rather than `concurrent.futures.ProcessPoolExecutor`: the stdlib
pool breaks as a whole when one process dies and has no public way to stop a
stuck process, so the old code killed every process through the executor's
private `_processes` and re-ran all files in flight; pebble replaces just the
one process. Tasks are handed to pebble only when a process is (nearly) free,
so a task not yet handed over can be cancelled cleanly (pebble would stop a
process to cancel a task it has already dispatched) — the import's pause
drops chunks that have not started and lets running ones finish.

Pool processes use the "spawn" start method (the Huey consumer and the web
server run threads, and forking a threaded process can copy held locks into
the child), watch their parent and exit when it dies, so a killed worker
leaves no orphans behind.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from pebble import ProcessExpired, ProcessPool

# Diagnostics, read from the environment by pool processes only:
# MEDIAPARSER_TRACE_FILE appends "id<TAB>path" for every file processed (the
# crash-safety tests count re-done files with it); MEDIAPARSER_DEBUG_FILE_DELAY
# adds seconds of sleep per file, to make a run slow enough to interrupt.
_TRACE_ENV = "MEDIAPARSER_TRACE_FILE"
_DELAY_ENV = "MEDIAPARSER_DEBUG_FILE_DELAY"

# The hard deadline allows each file twice its time limit plus this much for
# process start-up and pickling: it is a backstop for code that ignores the
# alarm, not a second limit to tune.
DEADLINE_GRACE = 30.0

CRASHED = "the analysis crashed (its worker process died)"


def hard_deadline(time_limit_s: float | None, files: int = 1) -> float | None:
    """Seconds a task of `files` files may run before its process is stopped."""
    if not time_limit_s or time_limit_s <= 0:
        return None
    return time_limit_s * 2 * max(1, files) + DEADLINE_GRACE


def did_not_finish(deadline: float) -> str:
    return f"the analysis did not finish within {deadline:g} s and its process was stopped"


def took_longer(time_limit_s: float) -> str:
    return f"analysis took longer than {time_limit_s:g} s and was stopped"


class TimedOut:
    """Result placeholder for a file the pool had to stop: over its time limit,
    past the hard deadline, or its process crashed. `error` says which."""

    def __init__(self, message: str) -> None:
        self.error = message

    def __reduce__(self):
        return (TimedOut, (self.error,))

    def __repr__(self) -> str:
        return f"TimedOut({self.error!r})"


# ---------------------------------------------------------------------------
# First line: the alarm inside the process


class FileTimeout(BaseException):
    """Raised by the alarm; a BaseException so that the per-file work's own
    `except Exception` (which turns a bad file into an error result) cannot
    swallow it."""


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise `FileTimeout` inside the block after `seconds` (main thread, POSIX).

    Elsewhere (a thread, Windows) it does nothing: the pool's hard deadline
    then has to do the job.
    """
    usable = (
        seconds
        and seconds > 0
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _raise(_signum, _frame):
        raise FileTimeout()

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def call_limited(func: Callable[..., Any], *args: Any, time_limit_s: float | None, **kwargs: Any) -> Any:
    """`func(*args, **kwargs)` under the alarm; an overrun gives a `TimedOut`."""
    try:
        with time_limit(time_limit_s):
            return func(*args, **kwargs)
    except FileTimeout:
        return TimedOut(took_longer(time_limit_s or 0))


# ---------------------------------------------------------------------------
# Inside a pool process

_parent_pid: int | None = None


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(0)
        time.sleep(1.0)


def _init_worker(parent_pid: int) -> None:
    global _parent_pid
    _parent_pid = parent_pid
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's business
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _resolve(func_path: str) -> Callable[..., Any]:
    module, _, name = func_path.partition(":")
    return getattr(importlib.import_module(module), name)


def run_chunk(func_path: str, items: list[tuple], kwargs: dict,
              timeout: float | None) -> tuple[list[tuple[int, Any]], float]:
    """Run `func(path, **kwargs, **extra)` for each (id, path) or (id, path, extra);
    runs in a pool process. `extra` holds per-file arguments (the importer's:
    the identity the walk saw for the file; a per-file argument wins over the same one in `kwargs`).

    Returns the (id, result) pairs and the seconds the chunk took (the caller
    sizes later chunks from it). A file over the time limit gets a TimedOut
    result instead.
    """
    started = time.perf_counter()
    func = _resolve(func_path)
    trace = os.environ.get(_TRACE_ENV)
    delay = float(os.environ.get(_DELAY_ENV) or 0)
    out: list[tuple[int, Any]] = []
    for item in items:
        item_id, path = item[0], item[1]
        extra = item[2] if len(item) > 2 else {}
        if _parent_pid is not None and os.getppid() != _parent_pid:
            os._exit(0)  # the worker died: its results could never be committed
        if delay:
            result = call_limited(_delayed, func, delay, path, time_limit_s=timeout, **{**kwargs, **extra})
        else:
            result = call_limited(func, path, time_limit_s=timeout, **{**kwargs, **extra})
        if trace:
            # One O_APPEND write per file: lines from several processes never interleave.
            fd = os.open(trace, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{item_id}\t{path}\n".encode("utf-8", "backslashreplace"))
            finally:
                os.close(fd)
        out.append((item_id, result))
    return out, time.perf_counter() - started


def _delayed(func: Callable[..., Any], delay: float, *args: Any, **kwargs: Any) -> Any:
    time.sleep(delay)
    return func(*args, **kwargs)


# ---------------------------------------------------------------------------
# The parent side


class _Task(Future):
    """What a caller waits on. Handed to pebble only when a process is about
    free; until then `cancel()` succeeds, afterwards it runs to its end."""

    def __init__(self, fn: Callable[..., Any], args: tuple, deadline: float | None,
                 on_failure: Callable[[_Task, BaseException], None]) -> None:
        super().__init__()
        self.fn, self.args, self.deadline, self.on_failure = fn, args, deadline, on_failure
        self.kwargs: dict = {}
        self.started_at: float | None = None
        self.attempts = 0
        self._start_lock = threading.Lock()

    def start(self) -> bool:
        """Mark it handed over; False when it was cancelled first."""
        with self._start_lock:
            if self.cancelled():
                return False
            if self.started_at is None:
                self.started_at = time.monotonic()
                self.set_running_or_notify_cancel()
            return True

    def cancel(self) -> bool:
        with self._start_lock:
            if self.started_at is not None:
                return False
            if not super().cancel():
                return False
            # Move to CANCELLED_AND_NOTIFIED now (the pool will skip it), so that
            # `concurrent.futures.wait` counts it as done at once.
            self.set_running_or_notify_cancel()
            return True


class WorkPool:
    """A lazily started process pool; `shared_pool` keeps one per worker process
    between jobs."""

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self._pool: ProcessPool | None = None
        self._lock = threading.RLock()
        self._waiting: deque[_Task] = deque()
        self._handed: int = 0  # tasks given to pebble and not finished yet
        self._generation = 0

    # -- public --------------------------------------------------------------

    def submit(self, func_path: str, items: list[tuple], kwargs: dict, timeout: float | None) -> Future:
        """Run `run_chunk(func_path, items, kwargs, timeout)`; the future gives its
        ([(id, result)], seconds). A chunk that outlives its hard deadline gives
        every file a TimedOut; a chunk whose process died is re-run file by file,
        and the file that kills its process again gets a TimedOut."""

        def failed(task: _Task, error: BaseException) -> None:
            if isinstance(error, TimeoutError):
                _settle(task, ([(item[0], TimedOut(did_not_finish(task.deadline or 0))) for item in items], 0.0))
            elif isinstance(error, ProcessExpired) and len(items) > 1:
                self._run_singly(task, func_path, items, kwargs, timeout)
            elif isinstance(error, ProcessExpired):
                _settle(task, ([(items[0][0], TimedOut(CRASHED))], 0.0))
            else:
                _settle(task, error=error)

        return self._enqueue(_Task(run_chunk, (func_path, items, kwargs, timeout),
                                   hard_deadline(timeout, len(items)), failed))

    def call(self, func: Callable[..., Any], item: Any, *, time_limit_s: float | None,
             deadline: float | None) -> Future:
        """Run `func(item)` under the time limit; the future gives its result, or a
        TimedOut when the file overran, outlived `deadline` or crashed its process."""

        def failed(task: _Task, error: BaseException) -> None:
            if isinstance(error, TimeoutError):
                _settle(task, TimedOut(did_not_finish(deadline or 0)))
            elif isinstance(error, ProcessExpired):
                _settle(task, TimedOut(CRASHED))
            else:
                _settle(task, error=error)

        return self._enqueue(_Task(call_limited, (func, item), deadline, failed), time_limit_s=time_limit_s)

    def recycle(self) -> None:
        """Stop every process now and start afresh on the next task. Tasks not
        finished fail with BrokenProcessPool (their callers have given up on them)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._generation += 1
            self._handed = 0
            waiting, self._waiting = self._waiting, deque()
        for task in waiting:
            _settle(task, error=BrokenProcessPool("the pool was recycled"))
        if pool is not None:
            pool.stop()
            pool.join()

    def shutdown(self) -> None:
        """Stop the processes; tasks not started are dropped."""
        with self._lock:
            waiting, self._waiting = self._waiting, deque()
        for task in waiting:
            task.cancel()
        self.recycle()

    # -- handing tasks to pebble ---------------------------------------------

    def _enqueue(self, task: _Task, **kwargs: Any) -> Future:
        task.kwargs = kwargs
        with self._lock:
            self._waiting.append(task)
        self._pump()
        return task

    def _pump(self) -> None:
        # One more than the processes, as the stdlib pool does: a process that
        # finishes finds its next task already waiting in the pipe.
        with self._lock:
            while self._waiting and self._handed < self.processes + 1:
                task = self._waiting.popleft()
                if not task.start():
                    continue
                if self._pool is not None and not self._pool.active:
                    # pebble marked it broken; reap its processes off this thread.
                    broken, self._pool = self._pool, None
                    broken.stop()
                    threading.Thread(target=broken.join, daemon=True).start()
                if self._pool is None:
                    self._pool = ProcessPool(max_workers=self.processes, initializer=_init_worker,
                                             initargs=(os.getpid(),), context=multiprocessing.get_context("spawn"))
                self._handed += 1
                generation = self._generation
                task.attempts += 1
                inner = self._pool.schedule(task.fn, args=task.args, kwargs=task.kwargs, timeout=task.deadline)
                inner.add_done_callback(lambda f, t=task, g=generation: self._finished(t, f, g))

    def _finished(self, task: _Task, inner: Future, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._handed -= 1
        try:
            result = inner.result()
        except CancelledError:
            _settle(task, error=BrokenProcessPool("the pool was stopped"))
        except BrokenProcessPool as error:
            # pebble gave up on the whole pool (it saw a process die it could
            # not match to a task): start a fresh one and try the task once more.
            if generation == self._generation and task.attempts < 2:
                with self._lock:
                    self._waiting.appendleft(task)
            else:
                task.on_failure(task, ProcessExpired(str(error)))
        except BaseException as error:  # noqa: BLE001 — sorted out by the task's own handler
            task.on_failure(task, error)
        else:
            _settle(task, result)
        if generation == self._generation:
            self._pump()

    def _run_singly(self, outer: _Task, func_path: str, items: list[tuple], kwargs: dict,
                    timeout: float | None) -> None:
        parts = [self.submit(func_path, [item], kwargs, timeout) for item in items]
        remaining = [len(parts)]
        lock = threading.Lock()

        def one_done(_f: Future) -> None:
            with lock:
                remaining[0] -= 1
                if remaining[0]:
                    return
            try:
                out: list[tuple[int, Any]] = []
                seconds = 0.0
                for part in parts:
                    pairs, secs = part.result()
                    out.extend(pairs)
                    seconds += secs
            except BaseException as error:  # noqa: BLE001
                _settle(outer, error=error)
            else:
                _settle(outer, (out, seconds))

        for part in parts:
            part.add_done_callback(one_done)


def _settle(task: Future, result: Any = None, *, error: BaseException | None = None) -> None:
    if task.done():
        return  # cancelled, or already failed by a recycle
    try:
        if error is not None:
            task.set_exception(error)
        else:
            task.set_result(result)
    except Exception:  # noqa: BLE001 — lost a race with cancel/recycle; nobody waits for it
        pass


def map_ordered(func: Callable[[Any], Any], items: Iterable[Any], workers: int, *,
                time_limit_s: float | None, deadline: float | None = None) -> Iterator[Any]:
    """`func(item)` for each item, in input order, each under the time limit;
    a file that overran, hung past `deadline` (default `hard_deadline`) or
    crashed its process yields a TimedOut. At most `workers * 4` files are in
    flight, so memory stays flat however many there are. With one worker the
    work runs in this process (the alarm still applies, no hard deadline)."""
    if deadline is None:
        deadline = hard_deadline(time_limit_s)
    if workers <= 1:
        for item in items:
            yield call_limited(func, item, time_limit_s=time_limit_s)
        return
    pool = WorkPool(workers)
    window: deque[Future] = deque()
    it = iter(items)
    try:
        while True:
            while len(window) < workers * 4:
                try:
                    item = next(it)
                except StopIteration:
                    break
                window.append(pool.call(func, item, time_limit_s=time_limit_s, deadline=deadline))
            if not window:
                return
            yield window.popleft().result()
    finally:
        pool.shutdown()


_pools: dict[int, WorkPool] = {}
_pools_lock = threading.Lock()


def shared_pool(processes: int) -> WorkPool:
    """The pool of this process with that many processes (started on first use)."""
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


__all__ = ["WorkPool", "shared_pool", "shutdown_pools", "map_ordered", "TimedOut", "BrokenProcessPool",
           "run_chunk", "time_limit", "call_limited", "hard_deadline", "FileTimeout", "CRASHED"]
