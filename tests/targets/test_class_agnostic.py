"""SAM masks have no classes: the segmentation and detection tasks on class-agnostic SA-1B samples."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from sgt.data.registry import open_dataset
from sgt.data.sa1b import load_sample, write_sample
from sgt.data.toyworld import ToyWorldSpec, write_toyworld
from sgt.seeding import rng_for
from sgt.targets import TASKS
from sgt.targets.high import rank_colors
from sgt.targets.palette import rgb_key
from sgt.targets.shards import build_shard
from sgt.testing.sa1b import sa1b_from_toyworld


@pytest.fixture
def sample(tmp_path):
    h, w = 48, 64
    image = np.full((h, w, 3), 90, np.uint8)
    whole = np.zeros((h, w), bool)
    whole[4:44, 6:58] = True  # 2080 px
    part = np.zeros((h, w), bool)
    part[10:20, 10:30] = True  # 200 px, inside whole
    other = np.zeros((h, w), bool)
    other[30:40, 40:63] = True  # 230 px, partly outside whole
    _, js = write_sample(tmp_path, 5, image, [part, whole, other])
    return load_sample(js)


def _colour_counts(target: np.ndarray) -> dict[int, int]:
    keys, counts = np.unique(rgb_key(target.reshape(-1, 3)), return_counts=True)
    return dict(zip(keys.tolist(), counts.tolist(), strict=True))


def test_semantic_colours_segments_by_area_rank(sample):
    assert sample.class_agnostic
    _, target = TASKS["semantic"](sample, rng_for(0, "t", 1))
    areas = sorted((int(s.mask.sum()) for s in sample.segments), reverse=True)
    palette = rgb_key(rank_colors(len(areas)))
    counts = _colour_counts(target)
    assert counts.pop(0) == 48 * 64 - sum(areas)  # black: no mask
    assert [counts[int(k)] for k in palette] == areas  # distinct colours, rank k -> palette[k]
    # deterministic: the same colours whatever the rng
    assert np.array_equal(target, TASKS["semantic"](sample, rng_for(1, "t", 9))[1])


def test_panoptic_and_instance_give_each_mask_its_own_colour(sample):
    _, pan, drawn = TASKS["panoptic"](sample, rng_for(0, "p", 1))
    counts = _colour_counts(pan)
    counts.pop(0)
    assert sorted(counts.values()) == sorted(int(s.mask.sum()) for s in sample.segments)
    assert len(drawn["colors"]) == len(sample.segments) == 3
    _, inst, _ = TASKS["instance"](sample, rng_for(0, "i", 1))
    assert len(_colour_counts(inst)) == 1 + len(sample.instances)  # the part sits on top of the whole
    _, det = TASKS["detection"](sample, rng_for(0, "d", 1))
    assert det.shape == sample.image.shape and not np.array_equal(det, sample.image)


def test_build_shard_runs_unchanged_on_sa1b(tmp_path):
    toy = write_toyworld(ToyWorldSpec(n_train=6, n_val=1, width=64, height=48), tmp_path / "toy")
    root = tmp_path / "sa1b"
    sa1b_from_toyworld(toy, root, per_shard=4)
    opts = {"eval_split": "val2017", "eval_fraction": 0.2}
    ids = open_dataset("sa1b", root, "train2017", **opts).image_ids()[:3]
    for task in ("semantic", "panoptic", "instance", "detection"):
        out = tmp_path / f"{task}.parquet"
        stats = build_shard(root, "train2017", ids, task, {}, 0, out, source="sa1b", options=opts)
        table = pq.read_table(out).to_pandas()
        assert stats.written == 3 and set(table["source"]) == {"sa1b"} and list(table["image_id"]) == ids
