"""Edge, reconstruction and super-resolution recipes against their definitions."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sgt.data.records import Sample
from sgt.seeding import rng_for
from sgt.targets import TASKS
from sgt.targets.low import degrade_resolution


def test_edge_is_canny_100_200_on_the_grey_image(samples: list[Sample]) -> None:
    for sample in samples:
        cond, target = TASKS["edge"](sample, rng_for(0, "edge", sample.image_id))
        expected = cv2.Canny(cv2.cvtColor(sample.image, cv2.COLOR_RGB2GRAY), 100, 200)
        assert cond is sample.image
        for c in range(3):
            assert np.array_equal(target[..., c], expected)


def test_edge_thresholds_come_from_params(samples: list[Sample]) -> None:
    _, loose = TASKS["edge"](samples[0], rng_for(0, "edge", 1), low=10, high=20)
    _, strict = TASKS["edge"](samples[0], rng_for(0, "edge", 1))
    assert loose.sum() > strict.sum()


def test_reconstruction_is_identity(samples: list[Sample]) -> None:
    cond, target = TASKS["reconstruction"](samples[0], rng_for(0, "reconstruction", 1))
    assert np.array_equal(cond, samples[0].image) and np.array_equal(target, samples[0].image)


def test_isr_factor_stays_in_range_and_recipe_matches(samples: list[Sample]) -> None:
    sample = samples[0]
    h, w = sample.height, sample.width
    seen = set()
    for seed in range(60):
        pair = TASKS["isr"].pair(sample, rng_for(seed, "isr", sample.image_id))
        f = pair.drawn["factor"]
        seen.add(f)
        assert f in (2, 4, 6, 8)
        small = cv2.resize(sample.image, (round(w / f), round(h / f)), interpolation=cv2.INTER_AREA)
        assert np.array_equal(pair.condition, cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR))
        assert pair.target is sample.image
    assert seen == {2, 4, 6, 8}


def test_isr_loses_more_detail_with_larger_factors(samples: list[Sample]) -> None:
    img = samples[0].image.astype(np.int32)
    errs = [np.abs(degrade_resolution(samples[0].image, f).astype(np.int32) - img).mean() for f in (2, 4, 8)]
    assert errs[0] < errs[1] < errs[2]


def test_isr_rejects_unknown_interpolation(samples: list[Sample]) -> None:
    with pytest.raises(ValueError, match="down_interpolation"):
        TASKS["isr"](samples[0], rng_for(0, "isr", 1), down_interpolation="lanczos9")
