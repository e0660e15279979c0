"""Precision and recall of a GenEval detector against toy-world ground truth (labels, boxes, colours).

A detection counts when its score passes GenEval's threshold; it is a true positive when it overlaps an
unmatched ground-truth object of the same class by IoU >= 0.5 (greedy, best score first, as COCO matches).
Detections lying on a crowd annotation are neither right nor wrong, as in COCO. Colour accuracy is measured
over the true positives, since GenEval only asks for colours of objects it has found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from sgt.data.images import decode_image
from sgt.data.toyworld import THINGS, ToyWorldSpec, render_image
from sgt.eval.geneval.detectors import DetectionDict, Detector
from sgt.eval.geneval.rules import THRESHOLD


@dataclass(frozen=True, slots=True)
class GroundTruth:
    label: str
    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    color: str | None
    crowd: bool


@dataclass(frozen=True, slots=True)
class DetectorScore:
    precision: float
    recall: float
    color_accuracy: float
    n_detections: int
    n_objects: int
    n_images: int


def toyworld_ground_truth(
    spec: ToyWorldSpec, split: str, indices: Iterable[int], size: tuple[int, int] | None = None
) -> list[tuple[npt.NDArray[np.uint8], list[GroundTruth]]]:
    """Rendered images (decoded JPEGs, optionally resized to ``size`` = (w, h)) with their annotations."""
    out = []
    for index in indices:
        r = render_image(spec, split, index)
        image = decode_image(r.jpeg, f"toy-world {split} image {index}")
        sx = sy = 1.0
        if size is not None:
            sx, sy = size[0] / image.shape[1], size[1] / image.shape[0]
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        colors = {o["ann_id"]: o["color"] for o in r.objects}
        gts = []
        for ann in r.instances:
            x, y, w, h = ann["bbox"]
            box = (x * sx, y * sy, (x + w) * sx, (y + h) * sy)
            gts.append(
                GroundTruth(THINGS[ann["category_id"]], box, colors.get(ann["id"]), bool(ann["iscrowd"]))
            )
        out.append((np.ascontiguousarray(image), gts))
    return out


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _inside(a: Sequence[float], b: Sequence[float]) -> float:
    """Share of box ``a`` inside box ``b``."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1])
    return iw * ih / area if area > 0 else 0.0


def match_image(
    detections: Sequence[DetectionDict], truth: Sequence[GroundTruth], threshold: float, iou: float
) -> tuple[int, int, int, int, int]:
    """(true positives, counted detections, objects, colour-correct true positives, ignored detections)."""
    dets = sorted((d for d in detections if d["score"] > threshold), key=lambda d: -d["score"])
    objects = [g for g in truth if not g.crowd]
    crowds = [g for g in truth if g.crowd]
    used = [False] * len(objects)
    tp = color_ok = ignored = 0
    for det in dets:
        best, best_iou = -1, iou
        for j, g in enumerate(objects):
            if not used[j] and g.label == det["label"]:
                v = _iou(det["box"], g.box)
                if v >= best_iou:
                    best, best_iou = j, v
        if best >= 0:
            used[best] = True
            tp += 1
            color_ok += int(det["color"] == objects[best].color)
        elif any(_inside(det["box"], c.box) > 0.5 for c in crowds):
            ignored += 1
    return tp, len(dets) - ignored, len(objects), color_ok, ignored


def score_detector(
    detector: Detector,
    samples: Sequence[tuple[npt.NDArray[np.uint8], Sequence[GroundTruth]]],
    threshold: float = THRESHOLD,
    iou: float = 0.5,
) -> DetectorScore:
    """Precision, recall and colour accuracy over ``samples`` at GenEval's score threshold."""
    if not samples:
        raise ValueError("no images to score the detector on")
    tp = n_det = n_obj = color_ok = 0
    for image, truth in samples:
        t, d, o, c, _ = match_image(detector.detect(image), truth, threshold, iou)
        tp, n_det, n_obj, color_ok = tp + t, n_det + d, n_obj + o, color_ok + c
    return DetectorScore(
        precision=tp / n_det if n_det else 0.0,
        recall=tp / n_obj if n_obj else 0.0,
        color_accuracy=color_ok / tp if tp else 0.0,
        n_detections=n_det,
        n_objects=n_obj,
        n_images=len(samples),
    )
