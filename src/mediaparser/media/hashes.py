"""Perceptual hashes (dHash, pHash) of an already oriented, reduced image.

Both are 64-bit integers. They are computed from the thumbnail, not the full
image: hashing the 320 px thumbnail differs from hashing the full image by at
most a bit or so, at a fraction of the cost, and because the thumbnail has EXIF
orientation applied, a rotated-by-tag copy hashes like the upright original.

Nearly uniform images (a blank sky, a black frame, a scanned white page, a
white wall darker at the corners) give almost arbitrary hashes from noise, so
they would all look alike. `detail` (the spread of the reduced image) and
`texture` (its spread beyond a smooth trend) let the similarity search keep
such images out (`low_detail`). Tiny images (an icon of a few pixels) are
kept out too: their 50 % copy has lost most of the picture, so their hashes
compare nothing.

`rotated_hashes` gives the same two hashes of the image turned 90° and 180°,
so similarity.py can recognise a copy whose *pixels* were turned (as opposed
to a copy turned by its EXIF orientation tag, which hashes like the upright
image already).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

_DCT_N = 32


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0, :] = np.sqrt(1.0 / n)
    return m


_DCT = _dct_matrix(_DCT_N)


def _trend_basis(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Basis 1, x, y, x², xy, y² over an n x n grid, and its pseudo-inverse.

    The least-squares trend of v is basis @ (pinv @ v): two thin products
    (12k multiply-adds) instead of the 1024x1024 projection matrix (1M), which
    cost ~1 ms per hash — three times per file with the rotated hashes."""
    y, x = np.mgrid[0:n, 0:n] / (n - 1) * 2.0 - 1.0
    basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1).reshape(-1, 6)
    return basis, np.linalg.pinv(basis)


_TREND_BASIS, _TREND_PINV = _trend_basis(_DCT_N)
_BITS = (1 << np.arange(63, -1, -1, dtype=np.uint64)).astype(np.uint64)

# Standard deviation (0..255 grey levels) of the 32x32 grey image below
# which an image counts as low-detail. Flat fills sit well under 6. On the
# 211 decodable images of corpus-dev every photograph is at 12 or more (a
# page of text 12.1, a dark code screenshot 12.2, a starfish on sand 13.7),
# while a white frame with one small bird in a corner is at 7.8 — and its
# hashes are unstable (a 5 % crop moves its pHash by 18 bits), which is
# exactly what this flag exists to catch. 10 sits between the two.
LOW_DETAIL_STD = 10.0

# A picture can have a large spread and still be nothing but a smooth trend:
# a sky gradient (spread 58), a white wall darker at the corners. Its hashes
# are the trend's plus noise, so every such picture looks alike. `texture` is
# the spread left after removing the best-fitting quadratic surface
# (brightness, gradient, vignette). Gradients and vignettes, even noisy, are
# under 0.4; the smoothest generated "photo" of the test helpers (six soft
# blobs) is at 2.7; corpus-dev photographs are at 10.4 or more.
LOW_TEXTURE_STD = 2.0

# Shortest side, in pixels, of the hashed (thumbnail) image below which the
# hashes compare nothing: an 8x12 icon and its half-size copy share no pixels
# worth the name.
MIN_SIDE = 32


@dataclass(frozen=True)
class PerceptualHashes:
    dhash: int
    phash: int
    detail: float  # standard deviation of the 32x32 grey image
    min_side: int | None = None  # shortest side of the hashed image, when known
    texture: float | None = None  # spread of the 32x32 grey image beyond a smooth (quadratic) trend

    @property
    def low_detail(self) -> bool:
        """Too flat, too smooth or too small for its hashes to mean anything."""
        return (self.detail < LOW_DETAIL_STD
                or (self.texture is not None and self.texture < LOW_TEXTURE_STD)
                or (self.min_side is not None and self.min_side < MIN_SIDE))


@dataclass(frozen=True)
class RotatedHashes:
    """Hashes of the oriented image turned counter-clockwise by 90° and 180°."""

    rot90: PerceptualHashes
    rot180: PerceptualHashes


def _pack(bits: np.ndarray) -> int:
    return int(np.bitwise_or.reduce(_BITS[bits.ravel()])) if bits.any() else 0


def _grey(img: Image.Image, size: tuple[int, int]) -> np.ndarray:
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGBA") if "A" in img.mode or img.mode == "P" else img.convert("RGB")
        if img.mode == "RGBA":
            bg = Image.new("RGB", img.size, (255, 255, 255))
            bg.paste(img, mask=img.getchannel("A"))
            img = bg
    return np.asarray(img.convert("L").resize(size, Image.Resampling.BILINEAR), dtype=np.float64)


def dhash(img: Image.Image) -> int:
    """Horizontal gradient hash: 8 rows of 8 left/right comparisons."""
    g = _grey(img, (9, 8))
    return _pack(g[:, 1:] > g[:, :-1])


def phash(img: Image.Image) -> int:
    """DCT hash: the 8x8 lowest frequencies of a 32x32 image against their median."""
    return _phash_of(_grey(img, (_DCT_N, _DCT_N)))


def _phash_of(g: np.ndarray) -> int:
    coeffs = _DCT @ g @ _DCT.T
    low = coeffs[:8, :8]
    med = np.median(low.ravel()[1:])  # the DC term would dominate the median
    return _pack(low > med)


def perceptual_hashes(img: Image.Image) -> PerceptualHashes:
    g32 = _grey(img, (_DCT_N, _DCT_N))
    return PerceptualHashes(dhash=dhash(img), phash=_phash_of(g32), detail=float(g32.std()),
                            min_side=min(img.size), texture=texture_of(g32))


def texture_of(g32: np.ndarray) -> float:
    """Standard deviation of a 32x32 grey image beyond its quadratic trend."""
    v = g32.ravel()
    return float((v - _TREND_BASIS @ (_TREND_PINV @ v)).std())


def rotated_hashes(img: Image.Image) -> RotatedHashes:
    """pHash/dHash of the same (oriented, reduced) image turned 90° and 180°.

    Computed at analysis time from the thumbnail — the turn is lossless and
    costs about a millisecond — and stored beside the upright hashes. 270° is
    not needed: a copy turned 270° is found by turning *it* 90°.
    """
    return RotatedHashes(
        rot90=perceptual_hashes(img.transpose(Image.Transpose.ROTATE_90)),
        rot180=perceptual_hashes(img.transpose(Image.Transpose.ROTATE_180)),
    )


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def to_hex(h: int) -> str:
    return f"{h:016x}"


def from_hex(s: str) -> int:
    return int(s, 16)
