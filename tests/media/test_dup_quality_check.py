"""bench/dup_quality.py's pixel check, which decides what counts as a natural
pair and as a false group, on generated pictures."""
from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw

from bench.dup_quality import _grey64, same_picture
from mediaparser.media.thumbnails import prepare_frame


def scene(seed: int, size=(480, 320)) -> Image.Image:
    """Bright sky above, dark ground below (the layout dominates the plain
    correlation), with this seed's own shapes on it (the details)."""
    w, h = size
    ramp = np.linspace(230, 40, h)[:, None].repeat(w, 1)
    img = Image.fromarray(np.stack([ramp, ramp * 0.9, ramp * 0.8], -1).astype(np.uint8))
    draw, rng = ImageDraw.Draw(img), random.Random(seed)
    for _ in range(40):
        x, y = rng.randrange(w), rng.randrange(h)
        shade = rng.choice([-30, 30])
        fill = tuple(max(0, min(255, c + shade)) for c in img.getpixel((x, y)))
        draw.rectangle((x, y, x + rng.randint(8, 40), y + rng.randint(8, 40)), fill=fill)
    return img


def grey(img: Image.Image) -> np.ndarray:
    return _grey64(prepare_frame(img))


def plain(a: np.ndarray, b: np.ndarray) -> float:
    return max(float((a * np.rot90(b, k)).sum()) for k in range(4))


def test_two_photos_with_the_same_light_layout_are_not_the_same_picture():
    a, b = grey(scene(1)), grey(scene(2))
    assert plain(a, b) >= 0.8  # what the check alone used to call the same picture
    assert not same_picture(a, b)


def test_copies_and_edits_of_one_photo_are_the_same_picture():
    img = scene(1)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    w, h = img.size
    copies = [img.resize((w // 2, h // 2)), img.convert("L"), img.transpose(Image.Transpose.ROTATE_90),
              Image.open(io.BytesIO(buf.getvalue())), img.crop((w // 40, h // 40, w - w // 40, h - h // 40))]
    for copy in copies:
        assert same_picture(grey(img), grey(copy))
