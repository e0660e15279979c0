"""Toy-world shards and a small VQA set shared by the backend tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from sgt.data.toyworld import ToyWorldSpec, write_toyworld
from sgt.targets.shards import build_shard

TASKS = ("edge", "semantic")


@pytest.fixture(scope="session")
def toy_shards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Two shards per task (semantic, edge) from a 4-image toy world."""
    root = tmp_path_factory.mktemp("toy")
    world = write_toyworld(ToyWorldSpec(n_train=4, n_val=0, seed=3), root / "world")
    shards: dict[str, list[Path]] = {}
    for task in TASKS:
        shards[task] = []
        for i, ids in enumerate(([1, 2], [3, 4])):
            out = root / "shards" / task / f"{i:03d}.parquet"
            build_shard(world, "train2017", ids, task, None, 0, out)
            shards[task].append(out)
    return shards


@pytest.fixture(scope="session")
def vqa_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three VQA records in the input format of ``sgt.data.vqa.read_jsonl`` (relative image paths)."""
    root = tmp_path_factory.mktemp("vqa")
    (root / "img").mkdir()
    lines = []
    for i in range(3):
        image = np.full((24, 32, 3), 40 * (i + 1), np.uint8)
        cv2.imwrite(str(root / "img" / f"{i}.png"), image)
        lines.append(
            json.dumps({"image": f"img/{i}.png", "question": f"What shade is {i}?", "answer": f"grey {i}"})
        )
    (root / "vqa.jsonl").write_text("\n".join(lines) + "\n")
    return root / "vqa.jsonl"


@pytest.fixture(scope="session")
def multi_turn_vqa_jsonl(vqa_jsonl: Path) -> Path:
    """The VQA set plus one three-exchange conversation (a LLaVA-OneVision row), as vqa_train writes it."""
    conv = [
        {"from": "human", "value": "<image>\nWhat shade is it?"},
        {"from": "gpt", "value": "grey"},
        {"from": "human", "value": "Is it dark?"},
        {"from": "gpt", "value": "no"},
        {"from": "human", "value": "Any objects?"},
        {"from": "gpt", "value": "none"},
    ]
    record = {"image": "img/0.png", "question": "What shade is it?", "answer": "grey", "conversations": conv}
    out = vqa_jsonl.with_name("multi_turn.jsonl")
    out.write_text(vqa_jsonl.read_text() + json.dumps(record) + "\n")
    return out
