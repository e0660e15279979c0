"""Recipe and snapshot helpers for the backend tests (a unique module name, unlike conftest)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sgt.models.backend_interface import Launch, Recipe
from sgt.models.backends.omnigen2 import DATASET_FILE, SAMPLER_FILE

SNAPSHOTS = Path(__file__).parent / "snapshots"


def paper_recipe(**overrides: object) -> Recipe:
    """Table 8 BAGEL settings with the paper's 1:2 VQA:segmentation mix."""
    base = dict(
        variant="sgt", mix={"vqa": 1, "semantic": 2}, steps=10000, lr=1e-4, warmup=1000, batch_size=60, seed=0
    )
    return Recipe(**{**base, **overrides})  # type: ignore[arg-type]


def assert_snapshot(name: str, launch: Launch, tmp: Path) -> None:
    """Compare a launch with ``snapshots/<name>.json``; temp paths become ``<tmp>``.

    Set SGT_UPDATE_SNAPSHOTS=1 to (re)write a snapshot after an intended change, and review the diff.
    """
    text = json.dumps(
        {"argv": list(launch.argv), "env": dict(sorted(launch.env.items())), "cwd": str(launch.cwd)}, indent=1
    ).replace(str(tmp), "<tmp>")
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("SGT_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text + "\n")
    assert path.is_file(), f"{path} missing; run with SGT_UPDATE_SNAPSHOTS=1 and review it"
    assert text + "\n" == path.read_text(), f"launch differs from {path}"


FORK_GETITEM = """
class OmniGen2TrainDataset:
    def __getitem__(self, index):
        data_item = self.data[index]
        if "text" in data_item and "sam_selection" in data_item["text"]:
            return self.process_sam(data_item)
        elif "id" not in data_item or data_item["id"] is None:
            return self.process_panoptic(data_item)
        return self.process_sft(data_item)
    def process_sft(self, item): ...
"""
FIXED_GETITEM = FORK_GETITEM.replace("self.process_panoptic(data_item)", "self.process_item(data_item)")
UPSTREAM_GETITEM = """
class OmniGen2TrainDataset:
    def __getitem__(self, index):
        return self.process_item(self.data[index])
"""


def fake_checkout(root: Path, dataset_source: str, *, sampler: bool = True) -> Path:
    """Files ``check_checkout`` reads: the dataset module, train.py and (the fork's) sampler module."""
    (root / DATASET_FILE).parent.mkdir(parents=True)
    (root / DATASET_FILE).write_text(dataset_source)
    (root / "train.py").write_text("interleave_pattern = None\n")
    if sampler:
        (root / SAMPLER_FILE).write_text("class TaskTypeDistributedSampler: ...\n")
    return root
