"""Detection targets: every box outline lies at its annotated coordinates in its category colour."""

from __future__ import annotations

import cv2
import numpy as np

from sgt.data.records import Sample
from sgt.seeding import rng_for
from sgt.targets import TASKS
from sgt.targets.detection import box_corners, detection_boxes
from sgt.targets.palette import category_color


def _outline(shape: tuple[int, int], corners: tuple[int, int, int, int], thickness: int) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    x0, y0, x1, y1 = corners
    cv2.rectangle(canvas, (x0, y0), (x1, y1), 1, thickness, cv2.LINE_8)
    return canvas.astype(bool)


def test_boxes_are_drawn_at_the_annotated_coordinates(samples: list[Sample]) -> None:
    checked = 0
    for sample in samples:
        cond, target = TASKS["detection"](sample, rng_for(0, "detection", sample.image_id))
        assert cond is sample.image
        boxes = detection_boxes(sample, include_crowd=False)
        outlines = [_outline(target.shape[:2], box_corners(b.bbox, *target.shape[:2]), 2) for b in boxes]
        for k, inst in enumerate(boxes):
            own = outlines[k] & ~np.any(outlines[k + 1 :] or [np.zeros_like(outlines[k])], axis=0)
            assert (target[own] == category_color(inst.category_id)).all()
            x, y, w, h = inst.bbox
            x0, y0, x1, y1 = box_corners(inst.bbox, *target.shape[:2])
            assert abs(x0 - x) <= 0.5 and abs(y0 - y) <= 0.5
            assert abs(x1 + 1 - (x + w)) <= 0.5 and abs(y1 + 1 - (y + h)) <= 0.5
            checked += 1
        # outside every box and label the image is untouched
        assert (target != sample.image).any() == bool(boxes)
    assert checked > 10


def test_crowd_regions_get_no_box_by_default(samples: list[Sample]) -> None:
    crowded = [s for s in samples if any(i.iscrowd for i in s.instances)]
    assert crowded, "the toy world should contain a crowd annotation"
    for sample in crowded:
        assert all(not i.iscrowd for i in detection_boxes(sample, include_crowd=False))
        assert any(i.iscrowd for i in detection_boxes(sample, include_crowd=True))


def test_labels_change_pixels_outside_the_boxes(samples: list[Sample]) -> None:
    sample = max(samples, key=lambda s: len(s.instances))
    _, with_labels = TASKS["detection"](sample, rng_for(0, "detection", 1))
    _, without = TASKS["detection"](sample, rng_for(0, "detection", 1), labels=False)
    assert (with_labels != without).any()
    changed = (without != sample.image).any(axis=2)
    boxes = detection_boxes(sample, include_crowd=False)
    allowed = np.any([_outline(changed.shape, box_corners(b.bbox, *changed.shape), 2) for b in boxes], axis=0)
    assert not (changed & ~allowed).any()
