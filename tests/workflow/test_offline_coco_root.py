"""With data.source=coco and data.coco.root pointing at an existing COCO-layout copy (here the toy world),
the whole DAG runs without any download: the data rules only validate the layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sgt.data.toyworld import ToyWorldSpec, write_toyworld

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.mark.slow
def test_existing_coco_root_runs_with_no_download(tmp_path: Path) -> None:
    root = write_toyworld(ToyWorldSpec(n_train=24, n_val=8, width=96, height=72), tmp_path / "coco_copy")
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["data"] = {"source": "coco", "root": str(root), "coco": {"download": False}}
    # every kind of reader of the data (subsets, VQA, targets, training, evaluation) on one task: the edge
    # and depth branches read the same dataset class, and run whole in test_documented_commands.py
    # (test_test_config_runs_end_to_end_...) and test_depth_branch.py
    cfg["targets"]["tasks"] = {"semantic": cfg["targets"]["tasks"]["semantic"]}
    cfg["depth"]["also_estimate"] = []
    cfg_path = tmp_path / "offline.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--cores", "2", "-d", str(tmp_path / "run")]
    plan = subprocess.run(
        [*cmd, "-n", "--configfile", str(cfg_path)], capture_output=True, text=True, timeout=600
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "download_coco" not in plan.stdout and "toyworld" not in plan.stdout.replace(str(root), "")
    run = subprocess.run([*cmd, "--configfile", str(cfg_path)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "run" / "results" / "tables" / "understanding.csv").is_file()
    validated = yaml.safe_load((tmp_path / "run" / "results" / "data" / "validated.json").read_text())
    assert validated["splits"]["train2017"]["images"] == 24
