"""A CPU stand-in estimator for the toy world: its exact depth plus seeded noise, in either space.

It makes the depth filter demonstrable without model weights: exact depth plays Depth Anything V2 (as
disparity under a random affine map, as a relative model would give) and a noisy copy plays DepthPro.
``corrupt_fraction`` makes a seeded share of its maps wrong in a known way (``sgt.depth.corrupt``: flipped,
shuffled blocks, near/far inverted), so the embedded demo has failures for the filter to find.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sgt.data.records import Sample
from sgt.depth.align import SPACES
from sgt.depth.corrupt import CORRUPTIONS, corruption_for
from sgt.depth.registry import DepthEstimator, DepthMap, register_estimator
from sgt.seeding import rng_for


@register_estimator("ground_truth_noise")
class GroundTruthNoise(DepthEstimator):
    needs_depth = True

    def __init__(
        self,
        *,
        noise: float = 0.05,
        output_space: str = "depth",
        random_affine: bool = True,
        corrupt_fraction: float = 0.0,
        batch_size: int = 16,
        seed: int = 0,
    ) -> None:
        """``noise``: std of per-pixel log-normal noise; ``random_affine``: random disparity scale/shift;
        ``corrupt_fraction``: share of maps corrupted (per-image seeded draw)."""
        if output_space not in SPACES:
            raise ValueError(f"ground_truth_noise.output_space must be one of {SPACES}, got {output_space!r}")
        if noise < 0:
            raise ValueError(f"ground_truth_noise.noise must be >= 0, got {noise}")
        if not 0.0 <= corrupt_fraction <= 1.0:
            raise ValueError(f"ground_truth_noise.corrupt_fraction must be in [0, 1], got {corrupt_fraction}")
        self.corrupt_fraction = float(corrupt_fraction)
        self.noise = float(noise)
        self.output_space = output_space
        self.random_affine = bool(random_affine)
        self.batch_size = int(batch_size)
        self.seed = int(seed)

    @property
    def space(self) -> str:
        return self.output_space

    def _one(self, sample: Sample) -> DepthMap:
        if sample.depth is None:
            raise ValueError(
                f"image {sample.image_id} ({sample.file_name}): no exact depth; ground_truth_noise works on "
                "the toy world only (its depth/<split>/*.png); use depth_anything_v2 or depthpro on real "
                "images"
            )
        rng = rng_for(self.seed, "ground_truth_noise", self.output_space, sample.image_id)
        depth = sample.depth.astype(np.float64)
        if self.noise > 0:
            depth = depth * np.exp(rng.normal(0.0, self.noise, size=depth.shape))
        if self.output_space == "depth":
            values = depth.astype(np.float32)
        else:
            disparity = 1.0 / np.maximum(depth, 1e-6)
            if self.random_affine:
                disparity = rng.uniform(0.5, 2.0) * disparity + rng.uniform(0.0, 0.1)
            values = disparity.astype(np.float32)
        kind = corruption_for(self.seed, sample.image_id, self.corrupt_fraction)
        if kind is None:
            return values
        return CORRUPTIONS[kind](values, rng_for(self.seed, "corrupt", sample.image_id))

    def estimate(self, samples: Sequence[Sample]) -> list[DepthMap]:
        return [self._one(s) for s in samples]
