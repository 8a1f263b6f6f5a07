"""`mediaparser analyze PATH...`: analyse files and print one JSON object each.

Walks files and folders as an import would (`media.walk`: sidecars are read
with their media file, not listed on their own; a link out of the folder, a
broken link or a pipe is reported on stderr), analyses in a process pool on
all cores, and prints results in input order — pretty JSON by default, one line per file
with `--jsonl`. A bad file prints its `error` and the walk goes on; a summary
goes to stderr. Registered on the main command group by cli.py.
"""
from __future__ import annotations

import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from functools import partial

import click

from mediaparser.media.analyze import DEFAULT_TIME_LIMIT, AnalysisResult, analyze_file_limited
from mediaparser.media.timestamps import resolve_zone
from mediaparser.media.walk import iter_media_paths_with_roots


def _work(item: tuple[str, str], *, timezone: str, thumb_dir: str | None, with_thumbnail: bool,
          time_limit_s: float, timings: bool) -> dict:
    path, root = item
    result = analyze_file_limited(path, time_limit_s=time_limit_s, timezone=timezone, thumb_dir=thumb_dir,
                                  with_thumbnail=with_thumbnail, root=root, boundary=[os.path.realpath(root)])
    return result.to_dict(timings=timings)


def _failed(item: tuple[str, str], why: str) -> dict:
    return AnalysisResult(path=item[0], error=why).to_dict()


_CRASHED = "the analysis crashed (its worker process died)"


def _kill(pool: ProcessPoolExecutor) -> None:
    for proc in list(getattr(pool, "_processes", {}).values()):
        try:
            proc.kill()
        except Exception:  # noqa: BLE001 — already gone
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def _parallel(work: Callable[[tuple[str, str]], dict], items: Iterable[tuple[str, str]], workers: int,
              deadline: float | None = None) -> Iterator[dict]:
    """Results in input order, with a bounded number of files in flight (memory
    stays flat however many files there are).

    Two failures no Python code inside the worker can report: a crash in a C
    library kills the worker and breaks the pool; a decoder stuck in C code
    ignores the in-process time limit. Either way (the second after
    `deadline` seconds without a result) the pool is killed and the files in
    flight are re-run one by one, each in a fresh process under the same
    deadline, so only the culprit is reported."""
    window: deque = deque()
    pool = ProcessPoolExecutor(max_workers=workers)
    it = iter(items)
    try:
        while True:
            while len(window) < workers * 4:
                item = next(it, None)
                if item is None:
                    break
                window.append((item, pool.submit(work, item)))
            if not window:
                return
            item, fut = window.popleft()
            try:
                yield fut.result(timeout=deadline)
                continue
            except BrokenProcessPool:
                pass
            except FuturesTimeout:
                pass
            pending = [item] + [i for i, _ in window]
            window.clear()
            _kill(pool)
            for one in pending:
                solo = ProcessPoolExecutor(max_workers=1)
                try:
                    yield solo.submit(work, one).result(timeout=deadline)
                except BrokenProcessPool:
                    yield _failed(one, _CRASHED)
                except FuturesTimeout:
                    yield _failed(one, f"the analysis did not finish within {deadline:g} s and its process was stopped")
                finally:
                    _kill(solo)
            pool = ProcessPoolExecutor(max_workers=workers)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@click.command("analyze")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, file_okay=True, dir_okay=True))
@click.option("--jsonl", is_flag=True, help="One compact JSON object per line instead of pretty JSON.")
@click.option("--timezone", "zone", default=lambda: os.environ.get("MEDIAPARSER_TIMEZONE", "UTC"), show_default="UTC or $MEDIAPARSER_TIMEZONE",
              help="Time zone for times stored only in UTC (video headers, GPS), e.g. Europe/Berlin.")
@click.option("--workers", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="all cores", help="Parallel worker processes.")
@click.option("--no-thumbnails", is_flag=True, help="Skip decoding: no thumbnail and no perceptual hash (much faster).")
@click.option("--thumb-dir", type=click.Path(file_okay=False), default=None,
              help="Write thumbnails (JPEG, 320 px) into this folder; without it they are only hashed.")
@click.option("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, show_default=True,
              help="Seconds allowed per file before it is reported as an error.")
@click.option("--timings", is_flag=True, help="Add per-stage timings (ms) to each object.")
def analyze_command(paths: tuple[str, ...], jsonl: bool, zone: str, workers: int, no_thumbnails: bool,
                    thumb_dir: str | None, time_limit: float, timings: bool) -> None:
    """Analyse photos and videos: real type, hash, metadata, capture time with
    confidence and reasons, perceptual hashes. Prints one JSON object per file."""
    try:
        resolve_zone(zone)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--timezone") from None
    work = partial(_work, timezone=zone, thumb_dir=thumb_dir, with_thumbnail=not no_thumbnails,
                   time_limit_s=time_limit, timings=timings)
    skipped = 0

    def skip(path: str, why: str) -> None:
        nonlocal skipped
        skipped += 1
        click.echo(f"skipped {path}: {why}", err=True)

    items = iter_media_paths_with_roots(paths, on_skip=skip)
    count = errors = 0

    def emit(d: dict) -> None:
        nonlocal count, errors
        count += 1
        errors += d["error"] is not None
        text = json.dumps(d, ensure_ascii=False, separators=(",", ":")) if jsonl else json.dumps(d, ensure_ascii=False, indent=2)
        click.echo(text)

    if workers == 1:
        for item in items:
            emit(work(item))
    else:
        # The in-process limit stops slow Python work; this hard deadline
        # catches a decoder stuck inside C code.
        for d in _parallel(work, items, workers, deadline=time_limit * 2 + 30):
            emit(d)
    click.echo(f"{count} file(s) analysed, {errors} with errors"
               + (f", {skipped} skipped" if skipped else ""), err=True)
    sys.stdout.flush()
