"""Confusable crops from a toy world: one class dominates each crop; windows stay inside the image."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.analysis.features import CropSpec, confusable_crops, crop_window


def test_crop_window_stays_inside_and_is_square() -> None:
    assert crop_window((10, 10, 20, 10), 1.5, 100, 100) == (5, 0, 30)
    assert crop_window((90, 80, 10, 20), 1.5, 100, 120) == (80, 70, 30)
    assert crop_window((0, 0, 200, 50), 1.5, 60, 80) == (20, 0, 60)


def test_confusable_crops_are_labelled_and_capped(toyworld_root: Path) -> None:
    spec = CropSpec(classes=("square", "rectangle"), max_per_class=3, min_area=20, min_fill=0.5)
    crops = confusable_crops(toyworld_root, "train2017", spec)
    assert crops, "the 16-image toy world has squares and rectangles"
    counts = {c: sum(k.label == c for k in crops) for c in spec.classes}
    assert max(counts.values()) <= 3
    for crop in crops:
        h, w, _ = crop.image.shape
        assert h == w and h >= 8
    assert [(c.image_id, c.ann_id) for c in crops] == [
        (c.image_id, c.ann_id) for c in confusable_crops(toyworld_root, "train2017", spec)
    ]


def test_unknown_class_names_the_key(toyworld_root: Path) -> None:
    spec = CropSpec(classes=("square", "hexagon"))
    with pytest.raises(ValueError, match=r"analysis\.classes.*hexagon"):
        confusable_crops(toyworld_root, "train2017", spec)
