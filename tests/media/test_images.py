"""Grouping of generated pictures, written by the real encoders and hashed
the way analysis hashes them (oriented 320 px thumbnail)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mediaparser.media.hashes import perceptual_hashes, rotated_hashes
from mediaparser.media.similarity import SimilarityParams, group_items, similar_pairs, update_grouping

from tests.support import photos

N_PHOTOS = 4  # pictures each transformation is tried on
N_OTHERS = 8  # unrelated pictures mixed in


@pytest.fixture(scope="module")
def originals() -> list[Image.Image]:
    return [photos.photo(100 + k) for k in range(N_PHOTOS)]


@pytest.fixture(scope="module")
def others() -> list[Image.Image]:
    return [photos.photo(500 + k) for k in range(N_OTHERS)]


@pytest.fixture(scope="module")
def original_items(originals, others):
    return [photos.item(k, im) for k, im in enumerate(originals)] + \
        [photos.item(1000 + k, im) for k, im in enumerate(others)]


def _half(im: Image.Image) -> Image.Image:
    return im.resize((im.width // 2, im.height // 2), Image.Resampling.LANCZOS)


TRANSFORMS = {
    "resize 50%": _half,
    "resize 25% JPEG": lambda im: photos.reencode(im.resize((160, 120), Image.Resampling.LANCZOS), "JPEG",
                                                  quality=85),
    "JPEG quality 70": lambda im: photos.reencode(im, "JPEG", quality=70),
    "PNG": lambda im: photos.reencode(im, "PNG"),
    "WebP": lambda im: photos.reencode(im, "WEBP", quality=80),
    # x265's "ultrafast" preset: the same HEIC container and codec, 5x faster to write.
    "HEIC": lambda im: photos.reencode(im, "HEIF", quality=70, enc_params={"preset": "ultrafast"}),
    "EXIF orientation 6": lambda im: photos.with_orientation_tag(im, 6),
    "EXIF orientation 3": lambda im: photos.with_orientation_tag(im, 3),
    "EXIF orientation 8": lambda im: photos.with_orientation_tag(im, 8),
    "pixels turned 90": lambda im: photos.reencode(im.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90),
    "pixels turned 180": lambda im: photos.reencode(im.transpose(Image.Transpose.ROTATE_180), "PNG"),
    "pixels turned 270": lambda im: photos.reencode(im.transpose(Image.Transpose.ROTATE_270), "WEBP", quality=85),
    "crop 3%": lambda im: photos.crop(im, 0.03),
    "crop 5%": lambda im: photos.crop(im, 0.05),
    "crop 5% + JPEG 80": lambda im: photos.reencode(photos.crop(im, 0.05), "JPEG", quality=80),
}
EXPECTED_ROTATION = {"pixels turned 90": 90, "pixels turned 180": 180, "pixels turned 270": 270}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_copies_are_grouped_with_their_original(name, originals, original_items):
    variants = [photos.item(100 + k, TRANSFORMS[name](im)) for k, im in enumerate(originals)]
    g = group_items(original_items + variants)
    for k in range(N_PHOTOS):
        groups = [grp for grp in g.similar if k in grp.ids]
        assert len(groups) == 1, f"{name}: original {k} not grouped"
        (grp,) = groups
        assert sorted(grp.ids) == [k, 100 + k], f"{name}: {grp.ids}"  # its copy, nothing unrelated
        member = grp.members[1]
        # The copy is turned this much relative to its original, or the
        # original the other way when the copy represents the group.
        turned = EXPECTED_ROTATION.get(name, 0)
        assert member.rotation == (turned if grp.representative == k else (360 - turned) % 360)
        if not name.startswith("crop"):  # lossless or light changes: near-identical hashes
            assert grp.confidence_label == "high", f"{name}: {member}"


def test_an_orientation_tagged_copy_hashes_exactly_like_the_upright_picture(originals):
    upright = photos.item(0, photos.reencode(originals[0], "JPEG", quality=92))
    for orientation in (3, 6, 8):
        tagged = photos.item(1, photos.with_orientation_tag(originals[0], orientation))
        assert (tagged.phash ^ upright.phash).bit_count() <= 2 and (tagged.dhash ^ upright.dhash).bit_count() <= 2


def test_rotated_hashes_are_the_hashes_of_the_turned_thumbnail(originals):
    t = photos.thumb(originals[1])
    r = rotated_hashes(t)
    assert r.rot90 == perceptual_hashes(t.transpose(Image.Transpose.ROTATE_90))
    assert r.rot180 == perceptual_hashes(t.transpose(Image.Transpose.ROTATE_180))
    assert r.rot90.phash != perceptual_hashes(t).phash


def test_burst_frames_a_moment_apart_are_grouped():
    scene = photos.photo(42)
    frames = []
    for k in range(5):
        frame = scene.copy()
        # Something moves a little between shots; exposure and sensor noise vary.
        frame.paste((200, 40, 40), (200 + 6 * k, 150, 260 + 6 * k, 230))
        arr = np.asarray(frame, dtype=np.float64) * (1 + 0.01 * (k % 3))
        arr += np.random.default_rng(k).normal(0, 3, arr.shape)
        frames.append(photos.reencode(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)), "JPEG", quality=88))
    g = group_items([photos.item(k, f) for k, f in enumerate(frames)])
    assert [sorted(grp.ids) for grp in g.similar] == [[0, 1, 2, 3, 4]]


def test_different_photos_are_not_grouped(others, original_items):
    g = group_items(original_items)  # 12 unrelated pictures
    assert g.similar == () and g.exact == ()
    assert similar_pairs(original_items) == []


def test_blank_and_nearly_uniform_pictures_are_kept_out(original_items):
    blanks = [
        photos.blank((0, 0, 0)), photos.blank((255, 255, 255), noise=0.5), photos.blank((128, 128, 128), seed=1),
        photos.blank((128, 128, 128), seed=2), photos.blank((120, 130, 140), noise=6, seed=3),
        photos.blank((240, 240, 235), noise=4, seed=4),  # a white page
        vignetted((200, 200, 200)),  # a white wall, darker at the corners
        vignetted((60, 80, 120)),  # a dusk sky
    ]
    items = [photos.item(200 + k, b) for k, b in enumerate(blanks)]
    assert all(it.low_detail for it in items)
    # Their hashes collide (every flat picture has the same dHash), which is
    # why they must be kept out rather than compared.
    assert len({it.dhash for it in items[:6]}) == 1
    g = group_items(original_items + items)
    assert g.similar == ()


def vignetted(colour: tuple[int, int, int]) -> Image.Image:
    w, h = photos.SIZE
    y, x = np.mgrid[0:h, 0:w]
    fall = 1 - 0.12 * (((x - w / 2) / (w / 2)) ** 2 + ((y - h / 2) / (h / 2)) ** 2)
    arr = np.asarray(photos.blank(colour, seed=sum(colour)), dtype=np.float64) * fall[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def test_tiny_pictures_are_kept_out():
    tiny = photos.photo(7, size=(24, 18))
    assert photos.item(1, tiny).low_detail


@pytest.mark.parametrize("order", ["in order", "reversed", "shuffled"])
def test_no_chaining_across_a_gradual_cross_fade(order):
    """Each frame is 1/15 further from A towards B: neighbours are similar,
    A and B are unrelated, and no group reaches from one end to the other,
    whatever order the frames arrive in."""
    a, b = (np.asarray(photos.photo(s), dtype=np.float64) for s in (61, 62))
    n = 16
    frames = [Image.fromarray(((1 - t) * a + t * b).astype(np.uint8)) for t in np.linspace(0, 1, n)]
    ids = list(range(n))
    if order == "reversed":
        ids.reverse()
    elif order == "shuffled":
        np.random.default_rng(5).shuffle(ids)
    frames = [frames[k] for k in ids]  # frames[position] arrives with id position; its step is ids[position]
    step = dict(enumerate(ids))
    items = [photos.item(k, f) for k, f in enumerate(frames)]
    first, last = ids.index(0), ids.index(n - 1)
    pairs = {(p.a, p.b): p for p in similar_pairs(items)}
    pos = {s: k for k, s in step.items()}
    assert all((min(pos[s], pos[s + 1]), max(pos[s], pos[s + 1])) in pairs for s in range(n - 1)), \
        "the frames must form a chain for this test to mean anything"
    assert (min(first, last), max(first, last)) not in pairs
    g = group_items(items)
    assert g.stats.components == 1 and g.stats.components_split == 1
    assert not any(first in grp.ids and last in grp.ids for grp in g.similar)
    for grp in g.similar:
        for m in grp.members[1:]:
            edge = pairs[(min(grp.representative, m.id), max(grp.representative, m.id))]
            assert edge.distance == m.distance <= SimilarityParams().max_distance


def test_incremental_grouping_of_pictures_equals_from_scratch(originals, original_items):
    variants = []
    for k, im in enumerate(originals):
        variants += [photos.item(100 + 10 * k, _half(im)),
                     photos.item(101 + 10 * k, im.transpose(Image.Transpose.ROTATE_90)),
                     photos.item(102 + 10 * k, photos.crop(im, 0.04))]
    copy = original_items[0]
    exact_copy = type(copy)(999, copy.sha256, copy.phash, copy.dhash, copy.low_detail, copy.rot90, copy.rot180)
    items = sorted(original_items + variants + [exact_copy], key=lambda x: x.id)
    scratch = group_items(items)
    assert len(scratch.similar) == N_PHOTOS and len(scratch.exact) == 1
    imports = [items[:7], items[7:15], items[15:]]
    lib: list = []
    g = group_items([])
    for batch in imports:
        g = update_grouping(lib, g, batch)
        lib += batch
    assert g == scratch


# Two pairs of look-alike scenes (the same background and first six things,
# the last four different): 22 and 30 apart, close to the rule's 20.
LOOKALIKES = [(301, 0), (301, 1), (300, 1), (300, 3)]


@pytest.fixture(scope="module")
def six_sets() -> dict[tuple[int, int, str], object]:
    """Issue 13's six copies of each look-alike scene, hashed once (ids are
    given per test)."""
    out = {}
    for seed, objects in LOOKALIKES:
        for name, im in photos.six_copies(photos.photo(seed, objects=objects)).items():
            out[(seed, objects, name)] = photos.item(0, im)
    return out


def _arrive(six_sets, order_seed: int) -> tuple[list, dict]:
    """The copies with ids in a shuffled arrival order; id -> label."""
    import dataclasses
    import random

    labels = list(six_sets)
    random.Random(order_seed).shuffle(labels)
    items = [dataclasses.replace(six_sets[lab], id=k, sha256=f"sha-{k}") for k, lab in enumerate(labels)]
    return items, dict(enumerate(labels))


@pytest.mark.parametrize("order_seed", range(8))
def test_six_copies_of_each_look_alike_end_in_one_group_whatever_the_arrival_order(six_sets, order_seed):
    items, label = _arrive(six_sets, order_seed)
    g = group_items(items)
    got = {frozenset(label[i] for i in grp.ids) for grp in g.similar}
    want = {frozenset(lab for lab in six_sets if lab[:2] == scene) for scene in LOOKALIKES}
    assert got == want  # every copy with its photo, look-alike scenes never together
    # Imported in three parts in that order: the same groups as at once.
    lib: list = []
    current = group_items([])
    for part in (items[:9], items[9:17], items[17:]):
        current = update_grouping(lib, current, part)
        lib += part
    assert current == g


def test_the_look_alike_scenes_are_close_but_not_similar(six_sets):
    """Otherwise the test above would prove nothing about keeping them apart."""
    for a, b in (LOOKALIKES[:2], LOOKALIKES[2:]):
        x, y = six_sets[(*a, "original")], six_sets[(*b, "original")]
        dist = (x.phash ^ y.phash).bit_count() + (x.dhash ^ y.dhash).bit_count()
        assert 20 < dist <= 32
    originals = [dataclasses_replace(six_sets[(*s, "original")], k) for k, s in enumerate(LOOKALIKES)]
    assert similar_pairs(originals) == []


def dataclasses_replace(item, k: int):
    import dataclasses

    return dataclasses.replace(item, id=k, sha256=f"sha-{k}")
