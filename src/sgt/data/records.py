"""Typed records that cross module boundaries: one loaded image with its exact annotations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]  # H x W x 3, RGB
Mask = npt.NDArray[np.bool_]  # H x W


@dataclass(frozen=True, slots=True)
class Category:
    id: int
    name: str
    supercategory: str
    isthing: bool


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance annotation, decoded: ``bbox`` is COCO's (x, y, w, h)."""

    ann_id: int
    category_id: int
    bbox: tuple[float, float, float, float]
    area: float
    iscrowd: bool
    mask: Mask = field(repr=False)


@dataclass(frozen=True, slots=True)
class Segment:
    """One panoptic segment (thing instance or stuff region), decoded from the panoptic PNG."""

    id: int
    category_id: int
    isthing: bool
    iscrowd: bool
    mask: Mask = field(repr=False)


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
