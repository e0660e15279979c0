"""Semantic, instance and panoptic targets checked against the toy world panoptic PNGs and instance masks."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from sgt.data.records import Sample
from sgt.seeding import rng_for
from sgt.targets import TASKS
from sgt.targets.palette import BACKGROUND, category_color, category_of_color, rgb_key


def _panoptic_truth(root: Path, sample: Sample) -> tuple[np.ndarray, dict[int, dict]]:
    """Segment id per pixel and segments_info by id, read straight from the files (not through the loader)."""
    data = json.loads((root / "annotations" / "panoptic_train2017.json").read_text())
    entry = next(a for a in data["annotations"] if a["image_id"] == sample.image_id)
    png = cv2.imread(str(root / "annotations" / "panoptic_train2017" / entry["file_name"]))[..., ::-1].astype(
        np.int64
    )
    ids = png[..., 0] + 256 * png[..., 1] + 65536 * png[..., 2]
    return ids, {s["id"]: s for s in entry["segments_info"]}


def test_semantic_pixels_map_back_to_their_category(toyworld: Path, samples: list[Sample]) -> None:
    for sample in samples:
        cond, target = TASKS["semantic"](sample, rng_for(0, "semantic", sample.image_id))
        ids, info = _panoptic_truth(toyworld, sample)
        expected = np.full(ids.shape, -1, np.int32)
        for seg_id, seg in info.items():
            expected[ids == seg_id] = seg["category_id"]
        assert np.array_equal(category_of_color(target), expected)
        assert cond is sample.image


def test_semantic_falls_back_to_instances_without_panoptic(samples: list[Sample]) -> None:
    sample = samples[0]
    bare = Sample(sample.image_id, sample.file_name, sample.source, sample.image, instances=sample.instances)
    _, target = TASKS["semantic"](bare, rng_for(0, "semantic", 1))
    cats = category_of_color(target)
    for inst in sorted(sample.instances, key=lambda i: i.area)[
        :1
    ]:  # the smallest is painted last: all visible
        assert (cats[inst.mask] == inst.category_id).all()
    covered = np.any([i.mask for i in sample.instances], axis=0)
    assert (target[~covered] == BACKGROUND).all()


def test_instance_colours_are_distinct_and_recorded(samples: list[Sample]) -> None:
    for sample in samples:
        pair = TASKS["instance"].pair(sample, rng_for(0, "instance", sample.image_id))
        colours = {
            int(k): tuple(int(v[i : i + 2], 16) for i in (1, 3, 5)) for k, v in pair.drawn["colors"].items()
        }
        assert len(set(colours.values())) == len(colours) == len(sample.instances)
        assert BACKGROUND not in colours.values()
        # each instance's pixels that no later (smaller) instance covers carry its own colour
        ordered = sorted(sample.instances, key=lambda i: -i.area)
        for k, inst in enumerate(ordered):
            own = inst.mask & ~np.any(
                [o.mask for o in ordered[k + 1 :]] or [np.zeros_like(inst.mask)], axis=0
            )
            assert (pair.target[own] == colours[inst.ann_id]).all()
        covered = np.any([i.mask for i in sample.instances], axis=0)
        assert (pair.target[~covered] == BACKGROUND).all()


def test_instance_colours_change_with_the_seed(samples: list[Sample]) -> None:
    sample = max(samples, key=lambda s: len(s.instances))
    a = TASKS["instance"].pair(sample, rng_for(0, "instance", 1)).drawn["colors"]
    b = TASKS["instance"].pair(sample, rng_for(1, "instance", 1)).drawn["colors"]
    assert a != b


def test_panoptic_colours_agree_with_the_panoptic_png(toyworld: Path, samples: list[Sample]) -> None:
    stuff_colours = {category_color(c) for c in (101, 102, 103, 104)}
    for sample in samples:
        pair = TASKS["panoptic"].pair(sample, rng_for(0, "panoptic", sample.image_id))
        ids, info = _panoptic_truth(toyworld, sample)
        thing_colours = []
        for seg_id, seg in info.items():
            region = pair.target[ids == seg_id]
            colour = tuple(int(v) for v in region[0])
            assert (region == colour).all(), f"segment {seg_id} is not one colour"
            if seg["category_id"] >= 100:
                assert colour == category_color(seg["category_id"])
            else:
                thing_colours.append(colour)
                assert pair.drawn["colors"][str(seg_id)] == "#{:02x}{:02x}{:02x}".format(*colour)
        assert len(set(thing_colours)) == len(thing_colours)
        assert not set(thing_colours) & stuff_colours
        assert (pair.target[ids == 0] == BACKGROUND).all()


def test_panoptic_keys_match_segment_count(samples: list[Sample]) -> None:
    sample = samples[1]
    pair = TASKS["panoptic"].pair(sample, rng_for(0, "panoptic", 2))
    n_colours = len(np.unique(rgb_key(pair.target.reshape(-1, 3))))
    stuff_classes = {s.category_id for s in sample.segments if not s.isthing}
    things = [s for s in sample.segments if s.isthing]
    assert n_colours == len(stuff_classes) + len(things) + int((pair.target == 0).all(axis=2).any())


@pytest.mark.parametrize("task", ["instance", "panoptic", "semantic"])
def test_segmentation_targets_are_uint8_rgb(task: str, samples: list[Sample]) -> None:
    pair = TASKS[task].pair(samples[0], rng_for(0, task, 1))
    assert pair.target.dtype == np.uint8 and pair.target.shape == samples[0].image.shape
