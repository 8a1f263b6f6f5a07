"""Grouping a burst: how many pairs and how long, with and without the pair cap.

Usage:
    .venv/bin/python bench/burst.py [--frames 10000] [--photos 300] [--uncapped-max 3000]

A burst of one static scene is thousands of near-identical frames: every
frame is similar to every other, so searching every pair costs n²/2 pairs
(50 million for 10,000 frames). The grouping bounds that two ways
(media/similarity.py): frames with identical hashes are searched once (hash
twins), and inside a long run of near-identical hashes each frame is
compared with a bounded number of others (`SimilarityParams.pair_cap`).

Three sets, each grouped from scratch with the cap (the default) and, up to
--uncapped-max frames, without it (`pair_cap=None`, the "before"):

    static      --photos frames of one generated scene with sensor noise and
                exposure jitter, hashed as analysis hashes them (decode,
                320 px thumbnail, pHash/dHash upright and turned); then the
                same hashes repeated to --frames (a longer burst of the same
                scene hashes alike)
    distinct    --frames synthetic frames whose hashes all differ: one base
                hash with 1-2 pHash and 1-4 dHash bits flipped at random per
                frame (the worst case for hash twins), plus 2,000 unrelated
                files
    burst+lib   the distinct burst inside a library of 100,000 random files

Printed per run: frames, pairs the grouping kept (GroupingStats.pairs),
wall and CPU seconds, groups and the largest group (a burst should stay one
group, or a few). Timings on the shared 2-core machine are noisy.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFilter  # noqa: E402

from mediaparser.media.hashes import perceptual_hashes, rotated_hashes  # noqa: E402
from mediaparser.media.similarity import HashItem, SimilarityParams, group_items, hash_item  # noqa: E402
from mediaparser.media.thumbnails import prepare_frame  # noqa: E402


def scene(seed: int = 7, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w, h = size
    small = Image.fromarray(rng.uniform(0, 255, (4, 5, 3)).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(small)
    for _ in range(10):
        x0, y0 = rng.uniform(-0.1, 0.9) * w, rng.uniform(-0.1, 0.9) * h
        x1, y1 = x0 + rng.uniform(0.08, 0.45) * w, y0 + rng.uniform(0.08, 0.45) * h
        draw.ellipse((x0, y0, x1, y1), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return np.asarray(small.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64)


def static_burst(frames: int, photos: int) -> list[HashItem]:
    base = scene()
    rng = np.random.default_rng(1)
    hashed = []
    for k in range(photos):
        arr = base * (1 + 0.01 * rng.normal()) + rng.normal(0, 3, base.shape)
        t = prepare_frame(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)))
        hashed.append((perceptual_hashes(t), rotated_hashes(t)))
    return [hash_item(k, f"s{k}", *hashed[k % photos]) for k in range(frames)]


def _flip(rng: np.random.Generator, h: int, k: int) -> int:
    for b in rng.choice(64, size=k, replace=False):
        h ^= 1 << int(b)
    return h


def distinct_burst(frames: int, others: int, start: int = 0) -> list[HashItem]:
    rng = np.random.default_rng(2)
    p, d = (int(x) for x in rng.integers(0, 2**63, size=2))
    r90, r180 = tuple(int(x) for x in rng.integers(0, 2**63, size=2)), tuple(int(x) for x in rng.integers(0, 2**63, size=2))
    items, seen = [], set()
    while len(items) < frames:
        hp, hd = _flip(rng, p, int(rng.integers(1, 3))), _flip(rng, d, int(rng.integers(1, 5)))
        if (hp, hd) in seen:
            continue
        seen.add((hp, hd))
        k = start + len(items)
        items.append(HashItem(k, f"b{k}", hp, hd, False, r90, r180))
    rnd = rng.integers(0, 2**63, size=(others, 6))
    items += [HashItem(start + frames + k, f"o{k}", int(a), int(b), False, (int(c), int(e)), (int(f), int(g)))
              for k, (a, b, c, e, f, g) in enumerate(rnd.tolist())]
    return items


def run(label: str, items: list[HashItem], frames: int, params: SimilarityParams) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    g = group_items(items, params)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sizes = sorted((len(x.members) for x in g.similar), reverse=True)
    cap = "none" if params.pair_cap is None else str(params.pair_cap)
    print(f"{label:<11}{frames:>8}{cap:>6}{g.stats.pairs:>12,}{wall:>9.2f}{cpu:>9.2f}{len(sizes):>8}"
          f"{(sizes[0] if sizes else 0):>9}", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--photos", type=int, default=300, help="frames really rendered and hashed for the static set")
    ap.add_argument("--uncapped-max", type=int, default=3_000, help="largest burst grouped without the cap")
    args = ap.parse_args(argv)
    capped, uncapped = SimilarityParams(), SimilarityParams(pair_cap=None)
    print(f"{'set':<11}{'frames':>8}{'cap':>6}{'pairs':>12}{'wall s':>9}{'cpu s':>9}{'groups':>8}{'largest':>9}")
    static = static_burst(args.frames, args.photos)
    distinct_hashes = len({(x.phash, x.dhash) for x in static})
    for n in sorted({min(args.uncapped_max, args.frames), args.frames}):
        for params in (uncapped, capped):
            if params.pair_cap is None and n > args.uncapped_max:
                continue
            run("static", static[:n], n, params)
            run("distinct", distinct_burst(n, 2000), n, params)
    lib = distinct_burst(0, 100_000)
    burst = distinct_burst(args.frames, 0, start=len(lib))
    run("burst+lib", lib + burst, args.frames, capped)
    print(f"(the static scene's {args.photos} rendered frames have {distinct_hashes} distinct hash pairs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
