"""Known ways a depth map goes wrong: to measure the filter, and for the demo's stand-in estimator."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Map = npt.NDArray[np.float32]


def flip(values: Map, rng: np.random.Generator) -> Map:
    """Upside down: the ground plane (near at the bottom) ends up at the top."""
    return values[::-1].copy()


def shuffle_blocks(values: Map, rng: np.random.Generator, grid: int = 4) -> Map:
    """Cut into grid x grid blocks and permute them (never the identity): locally right, globally wrong."""
    h, w = values.shape[0] // grid * grid, values.shape[1] // grid * grid
    bh, bw = h // grid, w // grid
    blocks = values[:h, :w].reshape(grid, bh, grid, bw).swapaxes(1, 2).reshape(grid * grid, bh, bw)
    order = rng.permutation(grid * grid)
    while np.array_equal(order, np.arange(grid * grid)):
        order = rng.permutation(grid * grid)
    out = values.copy()
    out[:h, :w] = blocks[order].reshape(grid, grid, bh, bw).swapaxes(1, 2).reshape(h, w)
    return out


def invert(values: Map, rng: np.random.Generator) -> Map:
    """Near becomes far over the same range: what a disparity map mistaken for depth looks like."""
    finite = values[np.isfinite(values)]
    return (finite.max() + finite.min() - values).astype(np.float32)


CORRUPTIONS: dict[str, Callable[[Map, np.random.Generator], Map]] = {
    "flip": flip,
    "shuffle_blocks": shuffle_blocks,
    "invert": invert,
}


def corruption_for(seed: int, image_id: int, fraction: float) -> str | None:
    """Which corruption (if any) hits ``image_id``: a seeded per-image draw, so sharding never changes it."""
    from sgt.seeding import rng_for

    rng = rng_for(seed, "corrupt_draw", int(image_id))
    if rng.random() >= fraction:
        return None
    kinds = list(CORRUPTIONS)
    return kinds[int(rng.integers(len(kinds)))]
