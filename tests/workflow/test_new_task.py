"""A new proxy task is one function and one config entry, and building it runs only its own branch."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
PLUGIN = '''
import numpy as np


def brightest(sample, rng, *, keep=0.25):
    """Target: the brightest `keep` share of pixels in white, the rest black."""
    grey = sample.image.mean(axis=2)
    mask = grey >= np.quantile(grey, 1 - keep)
    return sample.image, np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2)
'''


def _run(workdir: Path, cfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": f"{workdir}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--cores", "2", "-d", str(workdir)]
    return subprocess.run(
        [*cmd, *args, "--configfile", str(cfg)], capture_output=True, text=True, env=env, timeout=900
    )


@pytest.mark.slow
def test_plugin_task_runs_only_its_own_branch(tmp_path: Path) -> None:
    (tmp_path / "mytasks.py").write_text(PLUGIN)
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg_path = tmp_path / "cfg.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    first = _run(tmp_path, cfg_path, "results/targets/semantic/manifest.parquet")
    assert first.returncode == 0, first.stderr[-3000:]

    cfg["targets"]["tasks"]["brightest"] = {"function": "mytasks:brightest", "level": "low", "keep": 0.1}
    cfg_path.write_text(yaml.safe_dump(cfg))
    plan = _run(tmp_path, cfg_path, "-n", "results/targets/brightest/manifest.parquet")
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = set(re.findall(r"^(?:local)?rule (\w+):", plan.stdout, re.M))
    assert jobs == {"make_targets", "target_manifest"}, jobs
    assert "results/targets/semantic/" not in plan.stdout

    built = _run(tmp_path, cfg_path, "results/targets/brightest/manifest.parquet")
    assert built.returncode == 0, built.stderr[-3000:]
    manifest = pq.read_table(tmp_path / "results" / "targets" / "brightest" / "manifest.parquet").to_pandas()
    assert len(manifest) == cfg["targets"]["n_per_task"]
    assert set(manifest["task"]) == {"brightest"} and set(manifest["level"]) == {"low"}
    assert '"keep":0.1' in manifest["params"].iloc[0]
