"""Mid-level proxy tasks: depth (appendix 7.1).

The ``depth`` target is the kept Depth Anything V2 relative depth, min-max normalised to 0..255 and
replicated to 3 channels. Convention: Depth Anything's own, disparity, so **nearer is brighter**. The workflow
fills ``Sample.depth`` from the estimate store (``sgt.depth.store.attach_depth``) for the images the depth
filter kept, and ``Sample.depth_space`` says what the map holds: a ``disparity`` map is normalised as is, a
``depth`` map (larger is farther: a metric estimator, or the toy world's exact depth when a task is run on a
bare data set) is inverted first (``1 / depth``), so every target shows near things bright.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sgt.data.records import Image, Sample
from sgt.targets.registry import register


def normalise_depth(values: npt.NDArray[np.floating]) -> npt.NDArray[np.uint8]:
    """Min-max over finite pixels to 0..255; non-finite pixels and constant maps give 0."""
    v = np.asarray(values, np.float64)
    finite = np.isfinite(v)
    out = np.zeros(v.shape, np.uint8)
    if not finite.any():
        return out
    lo, hi = float(v[finite].min()), float(v[finite].max())
    if hi > lo:
        out[finite] = np.round((v[finite] - lo) / (hi - lo) * 255.0).astype(np.uint8)
    return out


def as_disparity(values: npt.NDArray[np.floating], space: str) -> npt.NDArray[np.float64]:
    """The map in disparity (larger is nearer); pixels without a defined disparity become NaN."""
    from sgt.depth.align import to_disparity

    disparity, valid = to_disparity(values, space)
    return np.where(valid, disparity, np.nan)


@register("depth", level="mid", needs=("depth",))
def depth(sample: Sample, rng: np.random.Generator) -> tuple[Image, Image]:
    """Condition: the image; target: its estimated relative depth as a 3-channel grey image."""
    if sample.depth is None:
        raise ValueError(
            f"image {sample.image_id} ({sample.file_name}): no depth map; the depth task needs Sample.depth "
            "filled from the kept Depth Anything V2 estimates (sgt.depth.store.attach_depth)"
        )
    if sample.depth.shape != (sample.height, sample.width):
        raise ValueError(
            f"image {sample.image_id}: depth map is {sample.depth.shape}, image is "
            f"{(sample.height, sample.width)}; the estimates belong to another data set"
        )
    grey = normalise_depth(as_disparity(sample.depth, sample.depth_space))
    return sample.image, np.repeat(grey[..., None], 3, axis=2)
