from __future__ import annotations

from pathlib import Path

from sgt.cli import main


def test_toyworld_command_writes_coco_layout(tmp_path: Path) -> None:
    out = tmp_path / "tw"
    assert main(["toyworld", "--out", str(out), "--n-train", "3", "--n-val", "2", "--seed", "1"]) == 0
    assert len(list((out / "train2017").glob("*.jpg"))) == 3
    assert len(list((out / "val2017").glob("*.jpg"))) == 2
    for name in ("instances", "panoptic", "captions"):
        assert (out / "annotations" / f"{name}_train2017.json").is_file()
    assert len(list((out / "annotations" / "panoptic_val2017").glob("*.png"))) == 2
    assert len(list((out / "depth" / "train2017").glob("*.png"))) == 3
