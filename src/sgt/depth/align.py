"""Least-squares alignment of two depth estimates and the discrepancy the filter thresholds (appendix 7.1).

Space. Depth Anything V2 predicts *relative inverse depth*: disparity up to an unknown scale and shift, the
affine-invariant target it was trained on. DepthPro predicts metric depth. An affine map relates the two only
in disparity space (``1/depth`` of an affine disparity is not affine in depth), so both maps are turned into
disparity, the estimate ``a`` is fitted onto the reference ``b`` there (``s * a + t ~ b``), and the aligned
disparity is turned back into depth.

Metric. The discrepancy is AbsRel in depth, ``mean(|d_aligned - d_b| / d_b)`` over pixels valid in both maps,
the metric Depth Anything (V1/V2) and MiDaS report for affine-invariant disparity models. It is scale-free,
so one threshold (0.4 in the paper) fits indoor and outdoor scenes. Reference pixels beyond ``max_depth``
(sky) are left out, and aligned disparity is clamped at ``1 / max_depth`` so far pixels cannot blow up
the mean.

A fit with a non-positive scale means the maps order near and far oppositely (an inverted map): no
depth-consistent alignment exists, so the discrepancy is ``inf`` with reason ``non_positive_scale``. Invalid
input never raises: the reason says why the pair was not comparable and the discrepancy is ``inf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Space = Literal["disparity", "depth"]
SPACES: tuple[str, ...] = ("disparity", "depth")
FloatMap = npt.NDArray[np.floating]

# Reasons recorded per image; only "ok" can be kept, and only when the discrepancy is within the threshold.
OK = "ok"
ABOVE_THRESHOLD = "discrepancy_above_threshold"
SHAPE_MISMATCH = "shape_mismatch"
TOO_FEW_VALID = "too_few_valid_pixels"
CONSTANT_A = "constant_estimate_a"
CONSTANT_B = "constant_estimate_b"
NON_POSITIVE_SCALE = "non_positive_scale"
MISSING = "missing_estimate"


class ConstantMapError(ValueError):
    """The source map has no spread over the valid pixels, so a scale cannot be fitted."""


@dataclass(frozen=True, slots=True)
class Comparison:
    """How well estimate ``a``, aligned onto ``b``, agrees with it; ``reason`` is ``ok`` when comparable."""

    discrepancy: float
    scale: float
    shift: float
    valid_fraction: float
    reason: str


def _is_constant(x: npt.NDArray[np.float64], rtol: float = 1e-6) -> bool:
    spread = float(x.max() - x.min())
    return spread <= rtol * max(float(np.abs(x).max()), np.finfo(np.float64).tiny)


def fit_scale_shift(
    source: FloatMap, target: FloatMap, mask: npt.NDArray[np.bool_] | None = None
) -> tuple[float, float]:
    """The ``(s, t)`` minimising ``sum((s * source + t - target)**2)`` over ``mask`` (closed form)."""
    if source.shape != target.shape:
        raise ValueError(f"maps differ in shape: {source.shape} vs {target.shape}")
    x = np.asarray(source, np.float64)
    y = np.asarray(target, np.float64)
    if mask is not None:
        x, y = x[mask], y[mask]
    x, y = x.ravel(), y.ravel()
    if x.size < 2 or _is_constant(x):
        raise ConstantMapError(f"cannot fit a scale: source has {x.size} valid pixels and no spread")
    xm, ym = x.mean(), y.mean()
    dx = x - xm
    scale = float(dx @ (y - ym) / (dx @ dx))
    return scale, float(ym - scale * xm)


def to_disparity(values: FloatMap, space: str) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The map as disparity and the mask of pixels where that is defined (finite; depth also > 0)."""
    if space not in SPACES:
        raise ValueError(f"unknown depth space {space!r}; use one of {SPACES}")
    v = np.asarray(values, np.float64)
    if space == "disparity":
        return v, np.isfinite(v)
    valid = np.isfinite(v) & (v > 0)
    disp = np.zeros_like(v)
    np.divide(1.0, v, out=disp, where=valid)
    return disp, valid


def _fail(reason: str, valid_fraction: float = 0.0) -> Comparison:
    return Comparison(float("inf"), float("nan"), float("nan"), valid_fraction, reason)


def compare_maps(
    a: FloatMap,
    b: FloatMap,
    *,
    a_space: str = "disparity",
    b_space: str = "depth",
    max_depth: float | None = 80.0,
    min_valid_fraction: float = 0.1,
) -> Comparison:
    """Align ``a`` onto reference ``b`` in disparity space; return their AbsRel discrepancy in depth."""
    if a.shape != b.shape:
        return _fail(SHAPE_MISMATCH)
    disp_a, valid_a = to_disparity(a, a_space)
    disp_b, valid_b = to_disparity(b, b_space)
    valid = valid_a & valid_b & (disp_b > 0)
    if max_depth is not None:
        valid &= disp_b >= 1.0 / max_depth
    fraction = float(valid.mean()) if valid.size else 0.0
    if fraction < min_valid_fraction or valid.sum() < 2:
        return _fail(TOO_FEW_VALID, fraction)
    x, y = disp_a[valid], disp_b[valid]
    if _is_constant(y):
        return _fail(CONSTANT_B, fraction)
    try:
        scale, shift = fit_scale_shift(x, y)
    except ConstantMapError:
        return _fail(CONSTANT_A, fraction)
    if scale <= 0:
        return Comparison(float("inf"), scale, shift, fraction, NON_POSITIVE_SCALE)
    floor = 1.0 / max_depth if max_depth is not None else float(y.min())
    aligned_depth = 1.0 / np.maximum(scale * x + shift, floor)
    depth_b = 1.0 / y
    absrel = float(np.mean(np.abs(aligned_depth - depth_b) / depth_b))
    return Comparison(absrel, scale, shift, fraction, OK)
