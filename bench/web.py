"""Review-grid API latency with a large catalogue, on SQLite or PostgreSQL.

Fills file rows straight into an instance's database (no media needed; the
schema comes from the project's migrations), then times whole requests
through the Flask app — routing, query, JSON — for:

- the first page of the grid (capture-time order, no filter),
- a deep page (a cursor 90 % of the way through),
- a combined filter (needs review + low/no confidence + photos + one year),
  and a sparse one (reviewed + low + videos + one camera: about 0.01 %),
- the month histogram with counts (/api/files/summary), unfiltered, filtered,
  and filtered by a camera,
- deep pages sorted by name and by size.

    .venv/bin/python bench/web.py                       # 100,000 rows in SQLite, 200 requests per case
    .venv/bin/python bench/web.py --rows 20000 --requests 50
    .venv/bin/python bench/web.py --rows 1000000 --home /tmp/web1m --reuse     # fill once, reuse after
    .venv/bin/python bench/web.py --rows 1000000 --reuse \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test_h3  # PostgreSQL (its public schema is dropped)

With --reuse a database that already holds exactly --rows generated files is
kept as it is (its schema is still brought to the head migration, as the app
does at start-up, and the worker's minute of upkeep is run: counts folded,
PostgreSQL's tables vacuumed when due); otherwise it is emptied and filled
again. The fill runs in
a child process, so the peak memory printed at the end (VmHWM, the most this
process ever held in RAM) is that of a web process serving these requests.

Target: p99 under 100 ms for each case. The database is not ANALYZEd by the
bench: the query plans must be good without fresh statistics, as on a fresh
install. Besides wall-clock times the bench prints CPU times per request: on
a shared machine the wall clock includes waiting for other processes (the
load average is printed too), the CPU time does not — on PostgreSQL the
database server's own CPU time is not in it, only the wall clock counts there.
"gc max" is the longest a request was held up by Python's cyclic garbage
collector. Before timing, the bench settles the process as `mediaparser
serve` does (web.ready_to_serve). With few requests per case the p99 is the
slowest one; use --requests 200 (the default) for a p99 that means more.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CAMERAS = ["Pixel 7", "iPhone 12", "iPhone 14 Pro", "SM-G991B", "Canon EOS 80D", "NIKON D750", "DMC-TZ70",
           "ILCE-7M3", "X-T3", "E-M10MarkII", None]
COLUMNS = ("job_id", "source_path", "rel_path", "size", "status", "error", "kind", "captured_at", "utc_offset",
           "precision", "time_source", "confidence", "reasons", "candidates", "model", "width", "height",
           "review_state", "group_id", "thumbnail")


def rows_of(job_ids: list[int], rows: int, seed: int = 7):
    """The generated files, one tuple of COLUMNS each (the same rows for the same seed)."""
    from mediaparser.store.models import FileStatus

    rng = random.Random(seed)
    start = datetime(2004, 1, 1)
    span = int((datetime(2025, 12, 31) - start).total_seconds())
    for i in range(rows):
        failed = rng.random() < 0.02
        captured = None if failed or rng.random() < 0.03 else start + timedelta(seconds=rng.randrange(span))
        conf = None if failed else ("none" if captured is None else
                                    rng.choices(["high", "medium", "low"], [45, 40, 15])[0])
        job = job_ids[i * len(job_ids) // rows]
        folder = f"{2004 + i % 22}/album {i % 300:03d}"
        yield (job, f"/photos/import{job}/{folder}/IMG_{i:06d}.JPG", f"{folder}/IMG_{i:06d}.JPG",
               rng.randrange(50_000, 12_000_000), FileStatus.FAILED if failed else FileStatus.DONE,
               "cannot decode image: truncated" if failed else None,
               None if failed else rng.choices(["image", "video", "other"], [90, 8, 2])[0],
               captured, rng.choice([None, 60, 120, -300]) if captured else None,
               "second" if captured else None, "exif:DateTimeOriginal" if captured else None,
               conf, ["generated"], [], rng.choice(CAMERAS), 4000, 3000,
               "reviewed" if rng.random() < 0.1 else None,
               rng.randrange(1, 2000) if rng.random() < 0.05 else None, None)


def generate(app, rows: int, seed: int = 7) -> None:
    """Fill an empty catalogue with `rows` generated files (COPY on PostgreSQL)."""
    from mediaparser.store.db import db
    from mediaparser.store.models import Job, JobStatus, MediaFile

    with app.app_context():
        jobs = []
        for j in range(5):
            job = Job(job_type="import", status=JobStatus.COMPLETED, options={"path": f"/photos/import{j}"},
                      enumerated=True)
            db.session.add(job)
            jobs.append(job)
        db.session.commit()
        job_ids = [j.id for j in jobs]
        engine = db.engine
        if engine.dialect.name == "postgresql":
            raw = engine.raw_connection()
            try:
                cur = raw.cursor()
                with cur.copy(f"COPY media_files ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows_of(job_ids, rows, seed):
                        row = list(row)
                        row[12], row[13] = json.dumps(row[12]), json.dumps(row[13])
                        copy.write_row(row)
                raw.commit()
            finally:
                raw.close()
        else:
            table = MediaFile.__table__
            batch = []
            for row in rows_of(job_ids, rows, seed):
                batch.append(dict(zip(COLUMNS, row)))
                if len(batch) == 20_000:
                    db.session.execute(table.insert(), batch)
                    batch = []
            if batch:
                db.session.execute(table.insert(), batch)
            db.session.commit()
        _settle(app)


def _settle(app) -> None:
    """What an instance does on its own after a large import (none of it needed for correctness)."""
    try:
        from mediaparser.library import counts
    except ImportError:  # before the month counts existed
        return
    with app.app_context():
        counts.fold_all()  # as the worker's minute task does (runtime.tasks.fold_file_counts)
        try:
            from mediaparser.store import upkeep
        except ImportError:  # before the upkeep existed
            return
        from mediaparser.store.db import db

        upkeep.tend(db.engine)


def _filled(app, rows: int) -> bool:
    from mediaparser.store.db import db
    from mediaparser.store.models import MediaFile

    with app.app_context():
        n = db.session.query(MediaFile).count()
        last = db.session.query(MediaFile.rel_path).order_by(MediaFile.id.desc()).limit(1).scalar()
        db.session.commit()
    return n == rows and bool(last) and last.endswith(f"IMG_{rows - 1:06d}.JPG")


def timed(client, url: str, n: int) -> tuple[list[float], list[float], list[float]]:
    """Wall-clock and CPU milliseconds per request (everything runs in this
    process, so CPU time is the work itself, without the waits a busy,
    shared machine adds), and the milliseconds Python's cyclic garbage
    collector held each request up (a full collection is what used to make
    the rare spikes)."""
    wall, cpu, in_gc = [], [], []
    paused = [0.0, 0.0]  # this request's total, the start of the collection under way

    def on_gc(phase: str, _info: dict) -> None:
        if phase == "start":
            paused[1] = time.perf_counter()
        else:
            paused[0] += time.perf_counter() - paused[1]

    client.get(url)  # warm
    gc.callbacks.append(on_gc)
    try:
        for _ in range(n):
            paused[0] = 0.0
            t0, c0 = time.perf_counter(), time.process_time()
            r = client.get(url)
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            in_gc.append(paused[0] * 1000)
            assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
    finally:
        gc.callbacks.remove(on_gc)
    return wall, cpu, in_gc


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def deep_cursor(app, sort: str, position: int, args: str = "") -> str:
    """The cursor after row `position` of the grid in `sort` order (found once, with OFFSET)."""
    from sqlalchemy import select

    from mediaparser.store.db import db
    from mediaparser.library.filters import Cursor, Filter, Order
    from mediaparser.store.models import MediaFile

    with app.test_request_context():
        flt = Filter.from_args({})
        order = Order.from_args({"sort": sort})
        col = order.column
        q = (select(MediaFile.id, col).where(*flt.conditions(), col.is_not(None))
             .order_by(col, MediaFile.id).offset(position).limit(1))
        row = db.session.execute(q).one()
        db.session.commit()
        return Cursor(0, row[1], row[0]).encode()


def _empty(settings) -> None:
    """A fresh, empty catalogue: a new SQLite file, or the PostgreSQL database's schema dropped."""
    from sqlalchemy import create_engine, text

    if settings.database_path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(settings.database_path) + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:  # the migrations build the schema again, whatever revision it was at
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(settings, rows: int, reuse: bool) -> None:
    """Bring the database to the head migration holding `rows` generated files (run in a child process)."""
    from mediaparser.web import create_app

    t0 = time.perf_counter()
    if reuse and (settings.database_path is None or settings.database_path.exists()):
        try:
            app = create_app(settings)
        except Exception as exc:  # a schema this version cannot migrate (a newer revision): fill again
            print(f"not reusable ({str(exc).splitlines()[0]})")
        else:
            print(f"migrations checked/applied in {time.perf_counter() - t0:.1f} s")
            if _filled(app, rows):
                print(f"reusing the {rows:,} file rows already there")
                t0 = time.perf_counter()
                _settle(app)  # the worker would within a minute of starting (a fill by an older version)
                print(f"settled in {time.perf_counter() - t0:.1f} s")
                return
    _empty(settings)
    app = create_app(settings)
    t0 = time.perf_counter()
    generate(app, rows)
    print(f"generated {rows:,} file rows in {time.perf_counter() - t0:.1f} s")


def _settings(args):
    from mediaparser.config import Settings

    values = {"home": args.home}
    if args.database_url:
        values["database_url"] = args.database_url
    return Settings.load(values, environ={})


def peak_rss_mb() -> float:
    """The most RAM this process ever held (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--database-url", default="",
                    help="a PostgreSQL URL (postgresql+psycopg://…); its schema is dropped and filled again. "
                         "Default: a SQLite file in the instance folder")
    ap.add_argument("--home", default="", help="the instance folder (kept afterwards); default: a temporary one")
    ap.add_argument("--reuse", action="store_true", help="keep a database that already holds --rows generated files")
    ap.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.prepare_only:
        prepare(_settings(args), args.rows, args.reuse)
        return
    with tempfile.TemporaryDirectory() as tmp:
        if not args.home:
            args.home = os.path.join(tmp, "instance")
        child = [sys.executable, __file__, "--prepare-only", "--rows", str(args.rows), "--home", args.home]
        child += ["--database-url", args.database_url] if args.database_url else []
        child += ["--reuse"] if args.reuse else []
        subprocess.run(child, check=True)
        run(args)


def run(args) -> None:
    from mediaparser.web import create_app

    settings = _settings(args)
    app = create_app(settings)
    try:
        from mediaparser.web import ready_to_serve
    except ImportError:  # a version from before it
        pass
    else:
        ready_to_serve()  # as `mediaparser serve` does before its first request
    engine = "SQLite" if settings.database_path is not None else "PostgreSQL"
    size = (f"{settings.database_path.stat().st_size / 1e6:.0f} MB" if settings.database_path is not None else
            "")
    print(f"{engine} {size}".strip() + f", {args.rows:,} file rows; peak memory after start-up {peak_rss_mb():.0f} MB")
    client = app.test_client()
    deep = int(args.rows * 0.9)
    cases = [
        ("first page (time order)", "/api/files?limit=100"),
        ("deep page (time, 90 %)", f"/api/files?limit=100&cursor={deep_cursor(app, 'time', deep)}"),
        ("combined filter", "/api/files?limit=100&state=needs_review&confidence=low,none&kind=image&year=2019"),
        ("combined filter, sparse", "/api/files?limit=100&state=reviewed&confidence=low&kind=video&camera=X-T3"),
        ("month histogram + counts", "/api/files/summary"),
        ("histogram, filtered", "/api/files/summary?state=needs_review&kind=image"),
        ("histogram, one camera", "/api/files/summary?camera=X-T3&state=needs_review"),
        ("deep page (name)", f"/api/files?limit=100&sort=name&cursor={deep_cursor(app, 'name', deep)}"),
        ("deep page (size, desc)", f"/api/files?limit=100&sort=size&order=desc&cursor={deep_cursor(app, 'size', deep)}"),
    ]
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"{'case':<28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}   {'cpu p50':>8} {'cpu p99':>8}"
          f"   {'gc max':>7}   ({args.requests} requests each)")
    worst = worst_cpu = 0.0
    for name, url in cases:
        wall, cpu, in_gc = timed(client, url, args.requests)
        worst, worst_cpu = max(worst, pct(wall, 99)), max(worst_cpu, pct(cpu, 99))
        print(f"{name:<28} {statistics.median(wall):8.1f} {pct(wall, 99):8.1f} {max(wall):8.1f}   "
              f"{statistics.median(cpu):8.1f} {pct(cpu, 99):8.1f}   {max(in_gc):7.1f}")
    print(f"worst p99: {worst:.1f} ms wall, {worst_cpu:.1f} ms CPU — target < 100 ms: "
          f"{'met' if worst < 100 else 'NOT met'} (wall)")
    rss = peak_rss_mb()
    print(f"peak memory of this web process: {rss:.0f} MB — target < 300 MB: {'met' if rss < 300 else 'NOT met'} "
          f"(load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
