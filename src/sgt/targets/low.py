"""Low-level proxy tasks: edges, reconstruction and super-resolution (appendix 7.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from sgt.data.records import Image, Sample
from sgt.targets.registry import register

INTERPOLATION = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


@register("edge", level="low")
def edge(sample: Sample, rng: np.random.Generator, *, low: int = 100, high: int = 200) -> tuple[Image, Image]:
    """Canny on the grey image with thresholds 100/200, replicated to 3 channels."""
    grey = cv2.cvtColor(sample.image, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(grey, low, high)
    return sample.image, cv2.merge([edges, edges, edges])


@register("reconstruction", level="low")
def reconstruction(sample: Sample, rng: np.random.Generator) -> tuple[Image, Image]:
    """Identity: the model regenerates its input from ViT tokens alone."""
    return sample.image, sample.image


def degrade_resolution(image: Image, factor: int, down: str = "area") -> Image:
    """Down-sample by ``factor`` then bilinear back to the original size (the model needs equal sizes)."""
    h, w = image.shape[:2]
    if down not in INTERPOLATION:
        raise ValueError(
            f"targets.tasks.isr.down_interpolation: {down!r} is not one of {sorted(INTERPOLATION)}"
        )
    small = cv2.resize(
        image, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=INTERPOLATION[down]
    )
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@register("isr", level="low")
def isr(
    sample: Sample,
    rng: np.random.Generator,
    *,
    factors: Sequence[int] = (2, 4, 6, 8),
    down_interpolation: str = "area",
) -> tuple[Image, Image, dict[str, Any]]:
    """Condition: the image down-sampled by a factor drawn from ``factors`` (2/4/6/8) and bilinearly
    up-sampled back; target: the original. Area averaging is our choice for the unspecified down-sampler."""
    factor = int(factors[int(rng.integers(len(factors)))])
    return degrade_resolution(sample.image, factor, down_interpolation), sample.image, {"factor": factor}
