"""Inpainting (mid level, appendix 7.1): random lines or solid blocks masked out in black or white.

The paper names the two mask kinds and the two fills but no sizes; the defaults below (3-10 lines 1-4 % of
the short side thick; 1-4 blocks 10-40 % of each side) are ours and overridable from config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from sgt.data.records import Image, Sample
from sgt.targets.registry import register


def _uniform_int(rng: np.random.Generator, bounds: Sequence[int]) -> int:
    lo, hi = int(bounds[0]), int(bounds[1])
    return int(rng.integers(lo, hi + 1))


def line_mask(
    rng: np.random.Generator, h: int, w: int, count: Sequence[int], width: Sequence[float]
) -> tuple[npt.NDArray[np.bool_], int]:
    """Random straight strokes, each ``width`` x the short side thick; and their count."""
    mask = np.zeros((h, w), np.uint8)
    n = _uniform_int(rng, count)
    for _ in range(n):
        p0 = (int(rng.integers(w)), int(rng.integers(h)))
        p1 = (int(rng.integers(w)), int(rng.integers(h)))
        thick = max(1, int(round(rng.uniform(width[0], width[1]) * min(h, w))))
        cv2.line(mask, p0, p1, 1, thick, cv2.LINE_8)
    return mask.astype(bool), n


def block_mask(
    rng: np.random.Generator, h: int, w: int, count: Sequence[int], size: Sequence[float]
) -> tuple[npt.NDArray[np.bool_], int]:
    """Random axis-aligned rectangles, sides ``size`` x the image's width and height; and their count."""
    mask = np.zeros((h, w), bool)
    n = _uniform_int(rng, count)
    for _ in range(n):
        bw = max(1, int(round(rng.uniform(size[0], size[1]) * w)))
        bh = max(1, int(round(rng.uniform(size[0], size[1]) * h)))
        x, y = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
        mask[y : y + bh, x : x + bw] = True
    return mask, n


@register("inpainting", level="mid")
def inpainting(
    sample: Sample,
    rng: np.random.Generator,
    *,
    p_lines: float = 0.5,
    p_white: float = 0.5,
    line_count: Sequence[int] = (3, 10),
    line_width: Sequence[float] = (0.01, 0.04),
    block_count: Sequence[int] = (1, 4),
    block_size: Sequence[float] = (0.1, 0.4),
) -> tuple[Image, Image, dict[str, Any]]:
    """Condition: the image with a lines mask (probability ``p_lines``) or a blocks mask filled with white
    (probability ``p_white``) or black; target: the original image."""
    h, w = sample.height, sample.width
    kind = "lines" if rng.random() < p_lines else "blocks"
    fill = "white" if rng.random() < p_white else "black"
    if kind == "lines":
        mask, n = line_mask(rng, h, w, line_count, line_width)
    else:
        mask, n = block_mask(rng, h, w, block_count, block_size)
    condition = sample.image.copy()
    condition[mask] = 255 if fill == "white" else 0
    drawn = {"mask": kind, "fill": fill, "count": n, "masked_fraction": round(float(mask.mean()), 6)}
    return condition, sample.image, drawn
