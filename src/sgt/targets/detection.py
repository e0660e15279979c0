"""Object detection as an image target: labelled boxes drawn on the image (appendix 7.1).

Boxes are drawn after all labels, so every box outline lies exactly at its annotated coordinates (a later
box may cross an earlier one); the label sits above the box, or inside it when the box touches the top.
"""

from __future__ import annotations

import cv2
import numpy as np

from sgt.data.records import Image, Instance, Sample
from sgt.targets.palette import category_color
from sgt.targets.registry import register

FONT = cv2.FONT_HERSHEY_SIMPLEX


def box_corners(bbox: tuple[float, float, float, float], h: int, w: int) -> tuple[int, int, int, int]:
    """COCO (x, y, w, h) to inclusive pixel corners (x0, y0, x1, y1), clipped to the image."""
    x, y, bw, bh = bbox
    x0, y0 = int(round(x)), int(round(y))
    x1, y1 = int(round(x + bw)) - 1, int(round(y + bh)) - 1
    x0, x1 = min(max(x0, 0), w - 1), min(max(x1, 0), w - 1)
    y0, y1 = min(max(y0, 0), h - 1), min(max(y1, 0), h - 1)
    return x0, y0, max(x1, x0), max(y1, y0)


def detection_boxes(sample: Sample, include_crowd: bool) -> list[Instance]:
    """The instances that get a box, in drawing order (largest first, so small boxes end on top)."""
    insts = [i for i in sample.instances if include_crowd or not i.iscrowd]
    return sorted(insts, key=lambda i: -i.area)


def _label(
    target: Image, text: str, x0: int, y0: int, y1: int, color: tuple[int, int, int], scale: float
) -> None:
    (tw, th), base = cv2.getTextSize(text, FONT, scale, 1)
    top = y0 - th - base - 2
    if top < 0:  # no room above the box: put the label inside, under the top edge
        top = min(y0 + 1, max(y1 - th - base - 2, 0))
    x0 = min(x0, max(target.shape[1] - tw - 2, 0))
    cv2.rectangle(target, (x0, top), (x0 + tw + 2, top + th + base + 2), color, thickness=-1)
    luminance = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
    ink = (0, 0, 0) if luminance > 150 else (255, 255, 255)
    cv2.putText(target, text, (x0 + 1, top + th + 1), FONT, scale, ink, 1, cv2.LINE_AA)


@register("detection", level="high", needs=("instances",))
def detection(
    sample: Sample,
    rng: np.random.Generator,
    *,
    thickness: int = 2,
    font_scale: float = 0.5,
    labels: bool = True,
    include_crowd: bool = False,
) -> tuple[Image, Image]:
    """The image with each object's box in its category colour and its category name on a filled tag.

    Crowd regions are not single objects (COCO detection ignores them), so they get no box by default.
    """
    h, w = sample.height, sample.width
    target = np.ascontiguousarray(sample.image.copy())
    boxes = detection_boxes(sample, include_crowd)
    if labels:
        for inst in boxes:
            x0, y0, _, y1 = box_corners(inst.bbox, h, w)
            cat = sample.categories.get(inst.category_id)
            name = cat.name if cat is not None else str(inst.category_id)
            _label(target, name, x0, y0, y1, category_color(inst.category_id), font_scale)
    for inst in boxes:
        x0, y0, x1, y1 = box_corners(inst.bbox, h, w)
        cv2.rectangle(target, (x0, y0), (x1, y1), category_color(inst.category_id), thickness, cv2.LINE_8)
    return sample.image, target
