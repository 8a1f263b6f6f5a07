"""Near-duplicate quality on real photos: recall per transform, false groups.

Usage:
    .venv/bin/python bench/dup_quality.py [CORPUS_DIR] [--max-distance N] [--radius R]
                                          [--sweep] [--show-groups] [--workers N]

CORPUS_DIR defaults to $MEDIAPARSER_CORPUS, else ../shared/corpus-dev next to
the repository; the benchmark skips, with a message, when it is absent. Every
file under its `media/` that Pillow opens (HEIC through pillow-heif) is an
original. For each original the benchmark writes, in a temporary folder:

    resize50     half width and height (PNG, so only the resize is measured)
    jpeg70       re-encoded as JPEG quality 70 (alpha flattened on white first)
    png          converted to PNG
    webp         converted to WebP quality 80
    heic         converted to HEIC quality 80
    crop5        5 % of width and height cut away, centred (2.5 % per side)
    crop5-corner 5 % cut from the left and top edges only (informational:
                 the picture also shifts, which is harder)
    rot90        pixels turned 90° and saved (no orientation tag)
    rot90-tag    pixels turned 90° and an EXIF Orientation tag that turns
                 them back — what a phone writes
    crop5-rot90  the centred 5 % crop, then turned 90° (a turned-and-cropped copy)

Every file is hashed the way analysis does it (decoded, EXIF orientation
applied, reduced by `thumbnails.prepare_frame` to 320 px, then
`hashes.perceptual_hashes` and `hashes.rotated_hashes`), and grouped by two
rules in the same run: "before" (the rule up to issue 13, re-implemented
here over `similarity.similar_pairs`: an item leads unless an earlier id
leads a similar item) and "now" (`similarity.group_items`). Reported:

- recall per transform, all variants of every photo at once: share of
  eligible originals whose variant ended in the original's group, and share
  for which the similar pair exists at all ("paired": the ceiling of any
  grouping). Eligible: the original is not low-detail/tiny. A variant that
  becomes low-detail (a half-size copy of a 40 px icon) counts as a miss.
- the issue's six copies (original, resize50, jpeg70, png, crop5, rot90) of
  every photo at once, with ids drawn in SHUFFLES random arrival orders:
  share of (photo, order) where each copy is in the original's group, and
  where all six are together; groups mixing two pictures.
- natural pairs: pairs of distinct corpus files (neither low-detail/tiny)
  that an independent pixel check calls the same picture (normalised correlation of 64x64 grey images
  >= 0.8 in the best of the four 90° turns, and of their details — each
  minus its blur — >= 0.5 in that turn: the same test picture in two
  projects, orientation test sets, edits), found in one group among the
  untouched originals; --show-groups lists them.
- false groups among the untouched originals alone (a member that is not the
  same picture as the first by that pixel check), and groups mixing
  derivatives of two different pictures in the full run.

Targets (issues 4 and 13): recall >= 95 % for every transform including the
crop, natural pairs >= 90 %, zero false groups. `--sweep` prints the
figures for a grid of (radius, max distance) from one hashing pass.
"""
from __future__ import annotations

import argparse
import io
import os
import pickle
import random
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))

import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

from mediaparser.media.hashes import perceptual_hashes, rotated_hashes  # noqa: E402
from mediaparser.media.similarity import HashItem, SimilarityParams, group_items, hash_item, similar_pairs
from mediaparser.media.thumbnails import prepare_frame  # noqa: E402

TRANSFORMS = ["resize50", "jpeg70", "png", "webp", "heic", "crop5", "crop5-corner", "rot90", "rot90-tag",
              "crop5-rot90"]
# The set: every photo present as these six copies at once, arriving
# in a shuffled order (ids drawn at random) several times.
SIX = ["original", "resize50", "jpeg70", "png", "crop5", "rot90"]
SHUFFLES = 5
TARGETS = {"resize50": 0.95, "jpeg70": 0.95, "png": 0.95, "webp": 0.95, "heic": 0.95, "crop5": 0.95,
           "rot90": 0.95, "rot90-tag": 0.95}
# Working copies are reduced to this longest side before the variants are
# made: hashing looks at 320 px, and HEIC-encoding a 30 MP scan costs seconds.
WORK_SIDE = 2048


def _default_corpus() -> str:
    return os.environ.get("MEDIAPARSER_CORPUS") or os.path.normpath(
        os.path.join(HERE, "..", "..", "shared", "corpus-dev"))


def _register_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()


def _flatten(img: Image.Image) -> Image.Image:
    """RGB on white, as a converter to an alpha-less format should do."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return prepare_frame(img, max(img.size))
    return img.convert("RGB")


def load_oriented(path: str) -> Image.Image:
    with Image.open(path) as im:
        im.seek(0)
        img = ImageOps.exif_transpose(im)
        img.load()
        return img


def thumb_of(path: str) -> Image.Image:
    """The image analysis hashes: oriented, RGB, longest side 320."""
    return prepare_frame(load_oriented(path))


def hash_file(path: str) -> tuple:
    t = thumb_of(path)
    return perceptual_hashes(t), rotated_hashes(t)


def make_variants(path: str, out_dir: str) -> dict[str, str]:
    img = _flatten(load_oriented(path))
    if max(img.size) > WORK_SIDE:
        img.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    w, h = img.size
    out: dict[str, str] = {}

    def save(name: str, im: Image.Image, fmt: str, ext: str, **kw) -> None:
        if name not in TRANSFORMS:  # --transforms left it out
            return
        p = os.path.join(out_dir, f"{name}.{ext}")
        if fmt == "PNG":
            kw.setdefault("compress_level", 1)  # lossless either way; level 6 costs seconds per file
        im.save(p, fmt, **kw)
        out[name] = p

    save("resize50", img.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS), "PNG", "png")
    save("jpeg70", img, "JPEG", "jpg", quality=70)
    save("png", img, "PNG", "png")
    save("webp", img, "WEBP", "webp", quality=80)
    save("heic", img, "HEIF", "heic", quality=80)
    cw, ch = round(w * 0.025), round(h * 0.025)
    save("crop5", img.crop((cw, ch, w - cw, h - ch)), "PNG", "png")
    save("crop5-corner", img.crop((2 * cw, 2 * ch, w, h)), "PNG", "png")
    save("rot90", img.transpose(Image.Transpose.ROTATE_90), "PNG", "png")
    # Orientation 6 = "turn 90° clockwise to view": store the pixels turned
    # counter-clockwise, as a phone held sideways does.
    exif = Image.Exif()
    exif[0x0112] = 6
    save("rot90-tag", img.transpose(Image.Transpose.ROTATE_90), "JPEG", "jpg", quality=95, exif=exif.tobytes())
    save("crop5-rot90", img.crop((cw, ch, w - cw, h - ch)).transpose(Image.Transpose.ROTATE_90), "PNG", "png")
    return out


def _work(args: tuple[int, str, str, bool]) -> tuple[int, str, dict | None, str | None]:
    """Hash one original and (unless left out by --sample) its variants (in a worker process)."""
    k, path, tmp, variants = args
    warnings.filterwarnings("ignore")
    _register_heif()
    try:
        hashes = {"original": hash_file(path)}
        vdir = os.path.join(tmp, str(k))
        os.makedirs(vdir, exist_ok=True)
        for name, vp in (make_variants(path, vdir) if variants else {}).items():
            hashes[name] = hash_file(vp)
        grey = _grey64(thumb_of(path))
        return k, path, {"hashes": hashes, "grey": grey}, None
    except Exception as e:  # noqa: BLE001 — a benchmark reports and goes on
        return k, path, None, f"{type(e).__name__}: {e}"


def _grey64(img: Image.Image) -> np.ndarray:
    g = np.asarray(img.convert("L").resize((64, 64), Image.Resampling.BILINEAR), dtype=np.float64)
    g -= g.mean()
    return g / (np.linalg.norm(g) or 1.0)


def _detail(g: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    """The 64x64 grey image minus its Gaussian blur (the edges and texture), normalised."""
    r = int(3 * sigma)
    x = np.arange(-r, r + 1)
    kern = np.exp(-x * x / (2 * sigma * sigma))
    kern /= kern.sum()
    pad = np.pad(g, r, mode="reflect")
    blur = np.apply_along_axis(lambda v: np.convolve(v, kern, "valid"), 1, pad)
    blur = np.apply_along_axis(lambda v: np.convolve(v, kern, "valid"), 0, blur)
    d = g - blur
    d -= d.mean()
    return d / (np.linalg.norm(d) or 1.0)


def same_picture(a: np.ndarray, b: np.ndarray, limit: float = 0.8, detail_limit: float = 0.5) -> bool:
    """Independent of the hashes: pixel correlation in the best 90° turn,
    and in that turn the correlation of the details (edges, texture) too.
    The plain correlation alone calls two different photos with the same
    light-to-dark layout (sky above, road below) the same picture: 0.81-0.84
    for corpus-dev's desk vs highway, highway vs screenshot and lionfish vs
    sharks, whose details correlate at -0.03..0.12; true copies and edits
    correlate at >= 0.8 in both."""
    cors = [float((a * np.rot90(b, k)).sum()) for k in range(4)]
    k = int(np.argmax(cors))
    return cors[k] >= limit and float((_detail(a) * np.rot90(_detail(b), k)).sum()) >= detail_limit


def find_images(root: str) -> list[str]:
    _register_heif()
    found = []
    for d, _, files in os.walk(root):
        for f in sorted(files):
            p = os.path.join(d, f)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with Image.open(p) as im:
                        im.load()
                found.append(p)
            except Exception:  # noqa: BLE001 — not an image Pillow can open
                continue
    return sorted(found)


@dataclass
class Corpus:
    paths: list[str]
    data: list[dict]


def groups_before(items: list[HashItem], params: SimilarityParams) -> list[list[int]]:
    """The grouping rule before issue 13, for the before/after figures: an
    item leads unless an earlier (smaller id) leader is similar to it; every
    other item joins its nearest similar leader (ties: the earlier)."""
    nbr: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for p in similar_pairs(items, params):
        nbr[p.a].append((p.distance, p.b))
        nbr[p.b].append((p.distance, p.a))
    lead: dict[int, bool] = {}
    for v in sorted(nbr):
        lead[v] = not any(lead.get(u, False) for _, u in nbr[v] if u < v)
    out: dict[int, list[int]] = defaultdict(list)
    for v in sorted(nbr):
        out[v if lead[v] else min((d, u) for d, u in nbr[v] if lead.get(u, False))[1]].append(v)
    return [g for g in out.values() if len(g) > 1]


def groups_now(items: list[HashItem], params: SimilarityParams) -> list[list[int]]:
    return [g.ids for g in group_items(items, params).similar]


RULES = {"before": groups_before, "now": groups_now}


def _group_of(groups: list[list[int]]) -> dict[int, int]:
    return {x: gi for gi, g in enumerate(groups) for x in g}


def _items(c: Corpus, names: list[str], ids: list[int] | None = None) -> tuple[list[HashItem], dict[int, tuple[int, str]]]:
    """Every original's copies `names`; ids in that order unless given."""
    items, origin = [], {}
    k_n = [(k, name) for name in names for k in range(len(c.data))]
    for x, (k, name) in enumerate(k_n):
        if name not in c.data[k]["hashes"]:
            continue  # an original --sample made no variants of
        iid = x if ids is None else ids[x]
        ph, rot = c.data[k]["hashes"][name]
        items.append(hash_item(iid, f"{iid}", ph, rot))  # distinct content per file: no SHA-256 collapse
        origin[iid] = (k, name)
    return items, origin


def _mixed(c: Corpus, groups: list[list[int]], origin: dict[int, tuple[int, str]]) -> int:
    """Groups holding copies of two originals that are not the same picture."""
    mixed = 0
    for g in groups:
        ks = sorted({origin[x][0] for x in g})
        rep = c.data[ks[0]]["grey"]
        mixed += not all(same_picture(rep, c.data[x]["grey"]) for x in ks[1:])
    return mixed


def evaluate(c: Corpus, params: SimilarityParams, *, show_groups: bool = False, quiet: bool = False) -> dict:
    n = len(c.paths)
    names = ["original", *TRANSFORMS]
    items, origin = _items(c, names)  # original k has id k, variant t of it (1 + t) * n + k
    eligible = [k for k, d in enumerate(c.data) if not d["hashes"]["original"][0].low_detail
                and all(name in d["hashes"] for name in names)]
    paired = {(p.a, p.b) for p in similar_pairs(items, params)}
    res: dict = {"eligible": len(eligible), "originals": n, "seconds": {}, "recall": {}, "six": {},
                 "false_groups": {}, "groups_originals": {}, "mixed_groups": {}, "natural": {}}

    for rule, grouper in RULES.items():
        t0 = time.perf_counter()
        groups = grouper(items, params)
        res["seconds"][rule] = time.perf_counter() - t0
        gof = _group_of(groups)
        for ti, name in enumerate(TRANSFORMS, start=1):
            hits = sum(1 for k in eligible if k in gof and gof.get(ti * n + k) == gof[k])
            res["recall"].setdefault(name, {})[rule] = hits / max(len(eligible), 1)
        res["mixed_groups"][rule] = _mixed(c, groups, origin)

        # The six copies of every photo at once, arriving in shuffled orders.
        six_hits: dict[str, int] = defaultdict(int)
        mixed = 0
        for shuffle in range(SHUFFLES):
            ids = list(range(len(SIX) * n))
            random.Random(shuffle).shuffle(ids)
            six_items, six_origin = _items(c, SIX, ids)
            gof6 = _group_of(grouper(six_items, params))
            mixed += _mixed(c, grouper(six_items, params), six_origin)
            where = {v: k for k, v in six_origin.items()}
            for k in eligible:
                o = gof6.get(where[(k, "original")])
                got = [o is not None and gof6.get(where[(k, name)]) == o for name in SIX[1:]]
                for name, ok in zip(SIX[1:], got):
                    six_hits[name] += ok
                six_hits["all six"] += all(got)
        total = max(len(eligible), 1) * SHUFFLES
        res["six"][rule] = ({name: six_hits[name] / total for name in [*SIX[1:], "all six"]}, mixed)

        # The untouched originals alone: false groups, and the natural pairs
        # (distinct corpus files that are the same picture by the pixel check).
        og = grouper([it for it in items if it.id < n], params)
        false_groups = [g for g in og if not all(same_picture(c.data[g[0]]["grey"], c.data[x]["grey"]) for x in g[1:])]
        res["groups_originals"][rule] = len(og)
        res["false_groups"][rule] = len(false_groups)
        ogof = _group_of(og)
        hashable = [k for k in range(n) if not c.data[k]["hashes"]["original"][0].low_detail]
        natural = [(i, j) for x, i in enumerate(hashable) for j in hashable[x + 1:]
                   if same_picture(c.data[i]["grey"], c.data[j]["grey"])]
        found = [(i, j) for i, j in natural if i in ogof and ogof.get(j) == ogof[i]]
        res["natural"][rule] = (len(found), len(natural))
        if show_groups and not quiet:
            root = os.path.commonpath(c.paths) if c.paths else ""
            for i, j in natural:
                mark = "found " if (i, j) in found else "MISSED"
                print(f"  [{rule}] natural pair {mark}: {os.path.relpath(c.paths[i], root)} | "
                      f"{os.path.relpath(c.paths[j], root)}")
            for g in false_groups:
                print(f"  [{rule}] FALSE group: " + " | ".join(os.path.relpath(c.paths[x], root) for x in g))
    res["paired"] = {name: sum((k, ti * n + k) in paired for k in eligible) / max(len(eligible), 1)
                     for ti, name in enumerate(TRANSFORMS, start=1)}
    return res


def print_report(res: dict, params: SimilarityParams) -> None:
    print(f"\nparams: search radius {params.search_radius}, max distance {params.max_distance}, "
          f"rotations {params.rotations}")
    print(f"originals: {res['originals']} decodable, {res['eligible']} eligible (not low-detail/tiny)")
    rules = list(RULES)
    print("\nall variants of every photo at once (ids: originals first):")
    print(f"{'transform':<14}" + "".join(f"{r:>9}" for r in rules) + f"{'paired':>9}{'target':>9}")
    for name in TRANSFORMS:
        tgt = TARGETS.get(name)
        now = res["recall"][name]["now"]
        flag = "" if tgt is None else ("  ok" if now >= tgt else "  MISS")
        print(f"{name:<14}" + "".join(f"{res['recall'][name][r]:>9.1%}" for r in rules)
              + f"{res['paired'][name]:>9.1%}{(f'{tgt:.0%}' if tgt else '-'):>9}{flag}")
    print(f"\nthe issue's six copies of every photo ({', '.join(SIX)}), {SHUFFLES} shuffled arrival orders:")
    print(f"{'copy':<14}" + "".join(f"{r:>9}" for r in rules))
    for name in [*SIX[1:], "all six"]:
        print(f"{name:<14}" + "".join(f"{res['six'][r][0][name]:>9.1%}" for r in rules))
    print(f"{'mixed groups':<14}" + "".join(f"{res['six'][r][1]:>9}" for r in rules))
    print()
    for r in rules:
        nf, nt = res["natural"][r]
        print(f"[{r}] natural pairs in one group: {nf} of {nt}; similar groups among originals: "
              f"{res['groups_originals'][r]}, false: {res['false_groups'][r]} (target 0); groups mixing "
              f"different pictures in the full run: {res['mixed_groups'][r]}; grouping "
              f"{res['originals'] * (1 + len(TRANSFORMS))} items took {res['seconds'][r]:.3f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpus", nargs="?", default=_default_corpus())
    ap.add_argument("--max-distance", type=int, default=SimilarityParams().max_distance)
    ap.add_argument("--radius", type=int, default=SimilarityParams().search_radius)
    ap.add_argument("--no-rotations", action="store_true")
    ap.add_argument("--sweep", action="store_true", help="also print a grid of (radius, max distance)")
    ap.add_argument("--show-groups", action="store_true", help="list the groups found among the originals")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", help="pickle file keeping the hashes between runs (for threshold iterations)")
    ap.add_argument("--transforms", nargs="+", choices=TRANSFORMS, help="make only these variants (faster)")
    ap.add_argument("--sample", type=int, help="make variants of this many originals only, evenly spread "
                    "(every original still takes part in the natural pairs and false groups)")
    args = ap.parse_args(argv)
    if args.transforms:
        TRANSFORMS[:] = [t for t in TRANSFORMS if t in args.transforms]
        SIX[:] = [t for t in SIX if t == "original" or t in TRANSFORMS]

    media = os.path.join(args.corpus, "media")
    if not os.path.isdir(media):
        print(f"dup_quality: corpus not found at {args.corpus} (expected a media/ folder); skipped.")
        return 0
    t0 = time.perf_counter()
    if args.cache and os.path.exists(args.cache):
        with open(args.cache, "rb") as fh:
            corpus = pickle.load(fh)
        print(f"hashes of {len(corpus.paths)} originals read from {args.cache}")
    else:
        paths = find_images(media)
        data: list[dict | None] = [None] * len(paths)
        errors = []
        with tempfile.TemporaryDirectory(prefix="dupq-") as tmp, ProcessPoolExecutor(args.workers) as ex:
            step = len(paths) / args.sample if args.sample else 1.0
            chosen = {int(i * step) for i in range(args.sample)} if args.sample else set(range(len(paths)))
            jobs = [(k, p, tmp, k in chosen) for k, p in enumerate(paths)]
            for k, path, d, err in ex.map(_work, jobs, chunksize=2):
                if err:
                    errors.append((path, err))
                data[k] = d
        keep = [k for k, d in enumerate(data) if d is not None]
        corpus = Corpus([paths[k] for k in keep], [data[k] for k in keep])  # type: ignore[misc]
        print(f"hashed {len(keep)} originals x {1 + len(TRANSFORMS)} files in {time.perf_counter() - t0:.1f} s"
              + (f"; {len(errors)} originals failed: " + "; ".join(f"{os.path.basename(p)}: {e}" for p, e in errors)
                 if errors else ""))
        if args.cache:
            with open(args.cache, "wb") as fh:
                pickle.dump(corpus, fh)

    params = SimilarityParams(max_distance=args.max_distance, search_radius=args.radius,
                              rotations=not args.no_rotations)
    res = evaluate(corpus, params, show_groups=args.show_groups)
    print_report(res, params)

    if args.sweep:
        print("\nsweep: grouped recall per transform / false groups among originals / mixed groups")
        head = "".join(f"{n[:9]:>10}" for n in TRANSFORMS)
        print(f"{'R':>3}{'S':>4}{head}{'false':>7}{'mixed':>7}")
        for r in (4, 5, 6, 7, 8):
            for s in (12, 14, 16, 18, 20, 22, 24, 26):
                p = SimilarityParams(max_distance=s, search_radius=r, rotations=not args.no_rotations)
                rr = evaluate(corpus, p, quiet=True)
                cells = "".join(f"{rr['recall'][n]['now']:>10.1%}" for n in TRANSFORMS)
                print(f"{r:>3}{s:>4}{cells}{rr['false_groups']['now']:>7}{rr['mixed_groups']['now']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
