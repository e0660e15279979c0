"""Fixed pseudo-colour palettes: one colour per category id (semantic), per instance (instance/panoptic)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from sgt.seeding import rng_for

BACKGROUND = (0, 0, 0)  # unlabelled pixels


@lru_cache(maxsize=1)
def _category_table() -> npt.NDArray[np.uint8]:
    """256 distinct, bright-enough colours in a seeded order: category id ``c`` gets row ``c``."""
    levels = np.array([40, 80, 120, 160, 200, 240], np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    order = rng_for(0, "semantic-palette").permutation(len(grid))
    return grid[order][:256]


def category_color(category_id: int) -> tuple[int, int, int]:
    """The colour of category ``category_id`` in semantic targets; distinct for ids 0..255."""
    if not 0 <= category_id < 256:
        raise ValueError(f"category id {category_id} outside the palette (0..255)")
    r, g, b = _category_table()[category_id]
    return int(r), int(g), int(b)


def category_of_color(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    """Invert ``category_color`` per pixel (-1 for background or unknown colours)."""
    table = _category_table().astype(np.int32)
    key = (table[:, 0] << 16) | (table[:, 1] << 8) | table[:, 2]
    lut = dict(zip(key.tolist(), range(len(key)), strict=True))
    flat = rgb.reshape(-1, 3).astype(np.int32)
    keys = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    uniq, inv = np.unique(keys, return_inverse=True)
    mapped = np.array([lut.get(int(k), -1) for k in uniq], np.int32)
    return mapped[inv].reshape(rgb.shape[:2])


def distinct_colors(n: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    """``n`` distinct random non-black colours (instance colourings)."""
    table = _category_table()
    if n <= len(table):
        return table[rng.permutation(len(table))[:n]]
    raise ValueError(f"{n} instances exceed the {len(table)} distinct instance colours")
