from __future__ import annotations

import numpy as np
import pytest

from sgt.data.toyworld import COLORS, STUFF_COLORS, THINGS, ToyWorldSpec, _shape_mask
from sgt.eval.geneval.detector_eval import GroundTruth, match_image, score_detector, toyworld_ground_truth
from sgt.eval.geneval.detectors import build_detector
from sgt.eval.geneval.rules import evaluate
from sgt.eval.geneval.toy_detector import ToyWorldDetector


def scene(shapes, h=120, w=160):
    """Grass background with flat-coloured shapes: [(kind, colour, cx, cy, size)]."""
    rng = np.random.default_rng(0)
    img = np.empty((h, w, 3), np.float32)
    img[:] = STUFF_COLORS[103]
    img += rng.normal(0, 4, img.shape)
    for kind, colour, cx, cy, size in shapes:
        img[_shape_mask(kind, cx, cy, size, h, w)] = COLORS[colour]
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind", sorted(THINGS.values()))
def test_each_shape_found_with_its_class_and_colour(kind):
    dets = ToyWorldDetector().detect(scene([(kind, "purple", 80, 60, 30)]))
    assert len(dets) == 1
    det = dets[0]
    assert det["label"] == kind and det["color"] == "purple"
    assert det["score"] > 0.9  # clean shapes pass GenEval's counting threshold
    x1, y1, x2, y2 = det["box"]
    assert 55 <= x1 < x2 <= 110 and 30 <= y1 < y2 <= 90


def test_squashed_square_image_is_unsquashed_with_scene_aspect():
    import cv2

    img = cv2.resize(scene([("square", "red", 50, 60, 30), ("rectangle", "blue", 115, 60, 18)]), (64, 64))
    dets = {d["color"]: d for d in ToyWorldDetector(scene_aspect=160 / 120).detect(img)}
    assert {c: d["label"] for c, d in dets.items()} == {"red": "square", "blue": "rectangle"}
    x1, _, x2, _ = dets["red"]["box"]  # boxes come back in the 64x64 image: x 35..65 of 160 -> 14..26
    assert 12 <= x1 < x2 <= 28
    aspect = {b.color: b.features[1] for b in ToyWorldDetector(scene_aspect=160 / 120).blobs(img)}
    squashed = {b.color: b.features[1] for b in ToyWorldDetector().blobs(img)}
    assert abs(aspect["red"]) < 0.15 < -squashed["red"]  # log(w / h): without the aspect it looks narrow


def test_detections_satisfy_geneval_rules():
    img = scene([("circle", "red", 40, 60, 24), ("triangle", "yellow", 120, 60, 24)])
    dets = build_detector("toyworld").detect(img)
    meta = {
        "tag": "position",
        "include": [
            {"class": "triangle", "count": 1},
            {"class": "circle", "count": 1, "position": ["left of", 0]},
        ],
        "prompt": "a photo of a circle left of a triangle",
    }
    assert evaluate(meta, dets, *img.shape[:2]) == (True, "")
    meta["include"][1]["position"] = ["right of", 0]
    assert evaluate(meta, dets, *img.shape[:2])[0] is False


def test_background_only_gives_nothing():
    assert ToyWorldDetector().detect(scene([])) == []


def test_bad_image_is_rejected():
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        ToyWorldDetector().detect(np.zeros((8, 8), np.uint8))


def test_precision_recall_on_toyworld_renders():
    spec = ToyWorldSpec(n_train=0, n_val=16, width=160, height=120)
    score = score_detector(ToyWorldDetector(), toyworld_ground_truth(spec, "val2017", range(16)))
    assert score.n_objects > 20
    assert score.precision > 0.6 and score.recall > 0.6  # 0.79 / 0.77 on 200 images
    assert score.color_accuracy > 0.95


def test_matching_counts_crowds_and_labels():
    truth = [
        GroundTruth("circle", (0, 0, 10, 10), "red", False),
        GroundTruth("circle", (50, 50, 70, 60), None, True),
    ]
    dets = [
        {"label": "circle", "score": 0.9, "box": [0, 0, 10, 10], "color": "blue"},
        {"label": "circle", "score": 0.8, "box": [0, 0, 10, 10], "color": "red"},  # duplicate: false positive
        {"label": "square", "score": 0.8, "box": [52, 52, 56, 56], "color": "red"},  # on the crowd: ignored
        {"label": "square", "score": 0.1, "box": [20, 20, 30, 30], "color": "red"},  # under threshold
    ]
    assert match_image(dets, truth, 0.3, 0.5) == (1, 2, 1, 0, 1)
