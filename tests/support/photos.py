"""Generated photo-like pictures and the analysis-style hashing of them.

A photograph has structure at every scale: large soft regions, objects with
edges, texture. Pure per-pixel noise has none of that (reduced to 32x32 it
averages to flat grey), so the pictures here are built from a smooth random
field, drawn shapes and a finer random texture. Different seeds give
unrelated pictures.

Hashing follows analysis: decode, apply the EXIF orientation, reduce to the
320 px thumbnail (`thumbnails.prepare_frame`), then the perceptual hashes of
that image and of it turned 90° and 180°.
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from mediaparser.media.hashes import perceptual_hashes, rotated_hashes
from mediaparser.media.similarity import HashItem, hash_item
from mediaparser.media.thumbnails import prepare_frame

SIZE = (640, 480)


def _field(rng: np.random.Generator, cells: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    small = Image.fromarray(rng.uniform(0, 255, (cells[1], cells[0], 3)).astype(np.uint8))
    return np.asarray(small.resize(size, Image.Resampling.BICUBIC), dtype=np.float64)


def photo(seed: int, size: tuple[int, int] = SIZE, objects: int | None = None) -> Image.Image:
    """A picture; `objects` (a second seed) draws the last four of its ten
    things differently in front of the same background and the same first
    six: a look-alike of a different scene."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = 0.75 * _field(rng, (5, 4), size) + 0.25 * _field(rng, (24, 18), size)
    pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pic)
    for k in range(10):
        if k == 6 and objects is not None:
            rng = np.random.default_rng([seed, objects])
        x0, y0 = rng.uniform(-0.1, 0.9) * w, rng.uniform(-0.1, 0.9) * h
        x1, y1 = x0 + rng.uniform(0.08, 0.45) * w, y0 + rng.uniform(0.08, 0.45) * h
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    pic = pic.filter(ImageFilter.GaussianBlur(1.5))
    grain = rng.normal(0, 3, (h, w, 3))
    return Image.fromarray(np.clip(np.asarray(pic, dtype=np.float64) + grain, 0, 255).astype(np.uint8))


def blank(colour: tuple[int, int, int], size: tuple[int, int] = SIZE, noise: float = 2.0, seed: int = 0) -> Image.Image:
    """A nearly uniform picture: a grey card, a black frame, a white page."""
    rng = np.random.default_rng(seed)
    arr = np.full((size[1], size[0], 3), colour, dtype=np.float64) + rng.normal(0, noise, (size[1], size[0], 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    """The bytes of `img` written by the real encoder (HEIF via pillow-heif)."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def reencode(img: Image.Image, fmt: str, **kw) -> Image.Image:
    """Write and read back, so the hashes see what the decoder returns."""
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    out = Image.open(io.BytesIO(encode(img, fmt, **kw)))
    out.load()
    return out


def with_orientation_tag(img: Image.Image, orientation: int) -> Image.Image:
    """A JPEG whose stored pixels are turned so that `orientation` (EXIF
    0x0112) turns them back to `img` — what a phone held sideways writes."""
    undo = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    return reencode(img.transpose(undo), "JPEG", quality=92, exif=exif.tobytes())


def crop(img: Image.Image, share: float) -> Image.Image:
    """`share` of width and height cut away, centred."""
    w, h = img.size
    cw, ch = round(w * share / 2), round(h * share / 2)
    return img.crop((cw, ch, w - cw, h - ch))


def six_copies(img: Image.Image) -> dict[str, Image.Image]:
    """Issue 13's copies of one photo: the original, a 50 % resize, JPEG
    quality 70, PNG, a centred crop keeping 95 % of width and height, and
    the pixels turned 90°."""
    return {
        "original": reencode(img, "JPEG", quality=92),
        "resize": reencode(img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS), "JPEG",
                           quality=90),
        "jpeg70": reencode(img, "JPEG", quality=70),
        "png": reencode(img, "PNG"),
        "crop": reencode(crop(img, 0.05), "JPEG", quality=90),
        "turned": reencode(img.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90),
    }


def thumb(img: Image.Image) -> Image.Image:
    return prepare_frame(ImageOps.exif_transpose(img))


def item(id: int, img: Image.Image, sha256: str | None = None) -> HashItem:
    """The grouping input for a picture, hashed the way analysis does."""
    t = thumb(img)
    return hash_item(id, sha256 or f"sha-{id}", perceptual_hashes(t), rotated_hashes(t))


def make_sources(root: Path) -> None:
    """Two folders under root/src as two imports would see them: four photos, an exact copy, a
    smaller and a turned copy, an unrelated photo and two blank pictures (SOURCES_GROUPS)."""
    a, b = root / "src" / "a_phone", root / "src" / "b_backup"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    for seed in range(4):
        photo(seed).save(a / f"IMG_{seed}.jpg", quality=92)
    shutil.copy(a / "IMG_0.jpg", b / "IMG_0 copy.jpg")  # byte-identical copy, another import
    big = photo(1)
    big.resize((big.width // 2, big.height // 2), Image.Resampling.LANCZOS).save(b / "small_1.jpg", quality=80)
    photo(2).rotate(90, expand=True).save(b / "turned_2.png")
    photo(9).save(b / "IMG_9.jpg", quality=92)  # unrelated
    Image.new("RGB", (640, 480), (250, 250, 250)).save(b / "blank1.jpg")
    Image.new("RGB", (320, 240), (250, 250, 251)).save(b / "blank2.png")


# The groups make_sources must give, as (kind, {path relative to root/src}).
SOURCES_GROUPS = {
    ("exact", frozenset({"a_phone/IMG_0.jpg", "b_backup/IMG_0 copy.jpg"})),
    ("similar", frozenset({"a_phone/IMG_1.jpg", "b_backup/small_1.jpg"})),
    ("similar", frozenset({"a_phone/IMG_2.jpg", "b_backup/turned_2.png"})),
}
