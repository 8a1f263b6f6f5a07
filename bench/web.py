"""Review-grid API latency with 100,000 analysed files in SQLite.

Generates file rows straight into a fresh instance's database (no media
needed), then times whole requests through the Flask app — routing, query,
JSON — for:

- the first page of the grid (capture-time order, no filter),
- a deep page (a cursor 90 % of the way through),
- a combined filter (needs review + low/no confidence + photos + one year),
- the month histogram with counts (/api/files/summary), unfiltered and filtered,
- deep pages sorted by name and by size.

    .venv/bin/python bench/web.py            # 100,000 rows, 200 requests per case
    .venv/bin/python bench/web.py --rows 20000 --requests 50

Target: p99 under 100 ms for each case. The database is not ANALYZEd: the
query plans must be good without statistics, as on a fresh install. Besides
wall-clock times the bench prints CPU times per request: on a shared machine
the wall clock includes waiting for other processes (the load average is
printed too), the CPU time does not.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CAMERAS = ["Pixel 7", "iPhone 12", "iPhone 14 Pro", "SM-G991B", "Canon EOS 80D", "NIKON D750", "DMC-TZ70",
           "ILCE-7M3", "X-T3", "E-M10MarkII", None]


def generate(app, rows: int, seed: int = 7) -> None:
    from mediaparser.store.db import db
    from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile

    rng = random.Random(seed)
    with app.app_context():
        jobs = []
        for j in range(5):
            job = Job(job_type="import", status=JobStatus.COMPLETED, options={"path": f"/photos/import{j}"},
                      enumerated=True)
            db.session.add(job)
            jobs.append(job)
        db.session.commit()
        start = datetime(2004, 1, 1)
        span = int((datetime(2025, 12, 31) - start).total_seconds())
        batch = []
        table = MediaFile.__table__
        for i in range(rows):
            failed = rng.random() < 0.02
            captured = None if failed or rng.random() < 0.03 else start + timedelta(seconds=rng.randrange(span))
            conf = None if failed else ("none" if captured is None else
                                        rng.choices(["high", "medium", "low"], [45, 40, 15])[0])
            job = jobs[i * len(jobs) // rows]
            folder = f"{2004 + i % 22}/album {i % 300:03d}"
            batch.append({
                "job_id": job.id, "source_path": f"/photos/import{job.id}/{folder}/IMG_{i:06d}.JPG",
                "rel_path": f"{folder}/IMG_{i:06d}.JPG", "size": rng.randrange(50_000, 12_000_000),
                "status": FileStatus.FAILED if failed else FileStatus.DONE,
                "error": "cannot decode image: truncated" if failed else None,
                "kind": None if failed else rng.choices(["image", "video", "other"], [90, 8, 2])[0],
                "captured_at": captured, "utc_offset": rng.choice([None, 60, 120, -300]) if captured else None,
                "precision": "second" if captured else None, "time_source": "exif:DateTimeOriginal" if captured else None,
                "confidence": conf, "reasons": ["generated"], "candidates": [],
                "model": rng.choice(CAMERAS), "width": 4000, "height": 3000,
                "review_state": "reviewed" if rng.random() < 0.1 else None,
                "group_id": rng.randrange(1, 2000) if rng.random() < 0.05 else None,
                "thumbnail": None,
            })
            if len(batch) == 10_000:
                db.session.execute(table.insert(), batch)
                batch = []
        if batch:
            db.session.execute(table.insert(), batch)
        db.session.commit()


def timed(client, url: str, n: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per request (everything runs in this
    process, so CPU time is the work itself, without the waits a busy,
    shared machine adds)."""
    wall, cpu = [], []
    client.get(url)  # warm
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(url)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
    return wall, cpu


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()

    from mediaparser.config import Settings
    from mediaparser.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load({"home": os.path.join(tmp, "instance")}, environ={})
        app = create_app(settings)
        t0 = time.perf_counter()
        generate(app, args.rows)
        print(f"generated {args.rows:,} file rows in {time.perf_counter() - t0:.1f} s "
              f"(database {settings.database_path.stat().st_size / 1e6:.0f} MB)")
        client = app.test_client()
        deep = int(args.rows * 0.9)
        cases = [
            ("first page (time order)", "/api/files?limit=100"),
            ("deep page (time, 90 %)", f"/api/files?limit=100&cursor={deep_cursor(app, 'time', deep)}"),
            ("combined filter", "/api/files?limit=100&state=needs_review&confidence=low,none&kind=image&year=2019"),
            ("combined filter, sparse", "/api/files?limit=100&state=reviewed&confidence=low&kind=video&camera=X-T3"),
            ("month histogram + counts", "/api/files/summary"),
            ("histogram, filtered", "/api/files/summary?state=needs_review&kind=image"),
            ("deep page (name)", f"/api/files?limit=100&sort=name&cursor={deep_cursor(app, 'name', deep)}"),
            ("deep page (size, desc)", f"/api/files?limit=100&sort=size&order=desc&cursor={deep_cursor(app, 'size', deep)}"),
        ]
        load = os.getloadavg()[0]
        print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
        print(f"{'case':<28} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}   {'cpu p50':>8} {'cpu p99':>8}"
              f"   ({args.requests} requests each)")
        worst = worst_cpu = 0.0
        for name, url in cases:
            wall, cpu = timed(client, url, args.requests)
            worst, worst_cpu = max(worst, pct(wall, 99)), max(worst_cpu, pct(cpu, 99))
            print(f"{name:<28} {statistics.median(wall):8.1f} {pct(wall, 99):8.1f} {max(wall):8.1f}   "
                  f"{statistics.median(cpu):8.1f} {pct(cpu, 99):8.1f}")
        print(f"worst p99: {worst:.1f} ms wall, {worst_cpu:.1f} ms CPU — target < 100 ms: "
              f"{'met' if worst < 100 else 'NOT met'} (wall)")


if __name__ == "__main__":
    main()
