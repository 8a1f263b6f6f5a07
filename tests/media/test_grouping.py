"""Grouping rules on hash items with controlled distances: exact groups, the
similarity rule, low-detail exclusion, rotations, no chaining, and the
incremental update equal to grouping from scratch."""
from __future__ import annotations

import random

import numpy as np
import pytest

from mediaparser.media.similarity import (Grouping, HashItem, SimilarityParams, confidence_of, exact_groups, group_items, similar_pairs, update_grouping)

P = SimilarityParams()  # radius 6, max distance 20


class Bits:
    """Hashes at chosen distances: fresh bits are flipped for each step, so
    distances add up exactly along a chain."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def h(self) -> int:
        return self.rng.getrandbits(64)

    def flip(self, h: int, k: int, avoid: set[int] | None = None) -> int:
        pool = [b for b in range(64) if not avoid or b not in avoid]
        for b in self.rng.sample(pool, k):
            h ^= 1 << b
            if avoid is not None:
                avoid.add(b)
        return h


def it(id, p, d, sha=None, low=False, rot90=None, rot180=None) -> HashItem:
    return HashItem(id, sha or f"sha{id}", p, d, low, rot90, rot180)


def group_of(g: Grouping, id) -> tuple:
    for grp in g.similar:
        if id in grp.ids:
            return tuple(grp.ids)
    return ()


# --- exact ---------------------------------------------------------------------------------


def test_exact_groups_by_sha256_from_plain_tuples():
    groups = exact_groups([(5, "aa"), (2, "bb"), (9, "aa"), (3, "cc"), (7, "aa"), (4, "bb")])
    assert [(g.kind, g.representative, g.ids, g.sha256) for g in groups] == [
        ("exact", 2, [2, 4], "bb"),
        ("exact", 5, [5, 7, 9], "aa"),
    ]
    assert all(g.confidence == 1.0 and g.confidence_label == "high" for g in groups)
    assert all(m.distance == 0 for g in groups for m in g.members)


def test_exact_copies_take_part_in_similarity_once():
    b = Bits(1)
    p, d = b.h(), b.h()
    items = [it(1, p, d, sha="A"), it(2, p, d, sha="A"), it(3, b.flip(p, 2), b.flip(d, 2))]
    g = group_items(items)
    assert [x.ids for x in g.exact] == [[1, 2]]
    assert [x.ids for x in g.similar] == [[1, 3]]  # the copy (2) is reported by the exact group


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("dp,dd,similar", [
    (0, 0, True),
    (6, 14, True),  # pHash within the radius, sum at the limit
    (14, 6, True),  # dHash within the radius
    (0, 20, True),
    (6, 15, False),  # sum over 20
    (7, 7, False),  # neither hash within the radius, however close the sum
    (2, 19, False),
])
def test_similarity_rule(dp, dd, similar):
    b = Bits(dp * 100 + dd)
    p, d = b.h(), b.h()
    pairs = similar_pairs([it(1, p, d), it(2, b.flip(p, dp), b.flip(d, dd))])
    assert bool(pairs) is similar
    if similar:
        assert (pairs[0].phash_distance, pairs[0].dhash_distance, pairs[0].distance) == (dp, dd, dp + dd)


@pytest.mark.parametrize("dp,dd,similar", [(0, 0, True), (3, 17, True), (4, 0, False), (2, 19, False)])
def test_turned_comparisons_need_the_phash_within_the_rotation_radius(dp, dd, similar):
    b = Bits(dp * 100 + dd + 7)
    up, r90, r180 = (b.h(), b.h()), (b.h(), b.h()), (b.h(), b.h())
    a = it(1, *up, rot90=r90, rot180=r180)
    turned = it(2, b.flip(r90[0], dp), b.flip(r90[1], dd))  # a turned 90°, without turned hashes of its own
    pairs = similar_pairs([a, turned])
    assert bool(pairs) is similar
    if similar:
        assert (pairs[0].rotation, pairs[0].phash_distance, pairs[0].dhash_distance) == (90, dp, dd)


def rule_by_brute_force(items: list[HashItem], params: SimilarityParams) -> dict:
    """Every pair, every orientation, in plain Python: the definition."""
    parts, seen = [], set()
    for x in sorted(items, key=lambda x: x.id):
        if not x.low_detail and x.sha256 not in seen:
            seen.add(x.sha256)
            parts.append(x)
    found = {}
    for k, a in enumerate(parts):
        for b in parts[k + 1:]:
            best = None
            hashes_a = {"up": (a.phash, a.dhash), "r90": a.rot90, "r180": a.rot180}
            hashes_b = {"up": (b.phash, b.dhash), "r90": b.rot90, "r180": b.rot180}
            for sa, sb, rot in (("up", "up", 0), ("r90", "up", 90), ("up", "r90", 270), ("r180", "up", 180),
                                ("up", "r180", 180)):
                ha, hb = hashes_a[sa], hashes_b[sb]
                if ha is None or hb is None:
                    continue
                p, d = (ha[0] ^ hb[0]).bit_count(), (ha[1] ^ hb[1]).bit_count()
                if rot == 0:
                    ok = (p <= params.search_radius or d <= params.search_radius) and p + d <= params.max_distance
                else:
                    ok = p <= params.rotation_radius and p + d <= params.max_distance
                if ok and (best is None or p + d < best[0]):
                    best = (p + d, p, d, rot)
            if best:
                found[(a.id, b.id)] = best
    return found


@pytest.mark.parametrize("params", [P, SimilarityParams(max_distance=12, search_radius=4, rotation_radius=2),
                                    SimilarityParams(max_distance=30, search_radius=9, rotation_radius=7)])
def test_the_search_finds_exactly_the_pairs_the_rule_defines(params):
    items = library(21, 500)
    want = rule_by_brute_force(items, params)
    assert len(want) > 100
    got = {(x.a, x.b): (x.distance, x.phash_distance, x.dhash_distance, x.rotation)
           for x in similar_pairs(items, params)}
    assert got == want


def test_low_detail_images_never_group_by_similarity():
    """Blank pictures hash alike by accident; only byte-identical ones group."""
    items = [it(1, 0, 0, low=True), it(2, 0, 0, low=True), it(3, 1, 0, low=True), it(4, 0, 0, sha="sha1", low=True)]
    g = group_items(items)
    assert g.similar == ()
    assert [x.ids for x in g.exact] == [[1, 4]]


def test_pixel_rotated_copies_are_matched_through_rotated_hashes():
    b = Bits(7)
    up, r90, r180, r270 = [(b.h(), b.h()) for _ in range(4)]
    a = it(1, *up, rot90=r90, rot180=r180)
    # b: a's pixels turned 90° ccw, re-encoded (2 bits off); its own turned
    # hashes are a's turned a further 90°.
    turned90 = it(2, b.flip(r90[0], 2), b.flip(r90[1], 1), rot90=r180, rot180=r270)
    turned180 = it(3, *r180, rot90=r270, rot180=up)
    turned270 = it(4, *r270, rot90=up, rot180=r90)
    unrelated = it(5, b.h(), b.h(), rot90=(b.h(), b.h()), rot180=(b.h(), b.h()))
    pairs = {(x.a, x.b): x for x in similar_pairs([a, turned90, turned180, turned270, unrelated])}
    assert (pairs[(1, 2)].rotation, pairs[(1, 2)].distance) == (90, 3)
    assert pairs[(1, 3)].rotation == 180
    assert pairs[(1, 4)].rotation == 270
    assert not any(5 in k for k in pairs)
    g = group_items([a, turned90, turned180, turned270, unrelated])
    (grp,) = g.similar
    turn = {1: 0, 2: 90, 3: 180, 4: 270}  # of each copy relative to a
    assert sorted(grp.ids) == [1, 2, 3, 4]
    assert all(m.rotation == (turn[m.id] - turn[grp.representative]) % 360 for m in grp.members)
    # Without rotated hashes only the upright comparison is possible.
    assert group_items([a, turned90], SimilarityParams(rotations=False)).similar == ()


# --- no chaining ---------------------------------------------------------------------------


def chain(seed: int, n: int, step: int) -> list[HashItem]:
    """A gradual change: each item is `step` fresh bits (in each hash) away
    from the one before, so item i and j are |i - j| * step apart."""
    b = Bits(seed)
    used_p: set[int] = set()
    used_d: set[int] = set()
    p, d = b.h(), b.h()
    out = []
    for k in range(n):
        out.append(it(k + 1, p, d))
        p, d = b.flip(p, step, used_p), b.flip(d, step, used_d)
    return out


def test_a_gradual_chain_is_cut_into_groups_around_representatives():
    items = chain(3, 12, 3)  # neighbours 6 apart (3 + 3); 4 steps = 24 > 20
    pairs = {(x.a, x.b): x.distance for x in similar_pairs(items)}
    assert all((k, k + 1) in pairs for k in range(1, 12))  # the chain is connected ...
    assert (1, 12) not in pairs
    g = group_items(items)
    assert g.stats.components == 1 and g.stats.largest_component == 12 and g.stats.components_split == 1
    assert len(g.similar) >= 3  # ... and is not one group
    for grp in g.similar:
        rep = grp.representative
        for m in grp.members[1:]:
            key = (min(rep, m.id), max(rep, m.id))
            assert pairs[key] == m.distance <= P.max_distance  # every member similar to its representative
        span = max(grp.ids) - min(grp.ids)
        assert span * 6 <= 2 * P.max_distance  # diameter bound: two steps from the representative at most


def test_the_representative_is_the_copy_the_others_are_similar_to():
    """L ~ y at 18, y ~ x at 2, x not similar to L: whatever order they come
    in, y (similar to both) represents one group of three; grouped around
    L or x instead, the other end would be left alone."""
    b = Bits(11)
    used_p: set[int] = set()
    used_d: set[int] = set()
    lp, ld = b.h(), b.h()
    yp, yd = b.flip(lp, 6, used_p), b.flip(ld, 12, used_d)
    xp, xd = b.flip(yp, 1, used_p), b.flip(yd, 1, used_d)
    assert {(p.a, p.b) for p in similar_pairs([it(1, lp, ld), it(2, yp, yd), it(3, xp, xd)])} == {(1, 2), (2, 3)}
    for ids in ([1, 2, 3], [3, 2, 1], [2, 1, 3], [1, 3, 2]):  # ids in arrival order
        L, y, x = (it(i, *h) for i, h in zip(ids, [(lp, ld), (yp, yd), (xp, xd)]))
        (grp,) = group_items([L, y, x]).similar
        assert grp.representative == y.id and sorted(grp.ids) == sorted(ids)
        assert {m.id: m.distance for m in grp.members} == {y.id: 0, L.id: 18, x.id: 2}


# --- incremental ----------------------------------------------------------------------------


def library(seed: int, n: int) -> list[HashItem]:
    """Families of copies at random distances (some turned, some exact
    copies, some low-detail, some without rotated hashes) and loners."""
    b = Bits(seed)
    rnd = random.Random(seed)
    items: list[HashItem] = []
    for i in range(n):
        if items and rnd.random() < 0.45:
            src = rnd.choice(items)
            kind = rnd.random()
            if kind < 0.1:  # byte-identical copy
                items.append(HashItem(i, src.sha256, src.phash, src.dhash, src.low_detail, src.rot90, src.rot180))
            elif kind < 0.25 and src.rot90 and src.rot180:  # pixels turned 90°
                items.append(it(i, b.flip(src.rot90[0], rnd.randint(0, 3)), b.flip(src.rot90[1], rnd.randint(0, 3)),
                                rot90=src.rot180, rot180=(b.h(), b.h())))
            else:
                kp, kd = rnd.randint(0, 12), rnd.randint(0, 12)
                rot = (b.flip(src.rot90[0], kp), b.flip(src.rot90[1], kd)) if src.rot90 else None
                items.append(it(i, b.flip(src.phash, kp), b.flip(src.dhash, kd), rot90=rot,
                                rot180=src.rot180, low=src.low_detail))
        else:
            rot = None if rnd.random() < 0.1 else (b.h(), b.h())
            items.append(it(i, b.h(), b.h(), low=rnd.random() < 0.05, rot90=rot, rot180=rot and (b.h(), b.h())))
    return items


@pytest.mark.parametrize("seed", range(6))
def test_incremental_grouping_equals_grouping_from_scratch(seed):
    items = library(seed, 900)
    scratch = group_items(items)
    assert len(scratch.similar) > 50 and len(scratch.exact) > 5 and scratch.stats.components_split > 0
    rnd = random.Random(seed)
    cut = sorted(rnd.sample(range(1, len(items)), 4))
    batches = [items[a:b] for a, b in zip([0, *cut], [*cut, len(items)])]
    lib: list[HashItem] = []
    current = group_items([])
    for batch in batches:
        current = update_grouping(lib, current, batch)
        lib += batch
        assert current == group_items(lib)  # after every import, not only at the end
    assert current == scratch


def test_incremental_update_regroups_a_touched_group_around_a_new_centre():
    """Library: L and x, not similar (two loners). y, similar to both,
    arrives: the update must see that the library's loners now belong to one
    group around y, as grouping everything from scratch does."""
    b = Bits(11)
    used_p: set[int] = set()
    used_d: set[int] = set()
    lp, ld = b.h(), b.h()
    yp, yd = b.flip(lp, 6, used_p), b.flip(ld, 12, used_d)
    xp, xd = b.flip(yp, 1, used_p), b.flip(yd, 1, used_d)
    far = [it(10 + k, b.h(), b.h()) for k in range(3)]
    old = [it(1, lp, ld), it(2, xp, xd), *far]
    before = group_items(old)
    assert before.similar == ()
    after = update_grouping(old, before, [it(20, yp, yd)])
    assert [(x.representative, sorted(x.ids)) for x in after.similar] == [(20, [1, 2, 20])]
    assert after == group_items([*old, it(20, yp, yd)])


def test_incremental_update_moves_a_library_copy_to_a_better_connected_representative():
    """Library: the crop-like C (similar to O only) and O form a pair. A
    lossless copy P of O arrives; the group stays one group of three,
    whichever representative the ranks pick, and equals from-scratch."""
    b = Bits(12)
    op, od = b.h(), b.h()
    cp, cd = b.flip(op, 5), b.flip(od, 12)
    old = [it(1, cp, cd), it(2, op, od)]
    before = group_items(old)
    copy = it(3, b.flip(op, 1), od)
    after = update_grouping(old, before, [copy])
    assert [sorted(x.ids) for x in after.similar] == [[1, 2, 3]]
    assert after == group_items([*old, copy])


def test_incremental_exact_groups_grow_across_imports():
    b = Bits(2)
    first = [it(1, b.h(), b.h(), sha="A"), it(2, b.h(), b.h(), sha="B"), it(3, b.h(), b.h(), sha="A")]
    g1 = group_items(first)
    second = [it(4, b.h(), b.h(), sha="B"), it(5, b.h(), b.h(), sha="A"), it(6, b.h(), b.h(), sha="C")]
    g2 = update_grouping(first, g1, second)
    assert [(x.sha256, x.ids) for x in g2.exact] == [("A", [1, 3, 5]), ("B", [2, 4])]
    assert g2 == group_items(first + second)


def test_update_with_out_of_order_ids_or_new_params_regroups_everything():
    items = library(9, 300)
    lib, new = items[100:], items[:100]  # the "new" ids come before the library's
    g = update_grouping(lib, group_items(lib), new)
    assert g == group_items(items)
    strict = SimilarityParams(max_distance=12)
    assert update_grouping(items[:200], group_items(items[:200]), items[200:], strict) == group_items(items, strict)


def test_stale_previous_groups_fall_back_to_a_full_regrouping():
    items = library(12, 300)
    before = group_items(items[:200])
    gone = before.similar[0].members[1].id
    lib = [x for x in items[:200] if x.id != gone]  # a grouped file left the library
    assert update_grouping(lib, before, items[200:]) == group_items(lib + items[200:])


def test_string_ids_work_too():
    b = Bits(4)
    p, d = b.h(), b.h()
    g = group_items([it("b.jpg", p, d), it("a.jpg", b.flip(p, 1), d)])
    assert g.similar[0].representative == "a.jpg" and g.similar[0].ids == ["a.jpg", "b.jpg"]


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError):
        group_items([it(1, 0, 0), it(1, 5, 5)])


@pytest.mark.parametrize("worst,label", [(0, "high"), (6, "high"), (7, "medium"), (12, "medium"), (13, "low"),
                                         (20, "low")])
def test_confidence_from_the_worst_member_distance(worst, label):
    c, lab = confidence_of(worst)
    assert lab == label and c == round(1 - worst / 64, 3)


def test_group_confidence_is_that_of_its_farthest_member():
    b = Bits(5)
    p, d = b.h(), b.h()
    g = group_items([it(1, p, d), it(2, b.flip(p, 1), d), it(3, b.flip(p, 4), b.flip(d, 6))])
    (grp,) = g.similar
    assert [m.distance for m in grp.members] == [0, 1, 10]
    assert (grp.confidence, grp.confidence_label) == confidence_of(10)


@pytest.mark.parametrize("seed", range(3))
def test_groups_do_not_depend_on_the_arrival_order(seed):
    """The same files arriving in another order (other ids) give the same
    groups around the same representatives. (Byte-identical copies are left
    out: which of them takes part is by id, and exact groups report them.)"""
    items, seen = [], set()
    for x in library(seed + 40, 700):
        if x.sha256 not in seen:
            seen.add(x.sha256)
            items.append(x)
    base = group_items(items)
    assert len(base.similar) > 40 and base.stats.components_split > 0
    perm = list(range(len(items)))
    random.Random(seed).shuffle(perm)
    renamed = [HashItem(perm[k], x.sha256, x.phash, x.dhash, x.low_detail, x.rot90, x.rot180)
               for k, x in enumerate(items)]
    back = {perm[k]: x.id for k, x in enumerate(items)}
    shuffled = group_items(renamed)

    def shape(g: Grouping, name=lambda i: i) -> set:
        return {(name(grp.representative), frozenset(map(name, grp.ids))) for grp in g.similar}

    assert shape(shuffled, back.__getitem__) == shape(base)


# --- bursts ------------------------------------------------------------------------------------


def burst(n: int, seed: int = 30) -> list[HashItem]:
    """n frames of one static scene whose hashes all differ a little (the
    worst case: no two are hash twins): pairwise within the rule."""
    b = Bits(seed)
    p, d, r90, r180 = b.h(), b.h(), (b.h(), b.h()), (b.h(), b.h())
    out, seen = [], set()
    while len(out) < n:
        h = (b.flip(p, b.rng.randint(1, 2)), b.flip(d, b.rng.randint(1, 4)))
        if h not in seen:
            seen.add(h)
            out.append(it(len(out), *h, rot90=r90, rot180=r180))
    return out


def test_a_burst_stays_one_group_with_its_pairs_capped():
    frames = burst(1600)
    others = [it(10_000 + k, x.phash, x.dhash, rot90=x.rot90, rot180=x.rot180) for k, x in enumerate(library(8, 300))]
    everything = group_items(frames + others, P)
    (grp,) = [g for g in everything.similar if g.representative < 10_000]
    assert sorted(grp.ids) == list(range(1600))  # every frame, nothing else
    small = frames[:400]
    assert len(similar_pairs(small)) == 400 * 399 // 2  # every frame is similar to every other ...
    assert group_items(small, SimilarityParams(pair_cap=None)).stats.pairs == 400 * 399 // 2  # ... n² uncapped
    # A bounded number per frame (runs shorter than 64 are searched whole;
    # bench/burst.py: 41 per frame for 10,000 frames) instead of 800 each.
    assert everything.stats.pairs <= 100 * 1600 + 1000


def test_identical_frames_are_searched_once():
    b = Bits(31)
    p, d = b.h(), b.h()
    frames = [it(k, p, d) for k in range(3000)]
    g = group_items(frames + [it(5000, b.flip(p, 1), d)])
    assert g.stats.pairs == 1  # the burst's first frame and the near copy; its twins follow it
    (grp,) = g.similar
    assert sorted(grp.ids) == [*range(3000), 5000]
    assert {m.distance for m in grp.members if m.id < 3000} == {0}


def test_hash_twins_are_found_alike_when_different_hashes_share_a_fingerprint(monkeypatch):
    from mediaparser.media import similarity

    b = Bits(33)
    p, d = b.h(), b.h()
    items = [it(k, p, d) for k in range(0, 40, 2)] + [it(k, b.h(), b.h()) for k in range(1, 40, 2)]
    items += [it(100 + k, b.flip(x.phash, 2), x.dhash) for k, x in enumerate(items[20:30])]
    items += [it(200 + k, x.phash, x.dhash) for k, x in enumerate(items[20:25])]  # twins of unrelated ones
    expected = group_items(items)
    assert expected.stats.participants < len(items)  # twins were folded into their heads
    # A fingerprint that is the same for every hash: the twins must come from the hashes themselves.
    monkeypatch.setattr(similarity, "_MIX", np.uint64(0))
    assert group_items(items) == expected
    assert group_items(items).stats == expected.stats


def test_a_new_frame_of_a_burst_in_the_library_regroups_like_from_scratch():
    frames = burst(700, seed=32)
    lib, new = frames[:690], frames[690:]
    g = update_grouping(lib, group_items(lib), new)
    assert g == group_items(frames)
    assert [sorted(x.ids) for x in g.similar] == [list(range(700))]


def test_a_turned_and_cropped_copy_joins_through_the_turned_copy():
    """O with three identical copies (a PNG, ...), its turned copy T, its
    crop C and the crop turned, CT: O~T, O~C, C~CT, T~CT. O (with its
    twins), C and T are equally connected: O, with the identical copies,
    represents; CT, similar to T (a lossless turn of O) but not to O, joins
    through T, turned 90° like T."""
    b = Bits(33)
    up, r90, r180, r270 = [(b.h(), b.h()) for _ in range(4)]
    cu = (b.flip(up[0], 5), b.flip(up[1], 4))
    c90, c180, c270 = [(b.flip(h[0], 5), b.flip(h[1], 4)) for h in (r90, r180, r270)]
    o = [it(k, *up, rot90=r90, rot180=r180) for k in range(4)]
    t = it(4, *r90, rot90=r180, rot180=r270)
    c = it(5, *cu, rot90=c90, rot180=c180)
    ct = it(6, *c90, rot90=c180, rot180=c270)
    pairs = {(p.a, p.b) for p in similar_pairs([o[0], t, c, ct])}
    assert pairs == {(0, 4), (0, 5), (4, 6), (5, 6)}
    g = group_items([*o, t, c, ct])
    (grp,) = g.similar
    assert grp.representative in range(4) and sorted(grp.ids) == list(range(7))
    entry = {m.id: m for m in grp.members}
    assert (entry[6].rotation, entry[6].distance) == (90, 9)  # via T: 0 + 9
    assert (entry[5].rotation, entry[4].rotation) == (0, 90)
    # Without the stand-in, CT would lead a group with the crop, away from O.



def _photo_and_turn(b: Bits):
    """O with three identical copies (ids 0-3) and its lossless turn T (4);
    also O's hashes turned 0/90/180/270°."""
    up, r90, r180, r270 = [(b.h(), b.h()) for _ in range(4)]
    o = [it(k, *up, rot90=r90, rot180=r180) for k in range(4)]
    return [*o, it(4, *r90, rot90=r180, rot180=r270)], (up, r90, r180, r270)


def _crop_and_turn(cu: tuple[int, int], c90: tuple[int, int], c180: tuple[int, int], c270: tuple[int, int]):
    """A crop C (5) and the crop turned 90°, CT (6): C~CT at 0 through their turned hashes."""
    return [it(5, *cu, rot90=c90, rot180=c180), it(6, *c90, rot90=c180, rot180=c270)]


def _renumbered(items: list[HashItem], seed: int) -> tuple[list[HashItem], dict]:
    perm = list(range(len(items)))
    random.Random(seed).shuffle(perm)
    return ([HashItem(perm[k], x.sha256, x.phash, x.dhash, x.low_detail, x.rot90, x.rot180)
             for k, x in enumerate(items)], {perm[k]: x.id for k, x in enumerate(items)})


def test_the_turned_crop_follows_the_crop_it_is_a_lossless_turn_of():
    """corpus-dev's telegram photo: the crop C is similar to O (pHash 12,
    dHash 6), its turn CT is similar to nothing but C (at 0) — not to O, not
    to T. O represents; CT was left to lead a group with C (C joined its
    nearer representative CT). A near-identical copy (within 4) of a member
    now follows that member instead of leading, at the sum of distances."""
    b = Bits(34)
    ot, (up, r90, r180, r270) = _photo_and_turn(b)
    cu = (b.flip(up[0], 12), b.flip(up[1], 6))
    items = [*ot, *_crop_and_turn(cu, *[(b.flip(h[0], 8), b.flip(h[1], 8)) for h in (r90, r180, r270)])]
    pairs = {(p.a, p.b): p.distance for p in similar_pairs([items[0], *items[4:]])}
    assert pairs == {(0, 4): 0, (0, 5): 18, (5, 6): 0}
    (grp,) = group_items(items).similar
    assert grp.representative in range(4) and sorted(grp.ids) == list(range(7))
    entry = {m.id: m for m in grp.members}
    assert (entry[5].distance, entry[6].distance) == (18, 18)  # CT via C: 18 + 0
    assert (entry[5].rotation, entry[6].rotation) == (0, 90)
    for seed in range(3):  # any arrival order
        renamed, back = _renumbered(items, seed)
        (g2,) = group_items(renamed).similar
        assert sorted(map(back.__getitem__, g2.ids)) == list(range(7))


def test_the_crop_follows_its_turn_when_only_the_turn_is_similar_to_the_group():
    """corpus-dev's multipage TIFF: the crop C has no pair with O, but its
    turn CT is similar to T (pHash 6, dHash 3) and T, the best connected,
    represents. C, a lossless turn of the member CT, used to lead a group
    with CT; it now joins T's group through CT. A look-alike L similar to CT
    at 10 (not near-identical) still does not join: no chaining."""
    b = Bits(36)
    ot, (up, r90, r180, r270) = _photo_and_turn(b)
    c90 = (b.flip(r90[0], 6), b.flip(r90[1], 3))
    items = [*ot, *_crop_and_turn((b.h(), b.h()), c90, (b.h(), b.h()), (b.h(), b.h())),
             it(7, b.flip(c90[0], 5), b.flip(c90[1], 5))]
    pairs = {(p.a, p.b): p.distance for p in similar_pairs([items[0], *items[4:]])}
    assert pairs == {(0, 4): 0, (4, 6): 9, (5, 6): 0, (6, 7): 10}
    groups = group_items(items).similar
    (grp,) = [g for g in groups if 0 in g.ids]
    assert grp.representative == 4 and sorted(grp.ids) == list(range(7))  # L stays out
    entry = {m.id: m for m in grp.members}
    assert (entry[6].distance, entry[5].distance) == (9, 9)  # C via CT: 9 + 0
    assert (entry[6].rotation, entry[5].rotation) == (0, 270)
    for seed in range(3):
        renamed, back = _renumbered(items, seed)
        (g2,) = [g for g in group_items(renamed).similar if any(back[i] == 0 for i in g.ids)]
        assert sorted(map(back.__getitem__, g2.ids)) == list(range(7))
