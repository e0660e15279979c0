"""The fast label painting (uint8 or int32 labels, masks' own memory order, ``np.take``) colours every pixel
exactly as the straightforward ``lut[int32 labels]`` does, also past 255 instances."""

from __future__ import annotations

import numpy as np
import pytest

from sgt.data.records import Category, Instance, Sample
from sgt.seeding import rng_for
from sgt.targets.high import instance
from sgt.targets.palette import BACKGROUND, instance_colors


@pytest.mark.parametrize(("n", "fortran"), [(5, True), (5, False), (300, True)])
def test_instance_colours_match_reference(n: int, fortran: bool) -> None:
    h, w = 23, 29
    rng = np.random.default_rng(n)
    masks = [rng.random((h, w)) < 0.05 for _ in range(n)]
    masks = [np.asfortranarray(m) if fortran else m for m in masks]
    insts = tuple(
        Instance(k + 1, 1, (0.0, 0.0, 1.0, 1.0), float(rng.integers(1, 99)), False, m)
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
