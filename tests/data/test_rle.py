"""COCO RLEs read as runs (``sgt.data.rle``) agree with pycocotools' own decoding, and loading a sample
leaves its masks undecoded until a task reads them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from sgt.data.coco import CocoDataset
from sgt.data.records import LazyMask
from sgt.data.rle import counts_from_string, one_runs, paint_runs
from sgt.seeding import rng_for
from sgt.targets import TASKS


def _painted(rle: dict, h: int, w: int) -> np.ndarray:
    flat = np.zeros(h * w, np.uint8)
    paint_runs(flat, one_runs(rle), 1)
    return flat.reshape((w, h)).T  # column-major, like COCO's RLE


@pytest.mark.parametrize("seed", range(40))
def test_runs_match_pycocotools_decode(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 80, 2))
    kind = seed % 4
    if kind == 0:  # noise: many short runs, long counts, deltas of both signs
        mask = rng.random((h, w)) < rng.random()
    elif kind == 1:  # one rectangle: few long runs
        mask = np.zeros((h, w), bool)
        mask[rng.integers(0, h) :, rng.integers(0, w) :] = True
    elif kind == 2:
        mask = np.zeros((h, w), bool) if seed % 8 == 2 else np.ones((h, w), bool)
    else:  # a polygon, the way COCO stores most objects
        pts = rng.uniform(0, [w, h], size=(int(rng.integers(3, 9)), 2)).ravel().tolist()
        rle = mask_utils.merge(mask_utils.frPyObjects([pts], h, w))
        assert np.array_equal(_painted(rle, h, w), mask_utils.decode(rle))
        return
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    assert np.array_equal(_painted(rle, h, w), mask_utils.decode(rle))
    # uncompressed counts (COCO's crowd format) read the same
    counts = counts_from_string(rle["counts"])
    assert np.array_equal(_painted({"size": [h, w], "counts": counts.tolist()}, h, w), mask)


@pytest.mark.parametrize("bad", [b"", b"\x01\x02", b"0" * 3 + b"`"])
def test_malformed_counts_are_refused(bad: bytes) -> None:
    if not bad:
        assert counts_from_string(bad).size == 0
        return
    with pytest.raises(ValueError, match="malformed compressed RLE"):
        counts_from_string(bad)


def test_counts_past_the_mask_are_refused() -> None:
    with pytest.raises(ValueError, match="cover 30 pixels but the mask has 20"):
        one_runs({"size": [4, 5], "counts": [10, 20]})


def test_loading_decodes_no_mask_until_a_task_reads_one(toyworld_root: Path) -> None:
    dataset = CocoDataset(toyworld_root, "train2017")
    image_id = next(i for i in dataset.image_ids() if dataset.load(i).instances)
    sample = dataset.load(image_id)
    sources = [i.mask_source for i in sample.instances] + [s.mask_source for s in sample.segments]
    assert sources and all(isinstance(m, LazyMask) and not m.decoded for m in sources)
    TASKS["edge"].pair(sample, rng_for(0, "edge", image_id))
    TASKS["instance"].pair(sample, rng_for(0, "instance", image_id))  # painted from the RLE runs
    assert not any(m.decoded for m in sources)
    mask = sample.instances[0].mask
    assert mask.dtype == np.bool_ and mask.shape == (sample.height, sample.width)
    assert sample.instances[0].mask_source.decoded  # type: ignore[union-attr]
