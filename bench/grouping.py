"""Duplicate grouping of a large library through the database: time, write locks, web latency, memory.

    .venv/bin/python bench/grouping.py [--files 1000000] [--new 10000]
                                       [--database-url postgresql+psycopg://...] [--baseline-ref REF | --no-baseline]

Generates file rows straight into a database (SQLite in a temporary instance
by default, or an empty PostgreSQL database given by --database-url: its
tables are emptied first): `--files` analysed files with random perceptual
hashes (pHash, dHash, both turned 90° and 180°), 1 % of them near copies of
another file (a tenth of those pixel-turned), 0.5 % byte-identical copies, and
`--new` more files that arrive later (1 % near copies and 0.5 % exact copies
of library files among them). Then, for each code path:

  from scratch   every file ungrouped: `usecases.duplicates.regroup()`
  +new           the later files turn up analysed: `regroup()` again

Each regroup runs in a child process (as in the worker), while this process
sends review requests to the same database through the web app (the
duplicate-review page and counts, the grid's first page, and a tag
added/removed on a file — a write, which has to wait for any write lock the
regroup holds). Printed per run: wall and CPU seconds of the regroup, its
peak RSS (the whole child process: Python, the app, the data), the number of
write transactions and the longest one (begin to commit of every
transaction that wrote, timed at the engine, so the old and the new code are
measured the same way), and p50/p99/max of the web requests during the run.

The baseline is the code of `--baseline-ref` (default: the commit before the
grouping rework), extracted with `git archive` and run on the same database
after resetting it to "nothing grouped"; both code paths' groups are compared
at the end (they must be equal). The machine is shared: the load average is
printed, and CPU time beside wall time.

Measured with --no-baseline, 1M + 10k files, on the 2-core machine (load 1.0-1.7), 8 December
2026, at 93e9a2b (the files still to group in their own narrow table, migration 0016; blocks
stamped before they are read; SQLite's log checkpointed every ~40 MB; the garbage collector paused
during a regroup). This machine's speed varies by up to a third from run to run (the same code took
8.4-11.2 s from scratch in repeated runs of a profiling harness, without the web requests):

    SQLite                   wall s  cpu s  RSS MB  writes  longest ms  p99 ms  max ms
    new from scratch          11.36  11.18     282     201          42    40.9   539.4
    new +10,000                1.37   1.42     246       5          27    31.2    58.8
    PostgreSQL (the worker's table upkeep between runs, see `upkeep`)
    new from scratch          20.48  10.07     279     201         224    46.4   118.1
    new +10,000                1.88   1.44     252       5         106    37.1    40.7

Before this work (b920dbc, 7 December, load 1.1): SQLite 22.00 / 1.91 s, PostgreSQL 84.56 / 3.28 s;
a first grouping then set a flag on each of a million wide rows (a new row version with an entry in
each of media_files' indexes on PostgreSQL). What remains of a first grouping is mostly writing the
group pointers on media_files (~30,000 wide-row updates: on PostgreSQL 175 us each with its 18
indexes, 5 s; on SQLite ~1.8 s of the groups' 3 s of writing), reading a million rows (~2 s on
either database) and the search itself (~2.5-3 s). Earlier still, at load 12-21 (compare CPU and memory): from
scratch 78.5 CPU s, 703 MB, longest write 1.9 s, p99 425 ms; +10,000 35.4 CPU s, 428 MB, p99 743 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402

# main before regroup() loaded, searched and stored in batches (nearcrop's grouping rules already in).
DEFAULT_BASELINE = "09dd043"


# ------------------------------------------------------------------ data --

def _hash_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    from similarity import random_hashes  # bench/similarity.py

    return {k: random_hashes(rng, n) for k in ("phash", "dhash", "phash90", "dhash90", "phash180", "dhash180")}


def _copy_near(rng: np.random.Generator, cols: dict[str, np.ndarray], src: np.ndarray, dst: np.ndarray) -> None:
    """Make dst[k] a near copy of src[k] (a tenth of them turned 90°), within the similarity rule."""
    from similarity import flip_masks

    from mediaparser.media.similarity import DEFAULT_ROTATION_RADIUS

    count = src.size
    turned = rng.random(count) < 0.1
    kp = np.where(turned, rng.integers(0, DEFAULT_ROTATION_RADIUS + 1, count), rng.integers(0, 7, count))
    kd = rng.integers(0, 9, count)
    for up, r90, k in (("phash", "phash90", kp), ("dhash", "dhash90", kd)):
        base = np.where(turned, cols[r90][src], cols[up][src])
        cols[up][dst] = base ^ flip_masks(rng, k)


def make_rows(files: int, new: int, seed: int = 11) -> dict[str, np.ndarray]:
    """Column arrays for files + new rows (ids 1..files+new)."""
    rng = np.random.default_rng(seed)
    n = files + new
    cols = _hash_columns(rng, n)
    sha = np.arange(n, dtype=np.int64)  # the sha256 is derived from this number
    # Library: 1 % near copies, 0.5 % exact copies of other library files.
    idx = rng.choice(files, size=3 * (files // 100), replace=False)
    near_src, near_dst = idx[: files // 100], idx[files // 100: 2 * (files // 100)]
    _copy_near(rng, cols, near_src, near_dst)
    ex = idx[2 * (files // 100): 2 * (files // 100) + files // 200]
    ex_src = rng.choice(np.setdiff1d(np.arange(files), ex), size=ex.size, replace=False)
    # New files: near and exact copies of library files.
    new_ids = np.arange(files, n)
    nsel = rng.choice(new_ids, size=new // 100 + new // 200, replace=False)
    _copy_near(rng, cols, rng.choice(files, size=new // 100, replace=False), nsel[: new // 100])
    ex = np.concatenate([ex, nsel[new // 100:]])
    ex_src = np.concatenate([ex_src, rng.choice(files, size=new // 200, replace=False)])
    sha[ex] = sha[ex_src]
    for k in cols:
        cols[k][ex] = cols[k][ex_src]
    cols["sha"] = sha
    return cols


def generate(app, cols: dict[str, np.ndarray], files: int) -> None:
    """Insert the rows: the library DONE, the later files PENDING (not groupable yet)."""
    from sqlalchemy import text

    from mediaparser.store.db import db
    from mediaparser.store.models import FileStatus, Job, JobStatus, MediaFile

    with app.app_context():
        for t in ("dup_members", "dup_groups", "file_tags", "tags", "media_files", "jobs"):
            db.session.execute(text(f"DELETE FROM {t}"))
        job = Job(job_type="import", status=JobStatus.COMPLETED, options={"path": "/photos"}, enumerated=True)
        db.session.add(job)
        db.session.commit()
        signed = {k: v.view(np.int64) for k, v in cols.items() if k != "sha"}
        n = cols["sha"].size
        table = MediaFile.__table__
        step = 20_000
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            batch = []
            for i in range(lo, hi):
                row = {k: int(v[i]) for k, v in signed.items()}
                row.update(id=i + 1, job_id=job.id, source_path=f"/photos/{i // 1000:04d}/IMG_{i:07d}.JPG",
                           rel_path=f"{i // 1000:04d}/IMG_{i:07d}.JPG", size=1_000_000 + i,
                           status=FileStatus.DONE if i < files else FileStatus.PENDING,
                           sha256=f"{int(cols['sha'][i]):064x}", low_detail=False, kind="image",
                           width=4000, height=3000, file_type="jpeg")
                batch.append(row)
            db.session.execute(table.insert(), batch)
            db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"SELECT setval('media_files_id_seq', {n})"))
            db.session.commit()
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def reset(app, files: int) -> None:
    """Back to "nothing grouped, the later files not analysed yet"."""
    from sqlalchemy import text

    from mediaparser.store.db import db

    with app.app_context():
        db.session.execute(text("DELETE FROM dup_members"))
        db.session.execute(text("DELETE FROM dup_groups"))
        try:  # every file back to "not grouped yet" (its own table since migration 0016)
            with db.session.begin_nested():
                db.session.execute(text("INSERT INTO ungrouped_files (file_id) SELECT id FROM media_files "
                                        "WHERE NOT EXISTS (SELECT 1 FROM ungrouped_files u WHERE u.file_id = media_files.id)"))
        except Exception:  # a baseline from before 0016: a flag on media_files
            db.session.execute(text("UPDATE media_files SET grouped = false WHERE grouped"))
        db.session.execute(text("UPDATE media_files SET group_id = NULL, similar_group_id = NULL "
                                "WHERE group_id IS NOT NULL OR similar_group_id IS NOT NULL"))
        db.session.execute(text(f"UPDATE media_files SET status = 'PENDING' WHERE id > {files}"))
        db.session.commit()


def arrive(app, files: int) -> None:
    from sqlalchemy import text

    from mediaparser.store.db import db

    with app.app_context():
        db.session.execute(text(f"UPDATE media_files SET status = 'DONE' WHERE id > {files}"))
        db.session.commit()


def upkeep(app) -> None:
    """What the worker's minute task does after many rows changed (store.upkeep: VACUUM (ANALYZE) on
    PostgreSQL when autovacuum's thresholds say so; nothing on SQLite), before the next regroup:
    an import takes longer than a minute, so a real regroup never meets the million rows the last
    one marked as dead index entries to step over."""
    try:
        from mediaparser.store import upkeep as store_upkeep
    except ImportError:  # code from before store.upkeep existed
        return
    from mediaparser.store.db import db

    with app.app_context():
        t0 = time.perf_counter()
        done = store_upkeep.tend(db.engine)
        if done:
            print(f"(upkeep between runs, as the worker's minute task: {', '.join(done)} in "
                  f"{time.perf_counter() - t0:.1f} s)", flush=True)


def stored_groups(app) -> set[tuple[str, int, frozenset[int]]]:
    from sqlalchemy import select

    from mediaparser.store.db import db
    from mediaparser.store.models import DupGroup, DupMember

    with app.app_context():
        members: dict[int, set[int]] = {}
        for gid, fid in db.session.execute(select(DupMember.group_id, DupMember.file_id)):
            members.setdefault(gid, set()).add(fid)
        out = {(k, rep, frozenset(members.get(gid, ()))) for gid, k, rep in
               db.session.execute(select(DupGroup.id, DupGroup.kind, DupGroup.representative_id))}
        db.session.commit()
        return out


# ----------------------------------------------------------------- child --

CHILD = r"""
import json, resource, sys, time
from sqlalchemy import event
from mediaparser.runtime.app import create_core_app
from mediaparser.store.db import db
from mediaparser.usecases import duplicates

app = create_core_app({"home": sys.argv[1], "database_url": sys.argv[2], "MIGRATE": False})
txs = []  # (seconds, wrote) per transaction
state = {}
with app.app_context():
    eng = db.engine

    @event.listens_for(eng, "begin")
    def _begin(conn):
        state[id(conn)] = [time.perf_counter(), False]

    @event.listens_for(eng, "before_cursor_execute")
    def _exec(conn, cursor, statement, params, context, executemany):
        st = state.get(id(conn))
        if st is not None and statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            st[1] = True

    def _end(conn):
        st = state.pop(id(conn), None)
        if st is not None and st[1]:
            txs.append(time.perf_counter() - st[0])

    event.listen(eng, "commit", _end)
    event.listen(eng, "rollback", _end)
    t0, c0 = time.perf_counter(), time.process_time()
    report = duplicates.regroup()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "writes": len(txs), "longest_write": max(txs, default=0.0),
                  "report": {k: v for k, v in vars(report).items() if isinstance(v, int)}}))
"""


def run_child(src: Path, home: str, url: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run([sys.executable, "-c", CHILD, home, url], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"regroup failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------ web loop --

class WebLoop(threading.Thread):
    """Review requests one after the other until stopped; milliseconds per request."""

    def __init__(self, app, file_ids: list[int]):
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.file_ids = file_ids
        self.stop = threading.Event()
        self.times: list[float] = []
        self.errors = 0

    def run(self) -> None:
        k = 0
        while not self.stop.is_set():
            fid = self.file_ids[k % len(self.file_ids)]
            req = k % 5
            t0 = time.perf_counter()
            if req == 0:
                r = self.client.get("/api/duplicates?limit=50")
            elif req == 1:
                r = self.client.get("/api/duplicates/counts")
            elif req == 2:
                r = self.client.get("/api/files?limit=100")
            elif req == 3:
                r = self.client.post("/api/tags/add", json={"ids": [fid], "tags": ["bench"]})
            else:
                r = self.client.post("/api/tags/remove", json={"ids": [fid], "tags": ["bench"]})
            self.times.append((time.perf_counter() - t0) * 1000)
            self.errors += r.status_code != 200
            k += 1


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")


def measured(app, src: Path, home: str, url: str, file_ids: list[int]) -> dict:
    loop = WebLoop(app, file_ids)
    loop.start()
    try:
        res = run_child(src, home, url)
    finally:
        loop.stop.set()
        loop.join()
    res["web"] = loop.times
    res["web_errors"] = loop.errors
    return res


def line(label: str, r: dict) -> str:
    w = r["web"]
    return (f"{label:<26} {r['wall']:7.2f} {r['cpu']:7.2f} {r['rss_mb']:7.0f} {r['writes']:7d} "
            f"{r['longest_write'] * 1000:9.0f} {len(w):6d} {statistics.median(w) if w else float('nan'):7.1f} "
            f"{pct(w, 99):7.1f} {max(w, default=float('nan')):7.1f}" + (f"  ({r['web_errors']} errors)"
                                                                        if r["web_errors"] else ""))


def extract(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "src"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=1_000_000)
    ap.add_argument("--new", type=int, default=10_000)
    ap.add_argument("--database-url", default="", help="an empty PostgreSQL database (emptied first!)")
    ap.add_argument("--baseline-ref", default=DEFAULT_BASELINE)
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args(argv)

    from mediaparser.config import Settings
    from mediaparser.web import create_app

    tmp = Path(tempfile.mkdtemp(prefix="mp-bench-grouping-"))
    try:
        home = str(tmp / "instance")
        overrides = {"home": home}
        if args.database_url:
            overrides["database_url"] = args.database_url
        settings = Settings.load(overrides, environ={})
        app = create_app(settings)
        app.logger.disabled = True  # a web write refused while the old code holds the lock is counted, not printed
        url = settings.database_url
        t0 = time.perf_counter()
        cols = make_rows(args.files, args.new)
        generate(app, cols, args.files)
        print(f"generated {args.files:,} + {args.new:,} file rows in {time.perf_counter() - t0:.0f} s "
              f"({app.extensions['mediaparser'].database_url.split(':')[0]})", flush=True)
        paths = [("new", ROOT / "src")]
        if not args.no_baseline:
            paths.insert(0, (f"old ({args.baseline_ref})", extract(args.baseline_ref, tmp)))
        ids = list(range(1, 200))
        results: dict[str, tuple[dict, dict]] = {}
        groups: dict[str, set] = {}
        from mediaparser.web import ready_to_serve

        ready_to_serve()  # the web side settles as `mediaparser serve` does before its first request
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'run':<26} {'wall s':>7} {'cpu s':>7} {'RSS MB':>7} {'writes':>7} {'longest':>9} "
              f"{'reqs':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
        for name, src in paths:
            reset(app, args.files)
            upkeep(app)
            scratch = measured(app, src, home, url, ids)
            print(line(f"{name} from scratch", scratch), flush=True)
            arrive(app, args.files)
            upkeep(app)
            inc = measured(app, src, home, url, ids)
            print(line(f"{name} +{args.new:,}", inc), flush=True)
            results[name] = (scratch, inc)
            groups[name] = stored_groups(app)
            print(f"{'':<26} {scratch['report']}  then  {inc['report']}", flush=True)
        if len(groups) == 2:
            a, b = groups.values()
            print(f"both code paths store the same groups: {'yes' if a == b else 'NO'} ({len(b):,} groups)")
        print("(longest = the longest transaction that wrote, begin to commit, ms; web = review requests "
              "during the regroup: duplicate page, counts, grid page, tag add/remove)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
