"""The training-budget table reads each run's own summary and the exact mix schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sgt.report.training import drawn_per_source, training_table, write_training_table


def _run(root: Path, variant: str, seed: int, mix: dict[str, int], samples: dict[str, int]) -> Path:
    run = root / variant / f"seed{seed}"
    run.mkdir(parents=True)
    summary = {"variant": variant, "steps": 10, "batch_size": 8, "mix": mix, "samples": samples}
    (run / "train.json").write_text(json.dumps(summary))
    return run


def test_drawn_samples_follow_the_mix_exactly() -> None:
    assert drawn_per_source({"vqa": 1, "semantic": 2}, 8, 10) == {"semantic": 53, "vqa": 27}
    assert sum(drawn_per_source({"vqa": 1, "edge": 3}, 5, 7).values()) == 35


def test_one_row_per_variant_with_its_seeds_and_passes(tmp_path: Path) -> None:
    runs = [_run(tmp_path, "sft", s, {"vqa": 1}, {"vqa": 40}) for s in (0, 1, 2)] + [
        _run(tmp_path, "sft_semantic", 0, {"vqa": 1, "semantic": 2}, {"vqa": 40, "semantic": 400})
    ]
    table = training_table(runs, {"sft": "SFT"}, ["sft_semantic", "sft"])
    assert list(table["variant"]) == ["sft_semantic", "sft"]
    sft = table.set_index("variant").loc["sft"]
    assert sft["seeds"] == "0 1 2" and sft["label"] == "SFT" and sft["samples"] == 80
    assert sft["drawn"] == "vqa 80" and sft["epochs"] == "vqa 2.00"
    semantic = table.set_index("variant").loc["sft_semantic"]
    assert semantic["drawn"] == "semantic 53, vqa 27"
    write_training_table(runs, {}, [], {"steps": 10, "lr": 0.001}, tmp_path / "t.csv", tmp_path / "t.md")
    assert "lr 0.001" in (tmp_path / "t.md").read_text()


def test_a_run_without_its_summary_is_named(tmp_path: Path) -> None:
    (tmp_path / "sft" / "seed0").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="sft/seed0/train.json"):
        training_table([tmp_path / "sft" / "seed0"], {}, [])
