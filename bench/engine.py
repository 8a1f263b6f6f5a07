"""Engine benchmark: a full import job through a real worker against plain loops.

    .venv/bin/python bench/engine.py [--files 10000] [--keep]

Prints files/s for:
  * plain loop    — the same per-file work (the job's full analysis: type, metadata, capture
                    time, thumbnail, perceptual hashes) in one process;
  * plain pool    — the same work over a 2-process pool (multiprocessing), no database;
  * engine        — `mediaparser import` through a real `mediaparser worker` (enumeration,
                    rows, leases, batched commits, progress), timed from enqueue to COMPLETED;
and the engine's overhead per file against the plain pool, plus p50/p99 latency of
GET /api/jobs/<id> against a real `mediaparser serve` while the import runs.
Nothing here is asserted; the figures are for the issue notes.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mediaparser.media.analyze import analyze_file  # noqa: E402

THUMBS = tempfile.mkdtemp(prefix="mp-bench-thumbs-")


def work(path: str):
    """The engine's per-file work, with the settings the job passes."""
    return analyze_file(path, timezone="UTC", thumb_dir=THUMBS)


def make_files(folder: Path, n: int, payload_kb: int = 0) -> list[str]:
    import numpy as np
    from PIL import Image

    payload = os.urandom(payload_kb * 1024)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    paths = []
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        # A different picture each time: copies of one picture would all be
        # near duplicates of each other, and grouping n of them is n² pairs —
        # not what a real import looks like.
        cells = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        img = Image.fromarray(cells).resize((64, 48), Image.Resampling.BICUBIC)
        p = sub / f"IMG_{i:06d}.jpg"
        img.save(p, quality=85)
        if payload:
            with open(p, "ab") as f:  # bytes after the JPEG's end marker: still a valid JPEG
                f.write(payload)
        paths.append(str(p))
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--payload-kb", type=int, default=0,
                    help="append this many KB to each file, to weigh per-file work like real photos")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="mp-bench-engine-"))
    try:
        t0 = time.perf_counter()
        paths = make_files(tmp / "src", args.files, args.payload_kb)
        print(f"generated {len(paths)} JPEGs ({sum(os.path.getsize(p) for p in paths) / 1e6:.1f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")
        # The files were just written: they are in the page cache for every contender alike.

        t0 = time.perf_counter()
        for p in paths:
            work(p)
        loop_s = time.perf_counter() - t0
        cores = min(2, os.cpu_count() or 1)
        with multiprocessing.get_context("spawn").Pool(cores) as pool:
            pool.map(work, paths[:200], chunksize=8)  # start-up outside the timing
            t0 = time.perf_counter()
            pool.map(work, paths, chunksize=8)
            pool_s = time.perf_counter() - t0

        env = dict(os.environ, MEDIAPARSER_HOME=str(tmp / "instance"), MEDIAPARSER_WORKERS=str(cores),
                   MEDIAPARSER_PORT=str(free_port()))
        env.pop("MEDIAPARSER_DATABASE_URL", None)
        env.pop("MEDIAPARSER_QUEUE_URL", None)
        mp = [sys.executable, "-m", "mediaparser"]
        subprocess.run(mp + ["db", "upgrade"], env=env, check=True, capture_output=True)
        log = open(tmp / "procs.log", "wb")
        worker = subprocess.Popen(mp + ["worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
        server = subprocess.Popen(mp + ["serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{env['MEDIAPARSER_PORT']}"
        try:
            for _ in range(100):
                try:
                    if get_json(base + "/api/health").get("worker_alive"):
                        break
                except Exception:
                    pass
                time.sleep(0.2)
            else:
                raise SystemExit("worker/server did not come up; see " + str(tmp / "procs.log"))
            time.sleep(1.5)  # let the worker's pool start outside the timing
            t0 = time.perf_counter()
            out = subprocess.run(mp + ["import", str(tmp / "src")], env=env, check=True, capture_output=True,
                                 text=True)
            job_id = int(out.stdout.split()[2])
            latencies: list[float] = []
            status = ""
            while status not in ("COMPLETED", "FAILED", "CANCELLED"):
                s0 = time.perf_counter()
                body = get_json(f"{base}/api/jobs/{job_id}")
                latencies.append((time.perf_counter() - s0) * 1000)
                status = body["status"]
                time.sleep(0.1)  # a UI polls about this often; faster would steal a core from the job
            engine_s = time.perf_counter() - t0
        finally:
            for p in (server, worker):
                p.send_signal(signal.SIGTERM)
            for p in (server, worker):
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
        n = len(paths)
        assert body["progress"]["current"] == n, body
        job_s = body["running_seconds"]
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"\n{'contender':<44}{'seconds':>9}{'files/s':>10}{'ms/file':>9}")
        for name, secs in (("plain loop (1 process)", loop_s), (f"plain pool ({cores} processes)", pool_s),
                           (f"engine job, claim to done ({cores} proc)", job_s),
                           ("engine, CLI start to done (incl. start-up)", engine_s)):
            print(f"{name:<44}{secs:>9.2f}{n / secs:>10.0f}{secs / n * 1000:>9.3f}")
        print(f"\nengine overhead (job vs plain pool): {(job_s - pool_s) / pool_s * 100:+.1f}% "
              f"({(job_s - pool_s) / n * 1000:+.3f} ms/file); job vs plain 1-process loop: "
              f"{(job_s - loop_s) / loop_s * 100:+.1f}%")
        print(f"GET /api/jobs/{job_id} during the import: {len(latencies)} requests, p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")
    finally:
        if args.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(THUMBS, ignore_errors=True)


if __name__ == "__main__":
    main()
