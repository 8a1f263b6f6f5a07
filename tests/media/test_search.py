"""The all-pairs Hamming search finds exactly the pairs a brute force finds."""
from __future__ import annotations

import numpy as np
import pytest

from mediaparser.media import similarity as S


def rand64(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)


def flip(rng: np.random.Generator, h: np.uint64, k: int) -> np.uint64:
    for b in rng.choice(64, size=k, replace=False):
        h ^= np.uint64(1) << np.uint64(int(b))
    return h


def planted(rng: np.random.Generator, n: int, radius: int, pairs: int) -> np.ndarray:
    """Random hashes plus `pairs` copies at every distance 0..radius+2
    (pairs just outside the radius must not be found)."""
    h = rand64(rng, n)
    for t in range(pairs):
        a, b = rng.choice(n, size=2, replace=False)
        h[b] = flip(rng, h[a], t % (radius + 3))
    return h


def reference(a: np.ndarray, b: np.ndarray | None, radius: int) -> set[tuple[int, int, int]]:
    """Pure-Python brute force."""
    out = set()
    bb = a if b is None else b
    for i, x in enumerate(a.tolist()):
        for j, y in enumerate(bb.tolist()):
            if b is None and j <= i:
                continue
            d = (x ^ y).bit_count()
            if d <= radius:
                out.add((i, j, d))
    return out


def as_set(p: S.Pairs) -> set[tuple[int, int, int]]:
    return set(zip(p.i.tolist(), p.j.tolist(), p.dist.tolist()))


@pytest.mark.parametrize("radius", [0, 1, 3, 6, 8, 12])
def test_multi_index_search_equals_brute_force_within(radius):
    rng = np.random.default_rng(radius)
    h = planted(rng, 700, radius, 300)
    want = reference(h, None, radius)
    assert len(want) >= 60  # the planted pairs are there to be found
    for method in ("mih", "brute", "auto"):
        got = S.pairs_within(h, radius, method=method)
        assert as_set(got) == want, method
        assert len(got) == len(want)  # each pair once


@pytest.mark.parametrize("plan", [S.BandPlan(8, 1), S.BandPlan(8, 2), S.BandPlan(9, 3), S.BandPlan(7, 1)])
def test_every_exact_plan_gives_the_same_pairs_at_radius_6(plan):
    rng = np.random.default_rng(6)
    h = planted(rng, 900, 6, 400)
    assert as_set(S.pairs_within(h, 6, plan=plan)) == reference(h, None, 6)


def test_a_plan_that_cannot_be_exact_is_refused():
    h = rand64(np.random.default_rng(0), 100)
    with pytest.raises(ValueError):
        S.pairs_within(h, 7, plan=S.BandPlan(8, 2))  # only exact up to 6


@pytest.mark.parametrize("sizes", [(500, 600), (40, 2000), (2000, 40)])
def test_search_between_two_sets_equals_brute_force(sizes):
    """Equal sizes merge two sorted sides; a small side against a big one
    takes the probe path (only the small side sorted)."""
    rng = np.random.default_rng(sum(sizes))
    a, b = rand64(rng, sizes[0]), rand64(rng, sizes[1])
    for t in range(min(sizes) // 2):
        i, j = rng.integers(sizes[0]), rng.integers(sizes[1])
        b[j] = flip(rng, a[i], t % 9)
    want = reference(a, b, 6)
    assert len(want) >= min(sizes) // 4
    got = S.pairs_between(a, b, 6, method="mih")
    assert as_set(got) == want
    assert as_set(S.pairs_between(a, b, 6, method="brute")) == want


@pytest.mark.parametrize("plan", [S.BandPlan(8, 2), S.BandPlan(9, 3)])  # a run table; a binary search
def test_a_probe_in_chunks_and_blocks_equals_brute_force(monkeypatch, plan):
    """The probed side is looked up, key-ordered and verified a chunk of
    queries and a block of candidates at a time (int32 positions): chunks,
    blocks and runs longer than a block must not lose or repeat a pair."""
    monkeypatch.setattr(S, "_PROBE_CHUNK", 97)
    monkeypatch.setattr(S, "_ORDER_PROBES", 8)
    monkeypatch.setattr(S, "_EXPAND_BLOCK", 40)
    rng = np.random.default_rng(44)
    a, b = rand64(rng, 300), rand64(rng, 1500)
    a[:60] = a[0]  # a run of 60 equal keys: one query's candidates span blocks
    for t in range(200):
        i, j = rng.integers(300), rng.integers(1500)
        b[j] = flip(rng, a[i], t % 9)
    want = reference(a, b, 6)
    assert len(want) >= 100
    got = S.pairs_between(a, b, 6, method="mih", plan=plan)
    assert as_set(got) == want and len(got) == len(want)
    assert as_set(S.pairs_between(b, a, 6, method="mih", plan=plan)) == {(j, i, d) for i, j, d in want}


def test_skewed_hashes_long_runs_of_equal_keys():
    """Real libraries hold many identical hashes (copies, bursts); runs of
    equal band keys far longer than random data makes must still be exact."""
    rng = np.random.default_rng(5)
    base = rand64(rng, 1)[0]
    h = np.concatenate([
        np.full(150, base, dtype=np.uint64),  # 150 identical hashes
        np.array([flip(rng, base, k % 9) for k in range(300)], dtype=np.uint64),  # a cloud around them
        rand64(rng, 600),
    ])
    rng.shuffle(h)
    want = reference(h, None, 6)
    assert len(want) > 150 * 149 // 2
    assert as_set(S.pairs_within(h, 6, method="mih")) == want


def test_results_are_sorted_and_typed():
    rng = np.random.default_rng(1)
    h = planted(rng, 400, 4, 100)
    p = S.pairs_within(h, 4)
    code = p.i * 400 + p.j
    assert np.all(np.diff(code) > 0) and np.all(p.i < p.j)
    assert p.i.dtype == np.int64 and p.dist.dtype == np.uint8


def test_tiny_and_empty_inputs():
    assert len(S.pairs_within([], 6)) == 0
    assert len(S.pairs_within([5], 6)) == 0
    assert as_set(S.pairs_within([5, 5, 7], 1)) == {(0, 1, 0), (0, 2, 1), (1, 2, 1)}
    assert len(S.pairs_between([], [1, 2], 3)) == 0


def test_popcount_table_equals_numpy_bitwise_count():
    x = rand64(np.random.default_rng(2), 5000)
    assert np.array_equal(S.popcount_lut(x), np.array([int(v).bit_count() for v in x.tolist()], dtype=np.uint8))


def test_plan_choice_is_exact_for_the_radius_and_uses_two_of_eight_bands_at_scale():
    for r in range(0, 13):
        for n in (1000, 100_000, 1_000_000):
            assert S.plan_bands(r, n).max_radius >= r
    # The default radius at library scale: 8 bands of 8 bits, 2 equal.
    assert S.plan_bands(6, 1_000_000) == S.BandPlan(8, 2)
