"""Importing a generated two-part Google Takeout, against the same photos as a plain folder.

Usage:
    .venv/bin/python bench/takeout.py [--gb 2.0] [--workers 2] [--keep]

Generates (once, reused by later runs of the same size, into bench/out/takeout/<size>/):
- `parts/takeout-20240305T181818Z-001.zip` (deflated) and `-002.tgz`: ~`--gb` GB of
  12 MP camera-like JPEGs (about 3-4 MB each) under `Takeout/Google Photos/Photos
  from 2019/`, each with its `.supplemental-metadata.json`, a quarter of the JSON
  files in the other part than their photo;
- `plain/`: the same photos and JSON files, already unpacked (the baseline).

Then runs, each in a fresh instance with a real `mediaparser worker`:
- plain   `mediaparser import plain/ --wait`: what the photos cost without any archive;
- takeout `mediaparser import parts/ --wait`: the parts as downloaded (unpacked once
  into the instance's working copy, then analysed).

Prints per run: files, seconds, files/s, MB/s of archive, the peak memory of the
worker and its analysis processes together (RSS summed over the process tree,
sampled every 0.2 s), the extra disk used in the instance (the working copy;
peak and at the end) against the parts' size, and that the takeout run dated
every photo from its JSON. Figures taken while other sessions share the machine
are noisy; the two runs are taken back to back so they compare.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

EXPORT = "20240305T181818Z"
BASE = "Takeout/Google Photos/Photos from 2019"
START = 1546300800  # 2019-01-01 00:00:00 UTC
BASES = 40  # distinct pictures; the files are these with a unique comment each


def _pictures(n: int) -> list[bytes]:
    import numpy as np
    from PIL import Image

    out = []
    for seed in range(n):
        rng = np.random.default_rng(seed)
        small = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
        big = np.asarray(Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.int16)
        big = np.clip(big + rng.integers(-12, 13, big.shape, dtype=np.int16), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(big).save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out


def _unique(jpeg: bytes, i: int) -> bytes:
    """The picture with a comment segment naming file `i` right after SOI: a distinct file."""
    text = f"bench takeout file {i}".encode()
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def _json(name: str, taken: int) -> bytes:
    return json.dumps({"title": name, "description": "", "url": "https://photos.google.com/photo/x",
                       "creationTime": {"timestamp": str(taken + 86400)},
                       "photoTakenTime": {"timestamp": str(taken)},
                       "geoData": {"latitude": 48.1, "longitude": 11.5, "altitude": 0.0}}).encode()


def generate(folder: Path, gb: float) -> dict:
    marker = folder / "done.json"
    if marker.exists():
        return json.loads(marker.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    parts, plain = folder / "parts", folder / "plain" / BASE
    parts.mkdir(parents=True)
    plain.mkdir(parents=True)
    pics = _pictures(BASES)
    per_file = sum(len(p) for p in pics) / len(pics)
    n = max(8, int(gb * 1024**3 / per_file))
    zpath = parts / f"takeout-{EXPORT}-001.zip"
    tpath = parts / f"takeout-{EXPORT}-002.tgz"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            tarfile.open(tpath, "w:gz", compresslevel=1) as tf:
        def put(part: int, rel: str, data: bytes) -> None:
            (plain / rel).write_bytes(data)
            if part == 1:
                zf.writestr(f"{BASE}/{rel}", data)
            else:
                info = tarfile.TarInfo(f"{BASE}/{rel}")
                info.size, info.mtime = len(data), int(time.time())
                tf.addfile(info, io.BytesIO(data))

        for i in range(n):
            name = f"IMG_{i:05d}.jpg"
            part = 1 if i < n // 2 else 2
            put(part, name, _unique(pics[i % len(pics)], i))
            json_part = part if i % 4 else 3 - part  # every fourth JSON in the other part
            put(json_part, f"{name}.supplemental-metadata.json", _json(name, START + i * 3600))
    info = {"files": n, "parts_bytes": zpath.stat().st_size + tpath.stat().st_size,
            "media_bytes": sum(p.stat().st_size for p in plain.glob("*.jpg"))}
    marker.write_text(json.dumps(info))
    return info


# ----------------------------------------------------------------- measuring --

def _tree_rss(pid: int) -> int:
    """RSS (bytes) of `pid` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def _du(path: Path) -> int:
    total = 0
    for folder, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                pass
    return total


def run(label: str, source: Path, workers: int, keep: bool) -> dict:
    home = Path(tempfile.mkdtemp(prefix=f"mp-bench-takeout-{label}-"))
    env = dict(os.environ, MEDIAPARSER_HOME=str(home), MEDIAPARSER_WORKERS=str(workers),
               MEDIAPARSER_TIMEZONE="UTC", PYTHONPATH=f"{ROOT / 'src'}:{ROOT}")
    mp = [sys.executable, "-m", "mediaparser"]
    subprocess.run(mp + ["db", "upgrade"], env=env, check=True, capture_output=True)
    log = open(home / "worker.log", "w")
    worker = subprocess.Popen(mp + ["worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    peak = {"rss": 0, "disk": 0}
    stop = threading.Event()
    working = home / "uploads" / ".takeout"

    def sample() -> None:
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], _tree_rss(worker.pid))
            peak["disk"] = max(peak["disk"], _du(working) if working.exists() else 0)
            stop.wait(0.2)

    try:
        time.sleep(3)  # the worker's start-up outside the timing
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t0 = time.perf_counter()
        subprocess.run(mp + ["import", str(source), "--wait"], env=env, check=True, capture_output=True)
        seconds = time.perf_counter() - t0
        stop.set()
        sampler.join()
        status = json.loads(subprocess.run(mp + ["status", "--json"], env=env, check=True,
                                           capture_output=True, text=True).stdout)
        job = status["jobs"][0] if "jobs" in status else status
        dated = _dated_from_json(env, mp)
        return {"label": label, "seconds": seconds, "files": job["progress"]["total"],
                "errors": job["error_count"], "peak_rss": peak["rss"], "peak_disk": peak["disk"],
                "end_disk": _du(working) if working.exists() else 0, "dated_from_json": dated}
    finally:
        stop.set()
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


def _dated_from_json(env: dict, mp: list[str]) -> int:
    code = ("from mediaparser.config import Settings\nfrom mediaparser.runtime.app import create_core_app\n"
            "from mediaparser.store.db import db\nfrom mediaparser.store.models import MediaFile\n"
            "from sqlalchemy import func, select\n"
            "app = create_core_app(Settings.load())\n"
            "with app.app_context():\n"
            "    print(db.session.execute(select(func.count()).where(MediaFile.time_source == "
            "'takeout-json:photoTakenTime')).scalar_one())\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    try:
        return int(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=2.0, help="size of the generated Takeout (GB of photos)")
    ap.add_argument("--workers", type=int, default=2, help="analysis processes of the worker")
    ap.add_argument("--keep", action="store_true", help="keep the instances (their paths are printed)")
    args = ap.parse_args()
    folder = HERE / "out" / "takeout" / f"{args.gb:g}gb"
    t0 = time.perf_counter()
    info = generate(folder, args.gb)
    print(f"takeout: {info['files']} photos, {info['media_bytes'] / 1e9:.2f} GB of photos, parts "
          f"{info['parts_bytes'] / 1e9:.2f} GB (generated or reused in {time.perf_counter() - t0:.0f} s)")
    print(f"load: {os.getloadavg()[0]:.2f} (1-minute average; other sessions share the cores)")
    rows = [run("plain", folder / "plain", args.workers, args.keep),
            run("takeout", folder / "parts", args.workers, args.keep)]
    print(f"{'run':8} {'files':>6} {'errors':>6} {'seconds':>8} {'files/s':>8} {'MB/s':>6} "
          f"{'peak RSS':>9} {'extra disk peak':>16} {'at end':>8} {'dated by JSON':>14}")
    for r in rows:
        print(f"{r['label']:8} {r['files']:>6} {r['errors']:>6} {r['seconds']:>8.1f} "
              f"{r['files'] / r['seconds']:>8.1f} {info['media_bytes'] / 1e6 / r['seconds']:>6.1f} "
              f"{r['peak_rss'] / 1e6:>7.0f}MB {r['peak_disk'] / 1e9:>13.2f} GB {r['end_disk'] / 1e9:>5.2f} GB "
              f"{r['dated_from_json']:>14}")
    plain, tk = rows
    print(f"takeout vs plain: {tk['seconds'] / plain['seconds']:.2f}x the time; extra disk "
          f"{tk['end_disk'] / info['parts_bytes']:.2f}x the parts' size (one working copy)")


if __name__ == "__main__":
    main()
