"""High-level proxy tasks: segmentation rendered as pseudo-colour images (appendix 7.1)."""

from __future__ import annotations

import numpy as np

from sgt.data.records import Image, Sample
from sgt.targets.palette import BACKGROUND, category_color
from sgt.targets.registry import register


def semantic_map(sample: Sample) -> np.ndarray:
    """Per-pixel category id (0 = unlabelled): panoptic segments when present, else instance masks."""
    ids = np.zeros((sample.height, sample.width), np.int32)
    if sample.segments:
        for seg in sample.segments:
            ids[seg.mask] = seg.category_id
        return ids
    for inst in sorted(sample.instances, key=lambda i: -i.area):  # small objects stay on top
        ids[inst.mask] = inst.category_id
    return ids


@register("semantic", level="high", needs=("instances",))
def semantic(sample: Sample, rng: np.random.Generator) -> tuple[Image, Image]:
    """Each pixel coloured by its category's fixed palette colour; no instance distinction."""
    ids = semantic_map(sample)
    target = np.zeros((*ids.shape, 3), np.uint8)
    target[:] = BACKGROUND
    for cat in np.unique(ids):
        if cat:
            target[ids == cat] = category_color(int(cat))
    return sample.image, target
