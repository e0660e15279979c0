"""Inpainting: lines or blocks filled black or white; the target is the untouched image."""

from __future__ import annotations

from collections import Counter

import numpy as np

from sgt.data.records import Sample
from sgt.seeding import rng_for
from sgt.targets import TASKS


def test_masked_pixels_are_filled_and_the_rest_untouched(samples: list[Sample]) -> None:
    sample = samples[0]
    kinds: Counter[tuple[str, str]] = Counter()
    for seed in range(80):
        pair = TASKS["inpainting"].pair(sample, rng_for(seed, "inpainting", sample.image_id))
        kind, fill = pair.drawn["mask"], pair.drawn["fill"]
        kinds[kind, fill] += 1
        assert pair.target is sample.image
        value = 255 if fill == "white" else 0
        changed = (pair.condition != sample.image).any(axis=2)
        assert changed.any()
        assert (pair.condition[changed] == value).all()
        filled = (pair.condition == value).all(axis=2)
        assert changed.sum() <= filled.sum()
        assert abs(filled.mean() - pair.drawn["masked_fraction"]) < 0.05
        low, high = (3, 10) if kind == "lines" else (1, 4)
        assert low <= pair.drawn["count"] <= high
    assert set(kinds) == {("lines", "white"), ("lines", "black"), ("blocks", "white"), ("blocks", "black")}


def test_blocks_only_when_p_lines_is_zero(samples: list[Sample]) -> None:
    for seed in range(10):
        pair = TASKS["inpainting"].pair(samples[1], rng_for(seed, "inpainting", 2), p_lines=0.0, p_white=1.0)
        assert pair.drawn["mask"] == "blocks" and pair.drawn["fill"] == "white"
        changed = (pair.condition != samples[1].image).any(axis=2)
        ys, xs = np.nonzero(changed)
        assert len(ys) > 0
