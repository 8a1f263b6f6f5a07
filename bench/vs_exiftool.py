"""`analyze` against `exiftool -j` on a folder of real files, measured in CPU time.

Usage:
    .venv/bin/python bench/vs_exiftool.py [DIR] [--workers 2] [--rounds 3] [--second-opinion]

DIR defaults to $MEDIAPARSER_CORPUS/media, else ../shared/corpus-dev/media next
to the repository (a mixed set of real camera and phone files). Runs, each
`--rounds` times, best round kept:

- `mediaparser analyze --no-thumbnails --jsonl --workers N DIR` (metadata only);
- the same with `--exiftool auto` when `--second-opinion` is given (ExifTool
  asked about the files our readers found no date in);
- `mediaparser analyze --jsonl --workers N DIR` (full analysis, thumbnails);
- `exiftool -j -r` over the same files, N processes over N equal parts.

Other sessions share this machine's cores, so wall-clock rates swing with
their load; the figure compared is CPU seconds (user + system) of each command
and every process it started, which the load does not inflate. Nothing is
asserted: the figures are for the issue notes. Skips when exiftool is absent.

Measured on corpus-dev (238 files, 2 workers, load average 13–20 from other
sessions, ExifTool 12.57), before and after issue 10's new readers:
    before  analyze --no-thumbnails CPU 1.39 s, exiftool -j 3.81 s: 2.74x
    after   analyze --no-thumbnails CPU 1.57 s, exiftool -j 3.56 s: 2.27x
            (--exiftool auto: 56 undated files asked, none dated by it)
Most of those CPU seconds are the interpreter and pool start-up; per file, in
one process (analyze_file in a loop, best of 7, alternating trees) the
metadata-only analysis took 1.23–1.30 ms before and 1.24–1.37 ms after, full
analysis 15.9–16.7 ms before and 15.6 ms after: no change beyond the noise.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))


def _default_dir() -> str:
    corpus = os.environ.get("MEDIAPARSER_CORPUS") or os.path.join(ROOT, "..", "shared", "corpus-dev")
    return os.path.normpath(os.path.join(corpus, "media"))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _measure(cmds: list[list[str]], env: dict) -> tuple[float, float]:
    """(wall s, CPU s) of running `cmds` side by side to the end."""
    c0, t0 = _cpu(), time.perf_counter()
    procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for c in cmds]
    for p in procs:
        p.wait()
    return time.perf_counter() - t0, _cpu() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", default=_default_dir())
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--second-opinion", action="store_true", help="also time analyze --no-thumbnails --exiftool auto")
    a = ap.parse_args(argv)
    exe = shutil.which("exiftool")
    if not os.path.isdir(a.dir):
        print(f"SKIP: no folder {a.dir}")
        return 0
    if not exe:
        print("SKIP: exiftool is not installed (apt-get install -y libimage-exiftool-perl)")
        return 0
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.dir) for f in fs)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), ROOT]))
    mp = [sys.executable, "-m", "mediaparser", "analyze", "--jsonl", "--workers", str(a.workers), a.dir]
    parts = [files[i :: a.workers] for i in range(a.workers)]
    runs = {
        "analyze --no-thumbnails": [mp + ["--no-thumbnails", "--exiftool", "off"]],
        "analyze (full)": [mp + ["--exiftool", "off"]],
        "exiftool -j": [[exe, "-j", "-q", "-q", *p] for p in parts if p],
    }
    if a.second_opinion:
        runs["analyze --no-thumbnails --exiftool auto"] = [mp + ["--no-thumbnails", "--exiftool", "auto"]]
    print(f"{len(files)} files in {a.dir}; {a.workers} worker(s); best of {a.rounds} rounds; "
          f"load average {os.getloadavg()[0]:.1f} before the runs")
    best: dict[str, tuple[float, float]] = {}
    for _ in range(a.rounds):
        for name, cmds in runs.items():
            wall, cpu = _measure(cmds, env)
            if name not in best or cpu < best[name][1]:
                best[name] = (wall, cpu)
    et_cpu = best["exiftool -j"][1]
    for name, (wall, cpu) in best.items():
        ratio = f"   exiftool/this CPU = {et_cpu / cpu:.2f}x" if name != "exiftool -j" else ""
        print(f"{name:42s} wall {wall:6.2f} s   CPU {cpu:6.2f} s   {len(files) / cpu:7.1f} files per CPU-second{ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
