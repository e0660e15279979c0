"""A small toy world (COCO layout with panoptic PNGs and exact depth) shared by the target tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.data.coco import CocoDataset
from sgt.data.records import Sample
from sgt.data.toyworld import ToyWorldSpec, write_toyworld
from sgt.targets import detection, inpaint, mixed, restore  # noqa: F401  (registers these tasks)


@pytest.fixture(scope="session")
def toyworld(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_toyworld(ToyWorldSpec(n_train=12, n_val=4), tmp_path_factory.mktemp("tw") / "toyworld")


@pytest.fixture(scope="session")
def dataset(toyworld: Path) -> CocoDataset:
    return CocoDataset(toyworld, "train2017")


@pytest.fixture(scope="session")
def samples(dataset: CocoDataset) -> list[Sample]:
    return [dataset.load(i) for i in dataset.image_ids()]
