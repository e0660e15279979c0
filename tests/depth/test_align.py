import numpy as np
import pytest

from sgt.depth.align import (
    CONSTANT_A,
    CONSTANT_B,
    NON_POSITIVE_SCALE,
    OK,
    SHAPE_MISMATCH,
    TOO_FEW_VALID,
    ConstantMapError,
    compare_maps,
    fit_scale_shift,
)


def _scene(seed: int = 0, shape: tuple[int, int] = (48, 64)) -> np.ndarray:
    """Metric depth of a tilted plane plus random boxes: 1.5 .. 30 m."""
    rng = np.random.default_rng(seed)
    h, w = shape
    depth = np.linspace(30.0, 1.5, h)[:, None].repeat(w, axis=1)
    box = max(1, min(h, w) // 6)
    for _ in range(4):
        y, x = rng.integers(0, h - box), rng.integers(0, w - box)
        depth[y : y + box, x : x + box] = rng.uniform(2, 10)
    return depth


def test_fit_recovers_known_scale_and_shift():
    rng = np.random.default_rng(1)
    source = rng.uniform(0.1, 5.0, size=(40, 30))
    target = 2.7 * source - 0.35
    mask = rng.random(source.shape) > 0.3
    target[~mask] = 1e6  # outside the mask: must be ignored
    s, t = fit_scale_shift(source, target, mask)
    assert s == pytest.approx(2.7, rel=1e-12)
    assert t == pytest.approx(-0.35, rel=1e-10)


def test_fit_constant_source_raises():
    with pytest.raises(ConstantMapError):
        fit_scale_shift(np.full((4, 4), 3.0), np.arange(16.0).reshape(4, 4))


def test_identical_and_affine_disparity_have_zero_discrepancy():
    depth = _scene()
    assert compare_maps(depth, depth, a_space="depth", b_space="depth").discrepancy == pytest.approx(
        0, abs=1e-12
    )
    relative = 0.3 / depth + 0.02  # what a relative-disparity model would output
    c = compare_maps(relative, depth, a_space="disparity", b_space="depth")
    assert c.reason == OK
    assert c.discrepancy == pytest.approx(0.0, abs=1e-9)
    assert c.scale == pytest.approx(1 / 0.3) and c.shift == pytest.approx(-0.02 / 0.3)


def test_inverted_map_exceeds_threshold():
    depth = _scene()
    disparity = 1 / depth
    inverted = disparity.max() + disparity.min() - disparity
    c = compare_maps(inverted, depth, a_space="disparity", b_space="depth")
    assert c.reason == NON_POSITIVE_SCALE and c.discrepancy > 0.4
    flipped = compare_maps(disparity[::-1], depth, a_space="disparity", b_space="depth")
    assert flipped.discrepancy > 0.4


def test_noise_gives_small_discrepancy():
    depth = _scene()
    noisy = depth * np.exp(np.random.default_rng(0).normal(0, 0.05, depth.shape))
    c = compare_maps(1 / depth, noisy, a_space="disparity", b_space="depth")
    assert c.reason == OK and 0.01 < c.discrepancy < 0.1


def test_invalid_pixels_are_masked_not_fatal():
    depth = _scene()
    a = 1 / depth
    a[:5] = np.nan
    a[5:8] = np.inf
    b = depth.copy()
    b[-3:] = 0.0  # non-positive depth
    b[-6:-3] = -1.0
    c = compare_maps(a, b, a_space="disparity", b_space="depth")
    assert c.reason == OK and c.discrepancy == pytest.approx(0, abs=1e-9)
    assert c.valid_fraction == pytest.approx(1 - 14 / depth.shape[0])


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        (np.full((8, 8), 0.5), _scene(shape=(8, 8)), CONSTANT_A),
        (1 / _scene(shape=(8, 8)), np.full((8, 8), 4.0), CONSTANT_B),
        (np.full((8, 8), np.nan), _scene(shape=(8, 8)), TOO_FEW_VALID),
        (1 / _scene(shape=(8, 8)), -_scene(shape=(8, 8)), TOO_FEW_VALID),
        (np.ones((8, 9)), _scene(shape=(8, 8)), SHAPE_MISMATCH),
    ],
)
def test_degenerate_maps_record_a_reason(a, b, reason):
    c = compare_maps(a, b, a_space="disparity", b_space="depth")
    assert c.reason == reason
    assert np.isinf(c.discrepancy)


def test_reference_beyond_max_depth_is_left_out():
    depth = _scene()
    b = depth.copy()
    b[:10] = 5000.0  # sky: a metric model's far plane
    a = 1 / depth
    c = compare_maps(a, b, a_space="disparity", b_space="depth", max_depth=80.0)
    assert c.reason == OK and c.discrepancy == pytest.approx(0, abs=1e-9)


def test_unknown_space_is_an_error():
    with pytest.raises(ValueError, match="unknown depth space"):
        compare_maps(np.ones((2, 2)), np.ones((2, 2)), a_space="inverse")
