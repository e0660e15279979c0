"""Fixed pseudo-colour palettes: one colour per category id (semantic), per instance (instance/panoptic)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from sgt.seeding import rng_for

BACKGROUND = (0, 0, 0)  # unlabelled pixels


@lru_cache(maxsize=1)
def _category_table() -> npt.NDArray[np.uint8]:
    """216 distinct, bright-enough colours in a seeded order: category id ``c`` gets row ``c``."""
    levels = np.array([40, 80, 120, 160, 200, 240], np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    order = rng_for(0, "semantic-palette").permutation(len(grid))
    return grid[order]


def rgb_key(rgb: npt.ArrayLike) -> npt.NDArray[np.int32]:
    """One int per colour (``r << 16 | g << 8 | b``), for set operations and lookups on pixels."""
    a = np.asarray(rgb).astype(np.int32)
    return (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]


def category_color(category_id: int) -> tuple[int, int, int]:
    """The colour of category ``category_id`` in semantic targets; distinct for ids 0..215 (COCO: <= 200)."""
    table = _category_table()
    if not 0 <= category_id < len(table):
        raise ValueError(f"category id {category_id} outside the palette (0..{len(table) - 1})")
    r, g, b = table[category_id]
    return int(r), int(g), int(b)


def category_of_color(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    """Invert ``category_color`` per pixel (-1 for background or unknown colours)."""
    key = rgb_key(_category_table())
    lut = dict(zip(key.tolist(), range(len(key)), strict=True))
    uniq, inv = np.unique(rgb_key(rgb.reshape(-1, 3)), return_inverse=True)
    mapped = np.array([lut.get(int(k), -1) for k in uniq], np.int32)
    return mapped[inv].reshape(rgb.shape[:2])


def category_lut() -> npt.NDArray[np.uint8]:
    """216x3 lookup table: ``lut[ids]`` colours a whole category-id map at once (id 0 = background)."""
    lut = _category_table().copy()
    lut[0] = BACKGROUND
    return lut


@lru_cache(maxsize=1)
def _instance_grid() -> npt.NDArray[np.uint8]:
    """1000 colours on a 10-level grid (no black): enough distinct instance colours for any COCO image."""
    levels = np.linspace(25, 255, 10).round().astype(np.uint8)
    return np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)


def instance_colors(
    n: int, rng: np.random.Generator, exclude: npt.ArrayLike | None = None
) -> npt.NDArray[np.uint8]:
    """``n`` distinct random colours, none black and none in ``exclude`` (e.g. the stuff-class colours)."""
    grid = _instance_grid()
    if exclude is not None and np.size(exclude):
        grid = grid[~np.isin(rgb_key(grid), rgb_key(np.asarray(exclude).reshape(-1, 3)))]
    if n > len(grid):
        raise ValueError(f"{n} instances exceed the {len(grid)} distinct instance colours")
    return grid[rng.permutation(len(grid))[:n]]
