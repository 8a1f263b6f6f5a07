"""Stack detection cost (media.stacking.find_stacks): bursts of near-identical frames and mixed folders.

Usage:
    .venv/bin/python bench/stacks.py [--frames 10000] [--repeat 3]

Prints, for each case, the files, the stacks found and the best of `--repeat` runs in ms and in
µs per file, beside a baseline in the same run (the same files with no detector at all: grouping
by folder and sorting). What it shows (issue 13): 10,000 frames of one static scene from one
camera cost one pass in time order (one comparison per frame), not a comparison per pair of frames.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

from mediaparser.media.stacking import StackFacts, find_stacks  # noqa: E402

T0 = datetime(2019, 8, 12, 14, 30, 25)
SCENE = 0x5A5A_F00F_1234_8765


def static_burst(n: int) -> list[StackFacts]:
    """n frames, 0.1 s apart, of one scene (a bit or two of noise each), unnamed."""
    rng = random.Random(1)
    return [StackFacts(id=i, path=f"/dcim/IMG_{i:05d}.JPG", kind="image", extension="jpg",
                       captured_at=T0 + timedelta(seconds=i / 10), make="Canon", model="EOS 80D",
                       phash=SCENE ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))) for i in range(n)]


def named_bursts(n: int) -> list[StackFacts]:
    """Samsung burst names: n frames in bursts of 20."""
    return [StackFacts(id=i, path=f"/phone/20190812_{i // 20:06d}_BURST{i % 20 + 1:03d}"
                                  f"{'_COVER' if i % 20 == 0 else ''}.jpg", kind="image", extension="jpg",
                       captured_at=T0 + timedelta(seconds=i), make="samsung", model="SM-G991B", phash=SCENE)
            for i in range(n)]


def mixed(n: int) -> list[StackFacts]:
    """A phone folder: different photos a minute apart, a RAW beside every tenth, an edit beside every
    twentieth (most files stack with nothing)."""
    rng = random.Random(2)
    out: list[StackFacts] = []
    for i in range(n):
        when = T0 + timedelta(minutes=i)
        out.append(StackFacts(id=len(out), path=f"/card/IMG_{i:05d}.JPG", kind="image", extension="jpg",
                              captured_at=when, make="Canon", model="EOS 80D", phash=rng.getrandbits(64)))
        if i % 10 == 0:
            out.append(StackFacts(id=len(out), path=f"/card/IMG_{i:05d}.CR2", kind="image", extension="cr2",
                                  captured_at=when, make="Canon", model="EOS 80D"))
        if i % 20 == 0:
            out.append(StackFacts(id=len(out), path=f"/card/IMG_E{i:05d}.JPG", kind="image", extension="jpg",
                                  captured_at=when, make="Canon", model="EOS 80D", phash=rng.getrandbits(64)))
    return out


def best_ms(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"{'case':<28}{'files':>8}{'stacks':>8}{'ms':>10}{'µs/file':>10}{'baseline ms':>13}")
    for name, files in (("static burst, one camera", static_burst(args.frames)),
                        ("Samsung burst names", named_bursts(args.frames)),
                        ("mixed phone folder", mixed(args.frames))):
        base, _ = best_ms(lambda: find_stacks(files, detectors=[]), args.repeat)
        ms, stacks = best_ms(lambda: find_stacks(files), args.repeat)
        print(f"{name:<28}{len(files):>8}{len(stacks):>8}{ms:>10.1f}{ms * 1000 / len(files):>10.1f}{base:>13.1f}")


if __name__ == "__main__":
    main()
