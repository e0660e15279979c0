"""``sgt synth``: a shard, a manifest and optional PNGs for a few images."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import pyarrow.parquet as pq
import pytest

from sgt.targets.cli import synth_main


def test_synth_writes_pairs_and_pngs(toyworld: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["--task", "isr", "--coco-root", str(toyworld), "--split", "train2017", "--out", str(out)]
    assert synth_main([*argv, "--limit", "3", "--seed", "2", "--export-png", "--param", "factors=[4]"]) == 0
    table = pq.read_table(out / "pairs.parquet").to_pylist()
    assert len(table) == 3
    for row in table:
        assert json.loads(row["params"])["drawn"]["factor"] == 4
        cond = cv2.imread(str(out / "png" / f"{row['image_id']}_cond.png"))
        target = cv2.imread(str(out / "png" / f"{row['image_id']}_target.png"))
        assert cond.shape == target.shape == (120, 160, 3)
    assert json.loads((out / "summary.json").read_text())["written"] == 3
    assert pq.read_table(out / "manifest.parquet").num_rows == 3


def test_synth_rejects_unknown_task_and_bad_param(toyworld: Path, tmp_path: Path) -> None:
    base = ["--coco-root", str(toyworld), "--out", str(tmp_path / "o"), "--limit", "1"]
    with pytest.raises(KeyError, match="unknown task 'edg'"):
        synth_main(["--task", "edg", *base])
    with pytest.raises(ValueError, match="key=value"):
        synth_main(["--task", "edge", *base, "--param", "low"])


def test_task_config_yaml_syntax_error_names_the_file_and_line(toyworld: Path, tmp_path: Path) -> None:
    """Issue #21 finding 8: a YAML syntax error named neither the file nor the line."""
    entry = tmp_path / "edge.yaml"
    entry.write_text("low: 50\nhigh: [200\n")
    base = ["--coco-root", str(toyworld), "--out", str(tmp_path / "o"), "--limit", "1"]
    with pytest.raises(ValueError, match=rf"^{re.escape(str(entry))}:3:1: not valid YAML"):
        synth_main(["--task", "edge", *base, "--task-config", str(entry)])
