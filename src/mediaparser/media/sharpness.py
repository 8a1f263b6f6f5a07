"""How sharp a picture looks, measured cheaply on its thumbnail.

Used to choose among a burst's frames ("keep the sharpest N",
usecases.stacks): the frames show one scene, so the one with the most fine
detail is the one where the subject and the hand held still. The measure is
the variance of the Laplacian (the summed second differences) of the grey
thumbnail: motion blur and missed focus smooth the edges and lower it.

Pure: no Flask, no database.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_SIDE = 320  # the analysis thumbnails are this size; larger pictures are reduced first


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a 2-D grey array (0 for a picture under 3×3)."""
    g = grey.astype(np.float32)
    if g.ndim != 2 or g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    lap = (g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:]) - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def sharpness_of(path: str) -> float | None:
    """The sharpness of the picture at `path` (a thumbnail), or None when it cannot be read."""
    try:
        with Image.open(path) as img:
            img.draft("L", (MAX_SIDE, MAX_SIDE))
            grey = img.convert("L")
            if max(grey.size) > MAX_SIDE:
                grey.thumbnail((MAX_SIDE, MAX_SIDE))
            return laplacian_variance(np.asarray(grey))
    except (OSError, UnidentifiedImageError, ValueError):
        return None
