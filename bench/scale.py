"""Scale-out benchmark: one import with one worker, then the same import with two, in one run.

    MEDIAPARSER_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_hN \\
    MEDIAPARSER_TEST_REDIS_URL=redis://127.0.0.1:6379/N \\
    .venv/bin/python bench/scale.py [--files 2000] [--size 2400x1800] [--workers 1 2] [--json out.json]

The PostgreSQL database and the Redis database named there are WIPED before each run (as the
service-backed tests do); `--database-url` / `--queue-url` name others.

The photos (JPEGs of a realistic size with EXIF capture times and cameras, each a different
picture) are generated once into a cache folder (`--photos`, default in the temp folder, reused
by later runs with the same --files and --size) and read once before each run, so every run
reads them from the page cache alike. Each run: a fresh database, queue and instance folder;
K `mediaparser worker` processes (one analysis process each: MEDIAPARSER_WORKERS=1, and
`--concurrency`, default the setting's 2); the import is submitted when every worker beats, and
timed from the submission to COMPLETED.

Printed per run: files/s; the phases seen from the job row (listing, analysis, the final steps
after the last file); peak memory per worker (the worker and its analysis process, RSS); and
where the time goes, measured inside each worker without touching its code (this script starts
the workers through itself and wraps, by name, what it finds):
  * analysis — CPU seconds of the analysis processes, and bytes they read (/proc/PID/io rchar);
  * database — wall seconds inside SQL statements and commits (SQLAlchemy engine events, the
    DBAPI commit), the number of write transactions (store/db.py write_transaction), and the
    commits PostgreSQL counted (pg_stat_database.xact_commit, less this script's own polls);
  * queue — time this worker ran no task while the job was open (Huey's pre/post-execute hooks):
    waiting for the queue, or for nothing at all;
  * final steps — wall seconds in the steps that need every file (by default
    usecases/duplicates.py:regroup and usecases/stacks.py:stack_job; --final-step adds more).
Then the ratio of the runs' files/s against the first, and the write ceiling of this database for
import results (`--db-ceiling`, on by default): the last run's rows written back, every column,
in transactions of 1, 50 and 500 rows from one client — rows/s and commits/s. Nothing is asserted. The load average is
printed with each run: on a shared machine the figures are only as good as it is quiet.
"""
from __future__ import annotations

import argparse
import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATS_FLAG = "--as-instrumented-worker"
DEFAULT_FINAL_STEPS = ("mediaparser.usecases.duplicates:regroup", "mediaparser.usecases.stacks:stack_job")
TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------ in the worker --

def instrumented_worker(argv: list[str]) -> None:
    """`mediaparser worker …` with timers around the database, the tasks and the final steps.

    argv: STATS_PATH FINAL_STEPS(comma-separated module:function) -- worker args…"""
    stats_path, final_steps, rest = argv[0], [s for s in argv[1].split(",") if s], argv[3:]
    lock = threading.Lock()
    where = threading.local()  # .final: inside a final step in this thread
    st = {"sql_s": 0.0, "sql_n": 0, "commit_s": 0.0, "commit_n": 0, "write_tx_n": 0, "write_tx_s": 0.0,
          "final_sql_s": 0.0, "final_commit_s": 0.0, "final": {}, "tasks": [], "pid": os.getpid()}

    def add(key: str, value: float) -> None:
        with lock:
            st[key] += value

    from sqlalchemy import event
    from sqlalchemy.engine import Connection, Engine

    @event.listens_for(Engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("mp_bench_t", []).append(time.perf_counter())

    @event.listens_for(Engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        started = conn.info.get("mp_bench_t")
        if started:
            dt = time.perf_counter() - started.pop()
            add("sql_s", dt)
            add("sql_n", 1)
            if getattr(where, "final", False):
                add("final_sql_s", dt)

    commit_impl = Connection._commit_impl

    def _commit_impl(self):
        t0 = time.perf_counter()
        try:
            return commit_impl(self)
        finally:
            dt = time.perf_counter() - t0
            add("commit_s", dt)
            add("commit_n", 1)
            if getattr(where, "final", False):
                add("final_commit_s", dt)

    Connection._commit_impl = _commit_impl

    # Before anything imports it by name: every write transaction is counted.
    import mediaparser.store.db as store_db

    write_transaction = store_db.write_transaction

    @contextmanager
    def counted(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            with write_transaction(*args, **kwargs) as s:
                yield s
        finally:
            add("write_tx_s", time.perf_counter() - t0)
            add("write_tx_n", 1)

    store_db.write_transaction = counted

    import importlib

    for spec in final_steps:
        module_name, _, func_name = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
            func = getattr(module, func_name)
        except (ImportError, AttributeError):
            st["final"][spec] = None  # not in this version of the code
            continue

        def timed(*args, __func=func, __spec=spec, **kwargs):
            where.final = True
            t0 = time.perf_counter()
            try:
                return __func(*args, **kwargs)
            finally:
                where.final = False
                with lock:
                    slot = st["final"].setdefault(__spec, {"calls": 0, "seconds": 0.0})
                    if slot is None:
                        slot = st["final"][__spec] = {"calls": 0, "seconds": 0.0}
                    slot["calls"] += 1
                    slot["seconds"] += time.perf_counter() - t0

        setattr(module, func_name, timed)
        st["final"][spec] = {"calls": 0, "seconds": 0.0}

    from mediaparser.runtime.queue import huey

    running: dict[str, float] = {}

    @huey.pre_execute(name="mp-bench")
    def _task_start(task):
        running[task.id] = time.time()

    @huey.post_execute(name="mp-bench")
    def _task_end(task, value, exc):
        t0 = running.pop(task.id, None)
        if t0 is not None:
            with lock:
                st["tasks"].append([task.name.rsplit(".", 1)[-1], t0, time.time()])

    def dump() -> None:
        with lock:
            data = json.dumps(st)
        tmp = stats_path + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(data)
        os.replace(tmp, stats_path)

    atexit.register(dump)

    def every_second() -> None:
        while True:
            time.sleep(1.0)
            try:
                dump()
            except OSError:
                pass

    threading.Thread(target=every_second, daemon=True).start()
    from mediaparser.cli import main

    main(args=rest, prog_name="mediaparser")


# ----------------------------------------------------------------- photos --

def _make_photo(job: tuple[str, int, int, int]) -> int:
    import numpy as np
    from PIL import Image

    path, i, width, height = job
    rng = np.random.default_rng(1000 + i)
    # A different picture each time (coarse random cells, so no two are near duplicates) ...
    cells = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(cells).resize((width, height), Image.Resampling.BICUBIC)
    # ... with fine grain, so the JPEG is as large as a camera's at this size.
    grain = _grain(width, height)
    arr = np.asarray(img, dtype=np.int16)
    arr = np.clip(arr + np.roll(grain, i * 7919 % width, axis=1), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    cameras = (("Apple", "iPhone 12"), ("samsung", "SM-G991B"), ("Canon", "Canon EOS 80D"))
    make, model = cameras[i % len(cameras)]
    exif[0x010F], exif[0x0110] = make, model
    when = time.gmtime(1546300800 + i * 2237)  # spread over the years 2019-2020
    stamp = time.strftime("%Y:%m:%d %H:%M:%S", when)
    exif[0x0132] = stamp
    exif.get_ifd(0x8769)[0x9003] = stamp  # DateTimeOriginal
    Image.fromarray(arr).save(path, "JPEG", quality=88, exif=exif)
    return os.path.getsize(path)


_GRAIN: dict = {}


def _grain(width: int, height: int):
    import numpy as np

    key = (width, height)
    if key not in _GRAIN:
        _GRAIN.clear()
        _GRAIN[key] = np.random.default_rng(5).integers(-10, 11, (height, width, 3), dtype=np.int16)
    return _GRAIN[key]


def photos(folder: Path, n: int, width: int, height: int) -> Path:
    """The cached photo folder for these parameters, generated when missing or incomplete."""
    import multiprocessing

    marker = folder / "complete.json"
    wanted = {"files": n, "width": width, "height": height}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return folder / "DCIM"
    t0 = time.perf_counter()
    jobs = []
    for i in range(n):
        sub = folder / "DCIM" / f"{100 + i // 500}PHOTO"
        sub.mkdir(parents=True, exist_ok=True)
        jobs.append((str(sub / f"IMG_{i:05d}.JPG"), i, width, height))
    with multiprocessing.get_context("spawn").Pool(min(2, os.cpu_count() or 1)) as pool:
        total = sum(pool.imap_unordered(_make_photo, jobs, chunksize=16))
    marker.write_text(json.dumps(wanted))
    print(f"generated {n} photos of {width}×{height} ({total / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f} s "
          f"into {folder}")
    return folder / "DCIM"


def read_all(root: Path) -> int:
    """Read every file once, so each run finds them in the page cache alike."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as fh:
                while chunk := fh.read(1 << 20):
                    total += len(chunk)
    return total


# --------------------------------------------------------------- /proc reads --

def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out.extend(int(c) for c in fh.read().split())
    except OSError:
        pass
    return out


def _tree(pid: int) -> list[int]:
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


def _proc(pid: int) -> dict | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        rss = 0
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
        rchar = 0
        try:
            with open(f"/proc/{pid}/io") as fh:
                for line in fh:
                    if line.startswith("rchar:"):
                        rchar = int(line.split()[1])
        except OSError:
            pass
        return {"cpu": (int(fields[11]) + int(fields[12])) / TICK, "rss": rss, "rchar": rchar}
    except (OSError, IndexError, ValueError):
        return None


class Sampler:
    """Every 0.2 s: RSS of each worker's process tree (peak kept), CPU and bytes read per process."""

    def __init__(self, worker_pids: list[int]) -> None:
        self.worker_pids = worker_pids
        self.peak = {pid: 0 for pid in worker_pids}
        self.peak_main = {pid: 0 for pid in worker_pids}
        self.last: dict[int, dict[int, dict]] = {pid: {} for pid in worker_pids}  # worker -> pid -> reading
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def sample(self) -> dict[int, dict[int, dict]]:
        now = {}
        for w in self.worker_pids:
            readings = {p: r for p in _tree(w) if (r := _proc(p)) is not None}
            now[w] = readings
            self.peak[w] = max(self.peak[w], sum(r["rss"] for r in readings.values()))
            if w in readings:
                self.peak_main[w] = max(self.peak_main[w], readings[w]["rss"])
            self.last[w].update(readings)
        return now

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.2)


def usage_between(before: dict[int, dict], after: dict[int, dict], main_pid: int) -> dict:
    """CPU seconds and bytes read by the worker itself and by its other processes (analysis)."""
    out = {"main_cpu": 0.0, "analysis_cpu": 0.0, "analysis_read": 0, "analysis_processes": 0}
    for pid, r in after.items():
        b = before.get(pid, {"cpu": 0.0, "rchar": 0})
        if pid == main_pid:
            out["main_cpu"] += r["cpu"] - b["cpu"]
        else:
            out["analysis_cpu"] += r["cpu"] - b["cpu"]
            out["analysis_read"] += r["rchar"] - b["rchar"]
            out["analysis_processes"] += 1
    return out


# ------------------------------------------------------------------ one run --

def reset_services(database_url: str, queue_url: str) -> None:
    import redis
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    redis.Redis.from_url(queue_url).flushdb()


def pg_commits(engine) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return int(conn.execute(text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"))
                   .scalar_one())


def run_once(k: int, args, src: Path, workdir: Path) -> dict:
    from sqlalchemy import create_engine, text

    reset_services(args.database_url, args.queue_url)
    home = workdir / f"instance-{k}w"
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("MEDIAPARSER_"):
            del env[name]
    env.update({
        "MEDIAPARSER_HOME": str(home), "MEDIAPARSER_DATABASE_URL": args.database_url,
        "MEDIAPARSER_QUEUE_URL": args.queue_url, "MEDIAPARSER_WORKERS": "1", "MEDIAPARSER_TIMEZONE": "UTC",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    })
    if args.concurrency:
        env["MEDIAPARSER_WORKER_CONCURRENCY"] = str(args.concurrency)
    mp = [sys.executable, "-m", "mediaparser"]
    subprocess.run(mp + ["db", "upgrade"], env=env, check=True, capture_output=True)
    engine = create_engine(args.database_url)
    procs, stats_paths = [], []
    log = open(workdir / f"workers-{k}w.log", "wb")
    for i in range(k):
        stats = workdir / f"stats-{k}w-{i}.json"
        stats_paths.append(stats)
        procs.append(subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), STATS_FLAG, str(stats), ",".join(args.final_step), "--",
             "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    sampler = Sampler([p.pid for p in procs])
    try:
        deadline = time.monotonic() + 120
        while True:
            with engine.connect() as conn:
                beats = conn.execute(text("SELECT count(*) FROM worker_beats")).scalar_one()
            if beats >= k:
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the workers did not start; see {workdir / f'workers-{k}w.log'}")
            time.sleep(0.2)
        time.sleep(2.0)  # let the analysis processes start outside the timing
        sampler.thread.start()
        before = sampler.sample()
        load_before = os.getloadavg()
        commits_before = pg_commits(engine)

        sys.path.insert(0, str(ROOT / "src"))
        from mediaparser.config import Settings
        from mediaparser.runtime.app import create_core_app
        from mediaparser.runtime.tasks import submit
        from mediaparser.usecases.importing import create_import_job

        settings = Settings.load(environ=env)
        app = create_core_app(settings)
        with app.app_context():
            t_submit = time.time()
            job = create_import_job(settings, str(src), check_roots=False)
            submit(job)
            job_id = job.id
        t_listed = t_analysed = t_done = None
        polls, status = 0, None
        while True:
            with engine.connect() as conn:
                row = conn.execute(text("SELECT status, enumerated, progress_current, progress_total, error_count, "
                                        "error_message FROM jobs WHERE id = :id"), {"id": job_id}).one()
            polls += 1
            now = time.time()
            status, enumerated, current, total, errors, message = row
            if enumerated and t_listed is None:
                t_listed = now
            if enumerated and total and current >= total and t_analysed is None:
                t_analysed = now
            if status in ("COMPLETED", "FAILED", "CANCELLED"):
                t_done = now
                break
            time.sleep(args.poll)
        after = sampler.sample()
        load_after = os.getloadavg()
        time.sleep(1.5)  # PostgreSQL publishes its counters within about a second
        # The polls above end by rolling back (they only read); the commits are the workers' and the submission's.
        commits = pg_commits(engine) - commits_before
        with app.app_context():
            from mediaparser.store.db import db

            db.session.remove()
            db.engine.dispose()  # no connection of ours left when the next run drops the schema
    finally:
        sampler.stop.set()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        log.close()
        engine.dispose()
    workers = []
    for p, path in zip(procs, stats_paths):
        st = json.loads(path.read_text()) if path.exists() else {}
        use = usage_between(before.get(p.pid, {}), after.get(p.pid, {}), p.pid)
        busy = _union([(max(a, t_submit), min(b, t_done)) for name, a, b in st.get("tasks", [])
                       if name.startswith("process_") and b > t_submit and a < t_done])
        workers.append({"pid": p.pid, "peak_rss": sampler.peak[p.pid], "peak_rss_worker": sampler.peak_main[p.pid],
                        **use, "sql_s": st.get("sql_s", 0.0), "commit_s": st.get("commit_s", 0.0),
                        "write_tx_n": st.get("write_tx_n", 0), "write_tx_s": st.get("write_tx_s", 0.0),
                        "final_sql_s": st.get("final_sql_s", 0.0), "final_commit_s": st.get("final_commit_s", 0.0),
                        "final": st.get("final", {}),
                        "task_runs": sum(1 for t in st.get("tasks", []) if t[0].startswith("process_")),
                        "chunk_runs": sum(1 for t in st.get("tasks", []) if "chunk" in t[0]),
                        "idle_s": (t_done - t_submit) - busy})
    return {"workers_n": k, "job_id": job_id, "status": status, "errors": errors, "message": message,
            "files": total, "seconds": t_done - t_submit,
            "listing_s": (t_listed or t_done) - t_submit, "analysis_s": (t_analysed or t_done) - (t_listed or t_submit),
            "final_s": t_done - (t_analysed or t_done), "pg_commits": commits,
            "load_before": load_before, "load_after": load_after, "per_worker": workers}


def db_ceiling(database_url: str, batches: tuple[int, ...] = (1, 50, 500)) -> list[dict]:
    """Rows/s and commits/s this database takes for import results: the imported rows, every column
    but the id, written back (same values) by one client, `batch` rows per transaction."""
    from sqlalchemy import MetaData, Table, bindparam, create_engine, select

    engine = create_engine(database_url)
    try:
        table = Table("media_files", MetaData(), autoload_with=engine)
        columns = [c.name for c in table.columns if c.name != "id"]
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]
        stmt = (table.update().where(table.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in columns}))
        values = [{"_id": r["id"], **{c: r[c] for c in columns}} for r in rows]
        out = []
        for batch in batches:
            todo = values if batch > 1 else values[:300]  # one row per commit: a sample is enough
            t0 = time.perf_counter()
            commits = 0
            for i in range(0, len(todo), batch):
                with engine.begin() as conn:
                    conn.execute(stmt, todo[i:i + batch])
                commits += 1
            dt = time.perf_counter() - t0
            out.append({"batch": batch, "rows": len(todo), "seconds": dt, "rows_per_s": len(todo) / dt,
                        "commits_per_s": commits / dt})
        return out
    finally:
        engine.dispose()


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


# ------------------------------------------------------------------ report --

def report(runs: list[dict], source_bytes: int, ceiling: list[dict]) -> None:
    base = runs[0]
    print()
    print(f"{'workers':>7} {'files':>6} {'seconds':>8} {'files/s':>8} {'ratio':>6}  {'listing':>8} {'analysis':>9} "
          f"{'final':>7}  {'PG commits':>10} {'commits/s':>9}  {'load 1-min before/after':>23}")
    for r in runs:
        rate = r["files"] / r["seconds"]
        ratio = rate / (base["files"] / base["seconds"])
        print(f"{r['workers_n']:>7} {r['files']:>6} {r['seconds']:>8.1f} {rate:>8.2f} {ratio:>5.2f}×  "
              f"{r['listing_s']:>7.1f}s {r['analysis_s']:>8.1f}s {r['final_s']:>6.1f}s  {r['pg_commits']:>10} "
              f"{r['pg_commits'] / r['seconds']:>9.1f}  {r['load_before'][0]:>11.1f} / {r['load_after'][0]:<9.1f}"
              + ("" if r["status"] == "COMPLETED" else f"  {r['status']}: {r['message']}")
              + (f"  ({r['errors']} files failed)" if r["errors"] else ""))
    print("\nwhere the time goes, per worker (seconds unless said; the job was open for the run's seconds above):")
    print(f"{'run':>4} {'worker':>6} {'tasks (chunks)':>14} {'analysis CPU':>12} {'read MB':>8} {'worker CPU':>10} "
          f"{'SQL':>6} {'commit':>6} {'write tx':>8} {'no task':>8} {'final steps':>11} {'peak RSS MB (worker+analysis / worker)':>38}")
    for r in runs:
        for i, w in enumerate(r["per_worker"]):
            final = sum(v["seconds"] for v in w["final"].values() if v)
            tasks = f"{w['task_runs']} ({w.get('chunk_runs', 0)})"
            print(f"{r['workers_n']:>3}w {i:>6} {tasks:>14} {w['analysis_cpu']:>12.1f} "
                  f"{w['analysis_read'] / 1e6:>8.0f} {w['main_cpu']:>10.1f} {w['sql_s']:>6.1f} {w['commit_s']:>6.1f} "
                  f"{w['write_tx_n']:>8} {w['idle_s']:>8.1f} {final:>11.2f} "
                  f"{w['peak_rss'] / 1e6:>25.0f} / {w['peak_rss_worker'] / 1e6:.0f}")
    print()
    for r in runs:
        n = r["files"]
        ws = r["per_worker"]
        cpu = sum(w["analysis_cpu"] for w in ws)
        read = sum(w["analysis_read"] for w in ws)
        db = sum(w["sql_s"] + w["commit_s"] - w["final_sql_s"] - w["final_commit_s"] for w in ws)
        tx = sum(w["write_tx_n"] for w in ws)
        final = {k: v["seconds"] for w in ws for k, v in w["final"].items() if v and v["calls"]}
        missing = sorted({k for w in ws for k, v in w["final"].items() if v is None})
        print(f"{r['workers_n']} worker(s): analysis {cpu / n * 1000:.0f} ms CPU per file "
              f"({n / cpu if cpu else 0:.1f} files/s per analysis process), reads {read / n / 1e6:.2f} MB per file "
              f"({read / r['seconds'] / 1e6:.1f} MB/s over the run; the files hold {source_bytes / n / 1e6:.2f} MB each); "
              f"database outside the final steps {db / n * 1000:.1f} ms per file, {tx} write transactions "
              f"({tx / r['seconds']:.1f}/s), PostgreSQL counted {r['pg_commits']} commits; final steps "
              + (", ".join(f"{k.rsplit(':', 1)[1]} {v:.2f} s" for k, v in final.items()) or "not seen")
              + (f" (not in this code: {', '.join(missing)})" if missing else ""))
    if ceiling:
        print("\nwrite ceiling of this database for import results (one client, the rows above written back):")
        for c in ceiling:
            print(f"  {c['batch']:>4} rows per transaction: {c['rows_per_s']:>8.0f} rows/s, "
                  f"{c['commits_per_s']:>7.1f} commits/s  ({c['rows']} rows in {c['seconds']:.1f} s)")
    load = max(max(r["load_before"][0], r["load_after"][0]) for r in runs)
    cores = os.cpu_count() or 1
    if load > cores:
        print(f"\nnote: the 1-minute load average reached {load:.1f} on {cores} cores during these runs — other work "
              "shared the machine, so the figures (the ratio above all) are noisy; run again when it is quiet.")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == STATS_FLAG:
        instrumented_worker(argv[1:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--size", default="2400x1800", help="photo size WIDTHxHEIGHT (default: 4.3 MP, about 1 MB)")
    ap.add_argument("--photos", type=Path, default=None, help="cache folder for the generated photos")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to run, in order")
    ap.add_argument("--concurrency", type=int, default=None, help="tasks per worker (default: the setting's)")
    ap.add_argument("--database-url", default=os.environ.get("MEDIAPARSER_TEST_DATABASE_URL"))
    ap.add_argument("--queue-url", default=os.environ.get("MEDIAPARSER_TEST_REDIS_URL"))
    ap.add_argument("--final-step", action="append", default=list(DEFAULT_FINAL_STEPS),
                    help="module:function of a step that needs every file, to time (repeatable)")
    ap.add_argument("--poll", type=float, default=0.25, help="seconds between looks at the job row")
    ap.add_argument("--no-db-ceiling", dest="db_ceiling", action="store_false",
                    help="skip the database's write ceiling after the runs")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--keep", action="store_true", help="keep the instance folders and logs")
    args = ap.parse_args(argv)
    if not (args.database_url and args.database_url.startswith("postgresql") and args.queue_url
            and args.queue_url.startswith("redis")):
        raise SystemExit("give --database-url postgresql+psycopg://… and --queue-url redis://… (or set "
                         "MEDIAPARSER_TEST_DATABASE_URL and MEDIAPARSER_TEST_REDIS_URL); both are wiped")
    width, height = (int(x) for x in args.size.lower().split("x"))
    cache = args.photos or Path(tempfile.gettempdir()) / "mediaparser-bench-scale" / f"{args.files}-{width}x{height}"
    src = photos(cache, args.files, width, height)
    workdir = Path(tempfile.mkdtemp(prefix="mp-bench-scale-"))
    runs = []
    source_bytes = 0
    try:
        for k in args.workers:
            source_bytes = read_all(src)
            print(f"run with {k} worker(s)… (load average {os.getloadavg()[0]:.1f})", flush=True)
            runs.append(run_once(k, args, src, workdir))
        ceiling = db_ceiling(args.database_url) if args.db_ceiling else []
        report(runs, source_bytes, ceiling)
        if args.json:
            args.json.write_text(json.dumps({"files": args.files, "size": args.size, "runs": runs,
                                             "db_ceiling": ceiling}, indent=2))
    finally:
        if args.keep:
            print("kept", workdir)
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
