"""Throughput of `analyze` on generated camera-like files, 1 and 2 cores.

Usage:
    .venv/bin/python bench/throughput.py [--jpegs 48] [--heics 6] [--videos 6]
                                         [--workers 1,2] [--rss 1000,10000] [--no-rss]

Sets (generated once into bench/out/throughput/, reused on later runs):
- jpeg-camera: 12 MP (4000x3000) photographic JPEGs, quality 92, ~3 MB, with
  EXIF and an MPF "Large Thumbnail" 1440x1080 preview, as most cameras write;
- jpeg-plain: the same pictures without the preview (phones, edited files):
  the thumbnail then needs a 1/8-scale decode of the whole JPEG;
- heic: 12 MP HEICs with a 320 px embedded thumbnail, as iPhones write;
- video: 2 s 1280x720 H.264 MP4 clips with a creation time.

Small sets are cycled to at least 240 analyses per run so that a run lasts
long enough to time. For each set and core count: files/s of full analysis and of analysis without
thumbnails (hash + metadata + capture time), and mean ms per stage
(read+hash, metadata, thumbnail, phash). "(cpu-bound)" is cores x 1000 / the
mean CPU ms per file measured inside the workers: what the cores deliver
when nothing else runs on the machine (other sessions' tests and benchmarks
share these two cores, and wall-clock rates drop with them). When `exiftool`
is on PATH the peer
baseline `exiftool -j` runs over the same files with the same cores (two
processes over two halves for 2 cores). Peak RSS of a whole `analyze` run
(driver and workers) is measured on 1,000 and 10,000 small files, to show
that memory does not grow with the number of files.

exiftool is only a baseline: `apt-get install -y libimage-exiftool-perl`.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from statistics import mean

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(ROOT, "src"))
sys.path.insert(0, ROOT)

OUT = os.path.join(HERE, "out", "throughput")
STAGES = ("read_hash", "metadata", "thumbnail", "phash")


# --- generation ------------------------------------------------------------------

def _camera_picture(seed: int):
    import numpy as np
    from PIL import Image

    from tests.support import media as gen

    small = gen.photo(400, 300, seed=seed)
    big = np.asarray(small.resize((4000, 3000), Image.Resampling.BICUBIC), dtype=np.int16)
    # Photographic grain: enough to make a quality-92 JPEG of ~3 MB.
    grain = np.random.default_rng(seed).normal(0, 6, big.shape).astype(np.int16)
    return Image.fromarray(np.clip(big + grain, 0, 255).astype(np.uint8))


def _exif(i: int) -> dict[str, str]:
    return {
        "Exif.Image.Make": "Canon", "Exif.Image.Model": "EOS 90D",
        "Exif.Photo.DateTimeOriginal": f"2023:07:{1 + i % 28:02d} 10:{i % 60:02d}:{(i * 7) % 60:02d}",
        "Exif.Photo.SubSecTimeOriginal": "12", "Exif.Photo.OffsetTimeOriginal": "+02:00",
        "Exif.Image.DateTime": "2023:08:01 09:00:00",
    }


def _make_jpeg_pair(i: int) -> None:
    from tests.support import media as gen

    img = _camera_picture(1000 + i)
    os.makedirs(os.path.join(OUT, "jpeg-plain"), exist_ok=True)
    cam = os.path.join(OUT, "jpeg-camera", f"IMG_{i:04d}.JPG")
    plain = os.path.join(OUT, "jpeg-plain", f"IMG_{i:04d}.JPG")
    gen.camera_jpeg(cam, img, preview_side=1080, quality=92, exif=_exif(i))
    img.save(plain, "JPEG", quality=92)
    gen.write_tags(plain, exif=_exif(i))


def _make_heic(i: int) -> None:
    import pillow_heif

    from tests.support import media as gen

    pillow_heif.register_heif_opener()
    img = gen.photo(4032, 3024, seed=2000 + i)
    exif = gen.pillow_exif(dto=f"2023:07:{1 + i % 28:02d} 11:00:{i % 60:02d}").tobytes()
    img.save(os.path.join(OUT, "heic", f"IMG_{i:04d}.HEIC"), quality=60, thumbnails=[320], exif=exif,
             enc_params={"preset": "ultrafast"})


def _make_video(i: int) -> None:
    import av

    from tests.support import media as gen

    path = os.path.join(OUT, "video", f"VID_{i:04d}.mp4")
    container = av.open(path, "w", format="mp4")
    container.metadata["creation_time"] = f"2023-07-{1 + i % 28:02d}T09:00:00.000000Z"
    stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
    stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
    base = gen.photo(1280, 720, seed=3000 + i)
    for n in range(50):
        frame = av.VideoFrame.from_image(base.rotate(n * 0.5))
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()


def _ensure(kind: str, count: int, maker, workers: int) -> list[str]:
    folder = os.path.join(OUT, kind)
    os.makedirs(folder, exist_ok=True)
    existing = sorted(f for f in os.listdir(folder) if not f.startswith("."))
    if len(existing) < count:
        todo = list(range(len(existing), count))
        print(f"generating {len(todo)} file(s) for {kind} …", flush=True)
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(maker, todo))
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if not f.startswith("."))[:count]


# --- measuring -------------------------------------------------------------------

def _warm(path: str) -> None:
    """Analyse one file so imports and first-call costs (numpy, codecs) are
    paid before the clock starts, as in a long-running worker."""
    from mediaparser.media.analyze import analyze_file

    analyze_file(path, with_thumbnail=True)


def _analyze(args: tuple[str, str | None, bool]) -> dict:
    from mediaparser.media.analyze import analyze_file_limited

    path, thumb_dir, with_thumbnail = args
    cpu0 = time.process_time()
    r = analyze_file_limited(path, timezone="Europe/Berlin", thumb_dir=thumb_dir, with_thumbnail=with_thumbnail)
    return {"error": r.error, "timings": r.timings, "cpu_ms": (time.process_time() - cpu0) * 1000}


MIN_TASKS = 240  # small sets are cycled so that a run lasts long enough to time


def run_analyze(files: list[str], workers: int, with_thumbnail: bool) -> dict:
    files = files * max(1, -(-MIN_TASKS // len(files)))
    thumb_dir = tempfile.mkdtemp(prefix="thumbs-", dir=OUT) if with_thumbnail else None
    try:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_warm, [files[0]] * (workers * 2), chunksize=1))
            t0 = time.perf_counter()
            results = list(pool.map(_analyze, [(f, thumb_dir, with_thumbnail) for f in files], chunksize=2))
            wall = time.perf_counter() - t0
    finally:
        if thumb_dir:
            shutil.rmtree(thumb_dir, ignore_errors=True)
    stages = {s: mean(r["timings"].get(s, 0.0) for r in results) for s in STAGES}
    cpu = mean(r["cpu_ms"] for r in results)
    return {"wall": wall, "rate": len(files) / wall, "stages": stages, "cpu_ms": cpu,
            # What the cores could do if nothing else ran: immune to neighbours' load.
            "capacity": workers * 1000 / cpu if cpu else float("nan"),
            "errors": sum(r["error"] is not None for r in results)}


def run_exiftool(files: list[str], workers: int) -> dict | None:
    """`exiftool -j` over the files, one process per core over equal parts."""
    exe = shutil.which("exiftool")
    if not exe:
        return None
    files = files * max(1, -(-MIN_TASKS // len(files)))
    parts = [files[i::workers] for i in range(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    procs = [subprocess.Popen([exe, "-j", "-q", *part], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for part in parts]
    for p in procs:
        p.wait()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rate": len(files) / wall, "capacity": workers * len(files) / cpu if cpu else float("nan")}


# --- memory ----------------------------------------------------------------------

def _rss_child(folder: str, workers: int) -> None:
    """Run the real command over `folder`, output discarded; print peak RSS (KiB)."""
    from mediaparser.cli.analyze import analyze_command

    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull), contextlib.redirect_stderr(devnull):
        analyze_command.main([folder, "--jsonl", "--workers", str(workers)], standalone_mode=False)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{own} {kids}")


def measure_rss(n: int, workers: int) -> tuple[int, int, float]:
    from tests.support import media as gen

    seeds = os.path.join(OUT, "rss-seeds")
    if not os.path.isdir(seeds) or len(os.listdir(seeds)) < 8:
        os.makedirs(seeds, exist_ok=True)
        for i in range(8):
            gen.jpeg(os.path.join(seeds, f"seed{i}.jpg"), img=gen.photo(1024, 768, seed=50 + i), exif=_exif(i))
    folder = os.path.join(OUT, f"rss-{n}")
    if not os.path.isdir(folder) or len(os.listdir(folder)) != n:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        seed_files = sorted(os.listdir(seeds))
        for i in range(n):  # hard links: 10,000 files without 10,000 files' worth of disk
            os.link(os.path.join(seeds, seed_files[i % len(seed_files)]), os.path.join(folder, f"IMG_{i:05d}.jpg"))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--rss-child", folder, "--workers", str(workers)],
                         capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1]), time.perf_counter() - t0


# --- main ---------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jpegs", type=int, default=48)
    ap.add_argument("--heics", type=int, default=6)
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--workers", default="1,2", help="core counts to measure, comma-separated")
    ap.add_argument("--rss", default="1000,10000", help="file counts for the peak-RSS runs")
    ap.add_argument("--no-rss", action="store_true")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs per measurement; the best is kept (other work on the machine only slows runs down)")
    ap.add_argument("--rss-child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    worker_counts = [int(w) for w in a.workers.split(",")]
    if a.rss_child:
        _rss_child(a.rss_child, max(worker_counts))
        return 0

    gen_workers = os.cpu_count() or 1
    sets = {
        "jpeg-camera": _ensure("jpeg-camera", a.jpegs, _make_jpeg_pair, gen_workers),
        "jpeg-plain": _ensure("jpeg-plain", a.jpegs, _make_jpeg_pair, gen_workers),
        "heic": _ensure("heic", a.heics, _make_heic, gen_workers),
        "video": _ensure("video", a.videos, _make_video, gen_workers),
    }
    print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the runs; "
          f"exiftool: {shutil.which('exiftool') or 'not installed'}; best of {a.repeat} runs")
    for name, files in sets.items():
        size = mean(os.path.getsize(f) for f in files) / 1e6
        print(f"\n== {name}: {len(files)} files, {size:.2f} MB each")
        print(f"{'cores':>5} {'full files/s':>13} {'(cpu-bound)':>12} {'no-thumb files/s':>17} {'(cpu-bound)':>12} "
              f"{'exiftool files/s':>17} {'(cpu-bound)':>12}   " + "  ".join(f"{s} ms" for s in STAGES))
        for w in worker_counts:
            full = max((run_analyze(files, w, True) for _ in range(a.repeat)), key=lambda r: r["rate"])
            fast = max((run_analyze(files, w, False) for _ in range(a.repeat)), key=lambda r: r["rate"])
            ex_runs = [run_exiftool(files, w) for _ in range(a.repeat)]
            ex = max(ex_runs, key=lambda r: r["rate"]) if ex_runs[0] else None
            ex_s = f"{ex['rate']:17.1f} {ex['capacity']:12.1f}" if ex else f"{'-':>17} {'-':>12}"
            stages = "  ".join(f"{full['stages'][s]:{len(s) + 3}.1f}" for s in STAGES)
            errs = f"  ({full['errors']} errors)" if full["errors"] else ""
            ratio = (f"  no-thumb/exiftool = {fast['rate'] / ex['rate']:.1f}x wall, "
                     f"{fast['capacity'] / ex['capacity']:.1f}x cpu-bound") if ex else ""
            print(f"{w:>5} {full['rate']:13.1f} {full['capacity']:12.1f} {fast['rate']:17.1f} {fast['capacity']:12.1f} "
                  f"{ex_s}   {stages}{ratio}{errs}", flush=True)
    if not a.no_rss:
        print("\n== peak RSS of a whole analyze run (1024x768 JPEGs, full analysis, "
              f"{max(worker_counts)} workers)")
        for n in [int(x) for x in a.rss.split(",")]:
            own, kids, wall = measure_rss(n, max(worker_counts))
            print(f"{n:>6} files: driver {own / 1024:.0f} MiB, largest worker {kids / 1024:.0f} MiB "
                  f"({n / wall:.0f} files/s incl. start-up)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
