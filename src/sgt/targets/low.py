"""Low-level proxy tasks: edges and reconstruction (appendix 7.1)."""

from __future__ import annotations

import cv2
import numpy as np

from sgt.data.records import Image, Sample
from sgt.targets.registry import register


@register("edge", level="low")
def edge(sample: Sample, rng: np.random.Generator, *, low: int = 100, high: int = 200) -> tuple[Image, Image]:
    """Canny on the grey image with thresholds 100/200, replicated to 3 channels."""
    grey = cv2.cvtColor(sample.image, cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(grey, low, high)
    return sample.image, np.repeat(edges[..., None], 3, axis=2)


@register("reconstruction", level="low")
def reconstruction(sample: Sample, rng: np.random.Generator) -> tuple[Image, Image]:
    """Identity: the model regenerates its input from ViT tokens alone."""
    return sample.image, sample.image.copy()
