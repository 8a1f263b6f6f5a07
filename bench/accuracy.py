"""Capture-time accuracy of `analyze_file` against a corpus with known answers.

Usage:
    .venv/bin/python bench/accuracy.py [CORPUS_DIR] [--local-zone ZONE] [--show-all] [--workers N]

CORPUS_DIR defaults to $MEDIAPARSER_CORPUS, else ../shared/corpus-dev next to
the repository. It must hold `truth.csv` and `media/` (see its README). The
benchmark skips, with a message, when the corpus is absent.

What is measured (issue 3):
- dated files (a `best_capture_datetime`, or else a `filename_datetime`):
  share whose `captured_at` equals the expected time to the second. Rows whose
  time basis is `utc` (QuickTime header, GPS) are analysed with
  `--timezone UTC`; the other rows with `--local-zone` (default
  America/New_York), which proves that no local time is shifted by the default
  zone;
- undated files: how many got HIGH or MEDIUM confidence (target: none);
- crashes: exceptions escaping `analyze_file` (target: none); zero-byte
  files only have to yield a clear error;
- misses, grouped by the expected source tag, each with what we chose instead.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from mediaparser.media.analyze import analyze_file  # noqa: E402


def _default_corpus() -> str:
    return os.environ.get("MEDIAPARSER_CORPUS") or os.path.normpath(os.path.join(HERE, "..", "..", "shared", "corpus-dev"))


def _run(args: tuple[str, str, str]):
    path, zone, root = args
    try:
        r = analyze_file(path, timezone=zone, root=root, with_thumbnail=True)
        return path, r.to_dict(), None
    except BaseException as e:  # noqa: BLE001 — this is what the benchmark counts
        return path, None, f"{type(e).__name__}: {e}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", nargs="?", default=_default_corpus())
    ap.add_argument("--local-zone", default="America/New_York",
                    help="default time zone for rows whose truth is local time (default: America/New_York)")
    ap.add_argument("--show-all", action="store_true", help="print every row, not only the misses")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args(argv)

    truth_path = os.path.join(a.corpus, "truth.csv")
    media = os.path.join(a.corpus, "media")
    if not os.path.isfile(truth_path) or not os.path.isdir(media):
        print(f"SKIP: no corpus at {a.corpus} (expected truth.csv and media/); set MEDIAPARSER_CORPUS or pass a path")
        return 0
    with open(truth_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    jobs = []
    for r in rows:
        zone = "UTC" if r["time_basis"] == "utc" else a.local_zone
        jobs.append((os.path.join(media, r["path"]), zone, media))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        out = list(pool.map(_run, jobs, chunksize=4))
    elapsed = time.perf_counter() - t0

    dated_total = dated_ok = undated_total = undated_confident = crashes = errors = 0
    misses_by_source: dict[str, list[str]] = defaultdict(list)
    conf_counts: Counter[str] = Counter()
    offset_checked = offset_ok = 0
    for r, (path, res, crash) in zip(rows, out):
        expected = (r["best_capture_datetime"] or r["filename_datetime"]).strip()
        tag = r["source_tag"] or ("filename" if r["filename_datetime"] else "")
        if crash:
            crashes += 1
            print(f"CRASH {r['path']}: {crash}")
            continue
        if res["error"]:
            errors += 1
        got = (res["captured_at"] or "").replace("T", " ")
        conf_counts[res["confidence"]] += 1
        line = f"{r['path']}: expected {expected or '-'} ({tag or 'undated'}), got {got or '-'} via {res['source']} [{res['confidence']}]" + (f" error={res['error']}" if res["error"] else "")
        if expected:
            dated_total += 1
            if got == expected:
                dated_ok += 1
                if r["offset"] and r["time_basis"] != "utc":
                    offset_checked += 1
                    offset_ok += res["utc_offset"] == r["offset"]
                if a.show_all:
                    print("ok    " + line)
            else:
                misses_by_source[tag].append(line)
                print("MISS  " + line)
        else:
            undated_total += 1
            if res["confidence"] in ("high", "medium"):
                undated_confident += 1
                print("UNDATED-CONFIDENT " + line)
            elif a.show_all:
                print("ok    " + line)

    share = dated_ok / dated_total if dated_total else 1.0
    print()
    print(f"corpus: {a.corpus}  ({len(rows)} files, {elapsed:.1f} s with {a.workers} workers)")
    print(f"dated files exactly right to the second: {dated_ok}/{dated_total} = {share:.1%}  (target >= 98%)")
    print(f"undated files given high/medium confidence: {undated_confident}/{undated_total}  (target 0)")
    print(f"crashes: {crashes}  (target 0); files with a per-file error: {errors}")
    print(f"offsets equal to the truth where it records one (local rows, correct time): {offset_ok}/{offset_checked}")
    print("confidence: " + ", ".join(f"{k} {v}" for k, v in sorted(conf_counts.items())))
    print("misses by expected source:")
    if not misses_by_source:
        print("  none")
    for tag, lines in sorted(misses_by_source.items(), key=lambda kv: -len(kv[1])):
        print(f"  {tag}: {len(lines)}")
    ok = share >= 0.98 and undated_confident == 0 and crashes == 0
    print("RESULT: " + ("target met" if ok else "target NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
