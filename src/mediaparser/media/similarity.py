"""Exact and near-duplicate groups over perceptual hashes, without O(n²) Python.

This module owns three things, all pure (no database, no Flask): the
all-pairs search over 64-bit hashes, the similarity rule between two images,
and the grouping (exact by SHA-256, similar by perceptual hashes), including
the incremental update of a library's groups when new files arrive.

Search (`pairs_within`, `pairs_between`, `search`)
    Finds *every* pair of 64-bit hashes within a Hamming radius. The default
    method is multi-index hashing with a k-of-m pigeonhole: the 64 bits are cut
    into m bands; two hashes at distance <= r differ in at most r bands, so at
    least m - r bands are identical. With m = r + k at least k bands match
    exactly, so every pair within r shares the key made of some k of the m
    bands. For each of the C(m, k) band combinations the hashes are sorted on
    that key (one uint64 sort of key << 32 | index, which numpy runs as a SIMD
    sort), pairs inside runs of equal keys are compared at growing offsets, and
    each candidate is verified by XOR + popcount. A cross join (turned hashes
    against upright ones, new files against the library) sorts one side only
    and looks the other side's keys up in a table of the sorted side's runs.
    A pair found under several combinations is kept once. The search is exact
    (100 % recall) for r <= m - k by construction; any radius is supported,
    and the plan (m, k) is chosen per radius and sizes by a cost model. For
    the default radius 6 at library sizes that is 8 bands of 8 bits with 2
    equal bands required: 28 combinations of 16-bit keys, whose bands are
    read as byte columns of the hashes. A single equal band (m = 8, k = 1,
    the textbook pigeonhole) is also exact for r < 8 but yields about n²/512
    candidates per band: 3.6x slower at 100k hashes, 1.6e10 candidates at 1M.
    Three of nine bands (21-bit keys) has almost no candidates but 84 sorts:
    1.5-2x slower. A blocked numpy brute force (`method="brute"`) is the
    reference and the choice for tiny inputs. Measured on the 2-core machine
    (CPU seconds; bench/similarity.py): 100k hashes 0.16 s (brute force
    7.6 s), 1M hashes 3.6 s, 100 % of planted pairs found.

Similarity rule (`SimilarityParams`)
    Each image carries a pHash and a dHash of its oriented thumbnail, plus the
    same two hashes of the thumbnail turned 90° and 180° (`hashes.rotated_hashes`).
    Two images are similar when their pHash distance p and dHash distance d
    satisfy

        (p <= search_radius or d <= search_radius) and p + d <= max_distance

    with defaults 6 and 20. Requiring both hashes to agree (the sum) is what
    keeps unrelated pictures apart; allowing either hash to be the close one
    recovers crops, which move dHash and pHash differently. The first clause
    is also what makes the search exact and fast: a pair can only be similar
    if one of its hashes is within the search radius, so searching pHash and
    dHash at radius 6 finds every similar pair.

    Evidence (bench/dup_quality.py on the 211 decodable images of corpus-dev,
    177 of them eligible): resize/JPEG 70/PNG/WebP/HEIC/turned copies sit at
    0–6 and are all found (resize 98.3 %: three originals under 64 px whose
    half-size copy is too small to hash); 5 % crops mostly at 4–18, found
    88.1 % (92.1 % as pairs: a few crops join a nearer leader, see below);
    the closest two *unrelated* photos are 31 apart.
    The sweep over radius 4–8 x max distance 12–26 gave no false group
    anywhere; crops gain with the radius (radius 7: 93.8 %, 8: 96.6 % at
    max distance 20) but the search cost grows about 2x per radius step, and
    6 already meets the 80 % target with an 11-bit margin to the nearest
    unrelated pair.

    Orientation: hashes are of the *oriented* image (EXIF orientation applied
    before hashing), so a copy rotated by its orientation tag hashes like the
    upright one. A copy whose *pixels* were turned (an editor's "rotate and
    save") is matched through the turned hashes: the comparisons a90~b,
    a~b90, a180~b and a~b180 are made besides a~b. Turned copies are lossless
    turns of the same pixels (on corpus-dev pHash 0 or 2 bits from the turned
    original, dHash 0–3), so a turned comparison passes when its pHash is
    within `rotation_radius` (3) and p + d <= max_distance. Searching only
    the turned pHashes, at radius 3 (4 bands of 16 bits, one equal: 4 band
    combinations), costs a fraction of searching both turned hashes at
    radius 6 (2 x 28 combinations): at 100k hashes 0.13 s against 1.4 s of
    CPU. The best passing orientation gives the pair's distance and its
    `rotation`. A turned *and* cropped copy is therefore not matched.

    Low-detail images (blank, nearly uniform, smooth gradients, tiny;
    `PerceptualHashes.low_detail`) hash alike by accident and never take
    part. Byte-identical copies take part once (the first of each SHA-256);
    they are reported by exact groups.

Grouping: clustering around a representative (no chaining)
    Pairs are facts about two images; groups must not chain (A~B~C~D with A
    and D unrelated must not become one group). The connected components of
    the pairs (a union-find; `GroupingStats` reports how many components were
    cut) are exactly such chains, so groups are instead formed around
    representatives, chosen by where the pairs are rather than by who came
    first:

      * items are ranked: the most connected first (how many items are
        similar to it), then the one with most identical copies, then the
        one nearest to its neighbours, then by hashes, then by id;
      * in rank order an item becomes a representative unless a similar item
        ranked before it already is one, or is a *stand-in* of one: a member
        within PROXY_DISTANCE (4) of its representative, i.e. a lossless
        copy such as its PNG or its turned pixels;
        Nor does a near-identical copy (within PROXY_DISTANCE) of a member:
        it follows that member (the PNG or the turned pixels of a crop);
      * every other item joins its *nearest* similar representative (ties:
        the better ranked); an item similar to none (only to a stand-in, or
        a near-identical copy of a member) joins that member's group, at the
        sum of the two distances.

    So every member of a group is similar to the representative, or is one
    step from a member that is (a step of at most 4 on one side or the
    other, never a longer chain), and any two members are within
    2 x (max_distance + 4) of each other. The stand-ins are what
    keeps a turned-and-cropped copy with its photo: it is similar to the
    turned copy and to the crop, never to the upright original. Ranking by connections is what keeps the copies of one photo
    together whatever order they arrive in: with an original, its resize,
    its re-encodes, a crop and a turned copy, the crop is similar to the
    original and its lossless copies but not to the turned copy, so a rule
    that let the first arrival lead lost the crop whenever the crop or the
    turned copy came first (the crop then led a group of one, the others
    joined the nearer turned copy: 4 of 20 crops grouped in issue 13's set).
    The best connected copy is similar to all of them. Every rank key but
    the last is content, so only copies with identical hashes depend on the
    id order, and those have the same neighbours. The representative is the
    reference the distances are measured from; which copy to *keep* is
    keeper.py's business.

    Bursts: n near-identical frames are n²/2 similar pairs (50 million for
    10,000 frames), and the grouping needs only enough of them to see one
    group. Two things bound them. Hash twins (identical upright and turned
    hashes: a PNG of a JPEG, most frames of a static burst — 60 rendered
    frames of a static scene with sensor noise hash to 3 distinct values)
    are searched once: the first stands for all, counting once per twin in
    its neighbours' connections, and the others join its group at its
    distance. Frames that all differ a little are capped in the search
    (`SimilarityParams.pair_cap`, see `search`): inside a long run of
    near-identical hashes each frame is compared with the run's first few
    frames only, which see every frame, so the burst stays one group with
    about 40 pairs per frame (bench/burst.py: 10,000 distinct frames give
    0.41 million pairs instead of 50 million). `similar_pairs` stays
    complete. The incremental update equals from-scratch grouping when no
    capped burst is involved; around a capped burst the two may pick
    another frame as its representative.

    Incremental update (`update_grouping`): a new file can change who
    represents the component it joins (it adds connections), but nothing
    outside the components it touches. The update searches new-vs-library
    and new-vs-new pairs, closes the touched library components by a few
    rounds of "who else is similar to these" (a whole stored group enters
    with any of its members), regroups those components with the new items,
    and keeps every other stored group; the result equals grouping
    everything from scratch (the tests prove it). When the closure needs
    more than a few rounds (a long gradient), when new ids do not all come
    after the library's, or when the stored groups do not describe the
    library, the update regroups everything.

Groups carry their kind (`exact` / `similar`), representative, members with
their distances to it, and a confidence from the distances:
1 - worst distance / 64 (64 is the expected pHash + dHash distance of two
unrelated images, so 0 means "no closer than chance", 1 means identical
hashes), labelled high (>= 0.9), medium (>= 0.8) or low.
"""
from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import Literal, NamedTuple

import numpy as np

from mediaparser.media.hashes import PerceptualHashes, RotatedHashes

ItemId = int | str

# ---------------------------------------------------------------------------
# popcount

_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount_lut(x: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 through a byte table (numpy 1.x has no
    bitwise_count); about 4x slower, the same answer."""
    x = np.ascontiguousarray(x, dtype=np.uint64)
    return _POP8[x.view(np.uint8)].reshape(*x.shape, 8).sum(axis=-1, dtype=np.uint8)


def popcount(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint64 (as uint8)."""
    return np.bitwise_count(x)


if not hasattr(np, "bitwise_count"):  # numpy < 2
    popcount = popcount_lut  # noqa: F811


def as_hash_array(values: Iterable[int] | np.ndarray) -> np.ndarray:
    """Python ints (0 <= h < 2**64) to a uint64 array."""
    if isinstance(values, np.ndarray):
        return values.astype(np.uint64, copy=False)
    return np.fromiter((int(v) for v in values), dtype=np.uint64)


# ---------------------------------------------------------------------------
# The array-level search engine


class Pairs(NamedTuple):
    """Index pairs and their Hamming distances (int64, int64, uint8 arrays)."""

    i: np.ndarray
    j: np.ndarray
    dist: np.ndarray

    def __len__(self) -> int:  # type: ignore[override]
        return int(self.i.size)


def _empty_pairs() -> Pairs:
    return Pairs(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint8))


@dataclass(frozen=True)
class BandPlan:
    """m bands of the 64 bits, k of them required equal: exact for r <= m - k."""

    bands: int
    exact: int

    @property
    def max_radius(self) -> int:
        return self.bands - self.exact

    @cached_property
    def layout(self) -> tuple[tuple[int, int], ...]:
        """(bit offset, width) of each band; widths differ by at most one bit."""
        m = self.bands
        widths = [64 // m + (1 if b < 64 % m else 0) for b in range(m)]
        offsets = np.cumsum([0] + widths[:-1])
        return tuple((int(o), w) for o, w in zip(offsets, widths))

    @cached_property
    def combinations(self) -> list[tuple[int, ...]]:
        return list(itertools.combinations(range(self.bands), self.exact))

    def key_bits(self, combo: Sequence[int]) -> int:
        lay = self.layout
        return sum(lay[b][1] for b in combo)

    @cached_property
    def bits_histogram(self) -> dict[int, int]:
        """How many band combinations give keys of each width."""
        return dict(Counter(self.key_bits(c) for c in self.combinations))


# A join of two named arrays; (x, x) is the self-join of x (pairs i < j).
Join = tuple[str, str]

# A cross join sorts one side only and looks the other side's keys up in a
# table of the sorted side's runs (start and length per key value), so no
# binary search is needed; tables up to 2**22 entries, wider keys fall back to
# binary search.
_TABLE_BITS = 22

# Cost model, in nanoseconds, measured on the 2-core development machine
# (bench/similarity.py); it only picks a plan, every plan is exact.
_NS_KEY_BYTES = 1.5  # per hash, per byte-aligned band in the key, per combination
_NS_KEY = 8.0  # per hash, per band that needs shifting and masking
_NS_SORT = 60.0  # per hash per combination: packed sort, unpack, gather
_NS_PROBE = 10.0  # per probed hash per combination: run-table lookup
_NS_PROBE_SEARCH = 80.0  # the same by binary search (keys too wide for a table)
_NS_CANDIDATE = 15.0  # per candidate pair checked
_NS_BRUTE_PAIR = 1.6  # per pair of the blocked brute force


def _join_modes(sizes: dict[str, int], joins: Sequence[Join]) -> tuple[dict[Join, str], set[str]]:
    """How each join runs, and which arrays get sorted.

    Self-joins sort their array. A cross join probes into a side that is
    sorted anyway (the from-scratch search: turned hashes probe the sorted
    upright ones), else sorts its smaller side (the incremental search: a
    few thousand new hashes sorted, a library of a million probed).
    """
    to_sort = {a for a, b in joins if a == b}
    modes: dict[Join, str] = {}
    for a, b in joins:
        if a == b:
            modes[(a, b)] = "self"
        elif b in to_sort or (a not in to_sort and sizes[b] <= sizes[a]):
            modes[(a, b)] = "probe-a"  # b sorted, a probed
            to_sort.add(b)
        else:
            modes[(a, b)] = "probe-b"
            to_sort.add(a)
    return modes, to_sort


def _plan_cost(plan: BandPlan, sizes: dict[str, int], joins: Sequence[Join]) -> float:
    modes, sorted_names = _join_modes(sizes, joins)
    probes = [(b, a) if m == "probe-b" else (a, b) for (a, b), m in modes.items() if m != "self"]
    used = {x for j in joins for x in j}
    pairs = sum(sizes[a] * sizes[a] / 2 if a == b else sizes[a] * sizes[b] for a, b in joins)
    cost = 0.0
    for combo in plan.combinations:
        bits = plan.key_bits(combo)
        aligned = all(plan.layout[b][0] % 8 == 0 and plan.layout[b][1] % 8 == 0 for b in combo)
        per_key = (_NS_KEY_BYTES if aligned else _NS_KEY) * plan.exact
        probe = 0.0
        for probed, table_side in probes:
            table = bits <= _TABLE_BITS and (1 << bits) <= max(1 << 16, 4 * sizes[table_side])
            probe += (_NS_PROBE if table else _NS_PROBE_SEARCH) * sizes[probed]
        cost += (per_key * sum(sizes[x] for x in used) + _NS_SORT * sum(sizes[x] for x in sorted_names)
                 + probe + _NS_CANDIDATE * pairs / float(2**bits))
    return cost


def plan_bands(radius: int, sizes: dict[str, int] | int, joins: Sequence[Join] | None = None) -> BandPlan:
    """The cheapest exact band plan (m = radius + k) for these joins.

    `sizes` maps array names to lengths; a plain int means one self-join.
    Keys must fit 32 bits (they are packed with a 32-bit index into one
    uint64 for sorting), hence m >= 2k.
    """
    if radius < 0:
        raise ValueError("radius must be >= 0")
    if isinstance(sizes, int):
        sizes, joins = {"h": sizes}, [("h", "h")]
    assert joins is not None
    best: tuple[float, BandPlan] | None = None
    for k in range(1, 6):
        m = max(radius + k, 2 * k)
        if m > 64 or math.comb(m, k) > 2000:
            continue
        plan = BandPlan(m, k)
        if plan.key_bits(tuple(range(k))) > 32:  # the first bands are the widest
            continue
        cost = _plan_cost(plan, sizes, joins)
        if best is None or cost < best[0]:
            best = (cost, plan)
    if best is None:
        raise ValueError(f"no band plan for radius {radius}; use method='brute'")
    return best[1]


def _brute_cost(sizes: dict[str, int], joins: Sequence[Join]) -> float:
    return _NS_BRUTE_PAIR * sum(sizes[a] * sizes[a] / 2 if a == b else sizes[a] * sizes[b] for a, b in joins)


def _key_dtype(bits: int) -> type:
    return np.uint16 if bits <= 16 else np.uint32


def _bytes_of(h: np.ndarray) -> np.ndarray | None:
    """The hashes as an (n, 8) byte matrix, column b = bits 8b..8b+7, when
    the platform's byte order allows it."""
    if sys.byteorder != "little":
        return None
    return np.ascontiguousarray(h).view(np.uint8).reshape(-1, 8)


def _combo_key(h: np.ndarray, plan: BandPlan, combo: Sequence[int], hbytes: np.ndarray | None = None) -> np.ndarray:
    """The bands of `combo` concatenated into one unsigned integer per hash
    (uint16 for keys up to 16 bits, else uint32)."""
    lay = plan.layout
    dtype = _key_dtype(plan.key_bits(combo))
    if hbytes is not None and all(lay[b][0] % 8 == 0 and lay[b][1] % 8 == 0 for b in combo):
        # Whole bytes (8 bands of 8 bits, 4 of 16): concatenate byte columns,
        # 8x faster than shifting and masking the uint64s. (The byte order
        # inside the key differs from the shifting path; a key only has to
        # be the same function of the bands for every array of one search,
        # and the path depends on the plan alone.)
        cols = [c for b in combo for c in range(lay[b][0] // 8, (lay[b][0] + lay[b][1]) // 8)]
        key = hbytes[:, cols[0]].astype(dtype)
        for c in cols[1:]:
            key <<= dtype(8)
            key |= hbytes[:, c]
        return key
    key64: np.ndarray | None = None
    for b in combo:
        off, width = lay[b]
        band = (h >> np.uint64(off)) & np.uint64((1 << width) - 1)
        if key64 is None:
            key64 = band
        else:
            key64 <<= np.uint64(width)
            key64 |= band
    assert key64 is not None
    return key64.astype(dtype)


_LOW32 = np.uint64(0xFFFFFFFF)


class _Sorted(NamedTuple):
    keys: np.ndarray  # ascending (uint16 or uint32)
    idx: np.ndarray  # original positions (int32 below 2**31 hashes: half the memory of int64)
    hashes: np.ndarray  # hashes in this order


def _index_dtype(n: int) -> type:
    """Positions into n items: int32 where they fit (the search's big temporaries are
    positions; a pair's positions are widened to int64 when it is emitted)."""
    return np.int32 if n < 2**31 else np.int64


def _sort_by_key(h: np.ndarray, key: np.ndarray) -> _Sorted:
    # One uint64 sort of (key << 32 | position): numpy sorts plain uint64 with
    # a SIMD sort, several times faster than argsort on the key.
    n = h.size
    if sys.byteorder == "little":
        # Written and read as the two 32-bit halves of each uint64 (low half
        # first): no shifted or masked temporaries of n uint64s.
        packed = np.empty(n, np.uint64)
        halves = packed.view(np.uint32).reshape(n, 2)
        halves[:, 0] = np.arange(n, dtype=np.uint32)
        halves[:, 1] = key
        packed.sort()
        idx = halves[:, 0].astype(_index_dtype(n))
        keys = halves[:, 1].astype(key.dtype)
        del halves, packed
        return _Sorted(keys, idx, h[idx])
    packed = key.astype(np.uint64)
    packed <<= np.uint64(32)
    packed |= np.arange(n, dtype=np.uint64)
    packed.sort()
    idx = (packed & _LOW32).astype(_index_dtype(n))
    packed >>= np.uint64(32)
    return _Sorted(packed.astype(key.dtype), idx, h[idx])


def _collect(out: Sequence[Pairs]) -> Pairs:
    out = [p for p in out if len(p)]
    if not out:
        return _empty_pairs()
    if len(out) == 1:
        return out[0]
    return Pairs(np.concatenate([p.i for p in out]), np.concatenate([p.j for p in out]),
                 np.concatenate([p.dist for p in out]))


# A burst's bounded search (`cap`): in a run of equal keys longer than
# _CAP_RUN whose members are mostly near-identical to its first (a static
# burst: thousands of frames share every key), each member is compared
# with the run's `cap` heads only (its first members near-identical to its
# centre, who thereby see the whole run), instead of with every member.
_CAP_RUN = 64
_DENSE_SHARE = 0.5


def _capped_dense_runs(s: _Sorted, radius: int, cap: int) -> tuple[np.ndarray, Pairs] | None:
    """(positions outside dense runs, the bounded pairs inside them), or
    None when no run is long and dense (the search stays exact)."""
    ks, idx, hs = s
    n = ks.size
    if n <= _CAP_RUN:
        return None
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    lengths = np.diff(np.r_[starts, n])
    long = np.flatnonzero(lengths > _CAP_RUN)
    if not long.size:
        return None
    run_of = np.repeat(np.arange(starts.size), lengths)
    # How near-identical a run is, seen from four of its members (its first
    # may be an unrelated hash that shares the key: an older file sorts first).
    share = np.zeros(starts.size)
    centre = starts.copy()
    for q in range(4):
        probe = starts + (lengths * q) // 4
        near = popcount(hs ^ hs[probe][run_of]) <= radius
        sh = np.bincount(run_of, weights=near, minlength=starts.size) / lengths
        better = sh > share
        share[better], centre[better] = sh[better], probe[better]
    dense = long[share[long] >= _DENSE_SHARE]
    if not dense.size:
        return None
    in_dense = np.zeros(n, bool)
    mark = np.zeros(starts.size, bool)
    mark[dense] = True
    in_dense = mark[run_of]
    pos = np.flatnonzero(in_dense)
    out: list[Pairs] = []
    # Heads: the first `cap` members of the run near its centre (the oldest
    # frames of the burst, the same ones under every band combination).
    near_c = in_dense & (popcount(hs ^ hs[centre[run_of]]) <= radius)
    seen = np.cumsum(near_c) - near_c
    rank = seen - seen[starts][run_of]
    hpos = np.flatnonzero(near_c & (rank < cap))
    heads = np.full((starts.size, cap), -1, np.int64)
    heads[run_of[hpos], rank[hpos]] = hpos

    def emit(a: np.ndarray, b: np.ndarray) -> None:
        d = popcount(hs[a] ^ hs[b])
        ok = np.flatnonzero(d <= radius)
        if ok.size:
            x, y = idx[a[ok]].astype(np.int64), idx[b[ok]].astype(np.int64)
            out.append(Pairs(np.minimum(x, y), np.maximum(x, y), d[ok]))

    for h in range(cap):
        head = heads[run_of[pos], h]
        ok = np.flatnonzero((head >= 0) & (head != pos))
        emit(pos[ok], head[ok])
    return np.flatnonzero(~in_dense), _collect(out)


def _self_join_sorted(s: _Sorted, radius: int, cap: int | None = None) -> Pairs:
    """Pairs (i < j) with equal key and distance <= radius (with `cap`,
    bounded inside dense runs: see _capped_dense_runs).

    Position p of the sorted order is compared with p + t for t = 1, 2, ...
    while p + t is in the same run of equal keys. While most positions still
    have a partner at offset t, whole shifted slices are compared (no
    gathers); once few do, only their positions are carried on, so a long
    run of equal keys costs its pairs, never n x its length.
    """
    capped = _capped_dense_runs(s, radius, cap) if cap is not None else None
    if capped is not None:
        rest, bounded = capped
        s = _Sorted(s.keys[rest], s.idx[rest], s.hashes[rest])
        return _collect([_self_join_sorted(s, radius), bounded])
    ks, idx, hs = s
    n = ks.size
    out: list[Pairs] = []

    def emit(pos: np.ndarray, t: int, d: np.ndarray) -> None:
        a, b = idx[pos].astype(np.int64), idx[pos + t].astype(np.int64)
        out.append(Pairs(np.minimum(a, b), np.maximum(a, b), d))

    t = 1
    active: np.ndarray | None = None
    while t < n:
        if active is None:
            eq = ks[:-t] == ks[t:]
            live = int(np.count_nonzero(eq))
            if live == 0:
                break
            if live * 8 < n - t:
                active = np.flatnonzero(eq)
                continue
            d = popcount(hs[:-t] ^ hs[t:])
            pos = np.flatnonzero(eq & (d <= radius))
            if pos.size:
                emit(pos, t, d[pos])
        else:
            if active.size == 0:
                break
            d = popcount(hs[active] ^ hs[active + t])
            ok = np.flatnonzero(d <= radius)
            if ok.size:
                emit(active[ok], t, d[ok])
            active = active[: np.searchsorted(active, n - t - 1)]  # active is ascending
            active = active[np.flatnonzero(ks[active + t + 1] == ks[active])]
        t += 1
    return _collect(out)


# Candidates verified per block by _expand: 256k candidates take ~7 MB of
# temporary arrays per search thread (1M took ~30 MB for no gain in speed)
# and keep every pass over them sequential.
_EXPAND_BLOCK = 1 << 18


def _expand(lo: np.ndarray, cnt: np.ndarray, big: np.ndarray, sel: np.ndarray, s: _Sorted,
            radius: int) -> Pairs:
    """Pairs (s index, query index) for the queries big[sel] whose key
    matched the run s.keys[lo : lo + cnt] (cnt >= 1), verified by XOR +
    popcount.

    Every (query, run position) candidate is laid out flat, a block of
    queries at a time (np.repeat), so each pass runs over contiguous arrays:
    3x faster than stepping through the runs one offset at a time, which
    gathered from shrinking index arrays on every step. Positions stay in
    lo's dtype (int32 below 2**31 hashes); only the pairs found are widened.
    """
    out: list[Pairs] = []
    ends = np.cumsum(cnt, dtype=np.int64)
    total = int(ends[-1]) if ends.size else 0
    a = 0
    while a < cnt.size:
        done = int(ends[a - 1]) if a else 0
        # At least one query per block, else as many as fit _EXPAND_BLOCK candidates.
        b = max(a + 1, int(np.searchsorted(ends, done + _EXPAND_BLOCK, side="right")))
        c = cnt[a:b]
        size = int(ends[b - 1]) - done
        first = np.cumsum(c, dtype=lo.dtype) - c  # where each query's candidates start in the block
        pos = np.repeat(lo[a:b] - first, c)
        pos += np.arange(size, dtype=pos.dtype)
        x = s.hashes[pos]
        x ^= np.repeat(big[sel[a:b]], c)
        d = popcount(x)
        del x
        ok = np.flatnonzero(d <= radius)
        if ok.size:
            q = np.searchsorted(first, ok, side="right") - 1
            out.append(Pairs(s.idx[pos[ok]].astype(np.int64), sel[a:b][q].astype(np.int64), d[ok]))
        a = b
    assert total == 0 or a == cnt.size
    return _collect(out)


Runs = tuple[np.ndarray, np.ndarray, np.ndarray]


def _runs_of(s: _Sorted, bits: int) -> Runs | None:
    """Start and length of the run of every key value, as dense tables
    indexed by key (in the sorted side's index dtype), and which key values
    occur (None when the key space is too wide for a table)."""
    if bits > _TABLE_BITS or (1 << bits) > max(1 << 16, 4 * s.keys.size):
        return None  # a table far larger than the data: binary search is cheaper
    counts = np.bincount(s.keys, minlength=1 << bits).astype(s.idx.dtype)
    starts = np.cumsum(counts, dtype=counts.dtype) - counts
    return starts, counts, counts != 0


# Above this many queries against a sorted side as large, queries are put in
# key order first (see _probe).
_ORDER_PROBES = 1 << 15
# Queries looked up, ordered and expanded at a time (a million turned hashes
# probing a million upright ones: ~5 MB of selections, run starts and
# lengths per chunk instead of ~25 MB for all at once, at the same speed).
_PROBE_CHUNK = 1 << 18


def _probe(small: _Sorted, runs: Runs | None, big: np.ndarray, big_key: np.ndarray, radius: int) -> Pairs:
    """Pairs (i in sorted side, j in probed side): the probed side's keys
    are looked up in a table of the sorted side's runs (`runs`: the tables
    of `_runs_of`, or None for a binary search)."""
    if small.keys.size == 0:
        return _empty_pairs()
    out = []
    idx_dtype = _index_dtype(big.size)
    order_them = small.keys.size > _ORDER_PROBES
    for c0 in range(0, big_key.size, _PROBE_CHUNK):
        keys = big_key[c0:c0 + _PROBE_CHUNK]
        if runs is not None:
            # Which keys occur at all, from a table of one byte per key value (a
            # million library keys probed against a few thousand new files' runs
            # mostly miss): only the hits are ordered and read the wide tables.
            sel = np.flatnonzero(runs[2][keys]).astype(idx_dtype)
            if sel.size > _ORDER_PROBES and order_them:
                sel = sel[np.argsort(keys[sel], kind="stable")]  # see below
            hit = keys[sel]
            lo, cnt = runs[0][hit], runs[1][hit]
            del hit
        else:
            pos = np.minimum(np.searchsorted(small.keys, keys), small.keys.size - 1)
            sel = np.flatnonzero(small.keys[pos] == keys).astype(idx_dtype)
            lo = pos[sel].astype(small.idx.dtype)
            del pos
            cnt = (np.searchsorted(small.keys, keys[sel], side="right") - lo).astype(small.idx.dtype)
            if sel.size > _ORDER_PROBES and order_them:
                order = np.argsort(keys[sel], kind="stable")
                sel, lo, cnt = sel[order], lo[order], cnt[order]
                del order
        # Queries in key order (above) read the sorted side's runs in order too:
        # the hashes they are compared with then come from memory in sequence
        # rather than at random (3x faster at 1M hashes). A stable argsort of
        # 16-bit keys is a radix sort.
        if sel.size:
            sel += idx_dtype(c0)
            out.append(_expand(lo, cnt, big, sel, small, radius))
    return _collect(out)


def _unique_pairs(p: Pairs, n_b: int) -> Pairs:
    """Sorted by (i, j), each pair once."""
    if len(p) == 0:
        return p
    n_b = max(n_b, 1)
    code = p.i * np.int64(n_b) + p.j
    code, first = np.unique(code, return_index=True)
    return Pairs(code // n_b, code % n_b, p.dist[first])


def _run(fn, jobs: list, workers: int) -> list:
    # numpy releases the GIL in sort, XOR and popcount, so threads overlap
    # (modestly: on the 2-core machine the gain is ~15 %, memory bound).
    if workers <= 1 or len(jobs) <= 1:
        return [fn(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(fn, jobs))


def _mih_join(arrays: dict[str, np.ndarray], joins: Sequence[Join], radius: int, plan: BandPlan,
              workers: int, cap: int | None = None) -> dict[Join, Pairs]:
    if plan.max_radius < radius:
        raise ValueError(f"{plan} is not exact for radius {radius}")
    sizes = {k: v.size for k, v in arrays.items()}
    modes, sorted_names = _join_modes(sizes, joins)
    used = sorted({x for j in joins for x in j})
    to_sort = sorted(sorted_names)

    hbytes = {x: _bytes_of(arrays[x]) for x in used}

    def one(combo: tuple[int, ...]) -> dict[Join, Pairs]:
        keys = {x: _combo_key(arrays[x], plan, combo, hbytes[x]) for x in used}
        srt = {x: _sort_by_key(arrays[x], keys[x]) for x in to_sort}
        bits = plan.key_bits(combo)
        runs: dict[str, Runs | None] = {}

        def runs_of(x: str) -> Runs | None:
            if x not in runs:
                runs[x] = _runs_of(srt[x], bits)
            return runs[x]

        res: dict[Join, Pairs] = {}
        for j, mode in modes.items():
            a, b = j
            if mode == "self":
                res[j] = _self_join_sorted(srt[a], radius, cap)
            elif mode == "probe-b":
                res[j] = _probe(srt[a], runs_of(a), arrays[b], keys[b], radius)
            else:
                p = _probe(srt[b], runs_of(b), arrays[a], keys[a], radius)
                res[j] = Pairs(p.j, p.i, p.dist)
        return res

    found = _run(one, plan.combinations, workers)
    return {j: _unique_pairs(_collect([f[j] for f in found]), sizes[j[1]]) for j in joins}


# Elements per brute-force block: two rows against 100k hashes (1.6 MB of
# XOR) measured fastest — the block stays in cache; bigger blocks were slower.
_BRUTE_BLOCK_ELEMENTS = 1 << 18


def _brute_join(a: np.ndarray, b: np.ndarray, radius: int, self_join: bool, workers: int) -> Pairs:
    """Blocks of rows of `a` against all of `b` (self-join: the upper
    triangle), XOR + popcount into buffers allocated once per worker."""
    nb = b.size
    if a.size == 0 or nb == 0:
        return _empty_pairs()
    rows = max(1, _BRUTE_BLOCK_ELEMENTS // nb)
    starts = list(range(0, a.size, rows))
    shares = [starts[k::max(workers, 1)] for k in range(max(workers, 1))]

    def one(share: list[int]) -> Pairs:
        size = rows * nb
        x, pc, hit = np.empty(size, np.uint64), np.empty(size, np.uint8), np.empty(size, bool)
        out: list[Pairs] = []
        for s in share:
            e = min(s + rows, a.size)
            if self_join:
                # Pairs inside the block (a tiny triangle), then the block
                # against every later hash: no row meets itself, so a block
                # without a near pair costs no nonzero().
                blk = a[s:e]
                d = popcount(blk[:, None] ^ blk[None, :])
                ii, jj = np.nonzero(np.triu(d <= radius, 1))
                if ii.size:
                    out.append(Pairs(ii.astype(np.int64) + s, jj.astype(np.int64) + s, d[ii, jj]))
            first = e if self_join else 0
            m, c = e - s, nb - first
            if c <= 0:
                continue
            xs, ps, hs = x[: m * c].reshape(m, c), pc[: m * c].reshape(m, c), hit[: m * c].reshape(m, c)
            np.bitwise_xor(a[s:e, None], b[None, first:], out=xs)
            if hasattr(np, "bitwise_count"):
                np.bitwise_count(xs, out=ps)
            else:
                ps[...] = popcount(xs)
            np.less_equal(ps, radius, out=hs)
            if not hs.any():
                continue
            ii, jj = np.nonzero(hs)
            out.append(Pairs(ii.astype(np.int64) + s, jj.astype(np.int64) + first, ps[ii, jj]))
        return _collect(out)

    return _collect(_run(one, [sh for sh in shares if sh], workers))


Method = Literal["auto", "mih", "brute"]


def search(arrays: dict[str, np.ndarray], joins: Sequence[Join], radius: int, *, method: Method = "auto",
           plan: BandPlan | None = None, workers: int = 1, cap: int | None = None) -> dict[Join, Pairs]:
    """All pairs within `radius` for several joins over named uint64 arrays.

    A join (a, b) yields every (i in a, j in b) with Hamming distance <=
    radius; (a, a) yields every i < j within a. Sharing one call lets each
    array's band keys be computed and sorted once per band combination for
    all the joins it takes part in. Exact for any radius; results sorted.
    With `cap`, self-joins bound the pairs of long runs of near-identical
    hashes (a burst) instead: about 2 x cap per hash and band combination.
    """
    arrays = {k: as_hash_array(v) for k, v in arrays.items()}
    sizes = {k: v.size for k, v in arrays.items()}
    if cap is not None and method == "auto" and max(sizes.values(), default=0) > _CAP_RUN:
        method = "mih"  # the brute force has no runs to bound
    if method == "brute" or (method == "auto" and plan is None and (
            max(sizes.values(), default=0) < 64
            or _brute_cost(sizes, joins) < _plan_cost(plan_bands(radius, sizes, joins), sizes, joins))):
        return {(a, b): _unique_pairs(_brute_join(arrays[a], arrays[b], radius, a == b, workers), sizes[b])
                for a, b in joins}
    return _mih_join(arrays, joins, radius, plan or plan_bands(radius, sizes, joins), workers, cap)


def pairs_within(hashes: Sequence[int] | np.ndarray, radius: int, *, method: Method = "auto",
                 plan: BandPlan | None = None, workers: int = 1) -> Pairs:
    """Every pair (i < j) of `hashes` with Hamming distance <= radius, sorted by (i, j)."""
    return search({"h": as_hash_array(hashes)}, [("h", "h")], radius, method=method, plan=plan,
                  workers=workers)[("h", "h")]


def pairs_between(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray, radius: int, *,
                  method: Method = "auto", plan: BandPlan | None = None, workers: int = 1) -> Pairs:
    """Every pair (i in a, j in b) with Hamming distance <= radius, sorted by (i, j)."""
    return search({"a": as_hash_array(a), "b": as_hash_array(b)}, [("a", "b")], radius, method=method,
                  plan=plan, workers=workers)[("a", "b")]


# ---------------------------------------------------------------------------
# Items, the similarity rule, pairs of items


@dataclass(frozen=True, slots=True)
class HashItem:
    """One file as the grouping sees it (a database row fits in directly).

    `rot90` / `rot180` are (phash, dhash) of the oriented thumbnail turned 90°
    counter-clockwise / 180° (`hashes.rotated_hashes`); without them the item
    is still grouped, only pixel-rotated copies of it are not recognised.
    """

    id: ItemId
    sha256: str
    phash: int
    dhash: int
    low_detail: bool = False
    rot90: tuple[int, int] | None = None
    rot180: tuple[int, int] | None = None


def hash_item(id: ItemId, sha256: str, hashes: PerceptualHashes, rotated: RotatedHashes | None = None) -> HashItem:
    """The item for a file analysed with `hashes.perceptual_hashes` (+ `rotated_hashes`)."""
    return HashItem(
        id=id, sha256=sha256, phash=hashes.phash, dhash=hashes.dhash, low_detail=hashes.low_detail,
        rot90=(rotated.rot90.phash, rotated.rot90.dhash) if rotated else None,
        rot180=(rotated.rot180.phash, rotated.rot180.dhash) if rotated else None,
    )


class HashColumns:
    """Many files as the grouping sees them, one numpy array per field, in id order.

    The columnar twin of a list of HashItem for libraries of a million files:
    about 60 bytes a file instead of a Python object with six ints (about
    400), and no per-file Python work to load or search it. Every grouping
    function that takes HashItems takes one of these too, with the same
    result.

    `shared` holds the SHA-256 of every file whose content another file of
    the grouping also has (the caller's query finds those: in a library most
    files are unique, so their SHA-256s are never loaded). Files without
    hashes count as `low_detail`. Indexing (`cols[k]`) gives one file as a
    HashItem.
    """

    __slots__ = ("ids", "phash", "dhash", "rot90", "rot180", "has90", "has180", "low_detail", "shared")

    def __init__(self, ids: np.ndarray, phash: np.ndarray, dhash: np.ndarray, rot90: np.ndarray,
                 rot180: np.ndarray, has90: np.ndarray, has180: np.ndarray, low_detail: np.ndarray,
                 shared: dict[int, str] | None = None, *, check: bool = True):
        self.ids = np.asarray(ids, np.int64)
        self.phash, self.dhash = np.asarray(phash, np.uint64), np.asarray(dhash, np.uint64)
        self.rot90, self.rot180 = np.asarray(rot90, np.uint64).reshape(-1, 2), np.asarray(rot180, np.uint64).reshape(-1, 2)
        self.has90, self.has180 = np.asarray(has90, bool), np.asarray(has180, bool)
        self.low_detail = np.asarray(low_detail, bool)
        self.shared = dict(shared or {})
        if check and self.ids.size > 1 and not bool(np.all(self.ids[1:] > self.ids[:-1])):
            raise ValueError("HashColumns ids must be strictly ascending (sorted, no duplicate)")

    @classmethod
    def empty(cls) -> "HashColumns":
        z = np.empty(0, np.uint64)
        return cls(np.empty(0, np.int64), z, z, z, z, np.empty(0, bool), np.empty(0, bool), np.empty(0, bool))

    def __len__(self) -> int:
        return int(self.ids.size)

    def __getitem__(self, k: int) -> HashItem:
        iid = int(self.ids[k])
        return HashItem(iid, self.shared.get(iid, f"unique:{iid}"), int(self.phash[k]), int(self.dhash[k]),
                        bool(self.low_detail[k]),
                        (int(self.rot90[k, 0]), int(self.rot90[k, 1])) if self.has90[k] else None,
                        (int(self.rot180[k, 0]), int(self.rot180[k, 1])) if self.has180[k] else None)

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    def take(self, positions: np.ndarray) -> "HashColumns":
        """The files at these positions, in that order (ascending positions keep the id order)."""
        ids = self.ids[positions]
        shared = {i: self.shared[i] for i in ids.tolist() if i in self.shared} if self.shared else {}
        return HashColumns(ids, self.phash[positions], self.dhash[positions], self.rot90[positions],
                           self.rot180[positions], self.has90[positions], self.has180[positions],
                           self.low_detail[positions], shared, check=False)

    def concat(self, other: "HashColumns", *, check: bool = True) -> "HashColumns":
        """These files, then `other`'s (whose ids must all be larger, unless `check=False`: the
        caller puts the result in order itself)."""
        return HashColumns(*(np.concatenate([getattr(self, f), getattr(other, f)]) for f in
                             ("ids", "phash", "dhash", "rot90", "rot180", "has90", "has180", "low_detail")),
                           {**self.shared, **other.shared}, check=check)


def _joined(a, b):
    """Two item collections as one (HashColumns stay columnar)."""
    if isinstance(a, HashColumns) and isinstance(b, HashColumns):
        if len(a) and len(b) and b.ids[0] <= a.ids[-1]:
            # Interleaved ids (two imports listed at the same time, the other one grouped first):
            # join unchecked, then take in id order.
            order = np.argsort(np.concatenate([a.ids, b.ids]), kind="stable")
            both = a.concat(b, check=False)
            return both.take(order) if np.all(np.diff(both.ids[order]) > 0) else _order_items([*a, *b])
        return a.concat(b)
    return [*a, *b]


DEFAULT_SEARCH_RADIUS = 6
DEFAULT_MAX_DISTANCE = 20
# Turned copies are lossless turns of the same pixels: on corpus-dev their
# pHash is 0 or 2 bits away from the turned original (dHash 0-3). A pHash
# gate of 3 finds them and keeps their search cheap: 4 bands of 16 bits, one
# equal (see the module doc).
DEFAULT_ROTATION_RADIUS = 3
# A burst's frames are compared with the next 8 of their run and with 8
# heads: a head sees every frame, so the burst is still one group.
DEFAULT_PAIR_CAP = 8


@dataclass(frozen=True)
class SimilarityParams:
    """The similarity rule (see the module docstring) and how to search for it.

    `max_distance` is the pHash + dHash Hamming distance limit (0..128), the
    `--threshold` of the duplicates command; `search_radius` the per-hash
    distance one of the two must be within. A turned comparison (a90~b,
    a180~b, ...) instead needs the pHash within `rotation_radius`.
    `method` and `workers` change speed only, never the result.
    """

    max_distance: int = DEFAULT_MAX_DISTANCE
    search_radius: int = DEFAULT_SEARCH_RADIUS
    rotations: bool = True
    rotation_radius: int = DEFAULT_ROTATION_RADIUS
    # Pairs per hash and band combination inside a burst (see `search`);
    # None searches every pair, n² for a burst of n near-identical frames.
    pair_cap: int | None = DEFAULT_PAIR_CAP
    method: Method = field(default="auto", compare=False)
    workers: int = field(default=1, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.max_distance <= 128:
            raise ValueError("max_distance must be within 0..128")
        if not 0 <= self.search_radius <= 64 or not 0 <= self.rotation_radius <= 64:
            raise ValueError("search_radius and rotation_radius must be within 0..64")

    @property
    def radius(self) -> int:
        # No point searching wider than the sum allows.
        return min(self.search_radius, self.max_distance)

    @property
    def turned_radius(self) -> int:
        return min(self.rotation_radius, self.max_distance)

    def similar(self, p: np.ndarray | int, d: np.ndarray | int, turned: bool = False) -> np.ndarray | bool:
        """The rule for one comparison (upright, or `turned`)."""
        if turned:
            return (p <= self.turned_radius) & (p + d <= self.max_distance)
        r = self.radius
        return ((p <= r) | (d <= r)) & (p + d <= self.max_distance)


_NO_HASH = np.uint64(0)
# Comparisons made for a pair (a, b), a the earlier item: which hash of a
# against which of b, and the rotation of b relative to a that it implies
# (degrees counter-clockwise: b looks like a turned this much).
_COMPARISONS = (("up", "up", 0), ("r90", "up", 90), ("up", "r90", 270), ("r180", "up", 180), ("up", "r180", 180))


class _Column:
    """One hash (or flag) column of a table under its three names ("up", "r90", "r180"):
    `col[name]` is the whole column in the table's order, `col.at(name, k)` the values at
    table positions k (gathered from the base columns through the table's positions, so a
    table over a million files' columns holds no copy of them)."""

    __slots__ = ("base", "pos")

    def __init__(self, base: dict[str, np.ndarray], pos: np.ndarray | None):
        self.base, self.pos = base, pos

    def __getitem__(self, name: str) -> np.ndarray:
        col = self.base[name]
        return col if self.pos is None else col[self.pos]

    def at(self, name: str, k: np.ndarray) -> np.ndarray:
        return self.base[name][k if self.pos is None else self.pos[k]]


class _Table:
    """Participants as arrays, in order.

    Over HashColumns the table is the columns' files at `positions` (ascending,
    None for all; int32 below 2**31 files): the participants and then the hash
    twins' heads are positions composed into the same columns, never copies of
    them (a copy is 60 MB per million files, and the caller keeps the columns
    anyway).
    """

    def __init__(self, items: Sequence[HashItem], positions: np.ndarray | None = None):
        if isinstance(items, HashColumns):
            c = items
            self._items = c  # indexable like the list, one file at a time
            self._ids = c.ids  # a numpy array (a million ints as Python objects: 36 MB and 30 ms)
            base_p = {"up": c.phash, "r90": c.rot90[:, 0], "r180": c.rot180[:, 0]}
            base_d = {"up": c.dhash, "r90": c.rot90[:, 1], "r180": c.rot180[:, 1]}
            base_ok = {"r90": c.has90, "r180": c.has180}
        else:
            self._items = list(items)
            self._ids = list(map(attrgetter("id"), self._items))
            n = len(self._items)
            base_p = {"up": np.fromiter(map(attrgetter("phash"), self._items), np.uint64, n)}
            base_d = {"up": np.fromiter(map(attrgetter("dhash"), self._items), np.uint64, n)}
            base_ok = {}
            for name, attr in (("r90", "rot90"), ("r180", "rot180")):
                vals = list(map(attrgetter(attr), self._items))
                ok = np.array([v is not None for v in vals], dtype=bool).reshape(n)
                flat = itertools.chain.from_iterable([v or (0, 0) for v in vals])  # 3x faster than np.array(tuples)
                pairs = np.fromiter(flat, np.uint64, 2 * n).reshape(n, 2)
                base_ok[name], base_p[name], base_d[name] = ok, pairs[:, 0].copy(), pairs[:, 1].copy()
        base_ok["up"] = np.ones(len(self._ids), bool)
        self._base = (base_p, base_d, base_ok)
        self._set_positions(None if positions is None else positions.astype(_index_dtype(len(self._ids))))

    def _set_positions(self, pos: np.ndarray | None) -> None:
        self._pos = pos
        self.n = len(self._ids) if pos is None else int(pos.size)
        base_p, base_d, base_ok = self._base
        self.p, self.d, self.ok = _Column(base_p, pos), _Column(base_d, pos), _Column(base_ok, pos)

    @property
    def ids(self) -> list[ItemId] | np.ndarray:
        pos = self._pos
        if pos is None:
            return self._ids
        return self._ids[pos] if isinstance(self._ids, np.ndarray) else [self._ids[k] for k in pos.tolist()]

    def valid(self, name: str) -> np.ndarray | None:
        """Positions that have these hashes (None: all of them, as most files do)."""
        ok = self.ok[name]
        return None if bool(ok.all()) else np.flatnonzero(ok)

    def subset(self, positions: np.ndarray) -> "_Table":
        """The items at these positions (ascending keeps the order), without copying their hashes."""
        t = object.__new__(_Table)
        t._items, t._ids, t._base = self._items, self._ids, self._base
        positions = np.asarray(positions)
        t._set_positions(positions.astype(_index_dtype(len(self._ids))) if self._pos is None
                         else self._pos[positions])
        return t

    def items(self, positions: np.ndarray | None = None) -> Sequence[HashItem]:
        """The items (at these table positions, ascending), as HashColumns or a list like the table's."""
        pos = self._pos if positions is None else (positions if self._pos is None else self._pos[positions])
        if pos is None:
            return self._items
        if isinstance(self._items, HashColumns):
            return self._items.take(pos)
        return [self._items[k] for k in pos.tolist()]


class PairTable(NamedTuple):
    """Similar pairs between participant positions (a earlier than b)."""

    a: np.ndarray
    b: np.ndarray
    dist: np.ndarray  # p + d in the chosen orientation
    p: np.ndarray
    d: np.ndarray
    rotation: np.ndarray  # of b relative to a, degrees


def _evaluate(ta: _Table, ia: np.ndarray, tb: _Table, ib: np.ndarray, params: SimilarityParams) -> PairTable:
    """Apply the rule to candidate pairs: every orientation, best one wins.

    (ta, ia) must be the earlier item of each pair, so that the orientation
    chosen on ties — and the rotation reported — never depends on which side
    found the pair.
    """
    big = np.uint16(1000)
    best = np.full(ia.size, big, np.uint16)
    bp = np.zeros(ia.size, np.uint8)
    bd = np.zeros(ia.size, np.uint8)
    brot = np.zeros(ia.size, np.int16)
    comps = _COMPARISONS if params.rotations else _COMPARISONS[:1]
    for sa, sb, rot in comps:
        valid = ta.ok.at(sa, ia) & tb.ok.at(sb, ib)
        p = popcount(ta.p.at(sa, ia) ^ tb.p.at(sb, ib))
        d = popcount(ta.d.at(sa, ia) ^ tb.d.at(sb, ib))
        s = p.astype(np.uint16) + d
        good = np.flatnonzero(valid & params.similar(p, d, turned=rot != 0) & (s < best))
        best[good], bp[good], bd[good], brot[good] = s[good], p[good], d[good], rot
    keep = np.flatnonzero(best < big)
    return PairTable(ia[keep], ib[keep], best[keep], bp[keep], bd[keep], brot[keep])


def _candidates(ta: _Table, tb: _Table | None, params: SimilarityParams) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (positions in ta, positions in tb) covering every pair
    that can satisfy the rule; tb None means pairs within ta (i < j).

    An upright comparison can only pass if its pHash or its dHash is within
    the search radius, a turned one only if its pHash is within the rotation
    radius, so one exact search per hash kind (upright) plus one over the
    turned pHashes covers every pair the rule accepts.
    """
    ii: list[np.ndarray] = []
    jj: list[np.ndarray] = []

    def run(hk: str, radius: int, turned: bool) -> None:
        # name -> (hash array, positions in its table or None for all)
        arrays: dict[str, np.ndarray] = {}
        where: dict[str, np.ndarray | None] = {}
        joins: list[Join] = []
        ha = getattr(ta, hk)
        arrays["A"], where["A"] = ha["up"], None
        rots = ("r90", "r180") if turned else ()
        for rn in rots:
            src = ta.valid(rn)
            arrays["A" + rn], where["A" + rn] = (ha[rn], None) if src is None else (ha.at(rn, src), src)
        if tb is None:
            joins += [("A" + rn, "A") for rn in rots] if turned else [("A", "A")]
        else:
            hb = getattr(tb, hk)
            arrays["B"], where["B"] = hb["up"], None
            if not turned:
                joins.append(("A", "B"))
            for rn in rots:
                src = tb.valid(rn)
                arrays["B" + rn], where["B" + rn] = (hb[rn], None) if src is None else (hb.at(rn, src), src)
                joins += [("A" + rn, "B"), ("A", "B" + rn)]
        found = search(arrays, joins, radius, method=params.method, workers=params.workers,
                       cap=params.pair_cap if tb is None else None)
        for (x, y), pr in found.items():
            wx, wy = where[x], where[y]
            ii.append(pr.i if wx is None else wx[pr.i])
            jj.append(pr.j if wy is None else wy[pr.j])

    run("p", params.radius, turned=False)
    run("d", params.radius, turned=False)
    if params.rotations:
        run("p", params.turned_radius, turned=True)
    i = np.concatenate(ii) if ii else np.empty(0, np.int64)
    j = np.concatenate(jj) if jj else np.empty(0, np.int64)
    if tb is None:
        keep = np.flatnonzero(i != j)  # an image against its own turned copy
        i, j = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
    nb = max(ta.n if tb is None else tb.n, 1)
    code = np.unique(i * np.int64(nb) + j)
    return code // nb, code % nb


def _pairs_within_table(t: _Table, params: SimilarityParams) -> PairTable:
    i, j = _candidates(t, None, params)
    return _evaluate(t, i, t, j, params)


def _pairs_between_tables(old: _Table, new: _Table, params: SimilarityParams) -> PairTable:
    """Pairs (old position, new position); old items are the earlier ones."""
    i, j = _candidates(old, new, params)
    return _evaluate(old, i, new, j, params)


@dataclass(frozen=True)
class SimilarPair:
    a: ItemId
    b: ItemId
    distance: int
    phash_distance: int
    dhash_distance: int
    rotation: int  # degrees b is turned relative to a (counter-clockwise)


def _order_items(items: Iterable[HashItem]) -> list[HashItem]:
    if isinstance(items, HashColumns):
        return items  # type: ignore[return-value]  # sorted and unique by construction
    out = sorted(items, key=attrgetter("id"))
    for x, y in zip(out, out[1:]):
        if x.id == y.id:
            raise ValueError(f"duplicate item id {x.id!r}")
    return out


def _participant_table(ordered: Sequence[HashItem], seen: set[str] | None = None) -> _Table:
    """The table of the first eligible (not low-detail) item of each SHA-256, in order
    (over HashColumns: their positions, the columns are not copied).

    `seen` (updated) holds SHA-256s already taken by earlier items.
    """
    seen = set() if seen is None else seen
    if isinstance(ordered, HashColumns):
        return _Table(ordered, _participant_positions(ordered, seen))
    return _Table(_participants(ordered, seen))


def _participants(ordered: Sequence[HashItem], seen: set[str]) -> list[HashItem]:
    """_participant_table's items for a list."""
    shas = list(map(attrgetter("sha256"), ordered))
    distinct = set(shas)
    if len(distinct) == len(shas) and seen.isdisjoint(distinct) and not any(map(attrgetter("low_detail"), ordered)):
        seen |= distinct
        return list(ordered)  # the common case, without a loop per item
    out = []
    for it, sha in zip(ordered, shas):
        if it.low_detail or sha in seen:
            continue
        seen.add(sha)
        out.append(it)
    return out


def _participant_positions(cols: HashColumns, seen: set[str]) -> np.ndarray | None:
    """_participant_table's positions in HashColumns (None: all of them): only files in
    `cols.shared` can repeat a SHA-256."""
    keep = ~cols.low_detail
    if cols.shared:
        pos = np.searchsorted(cols.ids, np.fromiter(sorted(cols.shared), np.int64, len(cols.shared)))
        for k in pos.tolist():  # in id order: the first eligible file of each SHA-256 stays
            if not keep[k]:
                continue
            sha = cols.shared[int(cols.ids[k])]
            if sha in seen:
                keep[k] = False
            else:
                seen.add(sha)
    return None if bool(keep.all()) else np.flatnonzero(keep)


def similar_pairs(items: Iterable[HashItem], params: SimilarityParams | None = None) -> list[SimilarPair]:
    """Every similar pair among the items (complete, by the rule, bursts
    included: no pair cap), a earlier than b."""
    params = dataclasses.replace(params or SimilarityParams(), pair_cap=None)
    t = _participant_table(_order_items(items))
    pt = _pairs_within_table(t, params)
    ids = _id_list(t.ids)
    return [SimilarPair(ids[a], ids[b], int(s), int(p), int(d), int(r))
            for a, b, s, p, d, r in zip(pt.a, pt.b, pt.dist, pt.p, pt.d, pt.rotation)]


# ---------------------------------------------------------------------------
# Groups


@dataclass(frozen=True)
class GroupMember:
    id: ItemId
    distance: int  # pHash + dHash distance to the representative (0 for exact copies)
    phash_distance: int = 0
    dhash_distance: int = 0
    rotation: int = 0  # degrees this member is turned relative to the representative


@dataclass(frozen=True)
class Group:
    kind: Literal["exact", "similar"]
    representative: ItemId
    members: tuple[GroupMember, ...]  # the representative first, then by id
    confidence: float
    confidence_label: Literal["high", "medium", "low"]
    sha256: str | None = None  # the shared content hash of an exact group

    @property
    def ids(self) -> list[ItemId]:
        return [m.id for m in self.members]


# Expected pHash + dHash distance of two unrelated images: 32 + 32.
_CHANCE_DISTANCE = 64


def confidence_of(worst_distance: int) -> tuple[float, Literal["high", "medium", "low"]]:
    """Confidence of a group from its worst member distance (see module doc)."""
    c = round(max(0.0, 1.0 - worst_distance / _CHANCE_DISTANCE), 3)
    return c, ("high" if c >= 0.9 else "medium" if c >= 0.8 else "low")


def _make_group(kind, rep: ItemId, members: list[GroupMember], sha256: str | None = None) -> Group:
    members = sorted(members, key=lambda m: m.id)
    worst = max((m.distance for m in members), default=0)
    conf, label = confidence_of(worst)
    head = GroupMember(rep, 0, 0, 0, 0)
    return Group(kind, rep, (head, *members), conf, label, sha256)


def exact_groups(items: Iterable[tuple[ItemId, str]] | Iterable[HashItem]) -> list[Group]:
    """Groups of files with the same SHA-256 (two or more), by first id.

    Takes (id, sha256) tuples, anything with `.id` and `.sha256`, or HashColumns.
    """
    if isinstance(items, HashColumns):
        items = list(items.shared.items())  # every other file's content is unique
    items = list(items)
    if not items:
        return []
    if hasattr(items[0], "sha256"):
        ids, shas = list(map(attrgetter("id"), items)), list(map(attrgetter("sha256"), items))
    else:
        ids, shas = [i for i, _ in items], [sh for _, sh in items]  # type: ignore[misc]
    counts = Counter(shas)
    if len(counts) == len(shas):
        return []  # no two alike: the common case
    by_sha: dict[str, list[ItemId]] = defaultdict(list)
    for iid, sha in zip(ids, shas):
        if counts[sha] > 1:
            by_sha[sha].append(iid)
    groups = []
    for sha, members in by_sha.items():
        members = sorted(members)
        if any(x == y for x, y in zip(members, members[1:])):
            raise ValueError(f"duplicate item id in {members!r}")
        groups.append(_make_group("exact", members[0], [GroupMember(i, 0) for i in members[1:]], sha))
    groups.sort(key=lambda g: g.representative)
    return groups


class UnionFind:
    """Disjoint sets over 0..n-1 (union by size, path halving)."""

    def __init__(self, n: int):
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return ra


@dataclass(frozen=True)
class GroupingStats:
    """How the similarity graph looked; for benchmarks and tuning, not results."""

    participants: int = 0
    pairs: int = 0
    components: int = 0  # connected components with two or more items
    largest_component: int = 0
    components_split: int = 0  # components cut into several groups (chains broken)


@dataclass(frozen=True)
class Grouping:
    exact: tuple[Group, ...]
    similar: tuple[Group, ...]
    params: SimilarityParams = field(default_factory=SimilarityParams)
    stats: GroupingStats = field(default_factory=GroupingStats, compare=False)

    @property
    def groups(self) -> list[Group]:
        return [*self.exact, *self.similar]


_MIX = np.uint64(0x9E3779B97F4A7C15)  # an odd 64-bit constant (the golden ratio's bits) to spread the fingerprint


# The columns hash twins share: both hashes upright, and turned where the file has them.
_TWIN_COLUMNS = (("p", "up"), ("d", "up"), ("p", "r90"), ("d", "r90"), ("ok", "r90"),
                 ("p", "r180"), ("d", "r180"), ("ok", "r180"))


def _twin_column(t: _Table, kind: str, name: str, at: np.ndarray | None = None) -> np.ndarray:
    """One of _TWIN_COLUMNS as uint64 (a turned hash the file lacks reads 0), whole or at table positions."""
    col = getattr(t, kind)
    v = col[name] if at is None else col.at(name, at)
    if kind == "ok":
        return v.astype(np.uint64)
    if name == "up":
        return v
    return np.where(t.ok[name] if at is None else t.ok.at(name, at), v, 0)


def _twins(t: _Table) -> tuple[np.ndarray, dict[int, list[int]]]:
    """Positions that take part in the search, and the hash twins of each.

    Items with identical hashes (upright and turned) have identical
    neighbourhoods, so only the first of them is searched; the others (its
    twins) follow it into its group at the same distance. A static burst
    hashes to a handful of distinct values, so this alone removes most of
    its n² pairs (see `_cap_pairs` for bursts whose frames all differ)."""
    n = t.n
    if n < 2:
        return np.arange(n), {}
    # Sorted by a 64-bit fingerprint of all eight columns, then position (one stable
    # sort: 0.1 s at 1M items, where sorting on the eight columns took 1 s); equal
    # columns have equal fingerprints, so each run of twins is contiguous unless
    # two different hashes share a fingerprint, in which case sort on the columns.
    # The columns are read one at a time, and compared only where fingerprints are
    # equal (at a million files the eight columns side by side were 64 MB).
    fp = np.zeros(n, np.uint64)
    for kind, name in _TWIN_COLUMNS:
        fp ^= _twin_column(t, kind, name)
        fp *= _MIX
        fp ^= fp >> np.uint64(29)
    order = np.argsort(fp, kind="stable")
    fps = fp[order]
    del fp
    eq = np.flatnonzero(fps[1:] == fps[:-1])
    del fps
    same_at = np.ones(eq.size, bool)
    for kind, name in _TWIN_COLUMNS:
        same_at &= _twin_column(t, kind, name, order[eq]) == _twin_column(t, kind, name, order[eq + 1])
    if bool(same_at.all()):
        k = eq[same_at]
    else:
        cols = [_twin_column(t, kind, name) for kind, name in _TWIN_COLUMNS]
        order = np.lexsort([np.arange(n), *cols[::-1]])  # by hashes, then position
        same = np.ones(n - 1, bool)
        for c in cols:
            cs = c[order]
            same &= cs[1:] == cs[:-1]
        k = np.flatnonzero(same)
    if not k.size:
        return np.arange(n), {}
    # order[k + 1] is a twin of the first of its run of equal hashes.
    start = np.r_[True, k[1:] != k[:-1] + 1]
    first = order[k[start]][np.cumsum(start) - 1]
    later = order[k + 1]
    twins: dict[int, list[int]] = defaultdict(list)
    for pos, f in zip(later.tolist(), first.tolist()):
        twins[f].append(pos)
    heads = np.ones(n, bool)
    heads[later] = False
    return np.flatnonzero(heads), dict(twins)  # heads: every run's first (lowest) position, ascending


def _ranks(t: _Table, pt: PairTable, weight: np.ndarray) -> np.ndarray:
    """The order in which items may become representatives: the most
    connected first (its similar neighbours, twins counted), then the one
    with the most hash twins (four identical copies of an original against
    its turned copy, equally connected: the original), then the one nearest
    to its neighbours, then by hashes, then by position. Everything but the
    last key is content, so a group's representative does not depend on
    which copy arrived first.

    Only items with a pair are ranked (the others rank after them all):
    nothing compares the others' ranks, and a library of a million files
    has a few thousand items with a pair (ranking all of them took ~90 MB
    of temporaries)."""
    nodes = np.unique(np.concatenate([pt.a, pt.b]))
    m = nodes.size
    a, b = np.searchsorted(nodes, pt.a), np.searchsorted(nodes, pt.b)
    w = weight[nodes].astype(np.float64)
    deg = np.bincount(a, weights=w[b], minlength=m) + np.bincount(b, weights=w[a], minlength=m) + w - 1
    dsum = (np.bincount(a, weights=w[b] * pt.dist, minlength=m)
            + np.bincount(b, weights=w[a] * pt.dist, minlength=m))
    order = np.lexsort((nodes, t.d.at("up", nodes), t.p.at("up", nodes), dsum, -w, -deg))
    rank = np.full(t.n, m, np.int64)
    rank[nodes[order]] = np.arange(m)
    return rank


# A member this near its representative (a lossless copy: the PNG of a
# JPEG, a turn of the pixels) stands in for it: an item similar to it but
# not to the representative itself (the turned copy's crop) joins the group
# through it, at the sum of the two distances.
PROXY_DISTANCE = 4


def _cluster(t: _Table, pt: PairTable, weight: np.ndarray) -> dict[int, tuple[int, GroupMember]]:
    """Representatives and members (see the module doc): in rank order an
    item becomes a representative unless a similar item ranked before it
    already is one, or is similar to one of its stand-ins (members within
    PROXY_DISTANCE); every other item joins its nearest similar
    representative (ties: the better ranked), or if it has none, the group
    of the stand-in it is nearest to. Positions of t."""
    if not len(pt.a):
        return {}
    rank = _ranks(t, pt, weight)
    m = len(pt.a)
    both_a = np.concatenate([pt.a, pt.b])
    by = np.lexsort((rank[np.concatenate([pt.b, pt.a])], rank[both_a]))
    src_arr = both_a[by]
    dst_arr = np.concatenate([pt.b, pt.a])[by]
    eid_arr = np.concatenate([np.arange(m), np.arange(m)])[by]
    src, dst, eid = src_arr.tolist(), dst_arr.tolist(), eid_arr.tolist()
    dist = pt.dist.tolist()
    bounds = np.flatnonzero(np.r_[True, src_arr[1:] != src_arr[:-1]])
    span = dict(zip(src_arr[bounds].tolist(), zip(bounds.tolist(), [*bounds[1:].tolist(), len(src)])))
    # Each item's near-identical copies (within PROXY_DISTANCE).
    near: dict[int, list[int]] = defaultdict(list)
    close = pt.dist[eid_arr] <= PROXY_DISTANCE
    for x, y in zip(src_arr[close].tolist(), dst_arr[close].tolist()):
        near[x].append(y)
    state = bytearray(t.n)  # 0 undecided, 1 representative, 2 member
    for v in src_arr[bounds].tolist():  # items with a pair, in rank order
        if state[v]:
            continue
        state[v] = 1
        lo, hi = span[v]
        for k in range(lo, hi):
            u = dst[k]
            if not state[u]:
                state[u] = 2
            if state[u] != 2:
                continue
            # u stands in for v: all its neighbours follow; otherwise only
            # u's own near-identical copies do (they stand in for u).
            if dist[eid[k]] <= PROXY_DISTANCE:
                ulo, uhi = span[u]
                followers = dst[ulo:uhi]
            else:
                followers = near.get(u, ())
            for w in followers:
                if not state[w]:
                    state[w] = 2
    lead = np.frombuffer(bytes(state), dtype=np.uint8) == 1
    la, lb = lead[pt.a], lead[pt.b]
    e1 = np.flatnonzero(la & ~lb)  # a leads, b follows
    e2 = np.flatnonzero(lb & ~la)
    member = np.concatenate([pt.b[e1], pt.a[e2]])
    lpos = np.concatenate([pt.a[e1], pt.b[e2]])
    edge = np.concatenate([e1, e2])
    order = np.lexsort((rank[lpos], pt.dist[edge], member))  # nearest, then best ranked
    member, lpos, edge = member[order], lpos[order], edge[order]
    first = np.r_[True, member[1:] != member[:-1]] if member.size else np.empty(0, bool)
    out = {mm: (lp, _member_from_edge(pt, e, mm))
           for mm, lp, e in zip(member[first].tolist(), lpos[first].tolist(), edge[first].tolist())}
    # Members with no similar representative: through the nearest member
    # that stands in for its representative, or that x is a near-identical
    # copy of (the crop's PNG or turned pixels, when only the crop is similar
    # to the representative). Only members with a similar representative
    # count, so x is never more than one such step away.
    direct = dict(out)
    with_pairs = np.sort(src_arr[bounds])  # (not all n: a million Python ints for a few thousand)
    for x in with_pairs[~lead[with_pairs]].tolist():
        if x in out:
            continue
        best = None
        lo, hi = span[x]
        for k in range(lo, hi):
            p, exp = dst[k], eid[k]
            if lead[p] or p not in direct:
                continue
            rep, via = direct[p]
            if via.distance > PROXY_DISTANCE and dist[exp] > PROXY_DISTANCE:
                continue
            key = (dist[exp] + via.distance, int(rank[rep]))
            if best is None or key < best[0]:
                best = (key, rep, via, exp)
        if best is not None:
            _, rep, via, exp = best
            step = _member_from_edge(pt, exp, x)
            out[x] = (rep, GroupMember(None, step.distance + via.distance,  # type: ignore[arg-type]
                                       step.phash_distance + via.phash_distance,
                                       step.dhash_distance + via.dhash_distance,
                                       (step.rotation + via.rotation) % 360))
    return out


def _member_from_edge(pt: PairTable, e: int, member_pos: int) -> GroupMember:
    """The member's entry, with its rotation relative to the leader."""
    rot = int(pt.rotation[e])
    if pt.a[e] == member_pos:  # the edge was measured member -> leader
        rot = (360 - rot) % 360
    return GroupMember(None, int(pt.dist[e]), int(pt.p[e]), int(pt.d[e]), rot)  # type: ignore[arg-type]


class _Ids:
    """Ids kept in a numpy array, read one at a time as Python ints."""

    __slots__ = ("arr",)

    def __init__(self, arr: np.ndarray):
        self.arr = arr

    def __getitem__(self, k: int) -> int:
        return int(self.arr[k])


def _id_list(ids) -> list:
    return ids.tolist() if isinstance(ids, np.ndarray) else ids


def _groups_from(ids: list[ItemId], leader_of: dict[int, tuple[int, GroupMember]],
                 twins: dict[int, list[int]] | None = None) -> list[Group]:
    """Groups from each member's (representative, entry); a twin joins its
    head's group at the head's distance (as a member at 0 when the head
    represents it, and with its head when the head has no group)."""
    twins = twins or {}
    if isinstance(ids, np.ndarray):
        ids = _Ids(ids)  # type: ignore[assignment]
    by_leader: dict[int, list[GroupMember]] = defaultdict(list)
    for pos, (lpos, gm) in leader_of.items():
        for p in (pos, *twins.get(pos, ())):
            by_leader[lpos].append(GroupMember(ids[p], gm.distance, gm.phash_distance, gm.dhash_distance,
                                               gm.rotation))
    for head, ts in twins.items():
        if head not in leader_of:
            by_leader[head].extend(GroupMember(ids[p], 0) for p in ts)
    groups = [_make_group("similar", ids[lpos], ms) for lpos, ms in by_leader.items()]
    groups.sort(key=lambda g: g.representative)
    return groups


def _stats(n: int, pt: PairTable, leader_of: dict[int, tuple[int, GroupMember]]) -> GroupingStats:
    # Only items with a pair can be in a component: number those (a library
    # of a million files has a few thousand), not all n.
    nodes = np.unique(np.concatenate([pt.a, pt.b]))
    uf = UnionFind(int(nodes.size))
    for a, b in zip(np.searchsorted(nodes, pt.a).tolist(), np.searchsorted(nodes, pt.b).tolist()):
        uf.union(a, b)
    comp_members: dict[int, list[int]] = defaultdict(list)
    for k, x in enumerate(nodes.tolist()):
        comp_members[uf.find(k)].append(x)
    split = 0
    for members in comp_members.values():
        reps = {leader_of[m][0] if m in leader_of else m for m in members}
        split += len(reps) > 1
    return GroupingStats(n, len(pt.a), len(comp_members), max(map(len, comp_members.values()), default=0), split)


def _group_table(t: _Table, params: SimilarityParams) -> tuple[list[Group], GroupingStats]:
    heads, twins = _twins(t)
    if twins:
        heads = heads.astype(_index_dtype(t.n))  # kept through the search: half the size
        s = t.subset(heads)
        # Twins in positions of s (heads are ascending, so s keeps the id order).
        twins_s = {int(np.searchsorted(heads, h)): ts for h, ts in twins.items()}
    else:
        s, heads, twins_s = t, None, {}
    pt = _pairs_within_table(s, params)
    weight = np.ones(s.n, np.int64)
    for k, ts in twins_s.items():
        weight[k] += len(ts)
    leader_of = _cluster(s, pt, weight)
    # Back to positions of t for the ids.
    at = int if heads is None else (lambda k: int(heads[k]))
    leader_of_t = {at(m): (at(lp), gm) for m, (lp, gm) in leader_of.items()}
    twins_t = {at(k): ts for k, ts in twins_s.items()}
    return _groups_from(t.ids, leader_of_t, twins_t), _stats(s.n, pt, leader_of)


def group_similar(items: Iterable[HashItem], params: SimilarityParams | None = None) -> tuple[list[Group], GroupingStats]:
    """Similar groups from scratch (see the module docstring for the rule)."""
    params = params or SimilarityParams()
    return _group_table(_participant_table(_order_items(items)), params)


def group_items(items: Iterable[HashItem], params: SimilarityParams | None = None) -> Grouping:
    """Exact and similar groups of a whole library, from scratch."""
    params = params or SimilarityParams()
    ordered = _order_items(items)
    similar, stats = group_similar(ordered, params)
    return Grouping(tuple(exact_groups(ordered)), tuple(similar), params, stats)


# Rounds of "who else is similar to these?" the incremental update makes to
# close the components its new items touch before it regroups everything
# instead (a long gradient of slightly different pictures).
_MAX_CLOSURE_ROUNDS = 6
# Nor does it search the library's pairs of a touched component larger than
# this (a burst): its cross joins are not capped, grouping from scratch is.
_MAX_REGION = 512


def _touched_components(old_t: _Table, seeds: set[int], groups_of: dict[int, list[int]],
                        params: SimilarityParams) -> set[int] | None:
    """Every old position connected (by similar pairs among old items) to
    the seeds, or None when that takes more than _MAX_CLOSURE_ROUNDS.

    Members of one stored group are connected through their
    representative, so a whole group comes in with any of its members."""
    region: set[int] = set()
    frontier = set(seeds)
    for _ in range(_MAX_CLOSURE_ROUNDS):
        grown = set(frontier)
        for p in frontier:
            grown.update(groups_of.get(p, ()))
        frontier = grown - region
        if not frontier:
            return region
        if len(region) + len(frontier) > _MAX_REGION:
            return None
        region |= frontier
        fpos = np.array(sorted(frontier), np.int64)
        i, j = _candidates(old_t.subset(fpos), old_t, params)
        a, b = fpos[i], j
        a, b = np.minimum(a, b), np.maximum(a, b)
        keep = np.flatnonzero(a != b)
        pt = _evaluate(old_t, a[keep], old_t, b[keep], params)
        frontier = (set(pt.a.tolist()) | set(pt.b.tolist())) - region
    return None if frontier else region


def update_grouping(library: Sequence[HashItem], previous: Grouping, new_items: Sequence[HashItem],
                    params: SimilarityParams | None = None) -> Grouping:
    """The grouping of library + new items, computed from the library's
    previous grouping, the pairs that involve new items, and the pairs of
    the library components they touch.

    Equals `group_items(library + new_items)` (tested). `library` is every
    item already grouped (hashes are needed to compare the new items with
    them); `previous` is what grouping the library gave. New ids must all
    come after the library's (the database's increasing ids do); otherwise,
    when the parameters changed, or when `previous` names files that are not
    participants of `library`, this regroups everything. (When the hashes of
    library files change — a re-analysis — call `group_items` instead.)

    Groups are decided per connected component of the similarity graph, so
    only the library components that a new item is similar to (or a hash
    twin of) can change: they are found by a few rounds of search from the
    new items' neighbours, and regrouped together with the new items (a
    component larger than _MAX_REGION, a burst, regroups everything).
    """
    params = params or previous.params
    lib = _order_items(library)
    new = _order_items(new_items)
    if not new:
        return previous
    # (Both are sorted: new ids all after the library's means no id in both.)
    if params != previous.params or (len(lib) and new[0].id <= lib[-1].id):
        return group_items(_joined(lib, new), params)

    if isinstance(lib, HashColumns) and isinstance(new, HashColumns):
        # `shared` names every copy, old and new (no need to join a million files' columns for it).
        exact = tuple(exact_groups(list({**lib.shared, **new.shared}.items())))
    else:
        exact = _update_exact(lib, previous.exact, new)

    seen: set[str] = set()
    old_t = _participant_table(lib, seen)
    new_t = _participant_table(new, seen)
    if not new_t.n:
        return Grouping(exact, previous.similar, params, previous.stats)

    # Old state: which stored group each old item is in.
    old_pos = _positions(old_t.ids, [m.id for g in previous.similar for m in g.members])
    groups_of: dict[int, list[int]] = {}
    for g in previous.similar:
        pos = [old_pos.get(m.id) for m in g.members]
        if any(p is None for p in pos):
            # The stored groups do not describe this library (a grouped
            # file left it): only a full regrouping is right.
            return group_items(_joined(lib, new), params)
        for p in pos:
            groups_of[p] = pos  # type: ignore[assignment]

    # Seeds: old items similar to a new one, or with a new hash twin.
    # (A new hash twin of an old item is a pair at distance 0, so it is a seed too.)
    cross = _pairs_between_tables(old_t, new_t, params)
    seeds = set(cross.a.tolist())
    region = _touched_components(old_t, seeds, groups_of, params) if seeds else set()
    if region is None:
        return group_items(_joined(lib, new), params)

    keep = [g for g in previous.similar if old_pos[g.representative] not in region]
    if not region:
        sub = new_t  # nothing old is touched (a first import): no copy of the new items
    else:
        old_items, new_items = old_t.items(np.array(sorted(region), np.int64)), new_t.items()
        if isinstance(old_items, HashColumns) and isinstance(new_items, HashColumns):
            sub = _Table(old_items.concat(new_items))
        else:
            sub = _Table([*old_items, *new_items])
    regrouped, _ = _group_table(sub, params)
    stats = GroupingStats(old_t.n + new_t.n, previous.stats.pairs + len(cross.a))
    return Grouping(exact, tuple(sorted([*keep, *regrouped], key=lambda g: g.representative)), params, stats)


def _positions(ordered_ids: list[ItemId] | np.ndarray, wanted: Iterable[ItemId]) -> dict[ItemId, int]:
    """Position of each wanted id in a sorted id list (absent ids left out),
    without a dictionary of the whole library."""
    if isinstance(ordered_ids, np.ndarray):
        want = np.fromiter(wanted, np.int64)
        k = np.searchsorted(ordered_ids, want)
        ok = k < ordered_ids.size
        ok[ok] = ordered_ids[k[ok]] == want[ok]
        return dict(zip(want[ok].tolist(), k[ok].tolist()))
    out: dict[ItemId, int] = {}
    n = len(ordered_ids)
    for iid in wanted:
        k = bisect.bisect_left(ordered_ids, iid)
        if k < n and ordered_ids[k] == iid:
            out[iid] = k
    return out


def _update_exact(lib: Sequence[HashItem], previous: Sequence[Group], new: Sequence[HashItem]) -> tuple[Group, ...]:
    new_by_sha: dict[str, list[ItemId]] = defaultdict(list)
    for it in new:
        new_by_sha[it.sha256].append(it.id)
    lib_by_sha: dict[str, list[ItemId]] = defaultdict(list)
    for it in lib:  # one pass, only the SHA-256s the new items brought
        if it.sha256 in new_by_sha:
            lib_by_sha[it.sha256].append(it.id)
    groups = [g for g in previous if g.sha256 not in new_by_sha]
    for sha, ids in new_by_sha.items():
        every = sorted([*lib_by_sha.get(sha, []), *ids])
        if len(every) > 1:
            groups.append(_make_group("exact", every[0], [GroupMember(i, 0) for i in every[1:]], sha))
    groups.sort(key=lambda g: g.representative)
    return tuple(groups)
