"""Restoration recipes: drawn values stay in the paper's ranges over many seeds, and each condition can be
recomputed from the recorded values."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from sgt.data.records import Sample
from sgt.seeding import rng_for
from sgt.targets import TASKS, degrade


@pytest.fixture(scope="module")
def small(samples: list[Sample]) -> Sample:
    """A 40x40 crop with depth: the properties do not depend on size, and small keeps 300 seeds fast."""
    s = samples[0]
    crop = np.ascontiguousarray(s.image[60:100, 40:80])
    return Sample(s.image_id, s.file_name, s.source, crop, depth=np.ascontiguousarray(s.depth[60:100, 40:80]))


def test_restoration_modes_and_ranges_over_many_seeds(small: Sample) -> None:
    modes: Counter[str] = Counter()
    ops_seen: Counter[str] = Counter()
    orders = set()
    for seed in range(300):
        pair = TASKS["denoise_deblur_enhance"].pair(small, rng_for(seed, "denoise_deblur_enhance", 1))
        d = pair.drawn
        modes[d["kind"]] += 1
        assert pair.target is small.image
        assert pair.condition.dtype == np.uint8 and pair.condition.shape == small.image.shape
        if d["kind"] == "deblur":
            assert d["kernel_size"] in (10, 20, 30) and 0.0 <= d["angle"] < 360.0
            assert np.array_equal(
                pair.condition, degrade.motion_blur(small.image, d["kernel_size"], d["angle"])
            )
        elif d["kind"] == "low_light":
            assert 0.1 <= d["brightness"] <= 0.5 and 0.01 <= d["noise_sigma"] <= 0.04
            assert pair.condition.mean() < small.image.mean() * 0.5 + 255 * 0.05
        else:
            assert d["kind"] == "denoise" and 1 <= len(d["ops"]) <= 4
            names = [op["op"] for op in d["ops"]]
            assert len(set(names)) == len(names)
            ops_seen.update(names)
            orders.add(tuple(names))
            for op in d["ops"]:
                if op["op"] == "gaussian":
                    assert 1.0 <= op["sigma"] <= 30.0
                elif op["op"] == "jpeg":
                    assert 30 <= op["quality"] <= 95
                elif op["op"] == "salt_pepper":
                    assert 0.001 <= op["amount"] <= 0.02
                else:
                    assert 20.0 <= op["peak"] <= 200.0
    assert all(70 <= modes[m] <= 130 for m in ("denoise", "deblur", "low_light")), modes
    assert set(ops_seen) == {"gaussian", "jpeg", "salt_pepper", "poisson"}
    assert len(orders) > 10  # random order, not a fixed pipeline


def test_low_light_condition_matches_its_formula(small: Sample) -> None:
    rng = np.random.default_rng(5)
    out = degrade.low_light(small.image, rng, 0.3, 0.0)
    expected = np.clip(small.image.astype(np.float32) / 255 * 0.3 * 255 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_motion_kernel_is_a_normalised_line() -> None:
    for size in (10, 20, 30):
        for angle in (0.0, 45.0, 90.0, 233.0):
            k = degrade.motion_kernel(size, angle)
            assert k.shape == (size, size) and abs(k.sum() - 1.0) < 1e-5
            assert (k > 0).sum() >= size * 0.9
    horizontal = degrade.motion_kernel(10, 0.0)
    assert (horizontal.sum(axis=0) > 0).all() and (horizontal.sum(axis=1) > 0).sum() == 1


def test_derain_dehaze_equal_probability_and_haze_formula(small: Sample) -> None:
    kinds: Counter[str] = Counter()
    for seed in range(200):
        pair = TASKS["derain_dehaze"].pair(small, rng_for(seed, "derain_dehaze", 1))
        d = pair.drawn
        kinds[d["kind"]] += 1
        if d["kind"] == "haze":
            assert 0.8 <= d["beta"] <= 2.8 and 0.7 <= d["airlight"] <= 1.0 and d["depth_source"] == "depth"
            rel = small.depth / small.depth.max()
            t = np.exp(-d["beta"] * rel)[..., None]
            expected = (small.image / 255.0) * t + d["airlight"] * (1 - t)
            assert np.abs(pair.condition / 255.0 - expected).max() <= 1 / 255 + 1e-6
        else:
            assert 10 <= d["length"] <= 40 and -20 <= d["angle"] <= 20 and 0.002 <= d["density"] <= 0.01
            assert (pair.condition.astype(int) >= small.image.astype(int)).all()  # streaks only lighten
    assert 70 <= kinds["rain"] <= 130, kinds


def test_haze_without_depth_uses_the_vertical_gradient(small: Sample) -> None:
    bare = Sample(small.image_id, small.file_name, small.source, small.image)
    for seed in range(20):
        pair = TASKS["derain_dehaze"].pair(bare, rng_for(seed, "derain_dehaze", 1), p_rain=0.0)
        assert pair.drawn["depth_source"] == "vertical_gradient"
        depth = degrade.pseudo_depth(*small.image.shape[:2])
        assert np.array_equal(
            pair.condition, degrade.haze(small.image, depth, pair.drawn["beta"], pair.drawn["airlight"])
        )
    assert depth[0, 0] > depth[-1, 0]  # far at the top


def test_haze_from_a_disparity_estimate_is_thickest_far_away(small: Sample) -> None:
    """An attached Depth Anything map (disparity: larger is nearer) hazes far pixels most, as depth does."""
    disparity = (3.0 / small.depth + 0.2).astype(np.float32)
    est = Sample(
        small.image_id, small.file_name, small.source, small.image, depth=disparity, depth_space="disparity"
    )
    rel = degrade.relative_depth(disparity, "disparity")
    far, near = (
        np.unravel_index(small.depth.argmax(), rel.shape),
        np.unravel_index(small.depth.argmin(), rel.shape),
    )
    assert rel[far] == pytest.approx(1.0) and rel[near] == pytest.approx(0.1)
    pair = TASKS["derain_dehaze"].pair(est, rng_for(0, "derain_dehaze", 1), p_rain=0.0)
    assert pair.drawn["depth_source"] == "disparity"
    assert np.array_equal(
        pair.condition, degrade.haze(small.image, rel, pair.drawn["beta"], pair.drawn["airlight"])
    )
    with pytest.raises(ValueError, match="constant"):
        degrade.relative_depth(np.ones((3, 3), np.float32), "disparity")


def test_noise_ops_respect_zero_probabilities(small: Sample) -> None:
    for seed in range(30):
        pair = TASKS["denoise_deblur_enhance"].pair(
            small,
            rng_for(seed, "x", 1),
            modes=["denoise"],
            p_gaussian=1.0,
            p_jpeg=0.0,
            p_salt_pepper=0.0,
            p_poisson=0.0,
        )
        assert [op["op"] for op in pair.drawn["ops"]] == ["gaussian"]


def test_unknown_mode_is_a_config_error(small: Sample) -> None:
    with pytest.raises(ValueError, match="modes"):
        TASKS["denoise_deblur_enhance"](small, rng_for(0, "x", 1), modes=["sharpen"])


def test_poisson_noise_has_shot_noise_statistics() -> None:
    rng = np.random.default_rng(0)
    for level, peak in ((10, 50.0), (200, 50.0), (128, 200.0)):  # exact (dark) and approximated counts
        flat = np.full((200, 200, 3), level, np.uint8)
        out = degrade.poisson_noise(flat, rng, peak).astype(np.float64) / 255
        lam = level / 255 * peak
        assert abs(out.mean() - level / 255) < 0.01
        assert abs(out.var() * peak**2 / lam - 1) < 0.15  # variance equals the mean count
