"""All-pairs search over random 64-bit hashes with planted near pairs.

Usage:
    .venv/bin/python bench/similarity.py [--sizes 10000 100000 1000000] [--radius 6]
                                         [--no-memory] [--no-pipeline] [--brute-max N]

Part 1, the search alone (`similarity.pairs_within`), per size and method:

    mih        multi-index hashing with the plan the cost model picks (at
               100k and 1M for radius 6: 8 bands of 8 bits, 2 equal bands
               required, 28 sorted 16-bit keys) — the method in use
    mih-8x1    8 bands of 8 bits, 1 equal band: the textbook pigeonhole
               (exact for radius < 8); its candidate count grows as n²/512
               per band, so it is run only up to --k1-max hashes
    mih-9x3    9 bands, 3 equal (21-bit keys, 84 sorts): few candidates,
               many sorts
    brute      blocked numpy brute force (XOR + popcount of blocks of
               rows against all hashes), only up to --brute-max hashes

Each run plants n/100 pairs at distances 0..radius (uniformly) among
uniform random hashes and reports time, peak memory traced by tracemalloc
(numpy reports its buffers to it; measured in a second run so tracing does
not distort the time), the number of pairs found and the recall of the
planted pairs (an exact method must find 100 %). Where brute force ran, every
method's pair set is also compared with it.

Part 2, the whole grouping (`similarity.group_items`: pHash and dHash,
upright and turned 90°/180°, similarity rule, leaders) on items with
random hashes and 1 % planted copies (a tenth of them turned 90°), from
scratch and incremental (`update_grouping` of 1 % new items onto a library
of the other 99 %; the library's own grouping is not timed).

Targets (issue 4): 100k hashes in under 1 s, 1M in under 15 s, 100 % recall.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import numpy as np  # noqa: E402

from mediaparser.media import similarity as S  # noqa: E402


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)


def flip_masks(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One uint64 per weight with that many random bits set."""
    keys = rng.random((weights.size, 64))
    ranks = np.argsort(keys, axis=1)  # a random permutation of the bit positions per row
    chosen = ranks < weights[:, None]
    bits = np.uint64(1) << np.arange(64, dtype=np.uint64)
    return np.bitwise_or.reduce(np.where(chosen, bits[None, :], np.uint64(0)), axis=1)


def plant(rng: np.random.Generator, h: np.ndarray, count: int, radius: int) -> set[tuple[int, int]]:
    """Overwrite h[b] with h[a] plus 0..radius flipped bits for `count`
    disjoint (a, b); return the planted pairs."""
    idx = rng.choice(h.size, size=2 * count, replace=False)
    a, b = idx[:count], idx[count:]
    h[b] = h[a] ^ flip_masks(rng, rng.integers(0, radius + 1, size=count))
    return {(int(min(x, y)), int(max(x, y))) for x, y in zip(a, b)}


def measure(fn: Callable[[], object], memory: bool) -> tuple[tuple[float, float], float | None, object]:
    """(wall s, CPU s), peak traced MB, result. CPU time is reported beside
    wall time because the 2-core machine is shared: under load the wall
    time stretches, CPU time much less."""
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    elapsed = (time.perf_counter() - t0, time.process_time() - c0)
    peak = None
    if memory:
        del out
        gc.collect()
        tracemalloc.start()
        out = fn()
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return elapsed, peak, out


def pair_set(p: S.Pairs) -> set[tuple[int, int]]:
    return set(zip(p.i.tolist(), p.j.tolist()))


def search_bench(sizes: list[int], radius: int, memory: bool, brute_max: int, k1_max: int) -> None:
    print(f"\n== search: pairs_within at radius {radius}, uniform random hashes, n/100 planted pairs ==")
    print(f"{'n':>9} {'method':<9} {'plan':<13} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'pairs':>8} {'recall':>8}")
    for n in sizes:
        rng = np.random.default_rng(n)
        h = random_hashes(rng, n)
        planted = plant(rng, h, max(n // 100, 10), radius)
        methods: list[tuple[str, S.BandPlan | None, str]] = [("mih", None, "mih")]
        if radius < 8 and n <= k1_max:
            methods.append(("mih-8x1", S.BandPlan(8, 1), "mih"))
        if radius <= 6:
            methods.append(("mih-9x3", S.BandPlan(9, 3), "mih"))
        if n <= brute_max:
            methods.append(("brute", None, "brute"))
        results = {}
        for name, plan, method in methods:
            shown_plan = plan or (S.plan_bands(radius, n) if method == "mih" else None)
            t, peak, out = measure(lambda: S.pairs_within(h, radius, method=method, plan=plan), memory)
            found = pair_set(out)  # type: ignore[arg-type]
            results[name] = found
            recall = len(planted & found) / len(planted)
            plan_txt = f"{shown_plan.bands}x{shown_plan.exact} bands" if shown_plan else "-"
            mem = f"{peak:8.0f}" if peak is not None else f"{'-':>8}"
            print(f"{n:>9} {name:<9} {plan_txt:<13} {t[0]:>8.3f} {t[1]:>8.3f} {mem} {len(found):>8} {recall:>8.1%}",
                  flush=True)
        if "brute" in results:
            agree = all(v == results["brute"] for v in results.values())
            print(f"{'':>9} all methods return the same pairs as brute force: {'yes' if agree else 'NO'}")
        skipped = []
        if radius < 8 and n > k1_max:
            skipped.append(f"mih-8x1 (about {8 * n * n / 512:.1e} candidates)")
        if n > brute_max:
            skipped.append(f"brute ({n * n / 2:.1e} pair checks)")
        if skipped:
            print(f"{'':>9} skipped at this size: " + "; ".join(skipped))


def make_items(rng: np.random.Generator, n: int) -> tuple[list[S.HashItem], set[tuple[int, int]]]:
    p, d, p90, d90, p180, d180 = (random_hashes(rng, n) for _ in range(6))
    count = max(n // 100, 10)
    idx = rng.choice(n, size=2 * count, replace=False)
    a, b = idx[:count], idx[count:]
    turned = rng.random(count) < 0.1
    # Within the rule: upright copies pHash 0..6 and dHash 0..8 bits off,
    # turned copies pHash 0..rotation_radius.
    kp = np.where(turned, rng.integers(0, S.DEFAULT_ROTATION_RADIUS + 1, size=count), rng.integers(0, 7, size=count))
    kd = rng.integers(0, 9, size=count)
    for arr_b, arr_a, arr_turn, k in ((p, p, p90, kp), (d, d, d90, kd)):
        src = np.where(turned, arr_turn[a], arr_a[a])  # a turned copy looks like a's turned hash
        arr_b[b] = src ^ flip_masks(rng, k)
    items = [S.HashItem(i, f"{i:x}", int(p[i]), int(d[i]), False, (int(p90[i]), int(d90[i])),
                        (int(p180[i]), int(d180[i]))) for i in range(n)]
    return items, {(int(min(x, y)), int(max(x, y))) for x, y in zip(a, b)}


def pipeline_bench(sizes: list[int], memory: bool) -> None:
    sp = S.SimilarityParams()
    print(f"\n== grouping: pHash + dHash upright, pHash turned 90°/180°; rule (p<={sp.search_radius} or "
          f"d<={sp.search_radius}) and p+d<={sp.max_distance}, turned p<={sp.rotation_radius} ==")
    print(f"{'n':>9} {'step':<34} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'result':>22}")
    for n in sizes:
        rng = np.random.default_rng(n + 1)
        items, planted = make_items(rng, n)
        t, peak, pairs = measure(lambda: S.similar_pairs(items), memory)
        found = {(x.a, x.b) for x in pairs}  # type: ignore[union-attr]
        mem = f"{peak:8.0f}" if peak is not None else f"{'-':>8}"
        print(f"{n:>9} {'similar_pairs (all pairs)':<34} {t[0]:>8.3f} {t[1]:>8.3f} {mem} "
              f"{f'recall {len(planted & found) / len(planted):.1%}':>22}", flush=True)
        t, peak, g = measure(lambda: S.group_items(items), memory)
        mem = f"{peak:8.0f}" if peak is not None else f"{'-':>8}"
        print(f"{n:>9} {'group_items (from scratch)':<34} {t[0]:>8.3f} {t[1]:>8.3f} {mem} "
              f"{f'{len(g.similar)} groups':>22}", flush=True)  # type: ignore[union-attr]
        cut = n - max(n // 100, 1)
        lib, new = items[:cut], items[cut:]
        before = S.group_items(lib)
        t, peak, g2 = measure(lambda: S.update_grouping(lib, before, new), memory)
        mem = f"{peak:8.0f}" if peak is not None else f"{'-':>8}"
        same = "equals scratch" if g2 == g else "DIFFERS"
        print(f"{n:>9} {f'update_grouping (+{len(new)} new)':<34} {t[0]:>8.3f} {t[1]:>8.3f} {mem} {same:>22}",
              flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--radius", type=int, default=S.DEFAULT_SEARCH_RADIUS)
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs (halves the time)")
    ap.add_argument("--no-pipeline", action="store_true", help="search only, no grouping benchmark")
    ap.add_argument("--brute-max", type=int, default=100_000, help="largest n the brute force runs on")
    ap.add_argument("--k1-max", type=int, default=100_000, help="largest n the 1-equal-band plan runs on")
    args = ap.parse_args(argv)
    print(f"numpy {np.__version__}, {os.cpu_count()} CPUs")
    search_bench(args.sizes, args.radius, not args.no_memory, args.brute_max, args.k1_max)
    if not args.no_pipeline:
        pipeline_bench(args.sizes, not args.no_memory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
