"""High-level proxy tasks: segmentation rendered as 3-channel pseudo-colour images (appendix 7.1).

Each recipe first builds one integer label map (an index per pixel), then colours it with a single lookup
``lut[labels]``: one vectorised gather instead of a masked assignment per category and channel.

Class-agnostic samples (SA-1B's SAM masks, ``Sample.class_agnostic``) have one category for every mask, so the
semantic target colours each segment by its rank in area from a fixed palette instead (largest segment:
first colour); panoptic and instance need no change, as every mask is a thing with its own random colour.
See ``sgt.data.sa1b`` for how overlapping SAM masks become non-overlapping segments.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from sgt.data.records import Image, LazyMask, Mask, Sample, as_mask
from sgt.data.rle import Runs, one_runs, paint_runs
from sgt.seeding import rng_for
from sgt.targets.palette import BACKGROUND, category_color, category_lut, instance_colors
from sgt.targets.registry import register


def _label_map(
    shape: tuple[int, int],
    masks: list[Mask | LazyMask],
    order: list[int],
    values: list[int] | None = None,
) -> npt.NDArray[np.integer]:
    """``values[k]`` (default ``k + 1``) where mask ``k`` is set, painted in ``order`` (later on top).

    Masks still held as a COCO RLE (``LazyMask.rle``) are painted from their runs of ones and never decoded;
    the others with ``copyto``. The labels are uint8 when every value fits (a quarter of int32's memory
    traffic per painted mask) and are painted in column-major order, COCO's RLE order and that of the masks
    pycocotools decodes (a C-order target would make every ``copyto`` a strided walk), then returned
    C-contiguous for the colour lookup.
    """
    top = len(masks) if values is None else max(values, default=0)
    dtype = np.uint8 if top <= np.iinfo(np.uint8).max else np.int32
    fortran = any(_has_runs(m) for m in masks) or any(
        m.flags.f_contiguous and not m.flags.c_contiguous for m in masks[:1] if isinstance(m, np.ndarray)
    )
    labels = np.zeros(shape, dtype, order="F" if fortran else "C")
    flat = labels.reshape(-1, order="F" if fortran else "C")  # a view: labels is contiguous in that order
    for k in order:
        value = dtype(k + 1 if values is None else values[k])
        runs = _runs(masks[k]) if fortran else None
        if runs is not None:
            paint_runs(flat, runs, value)
        else:
            np.copyto(labels, value, where=as_mask(masks[k]))
    return np.ascontiguousarray(labels)


def _has_runs(mask: Mask | LazyMask) -> bool:
    return isinstance(mask, LazyMask) and mask.rle is not None and not mask.decoded


def _runs(mask: Mask | LazyMask) -> Runs | None:
    """The RLE runs of a not-yet-decoded mask; None when it has none (or they do not parse: decode it)."""
    if not _has_runs(mask):
        return None
    assert isinstance(mask, LazyMask) and mask.rle is not None
    try:
        return one_runs(mask.rle)
    except ValueError:
        return None


def _colour(lut: npt.NDArray[np.uint8], labels: npt.NDArray[np.integer]) -> Image:
    """``lut[labels]``, 2.3x faster than ``np.take(lut, labels, axis=0)`` with the same values: each colour
    packed into one uint32 (R, G, B, 0), one flat gather, then OpenCV drops the fourth byte."""
    packed = np.zeros((len(lut), 4), np.uint8)
    packed[:, :3] = lut
    rgba = np.take(packed.view("<u4")[:, 0], labels).view(np.uint8).reshape(*labels.shape, 4)
    return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB)


def semantic_map(sample: Sample) -> npt.NDArray[np.integer]:
    """Per-pixel category id (0 = unlabelled): panoptic segments (things and stuff) when present, else the
    instance masks, small objects painted last so they stay visible. uint8 when every id fits, else int32."""
    shape = (sample.height, sample.width)
    if sample.segments:
        segs = sample.segments
        return _label_map(
            shape, [s.mask_source for s in segs], list(range(len(segs))), [s.category_id for s in segs]
        )
    insts = sample.instances
    order = sorted(range(len(insts)), key=lambda k: -insts[k].area)
    return _label_map(shape, [i.mask_source for i in insts], order, [i.category_id for i in insts])


def rank_colors(n: int) -> npt.NDArray[np.uint8]:
    """Colours of area ranks 0..n-1 for class-agnostic semantic targets: a fixed order, so rank k has the
    same colour in every image; past the palette's 1000 colours they repeat (tiny segments of huge images)."""
    palette = instance_colors(1000, rng_for(0, "class-agnostic-semantic"))
    return palette[np.arange(n) % len(palette)]


def agnostic_map(sample: Sample) -> npt.NDArray[np.integer]:
    """Per-pixel area rank + 1 (0 = unlabelled) of the non-overlapping segments (else the instances, smaller
    ones painted on top)."""
    masks = [s.mask for s in sample.segments] or [i.mask for i in sample.instances]
    areas = [int(m.sum()) for m in masks]
    by_area = sorted(range(len(masks)), key=lambda k: (-areas[k], k))
    rank = {k: r for r, k in enumerate(by_area)}
    return _label_map((sample.height, sample.width), masks, by_area, [rank[k] + 1 for k in range(len(masks))])


@register("semantic", level="high", needs=("instances", "panoptic"))
def semantic(sample: Sample, rng: np.random.Generator) -> tuple[Image, Image]:
    """Each pixel coloured by its category's fixed palette colour; no instance distinction. Class-agnostic
    samples: each segment coloured by its area rank (module docstring)."""
    if sample.class_agnostic:
        labels = agnostic_map(sample)
        lut = np.vstack([np.array([BACKGROUND], np.uint8), rank_colors(int(labels.max()))])
        return sample.image, _colour(lut, labels)
    return sample.image, _colour(category_lut(), semantic_map(sample))


def _hex(rgb: npt.NDArray[np.uint8]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb))


@register("instance", level="high", needs=("instances",))
def instance(
    sample: Sample, rng: np.random.Generator, *, include_crowd: bool = True
) -> tuple[Image, Image, dict[str, Any]]:
    """Each instance in its own random colour (drawn per image); larger instances first so small ones stay
    on top. Crowd regions count as one instance each unless ``include_crowd`` is false."""
    insts = [i for i in sample.instances if include_crowd or not i.iscrowd]
    colors = instance_colors(len(insts), rng)
    order = sorted(range(len(insts)), key=lambda k: -insts[k].area)
    lut = np.vstack([np.array([BACKGROUND], np.uint8), colors])
    target = _colour(lut, _label_map((sample.height, sample.width), [i.mask_source for i in insts], order))
    drawn = {"colors": {str(i.ann_id): _hex(c) for i, c in zip(insts, colors, strict=True)}}
    return sample.image, target, drawn


@register("panoptic", level="high", needs=("instances", "panoptic"))
def panoptic(sample: Sample, rng: np.random.Generator) -> tuple[Image, Image, dict[str, Any]]:
    """Things get a random colour per instance, stuff the fixed colour of its class; thing colours avoid every
    stuff-class colour so the two never look alike. Without panoptic segments the instances are the things."""
    if sample.segments:
        masks = [s.mask_source for s in sample.segments]
        ids = [s.id for s in sample.segments]
        is_thing = [s.isthing for s in sample.segments]
        cats = [s.category_id for s in sample.segments]
        order = list(range(len(masks)))
    else:
        masks = [i.mask_source for i in sample.instances]
        ids = [i.ann_id for i in sample.instances]
        is_thing = [True] * len(masks)
        cats = [i.category_id for i in sample.instances]
        order = sorted(range(len(masks)), key=lambda k: -sample.instances[k].area)
    stuff_colors = [category_color(c.id) for c in sample.categories.values() if not c.isthing]
    things = [k for k, t in enumerate(is_thing) if t]
    thing_colors = instance_colors(len(things), rng, exclude=stuff_colors)
    lut = np.zeros((len(masks) + 1, 3), np.uint8)
    lut[0] = BACKGROUND
    for k, cat in enumerate(cats):
        if not is_thing[k]:
            lut[k + 1] = category_color(cat)
    for k, color in zip(things, thing_colors, strict=True):
        lut[k + 1] = color
    target = _colour(lut, _label_map((sample.height, sample.width), masks, order))
    drawn = {"colors": {str(ids[k]): _hex(thing_colors[j]) for j, k in enumerate(things)}}
    return sample.image, target, drawn
