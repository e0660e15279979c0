"""The fast label painting (uint8 or int32 labels, masks' own memory order or their RLE runs, the packed
colour gather) colours every pixel exactly as the straightforward ``lut[int32 labels]`` does, also past 255
instances."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from sgt.data.records import Category, Instance, LazyMask, Sample
from sgt.seeding import rng_for
from sgt.targets.high import instance
from sgt.targets.palette import BACKGROUND, instance_colors


def _stored(mask: np.ndarray, how: str) -> np.ndarray | LazyMask:
    if how == "rle":  # as the COCO loader keeps them: undecoded, painted from the runs
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        return LazyMask(lambda: mask_utils.decode(rle).view(np.bool_), rle)
    return np.asfortranarray(mask) if how == "fortran" else mask


@pytest.mark.parametrize(
    ("n", "how"), [(5, "fortran"), (5, "c"), (300, "fortran"), (5, "rle"), (300, "rle"), (7, "mixed")]
)
def test_instance_colours_match_reference(n: int, how: str) -> None:
    h, w = 23, 29
    rng = np.random.default_rng(n)
    masks = [rng.random((h, w)) < 0.05 for _ in range(n)]
    kinds = ["rle", "c", "fortran"] if how == "mixed" else [how]
    insts = tuple(
        Instance(
            k + 1,
            1,
            (0.0, 0.0, 1.0, 1.0),
            float(rng.integers(1, 99)),
            False,
            _stored(m, kinds[k % len(kinds)]),
        )
        for k, m in enumerate(masks)
    )
    sample = Sample(1, "", "t", np.zeros((h, w, 3), np.uint8), insts, (), {1: Category(1, "a", "", True)})
    _, target, _ = instance(sample, rng_for(0, "instance", 1))
    colors = instance_colors(n, rng_for(0, "instance", 1))
    labels = np.zeros((h, w), np.int32)
    for k in sorted(range(n), key=lambda k: -insts[k].area):
        labels[masks[k]] = k + 1
    expected = np.vstack([np.array([BACKGROUND], np.uint8), colors])[labels]
    assert target.flags.c_contiguous
    assert np.array_equal(target, expected)
