"""Screen-size previews: the old in-process whole-file decode against the bounded child.

Makes a 12 MP JPEG (4000x3000, photo-like: gradients plus sensor-like noise)
and times, in alternating rounds in one run:

- old: read the whole file in this process, decode_image(.., 1600), save JPEG
  (what web/files.py did before issue 15);
- new: usecases/previews._decode_in_child — a child forked from the
  multiprocessing fork server re-opens the file by device+inode, reads at
  most its size, decodes under an address-space and time limit and writes
  the preview atomically. The first call also starts the fork server; it is
  reported on its own.

Then the 1 GiB case of issue 15 (a JPEG's first third, then 1 GiB of sparse
nothing): with the default 256 MB limit the new path refuses it before
reading anything; `--huge-child` also times a child allowed to read it (the
web process's peak RSS is printed before and after), and `--huge-old` the old
whole read in this process (about 1.1 GB of RSS; run it last).

    .venv/bin/python bench/previews.py                 # 15 rounds
    .venv/bin/python bench/previews.py --rounds 30 --huge-child --huge-old
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def make_photo(path: Path) -> None:
    from PIL import Image, ImageChops

    size = (4000, 3000)
    grad = Image.linear_gradient("L").resize(size)
    across = grad.rotate(90, expand=True).resize(size)
    noise = Image.effect_noise(size, 9)  # centred on 128
    channels = [ImageChops.add(ch, noise, offset=-128) for ch in (grad, across, ImageChops.blend(grad, across, 0.5))]
    Image.merge("RGB", channels).save(path, "JPEG", quality=92)


def old_style(src: Path) -> None:
    from mediaparser.media.thumbnails import decode_image

    data = src.read_bytes()
    img = decode_image(data, "jpeg", None, 1600).image
    img.save(io.BytesIO(), "JPEG", quality=85)


def new_style(src: Path, out: Path, key: str, limits) -> None:
    from mediaparser.media.fsguard import file_identity
    from mediaparser.usecases import previews

    st = os.stat(src)
    outcome = previews._decode_in_child(str(src), file_identity(st), st.st_size, "jpeg", None, out, key, limits)
    if outcome is not None:
        raise SystemExit(f"the new path failed: {outcome}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--huge-child", action="store_true", help="let a child try the 1 GiB file")
    ap.add_argument("--huge-old", action="store_true", help="read the 1 GiB file the old way, in this process")
    args = ap.parse_args()

    from mediaparser.usecases import previews

    limits = previews.PreviewLimits()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / "photo_12mp.jpg"
        make_photo(src)
        print(f"12 MP JPEG: {src.stat().st_size / 1e6:.1f} MB; load average {os.getloadavg()[0]:.2f}")

        t = time.perf_counter()
        new_style(src, tmpdir / "first.jpg", "first", limits)
        print(f"new, first call (starts the fork server): {ms(time.perf_counter() - t)}")

        old_t, new_t = [], []
        for i in range(args.rounds):
            order = (("old", "new") if i % 2 == 0 else ("new", "old"))
            for which in order:
                t = time.perf_counter()
                if which == "old":
                    old_style(src)
                    old_t.append(time.perf_counter() - t)
                else:
                    new_style(src, tmpdir / f"p{i}.jpg", f"k{i}", limits)
                    new_t.append(time.perf_counter() - t)
        for name, vals in (("old (in process, whole read)", old_t), ("new (bounded child)", new_t)):
            print(f"{name:30} median {ms(statistics.median(vals))}, min {ms(min(vals))}, max {ms(max(vals))}")

        huge = tmpdir / "huge.jpg"
        data = src.read_bytes()
        huge.write_bytes(data[: len(data) // 3])
        os.truncate(huge, 1024**3)
        size = huge.stat().st_size
        print(f"1 GiB file: {size} bytes; default limit {limits.max_bytes} bytes -> "
              f"{'refused before reading' if size > limits.max_bytes else 'decoded'}")
        if args.huge_child:
            allowed = previews.PreviewLimits(max_bytes=2 * 1024**3)
            before = peak_rss_mb()
            t = time.perf_counter()
            from mediaparser.media.fsguard import file_identity

            outcome = previews._decode_in_child(str(huge), file_identity(os.stat(huge)), size, "jpeg", None,
                                                tmpdir / "huge-preview.jpg", "huge", allowed)
            print(f"new, child allowed to read it: {ms(time.perf_counter() - t)}, outcome {outcome or 'made'}; "
                  f"this process's peak RSS {before:.0f} -> {peak_rss_mb():.0f} MB")
        if args.huge_old:
            before = peak_rss_mb()
            t = time.perf_counter()
            try:
                old_style(huge)
                outcome = "made"
            except Exception as exc:  # noqa: BLE001 — report what the old path did
                outcome = f"{type(exc).__name__}: {exc}"
            print(f"old, in process: {ms(time.perf_counter() - t)}, outcome {outcome}; "
                  f"peak RSS {before:.0f} -> {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
