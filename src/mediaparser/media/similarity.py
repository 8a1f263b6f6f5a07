"""Exact and near-duplicate groups over perceptual hashes, without O(n²) Python.

This module owns three things, all pure (no database, no Flask): the
all-pairs search over 64-bit hashes, the similarity rule between two images,
and the grouping (exact by SHA-256, similar by perceptual hashes), including
the incremental update of a library's groups when new files arrive.

Search (`pairs_within`, `pairs_between`)
    Finds *every* pair of 64-bit hashes within a Hamming radius. The default
    method is multi-index hashing with a k-of-m pigeonhole: the 64 bits are cut
    into m bands; two hashes at distance <= r differ in at most r bands, so at
    least m - r bands are identical. With m = r + k at least k bands match
    exactly, and every pair within r shares the key made of some k of the m
    bands. For each of the C(m, k) band combinations the hashes are sorted on
    that key (a (key << 32 | index) uint64 sort, which numpy runs as a SIMD
    sort), pairs of equal keys are read off the sorted runs and verified by
    XOR + popcount. A pair found under several combinations is kept once.
    The search is exact (100 % recall) for r <= m - k by construction; any
    radius is supported, the plan (m, k) is chosen per radius and size by a
    cost model. For the default radius 6 that is 8 bands of 8 bits with 2
    equal bands required: 28 combinations of 16-bit keys. A single equal band
    (m = 8, k = 1, the textbook pigeonhole) is also exact for r < 8 but gives
    about n²/512 candidates per band — hopeless beyond ~100k hashes, which the
    benchmark shows. A blocked numpy brute force (`method="brute"`) is kept as
    the reference and for small inputs. Figures: bench/similarity.py.

Similarity rule (`SimilarityParams`)
    Each image carries a pHash and a dHash of its oriented thumbnail, plus the
    same two hashes of the thumbnail turned 90° and 180° (`hashes.rotated_hashes`).
    Two images are similar when, in some relative orientation, pHash distance p
    and dHash distance d satisfy

        (p <= search_radius or d <= search_radius) and p + d <= max_distance

    with defaults 6 and 20. Requiring both hashes to agree (the sum) is what
    keeps unrelated pictures apart; allowing either hash to be the close one
    recovers crops, which move dHash and pHash differently. The first clause
    is also what makes the search exact and fast: a pair can only be similar
    if one of its hashes is within the search radius, so searching pHash and
    dHash at radius 6 finds every similar pair. Evidence (bench/dup_quality.py
    on the real photos of corpus-dev): resize/JPEG/PNG/rotation copies sit at
    0–6, 5 % crops mostly at 4–18, while the closest unrelated photos are at
    31 and above.

    Orientation: hashes are of the *oriented* image (EXIF orientation applied
    before hashing), so a copy rotated by its orientation tag hashes like the
    upright one. A copy whose *pixels* were turned (an editor's "rotate and
    save") is matched through the rotated hashes: comparisons a90~b, a~b90,
    a180~b and a~b180 are made besides a~b, and the best orientation that
    satisfies the rule gives the pair's distance and its `rotation`.
    Low-detail images (blank, nearly uniform, tiny; `PerceptualHashes.low_detail`)
    hash alike by accident and never take part. Byte-identical copies take
    part once (the first of each SHA-256); they are reported by exact groups.

Grouping: clustering around a representative (no chaining)
    Pairs are facts about two images; groups must not chain (A~B~C~D with A
    and D unrelated must not become one group). A union-find over the pairs
    gives the connected components — which chain — so each component is then
    clustered around representatives (leaders), in a fixed order (item id,
    i.e. import order):

      * an item is a *leader* when no earlier leader is similar to it;
      * every other item joins the *nearest* similar leader (ties: the
        earlier leader).

    So every member of a group is itself similar to the representative (one
    step, never a chain), and any two members are within 2 x max_distance of
    each other. Joining the nearest leader (not the first) keeps two
    near-identical pictures together even when an earlier, farther picture
    was a leader. The representative is the reference the distances are
    measured from; which copy to *keep* is keeper.py's business.

    Why leaders in id order: a leader's status depends only on earlier items,
    so files imported later (with larger ids) never change who the earlier
    leaders are. That makes the incremental update (`update_grouping`) exact:
    it searches only new-vs-library and new-vs-new pairs, decides the new
    items, and lets old members move to a nearer new leader; the result equals
    grouping everything from scratch (the tests prove it). If new ids do not
    all come after the library's, the update falls back to a full regrouping.

Groups carry their kind (`exact` / `similar`), representative, members with
their distances to it, and a confidence from the distances:
1 - worst distance / 64 (64 is the expected pHash + dHash distance of two
unrelated images, so 0 means "no closer than chance", 1 means identical
hashes), labelled high (>= 0.9), medium (>= 0.8) or low.
"""
from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, NamedTuple

import numpy as np

from .hashes import PerceptualHashes, RotatedHashes

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


# A join of two named arrays; (x, x) is the self-join of x (pairs i < j).
Join = tuple[str, str]

# A cross join probes instead of sorting both sides when one side is this
# many times smaller: only the small side is sorted, the big one is looked up
# in a presence table of the small side's keys (the incremental case: a few
# thousand new files against a library of a million).
_PROBE_RATIO = 16
# Presence tables up to 2**22 entries (4 MB); wider keys use binary search.
_TABLE_BITS = 22

# Cost model, in nanoseconds, measured on the 2-core development machine
# (bench/similarity.py); it only picks a plan, every plan is exact.
_NS_KEY = 4.0  # per hash, per band in the key, per combination
_NS_SORT = 60.0  # per hash per combination: packed sort, unpack, gather
_NS_PROBE = 8.0  # per hash per combination: presence-table lookup
_NS_CANDIDATE = 15.0  # per candidate pair checked
_NS_BRUTE_PAIR = 1.6  # per pair of the blocked brute force


def _join_mode(sizes: dict[str, int], join: Join) -> str:
    a, b = join
    if a == b:
        return "self"
    na, nb = sizes[a], sizes[b]
    if na * _PROBE_RATIO <= nb:
        return "probe-b"  # a is small: sort a, probe b
    if nb * _PROBE_RATIO <= na:
        return "probe-a"
    return "merge"


def _plan_cost(plan: BandPlan, sizes: dict[str, int], joins: Sequence[Join]) -> float:
    modes = {j: _join_mode(sizes, j) for j in joins}
    sorted_names, probed = set(), []
    for (a, b), mode in modes.items():
        if mode in ("self", "merge"):
            sorted_names.update((a, b))
        elif mode == "probe-b":
            sorted_names.add(a)
            probed.append(b)
        else:
            sorted_names.add(b)
            probed.append(a)
    used = {x for j in joins for x in j}
    per_combo_items = (_NS_KEY * plan.exact * sum(sizes[x] for x in used)
                       + _NS_SORT * sum(sizes[x] for x in sorted_names)
                       + _NS_PROBE * sum(sizes[x] for x in probed))
    cost = 0.0
    for c in plan.combinations:
        space = float(2 ** plan.key_bits(c))
        cand = sum((sizes[a] * sizes[a] / 2 if a == b else sizes[a] * sizes[b]) / space for a, b in joins)
        cost += per_combo_items + _NS_CANDIDATE * cand
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


def _combo_key(h: np.ndarray, plan: BandPlan, combo: Sequence[int]) -> np.ndarray:
    """The bands of `combo` concatenated into one integer per hash."""
    lay = plan.layout
    key: np.ndarray | None = None
    for b in combo:
        off, width = lay[b]
        band = (h >> np.uint64(off)) & np.uint64((1 << width) - 1)
        if key is None:
            key = band
        else:
            key <<= np.uint64(width)
            key |= band
    assert key is not None
    return key


_LOW32 = np.uint64(0xFFFFFFFF)


class _Sorted(NamedTuple):
    keys: np.ndarray  # ascending
    idx: np.ndarray  # original positions
    hashes: np.ndarray  # hashes in this order


def _sort_by_key(h: np.ndarray, key: np.ndarray) -> _Sorted:
    # One uint64 sort of (key << 32 | position): numpy sorts plain uint64 with
    # a SIMD sort, several times faster than argsort on the key.
    packed = key << np.uint64(32)
    packed |= np.arange(h.size, dtype=np.uint64)
    packed.sort()
    idx = (packed & _LOW32).astype(np.int64)
    packed >>= np.uint64(32)
    return _Sorted(packed, idx, h[idx])


def _collect(out: Sequence[Pairs]) -> Pairs:
    out = [p for p in out if len(p)]
    if not out:
        return _empty_pairs()
    if len(out) == 1:
        return out[0]
    return Pairs(np.concatenate([p.i for p in out]), np.concatenate([p.j for p in out]),
                 np.concatenate([p.dist for p in out]))


def _self_join_sorted(s: _Sorted, radius: int) -> Pairs:
    """Pairs (i < j) with equal key and distance <= radius.

    Position p of the sorted order is compared with p + t for t = 1, 2, ...
    while p + t is in the same run of equal keys. While most positions still
    have a partner at offset t, whole shifted slices are compared (no
    gathers); once few do, only their positions are carried on, so a long
    run of equal keys costs its pairs, never n x its length.
    """
    ks, idx, hs = s
    n = ks.size
    out: list[Pairs] = []

    def emit(pos: np.ndarray, t: int, d: np.ndarray) -> None:
        a, b = idx[pos], idx[pos + t]
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
            ok = d <= radius
            if ok.any():
                emit(active[ok], t, d[ok])
            active = active[active + t + 1 < n]
            active = active[ks[active + t + 1] == ks[active]]
        t += 1
    return _collect(out)


def _expand(lo: np.ndarray, cnt: np.ndarray, q_hash: np.ndarray, q_idx: np.ndarray, s: _Sorted,
            radius: int) -> Pairs:
    """Pairs (s index, query index) for queries whose key matched the run
    s.keys[lo : lo + cnt], verified by XOR + popcount."""
    out: list[Pairs] = []
    active = np.flatnonzero(cnt)
    t = 0
    while active.size:
        pos = lo[active] + t
        d = popcount(q_hash[active] ^ s.hashes[pos])
        ok = d <= radius
        if ok.any():
            out.append(Pairs(s.idx[pos[ok]], q_idx[active[ok]], d[ok]))
        t += 1
        active = active[cnt[active] > t]
    return _collect(out)


def _merge_sorted(sa: _Sorted, sb: _Sorted, radius: int) -> Pairs:
    """Pairs (i in a, j in b) with equal key, both sides sorted."""
    # Needles in ascending order make numpy's binary search reuse its bounds.
    lo = np.searchsorted(sb.keys, sa.keys, side="left")
    cnt = np.searchsorted(sb.keys, sa.keys, side="right") - lo
    p = _expand(lo, cnt, sa.hashes, sa.idx, sb, radius)
    return Pairs(p.j, p.i, p.dist)


def _probe(small: _Sorted, big: np.ndarray, big_key: np.ndarray, bits: int, radius: int) -> Pairs:
    """Pairs (i in small, j in big): only the small side is sorted."""
    if small.keys.size == 0:
        return _empty_pairs()
    if bits <= _TABLE_BITS:
        present = np.zeros(1 << bits, dtype=bool)
        present[small.keys] = True
        sel = np.flatnonzero(present[big_key])
    else:
        pos = np.minimum(np.searchsorted(small.keys, big_key), small.keys.size - 1)
        sel = np.flatnonzero(small.keys[pos] == big_key)
    if sel.size == 0:
        return _empty_pairs()
    kb = big_key[sel]
    lo = np.searchsorted(small.keys, kb, side="left")
    cnt = np.searchsorted(small.keys, kb, side="right") - lo
    return _expand(lo, cnt, big[sel], sel, small, radius)


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
              workers: int) -> dict[Join, Pairs]:
    if plan.max_radius < radius:
        raise ValueError(f"{plan} is not exact for radius {radius}")
    sizes = {k: v.size for k, v in arrays.items()}
    modes = {j: _join_mode(sizes, j) for j in joins}
    used = sorted({x for j in joins for x in j})
    to_sort = sorted({x for j, m in modes.items() for x in (j if m in ("self", "merge")
                                                              else (j[0],) if m == "probe-b" else (j[1],))})

    def one(combo: tuple[int, ...]) -> dict[Join, Pairs]:
        keys = {x: _combo_key(arrays[x], plan, combo) for x in used}
        srt = {x: _sort_by_key(arrays[x], keys[x]) for x in to_sort}
        bits = plan.key_bits(combo)
        res: dict[Join, Pairs] = {}
        for j, mode in modes.items():
            a, b = j
            if mode == "self":
                res[j] = _self_join_sorted(srt[a], radius)
            elif mode == "merge":
                res[j] = _merge_sorted(srt[a], srt[b], radius)
            elif mode == "probe-b":
                res[j] = _probe(srt[a], arrays[b], keys[b], bits, radius)
            else:
                p = _probe(srt[b], arrays[a], keys[a], bits, radius)
                res[j] = Pairs(p.j, p.i, p.dist)
        return res

    found = _run(one, plan.combinations, workers)
    return {j: _unique_pairs(_collect([f[j] for f in found]), sizes[j[1]]) for j in joins}


# Elements per brute-force block: the XOR buffer stays a few MB, in cache.
_BRUTE_BLOCK_ELEMENTS = 1 << 18


def _brute_join(a: np.ndarray, b: np.ndarray, radius: int, self_join: bool, workers: int) -> Pairs:
    nb = b.size
    if a.size == 0 or nb == 0:
        return _empty_pairs()
    rows = max(1, _BRUTE_BLOCK_ELEMENTS // nb)
    has_bc = hasattr(np, "bitwise_count")

    def one(s: int) -> Pairs:
        e = min(s + rows, a.size)
        cols = b[s + 1:] if self_join else b
        if cols.size == 0:
            return _empty_pairs()
        x = np.empty((e - s, cols.size), np.uint64)
        np.bitwise_xor(a[s:e, None], cols[None, :], out=x)
        pc = np.bitwise_count(x) if has_bc else popcount(x)
        ii, jj = np.nonzero(pc <= radius)
        d = pc[ii, jj]
        if self_join:
            jj = jj + (s + 1)
            keep = jj > ii + s  # upper triangle only
            ii, jj, d = ii[keep], jj[keep], d[keep]
        return Pairs(ii.astype(np.int64) + s, jj.astype(np.int64), d)

    return _collect(_run(one, list(range(0, a.size, rows)), workers))


Method = Literal["auto", "mih", "brute"]


def search(arrays: dict[str, np.ndarray], joins: Sequence[Join], radius: int, *, method: Method = "auto",
           plan: BandPlan | None = None, workers: int = 1) -> dict[Join, Pairs]:
    """All pairs within `radius` for several joins over named uint64 arrays.

    A join (a, b) yields every (i in a, j in b) with Hamming distance <=
    radius; (a, a) yields every i < j within a. Sharing one call lets each
    array's band keys be computed and sorted once per band combination for
    all the joins it takes part in. Exact for any radius; results sorted.
    """
    arrays = {k: as_hash_array(v) for k, v in arrays.items()}
    sizes = {k: v.size for k, v in arrays.items()}
    if method == "brute" or (method == "auto" and plan is None and (
            max(sizes.values(), default=0) < 64
            or _brute_cost(sizes, joins) < _plan_cost(plan_bands(radius, sizes, joins), sizes, joins))):
        return {(a, b): _unique_pairs(_brute_join(arrays[a], arrays[b], radius, a == b, workers), sizes[b])
                for a, b in joins}
    return _mih_join(arrays, joins, radius, plan or plan_bands(radius, sizes, joins), workers)


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


DEFAULT_SEARCH_RADIUS = 6
DEFAULT_MAX_DISTANCE = 20


@dataclass(frozen=True)
class SimilarityParams:
    """The similarity rule (see the module docstring) and how to search for it.

    `max_distance` is the pHash + dHash Hamming distance limit (0..128), the
    `--threshold` of the duplicates command; `search_radius` the per-hash
    distance one of the two must be within. `method` and `workers` change
    speed only, never the result.
    """

    max_distance: int = DEFAULT_MAX_DISTANCE
    search_radius: int = DEFAULT_SEARCH_RADIUS
    rotations: bool = True
    method: Method = field(default="auto", compare=False)
    workers: int = field(default=1, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.max_distance <= 128:
            raise ValueError("max_distance must be within 0..128")
        if not 0 <= self.search_radius <= 64:
            raise ValueError("search_radius must be within 0..64")

    @property
    def radius(self) -> int:
        # No point searching wider than the sum allows.
        return min(self.search_radius, self.max_distance)

    def similar(self, p: np.ndarray | int, d: np.ndarray | int) -> np.ndarray | bool:
        r = self.radius
        return ((p <= r) | (d <= r)) & (p + d <= self.max_distance)


_NO_HASH = np.uint64(0)
# Comparisons made for a pair (a, b), a the earlier item: which hash of a
# against which of b, and the rotation of b relative to a that it implies
# (degrees counter-clockwise: b looks like a turned this much).
_COMPARISONS = (("up", "up", 0), ("r90", "up", 90), ("up", "r90", 270), ("r180", "up", 180), ("up", "r180", 180))


class _Table:
    """Participants as arrays, in order."""

    def __init__(self, items: Sequence[HashItem]):
        self.items = list(items)
        self.ids = [it.id for it in self.items]
        n = len(self.items)
        self.n = n
        self.p = {"up": as_hash_array([it.phash for it in self.items])}
        self.d = {"up": as_hash_array([it.dhash for it in self.items])}
        self.ok = {"up": np.ones(n, bool)}
        for name, attr in (("r90", "rot90"), ("r180", "rot180")):
            vals = [getattr(it, attr) for it in self.items]
            self.ok[name] = np.fromiter((v is not None for v in vals), dtype=bool, count=n)
            self.p[name] = np.fromiter((v[0] if v else 0 for v in vals), dtype=np.uint64, count=n)
            self.d[name] = np.fromiter((v[1] if v else 0 for v in vals), dtype=np.uint64, count=n)

    def valid(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.ok[name])


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
        valid = ta.ok[sa][ia] & tb.ok[sb][ib]
        p = popcount(ta.p[sa][ia] ^ tb.p[sb][ib])
        d = popcount(ta.d[sa][ia] ^ tb.d[sb][ib])
        s = p.astype(np.uint16) + d
        good = valid & params.similar(p, d) & (s < best)
        best[good], bp[good], bd[good], brot[good] = s[good], p[good], d[good], rot
    keep = best < big
    return PairTable(ia[keep], ib[keep], best[keep], bp[keep], bd[keep], brot[keep])


def _candidates(ta: _Table, tb: _Table | None, params: SimilarityParams) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (positions in ta, positions in tb) covering every pair
    that can satisfy the rule; tb None means pairs within ta (i < j).

    A pair can only be similar in some orientation if its pHash or its dHash
    is within the search radius in that orientation, so one exact search per
    hash kind and orientation covers them all.
    """
    rots = ("r90", "r180") if params.rotations else ()
    ii: list[np.ndarray] = []
    jj: list[np.ndarray] = []
    for hk in ("p", "d"):
        # name -> (hash array, positions in its table or None for all)
        arrays: dict[str, np.ndarray] = {}
        where: dict[str, np.ndarray | None] = {}
        joins: list[Join] = []
        ha = getattr(ta, hk)
        arrays["A"], where["A"] = ha["up"], None
        for rn in rots:
            src = ta.valid(rn)
            arrays["A" + rn], where["A" + rn] = ha[rn][src], src
        if tb is None:
            joins.append(("A", "A"))
            joins += [("A" + rn, "A") for rn in rots]
        else:
            hb = getattr(tb, hk)
            arrays["B"], where["B"] = hb["up"], None
            joins.append(("A", "B"))
            for rn in rots:
                src = tb.valid(rn)
                arrays["B" + rn], where["B" + rn] = hb[rn][src], src
                joins += [("A" + rn, "B"), ("A", "B" + rn)]
        found = search(arrays, joins, params.radius, method=params.method, workers=params.workers)
        for (x, y), pr in found.items():
            wx, wy = where[x], where[y]
            ii.append(pr.i if wx is None else wx[pr.i])
            jj.append(pr.j if wy is None else wy[pr.j])
    i = np.concatenate(ii) if ii else np.empty(0, np.int64)
    j = np.concatenate(jj) if jj else np.empty(0, np.int64)
    if tb is None:
        keep = i != j  # an image against its own turned copy
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
    out = sorted(items, key=lambda it: it.id)
    for x, y in zip(out, out[1:]):
        if x.id == y.id:
            raise ValueError(f"duplicate item id {x.id!r}")
    return out


def _participants(ordered: Sequence[HashItem], seen: set[str] | None = None) -> list[HashItem]:
    """The first eligible (not low-detail) item of each SHA-256, in order."""
    seen = set() if seen is None else seen
    out = []
    for it in ordered:
        if it.low_detail or it.sha256 in seen:
            continue
        seen.add(it.sha256)
        out.append(it)
    return out


def similar_pairs(items: Iterable[HashItem], params: SimilarityParams | None = None) -> list[SimilarPair]:
    """Every similar pair among the items (complete, by the rule), a earlier than b."""
    params = params or SimilarityParams()
    t = _Table(_participants(_order_items(items)))
    pt = _pairs_within_table(t, params)
    return [SimilarPair(t.ids[a], t.ids[b], int(s), int(p), int(d), int(r))
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

    Takes (id, sha256) tuples or anything with `.id` and `.sha256`.
    """
    by_sha: dict[str, list[ItemId]] = defaultdict(list)
    for it in items:
        iid, sha = (it.id, it.sha256) if hasattr(it, "sha256") else it  # type: ignore[union-attr,misc]
        by_sha[sha].append(iid)
    groups = []
    for sha, ids in by_sha.items():
        if len(ids) > 1:
            ids = sorted(ids)
            if any(x == y for x, y in zip(ids, ids[1:])):
                raise ValueError(f"duplicate item id in {ids!r}")
            groups.append(_make_group("exact", ids[0], [GroupMember(i, 0) for i in ids[1:]], sha))
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


def _leaders_and_assignment(n: int, pt: PairTable) -> tuple[bytearray, dict[int, int]]:
    """Leader flags and, for every non-leader, the index into pt of the edge
    to its nearest leader. Positions are in id order."""
    leader = bytearray(b"\x01") * n
    if len(pt.a):
        # Edges grouped by their later end, scanned in order: a node is a
        # leader unless an earlier neighbour already is one.
        order = np.lexsort((pt.a, pt.b))
        later, earlier = pt.b[order].tolist(), pt.a[order].tolist()
        k = 0
        E = len(later)
        while k < E:
            v = later[k]
            has_leader = False
            while k < E and later[k] == v:
                if leader[earlier[k]]:
                    has_leader = True
                k += 1
            if has_leader:
                leader[v] = 0
    return leader, _nearest_leader(leader, pt)


def _nearest_leader(leader: bytearray, pt: PairTable) -> dict[int, int]:
    if not len(pt.a):
        return {}
    lead = np.frombuffer(bytes(leader), dtype=np.uint8).astype(bool)
    la, lb = lead[pt.a], lead[pt.b]
    e1 = np.flatnonzero(la & ~lb)  # a leads, b follows
    e2 = np.flatnonzero(lb & ~la)  # b leads, a follows
    member = np.concatenate([pt.b[e1], pt.a[e2]])
    lpos = np.concatenate([pt.a[e1], pt.b[e2]])
    edge = np.concatenate([e1, e2])
    dist = pt.dist[edge]
    order = np.lexsort((lpos, dist, member))  # nearest, then earliest leader
    member, edge = member[order], edge[order]
    first = np.r_[True, member[1:] != member[:-1]] if member.size else np.empty(0, bool)
    return dict(zip(member[first].tolist(), edge[first].tolist()))


def _member_from_edge(pt: PairTable, e: int, member_pos: int) -> GroupMember:
    """The member's entry, with its rotation relative to the leader."""
    rot = int(pt.rotation[e])
    if pt.a[e] == member_pos:  # the edge was measured member -> leader
        rot = (360 - rot) % 360
    return GroupMember(None, int(pt.dist[e]), int(pt.p[e]), int(pt.d[e]), rot)  # type: ignore[arg-type]


def _groups_from(ids: list[ItemId], leader_of: dict[int, tuple[int, GroupMember]]) -> list[Group]:
    by_leader: dict[int, list[GroupMember]] = defaultdict(list)
    for pos, (lpos, gm) in leader_of.items():
        by_leader[lpos].append(GroupMember(ids[pos], gm.distance, gm.phash_distance, gm.dhash_distance, gm.rotation))
    groups = [_make_group("similar", ids[lpos], ms) for lpos, ms in by_leader.items()]
    groups.sort(key=lambda g: g.representative)
    return groups


def _stats(n: int, pt: PairTable, leader_of: dict[int, tuple[int, GroupMember]]) -> GroupingStats:
    uf = UnionFind(n)
    for a, b in zip(pt.a.tolist(), pt.b.tolist()):
        uf.union(a, b)
    comp_members: dict[int, list[int]] = defaultdict(list)
    for x in set(pt.a.tolist()) | set(pt.b.tolist()):
        comp_members[uf.find(x)].append(x)
    split = 0
    for members in comp_members.values():
        reps = {leader_of[m][0] if m in leader_of else m for m in members}
        split += len(reps) > 1
    return GroupingStats(n, len(pt.a), len(comp_members), max(map(len, comp_members.values()), default=0), split)


def group_similar(items: Iterable[HashItem], params: SimilarityParams | None = None) -> tuple[list[Group], GroupingStats]:
    """Similar groups from scratch (see the module docstring for the rule)."""
    params = params or SimilarityParams()
    t = _Table(_participants(_order_items(items)))
    pt = _pairs_within_table(t, params)
    leader, nearest = _leaders_and_assignment(t.n, pt)
    leader_of = {pos: (int(pt.a[e] if pt.b[e] == pos else pt.b[e]), _member_from_edge(pt, e, pos))
                 for pos, e in nearest.items()}
    return _groups_from(t.ids, leader_of), _stats(t.n, pt, leader_of)


def group_items(items: Iterable[HashItem], params: SimilarityParams | None = None) -> Grouping:
    """Exact and similar groups of a whole library, from scratch."""
    params = params or SimilarityParams()
    ordered = _order_items(items)
    similar, stats = group_similar(ordered, params)
    return Grouping(tuple(exact_groups(ordered)), tuple(similar), params, stats)


def update_grouping(library: Sequence[HashItem], previous: Grouping, new_items: Sequence[HashItem],
                    params: SimilarityParams | None = None) -> Grouping:
    """The grouping of library + new items, computed from the library's
    previous grouping and only the pairs that involve new items.

    Equals `group_items(library + new_items)` (tested). `library` is every
    item already grouped (hashes are needed to compare the new items with
    them); `previous` is what grouping the library gave. New ids must all
    come after the library's (the database's increasing ids do); otherwise,
    or when the parameters changed, this regroups everything.
    """
    params = params or previous.params
    lib = _order_items(library)
    new = _order_items(new_items)
    if not new:
        return previous
    lib_ids = {it.id for it in lib}
    if params != previous.params or (lib and new[0].id <= lib[-1].id) or any(it.id in lib_ids for it in new):
        return group_items([*lib, *new], params)

    exact = _update_exact(lib, previous.exact, new)

    seen: set[str] = set()
    old_t = _Table(_participants(lib, seen))
    new_t = _Table(_participants(new, seen))
    if new_t.n == 0:
        return Grouping(exact, previous.similar, params, previous.stats)

    cross = _pairs_between_tables(old_t, new_t, params)  # (old pos, new pos)
    inner = _pairs_within_table(new_t, params)  # (new pos, new pos)

    # Old state: who leads, and each old member's current leader and entry.
    old_pos = {iid: k for k, iid in enumerate(old_t.ids)}
    old_member: dict[int, tuple[int, GroupMember]] = {}
    for g in previous.similar:
        lpos = old_pos[g.representative]
        for m in g.members[1:]:
            old_member[old_pos[m.id]] = (lpos, m)

    # Positions in one combined order: old 0..n_old-1, then new.
    n_old = old_t.n
    all_a = np.concatenate([cross.a, inner.a + n_old])
    all_b = np.concatenate([cross.b + n_old, inner.b + n_old])
    pt = PairTable(all_a, all_b, np.concatenate([cross.dist, inner.dist]), np.concatenate([cross.p, inner.p]),
                   np.concatenate([cross.d, inner.d]), np.concatenate([cross.rotation, inner.rotation]))

    # New items decide their leader status in order; old statuses are fixed.
    leader = bytearray(b"\x01") * (n_old + new_t.n)
    for pos in old_member:
        leader[pos] = 0
    earlier_of: dict[int, list[int]] = defaultdict(list)
    for a, b in zip(pt.a.tolist(), pt.b.tolist()):
        earlier_of[b].append(a)
    for v in range(n_old, n_old + new_t.n):
        if any(leader[u] for u in earlier_of.get(v, ())):
            leader[v] = 0

    # Nearest leader for every follower: old members keep theirs unless a new
    # leader is strictly nearer (an equal one is later, so it loses the tie).
    nearest = _nearest_leader(leader, pt)
    leader_of: dict[int, tuple[int, GroupMember]] = {}
    for pos, (lpos, gm) in old_member.items():
        e = nearest.get(pos)
        if e is not None:
            other = int(pt.a[e] if pt.b[e] == pos else pt.b[e])
            if pt.dist[e] < gm.distance:
                leader_of[pos] = (other, _member_from_edge(pt, e, pos))
                continue
        leader_of[pos] = (lpos, gm)
    for pos in range(n_old, n_old + new_t.n):
        if not leader[pos]:
            e = nearest[pos]
            other = int(pt.a[e] if pt.b[e] == pos else pt.b[e])
            leader_of[pos] = (other, _member_from_edge(pt, e, pos))

    ids = old_t.ids + new_t.ids
    stats = GroupingStats(n_old + new_t.n, previous.stats.pairs + len(pt.a))
    return Grouping(exact, tuple(_groups_from(ids, leader_of)), params, stats)


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
