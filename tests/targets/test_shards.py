"""Shards end to end: determinism across shard counts, recorded params, malformed annotations skipped."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from sgt.data.coco import CocoDataset
from sgt.seeding import rng_for
from sgt.targets import TASKS
from sgt.targets.instructions import DEFAULT_INSTRUCTIONS
from sgt.targets.shards import build_shard, read_pairs, write_manifest


@pytest.mark.parametrize("task", ["mixed", "denoise_deblur_enhance"])
def test_same_seed_same_bytes_whatever_the_shard_count(toyworld: Path, tmp_path: Path, task: str) -> None:
    ids = CocoDataset(toyworld, "train2017").image_ids()
    one = tmp_path / "one" / "000.parquet"
    build_shard(toyworld, "train2017", ids, task, {}, 7, one)
    three = [tmp_path / "three" / f"{k:03d}.parquet" for k in range(3)]
    for k, shard in enumerate(three):
        build_shard(toyworld, "train2017", ids[k::3], task, {}, 7, shard)  # interleaved: order changes too
    write_manifest([one], tmp_path / "one.parquet")
    write_manifest(list(reversed(three)), tmp_path / "three.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "three.parquet").read_bytes()
    rows = {r["image_id"]: r for r in read_pairs(one).to_pylist()}
    for shard in three:
        for r in read_pairs(shard).to_pylist():
            assert r == rows[r["image_id"]]
    again = tmp_path / "again.parquet"
    build_shard(toyworld, "train2017", ids, task, {}, 7, again)
    assert again.read_bytes() == one.read_bytes()
    other = tmp_path / "other.parquet"
    build_shard(toyworld, "train2017", ids, task, {}, 8, other)
    assert read_pairs(other).column("params").to_pylist() != read_pairs(one).column("params").to_pylist()


def test_rows_record_the_real_task_params_and_drawn_values(toyworld: Path, tmp_path: Path) -> None:
    dataset = CocoDataset(toyworld, "train2017")
    ids = dataset.image_ids()
    shard = tmp_path / "mixed.parquet"
    stats = build_shard(
        toyworld, "train2017", ids, "mixed", {"member_params": {"edge": {"low": 50}}}, 1, shard
    )
    assert stats.written == len(ids)
    for row in read_pairs(shard).to_pylist():
        params = json.loads(row["params"])
        assert row["proxy_task"] == "mixed" and row["task"] == params["drawn"]["member"]
        assert row["level"] == TASKS[row["task"]].level
        assert row["instruction"] in DEFAULT_INSTRUCTIONS[row["task"]]
        assert params["members"] == ["panoptic", "reconstruction", "edge"]
        sample = dataset.load(row["image_id"])
        pair = TASKS["mixed"].pair(
            sample, rng_for(1, "mixed", row["image_id"]), member_params={"edge": {"low": 50}}
        )
        target = cv2.imdecode(np.frombuffer(row["target_png"], np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
        assert np.array_equal(target, pair.target)
        if row["task"] == "edge":
            assert params["drawn"]["member_params"] == {"low": 50, "high": 200}


def test_isr_rows_record_factor_and_config_instructions(toyworld: Path, tmp_path: Path) -> None:
    ids = CocoDataset(toyworld, "train2017").image_ids()
    entry = {"factors": [2, 8], "instructions": ["Sharpen it.", "Upscale it."]}
    build_shard(toyworld, "train2017", ids, "isr", entry, 0, tmp_path / "isr.parquet")
    table = pq.read_table(tmp_path / "isr.parquet", columns=["task", "params", "instruction"]).to_pylist()
    assert {json.loads(r["params"])["drawn"]["factor"] for r in table} <= {2, 8}
    assert all(json.loads(r["params"])["factors"] == [2, 8] for r in table)
    assert {r["instruction"] for r in table} <= {"Sharpen it.", "Upscale it."}
    assert all(r["task"] == "isr" for r in table)


def test_malformed_annotations_are_counted_and_skipped(toyworld: Path, tmp_path: Path) -> None:
    root = tmp_path / "bad"
    shutil.copytree(toyworld, root)
    path = root / "annotations" / "instances_train2017.json"
    data = json.loads(path.read_text())
    polys = [a for a in data["annotations"] if isinstance(a["segmentation"], list)]
    polys[0]["segmentation"] = [[1.0, 1.0, 5.0, 5.0]]  # two points
    polys[1]["bbox"] = [500.0, 500.0, 10.0, 10.0]  # outside a 160x120 image
    polys[2]["category_id"] = 999  # unknown
    path.write_text(json.dumps(data))
    ids = CocoDataset(root, "train2017").image_ids()
    for task in ("semantic", "detection", "instance"):
        stats = build_shard(root, "train2017", ids, task, {}, 0, tmp_path / f"{task}.parquet")
        assert stats.written == len(ids)
        assert stats.skipped["polygon with fewer than 3 points"] == 1
        assert stats.skipped["bbox outside the image"] == 1
        assert stats.skipped["unknown category id"] == 1


def test_corrupt_image_is_skipped_not_fatal(toyworld: Path, tmp_path: Path) -> None:
    root = tmp_path / "corrupt"
    shutil.copytree(toyworld, root)
    ids = CocoDataset(root, "train2017").image_ids()
    (root / "train2017" / f"{ids[0]:012d}.jpg").write_bytes(b"not a jpeg")
    stats = build_shard(root, "train2017", ids, "edge", {}, 0, tmp_path / "edge.parquet")
    assert stats.written == len(ids) - 1 and stats.skipped == {"corrupt image": 1}


def _instance_targets(root: Path, ids: list[int], out: Path) -> tuple[Any, dict[int, str]]:
    """The instance task's shard of ``ids`` from ``root``: its stats and each image's target sha256."""
    stats = build_shard(root, "train2017", ids, "instance", {}, 0, out)
    return stats, {r["image_id"]: r["target_sha256"] for r in read_pairs(out).to_pylist()}


def _corrupt(
    toyworld: Path, root: Path, change: Callable[[list[dict[str, Any]], dict[int, list[int]]], None]
) -> None:
    """A copy of the toy world with ``change(annotations, image sizes)`` applied to its instances file."""
    shutil.copytree(toyworld, root)
    path = root / "annotations" / "instances_train2017.json"
    data = json.loads(path.read_text())
    change(data["annotations"], {im["id"]: [im["height"], im["width"]] for im in data["images"]})
    path.write_text(json.dumps(data))


def test_bad_rle_is_skipped_and_counted_with_its_ids(
    toyworld: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue #21 finding 5: one bad RLE failed the whole instance shard with pycocotools' 'Invalid RLE mask
    representation', naming no file, image or annotation."""
    bad: dict[str, Any] = {}

    def change(anns: list[dict[str, Any]], size: dict[int, list[int]]) -> None:
        ann = next(a for a in anns if isinstance(a["segmentation"], list))
        ann["segmentation"] = {"size": size[ann["image_id"]], "counts": "!!corrupt"}  # not RLE's alphabet
        bad.update(ann)

    _corrupt(toyworld, tmp_path / "faulty", change)
    ids = CocoDataset(toyworld, "train2017").image_ids()
    with caplog.at_level("WARNING"):
        stats, faulty = _instance_targets(tmp_path / "faulty", ids, tmp_path / "faulty.parquet")
    assert stats.written == len(ids) and stats.skipped == {"invalid RLE": 1}
    assert [(s.reason, s.image_id, s.ann_id) for s in stats.skipped_annotations] == [
        ("invalid RLE", bad["image_id"], bad["id"])
    ]
    named = rf"instances_train2017.json: image {bad['image_id']} annotation {bad['id']}: invalid RLE \(.+\)"
    assert re.search(named + "; skipped", caplog.text)
    clean, good = _instance_targets(toyworld, ids, tmp_path / "clean.parquet")
    assert clean.skipped == {}
    assert {i for i in ids if faulty[i] != good[i]} == {bad["image_id"]}  # the rest is untouched


def test_duplicate_annotation_id_is_skipped_and_counted_with_its_ids(
    toyworld: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue #21 finding 8: a second annotation with an id already used added a second instance."""
    twin: dict[str, Any] = {}

    def change(anns: list[dict[str, Any]], size: dict[int, list[int]]) -> None:
        twin.update(next(a for a in anns if isinstance(a["segmentation"], list)))
        anns.append(dict(twin, bbox=[0.0, 0.0, 8.0, 8.0]))  # same id, another box

    _corrupt(toyworld, tmp_path / "faulty", change)
    ids = CocoDataset(toyworld, "train2017").image_ids()
    with caplog.at_level("WARNING"):
        stats, faulty = _instance_targets(tmp_path / "faulty", ids, tmp_path / "faulty.parquet")
    assert stats.written == len(ids) and stats.skipped == {"duplicate annotation id": 1}
    assert [(s.reason, s.image_id, s.ann_id) for s in stats.skipped_annotations] == [
        ("duplicate annotation id", twin["image_id"], twin["id"])
    ]
    assert (
        f"image {twin['image_id']} annotation {twin['id']}: duplicate annotation id; skipped" in caplog.text
    )
    _, good = _instance_targets(toyworld, ids, tmp_path / "clean.parquet")
    assert faulty == good  # the first annotation with the id kept it; no instance was added
