"""Confusable crops from a toy world: one class dominates each crop; windows stay inside the image."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.analysis.features import (
    CropSpec,
    confusable_crops,
    crop_window,
    crops_from,
    heldout_crops,
    probe_crops,
)


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


def test_heldout_crops_come_from_their_own_split_by_the_same_rules() -> None:
    """Held-out probe scenes: the same crop rules as the eval split, ids disjoint from train/val/pretrain,
    seeded, capped per class, and rendering stops once both classes are full."""
    from sgt.data.toyworld import SPLIT_ID_OFFSET

    spec = CropSpec(classes=("square", "rectangle"), max_per_class=12, min_area=20, min_fill=0.5)
    crops = heldout_crops(spec, 400, seed=2, width=160, height=120)
    counts = {c: sum(k.label == c for k in crops) for c in spec.classes}
    assert counts == {"square": 12, "rectangle": 12}
    probe_ids = {c.image_id for c in crops}
    assert min(probe_ids) > SPLIT_ID_OFFSET["probe"] and max(probe_ids) < SPLIT_ID_OFFSET["probe"] + 400
    assert all(
        abs(i - o) > 400 for i in probe_ids for o in SPLIT_ID_OFFSET.values() if o != SPLIT_ID_OFFSET["probe"]
    )
    again = heldout_crops(spec, 400, seed=2, width=160, height=120)
    assert [(c.image_id, c.ann_id) for c in again] == [(c.image_id, c.ann_id) for c in crops]
    assert all(a.image.tobytes() == b.image.tobytes() for a, b in zip(again, crops, strict=True))
    other = heldout_crops(spec, 400, seed=3, width=160, height=120)
    assert [c.image.tobytes() for c in other] != [c.image.tobytes() for c in crops]
    few = heldout_crops(spec, 5, seed=2, width=160, height=120)
    assert len(few) < len(crops)  # at most 5 scenes rendered


def test_probe_crops_render_on_the_toy_world_and_crop_the_eval_split_otherwise(toyworld_root: Path) -> None:
    cfg = {"classes": ["square", "rectangle"], "max_per_class": 4, "min_area": 20, "min_fill": 0.5,
           "dominance": 0.8, "crop_scale": 1.5, "probe_images": 200, "probe_seed": 2}  # fmt: skip
    size = {"width": 160, "height": 120}
    rendered = probe_crops(cfg, data_root=toyworld_root, split="val2017", source="toyworld", scene_size=size)
    assert {c.image_id // 500_000 for c in rendered} == {3}  # the probe split's ids
    last = max(c.image_id for c in rendered) - 1_500_000
    assert last < 200 and crops_from(cfg, "val2017", "toyworld", rendered) == (
        f"{last} of at most 200 held-out probe scenes (seed 2)"
    )
    off = {**cfg, "probe_images": 0}
    split = probe_crops(off, data_root=toyworld_root, split="val2017", source="toyworld", scene_size=size)
    assert {c.image_id for c in split} <= set(range(500_001, 500_007))
    assert crops_from(off, "val2017", "toyworld") == "toyworld val2017"
    with pytest.raises(ValueError, match="data.toyworld"):
        probe_crops(cfg, data_root=toyworld_root, split="val2017", source="toyworld")
