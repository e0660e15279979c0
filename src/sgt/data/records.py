"""Typed records that cross module boundaries: one loaded image with its exact annotations."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]  # H x W x 3, RGB
Mask = npt.NDArray[np.bool_]  # H x W


class LazyMask:
    """A mask decoded on first use and kept: most tasks never read instance or segment masks (edges,
    restoration, detection's boxes), and decoding them was a third of the loader's time at COCO size.
    ``rle`` (a COCO RLE of the same mask, when there is one) lets label maps be painted from its runs
    without decoding the mask at all (``sgt.data.rle``)."""

    __slots__ = ("_decode", "_mask", "rle")

    def __init__(self, decode: Callable[[], Mask], rle: dict[str, Any] | None = None):
        self._decode: Callable[[], Mask] | None = decode
        self._mask: Mask | None = None
        self.rle = rle

    @property
    def decoded(self) -> bool:
        return self._mask is not None

    def __call__(self) -> Mask:
        if self._mask is None:
            assert self._decode is not None
            self._mask, self._decode = self._decode(), None
        return self._mask


def as_mask(source: Mask | LazyMask) -> Mask:
    """The mask itself, decoding a ``LazyMask`` (once) if need be."""
    return source() if isinstance(source, LazyMask) else source


class _HasMask:
    """``mask`` for a record whose ``mask_source`` field holds a mask or a :class:`LazyMask`."""

    __slots__ = ()
    mask_source: Mask | LazyMask

    @property
    def mask(self) -> Mask:
        return as_mask(self.mask_source)


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    name: str
    supercategory: str
    isthing: bool


@dataclass(frozen=True, slots=True)
class Instance(_HasMask):
    """One instance annotation, decoded: ``bbox`` is COCO's (x, y, w, h)."""

    ann_id: int
    category_id: int
    bbox: tuple[float, float, float, float]
    area: float
    iscrowd: bool
    mask_source: Mask | LazyMask = field(repr=False)


@dataclass(frozen=True, slots=True)
class Segment(_HasMask):
    """One panoptic segment (thing instance or stuff region), decoded from the panoptic PNG."""

    id: int
    category_id: int
    isthing: bool
    iscrowd: bool
    mask_source: Mask | LazyMask = field(repr=False)


@dataclass(frozen=True, slots=True)
class Sample:
    """An image and everything known about it; the same record for toy world, COCO and SA-1B."""

    image_id: int
    file_name: str
    source: str
    image: Image = field(repr=False)
    instances: tuple[Instance, ...] = ()
    segments: tuple[Segment, ...] = ()
    categories: dict[int, Category] = field(default_factory=dict, repr=False)
    depth: npt.NDArray[np.float32] | None = field(default=None, repr=False)
    caption: str = ""
    # True when the masks carry no class (SA-1B's SAM masks): tasks then colour per mask, not per category.
    class_agnostic: bool = False
    # What ``depth`` holds: "depth" (larger is farther; the toy world's exact metric depth) or "disparity"
    # (larger is nearer; a Depth Anything V2 estimate attached by ``sgt.depth.store.attach_depth``).
    depth_space: str = "depth"

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True)
class SkippedAnnotation:
    """A malformed annotation a loader left out: why, its image, and its id (None when it has none)."""

    reason: str
    image_id: int
    ann_id: int | None


class SkipCounter(Counter[str]):
    """Malformed annotations left out, counted by reason (``skipped["invalid RLE"]``), with ``where`` listing
    each one's image and annotation id: one bad annotation must not sink a 20k-image job, nor hide."""

    def __init__(self) -> None:
        super().__init__()
        self.where: list[SkippedAnnotation] = []

    def skip(
        self, reason: str, image_id: int, ann_id: object, *, source: str, n: int = 1, detail: str = ""
    ) -> None:
        """Count ``n`` under ``reason``, remember the annotation and log one line naming it."""
        self[reason] += n
        known = ann_id if isinstance(ann_id, int) and not isinstance(ann_id, bool) else None
        self.where.append(SkippedAnnotation(reason, image_id, known))
        logger.warning(
            "%s: image %d annotation %s: %s%s; skipped",
            source,
            image_id,
            ann_id,
            reason,
            f" ({detail})" if detail else "",
        )
