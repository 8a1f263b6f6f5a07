"""HashColumns (one numpy array per field, for libraries of a million files)
group exactly like the HashItems they hold: from scratch and incrementally."""
from __future__ import annotations

import dataclasses
import random
from collections import Counter

import numpy as np
import pytest

from mediaparser.media.similarity import (HashColumns, HashItem, _participant_table, _twins, exact_groups, group_items,
                                          update_grouping)

from tests.media.test_grouping import library


def columns(items: list[HashItem]) -> HashColumns:
    """The items as columns; `shared` names the files whose SHA-256 another item has, as a database query would."""
    items = sorted(items, key=lambda x: x.id)
    counts = Counter(x.sha256 for x in items)
    zero = (0, 0)
    return HashColumns(
        np.array([x.id for x in items], np.int64), np.array([x.phash for x in items], np.uint64),
        np.array([x.dhash for x in items], np.uint64), np.array([x.rot90 or zero for x in items], np.uint64),
        np.array([x.rot180 or zero for x in items], np.uint64), np.array([x.rot90 is not None for x in items]),
        np.array([x.rot180 is not None for x in items]), np.array([x.low_detail for x in items]),
        {x.id: x.sha256 for x in items if counts[x.sha256] > 1})


@pytest.mark.parametrize("seed", range(3))
def test_columns_group_like_items_from_scratch(seed):
    items = library(seed, 700)
    want = group_items(items)
    assert len(want.similar) > 30 and len(want.exact) > 3
    got = group_items(columns(items))
    assert got == want
    assert exact_groups(columns(items)) == exact_groups(items)


@pytest.mark.parametrize("seed", range(3))
def test_columns_incremental_equals_from_scratch(seed):
    items = library(seed + 10, 700)
    rnd = random.Random(seed)
    cut = sorted(rnd.sample(range(1, len(items)), 3))
    bounds = list(zip([0, *cut], [*cut, len(items)]))
    current = group_items(columns([]))
    for a, b in bounds:
        # Each import's `shared` covers every copy among the files so far, as regroup() loads it.
        every = columns(items[:b])
        lib, new = every.take(np.arange(a)), every.take(np.arange(a, b))
        current = update_grouping(lib, current, new)
        assert current == group_items(items[:b])


def test_columns_refuse_unsorted_ids():
    z = np.zeros(2, np.uint64)
    with pytest.raises(ValueError):
        HashColumns(np.array([2, 1]), z, z, np.zeros((2, 2), np.uint64), np.zeros((2, 2), np.uint64),
                    np.zeros(2, bool), np.zeros(2, bool), np.zeros(2, bool))


def test_new_files_whose_ids_interleave_with_the_library_group_like_items():
    # Two imports listed at the same time interleave their ids; the one grouped second has new
    # files with ids below the library's largest (seen with two workers on PostgreSQL).
    items = library(21, 300)
    every = columns(items)
    odd, even = np.arange(0, len(items), 2), np.arange(1, len(items), 2)
    lib, new = every.take(odd), every.take(even)
    assert new.ids[0] < lib.ids[-1]
    current = update_grouping(lib, group_items(columns([items[i] for i in odd])), new)
    assert current == group_items(items)


def test_columns_with_excluded_files_and_hash_twins_group_like_items():
    # The table over columns is positions composed into them (participants, then the
    # twins' heads) rather than copies: the files it reads must be the same ones.
    items = library(5, 600)
    last = max(x.id for x in items)
    twins = [dataclasses.replace(x, id=last + 1 + k, sha256=f"twin-{k}") for k, x in enumerate(items[::37])]
    items += twins  # hash twins that are not byte-identical (a re-encode hashing alike)
    cols = columns(items)
    assert cols.low_detail.any() and len(cols.shared) > 10
    t = _participant_table(cols)
    heads, tw = _twins(t)
    assert t.n < len(cols) and len(heads) < t.n and tw
    s = t.subset(heads)
    picked = s.items()
    assert isinstance(picked, HashColumns) and list(picked.ids) == list(np.asarray(s.ids))
    for k in range(0, s.n, 7):
        x = cols[int(np.searchsorted(cols.ids, picked.ids[k]))]
        assert (int(s.p["up"][k]), int(s.d["up"][k])) == (x.phash, x.dhash)
        assert (int(s.p.at("r90", np.array([k]))[0]), bool(s.ok["r90"][k])) == ((x.rot90 or (0, 0))[0], x.rot90 is not None)
    assert group_items(cols) == group_items(items)
    assert any(m.id > last for g in group_items(cols).similar for m in g.members)
