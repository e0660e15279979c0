"""Each shipped config runs end to end in CI at a reduced size: a config no one ran is not shipped (issue 27).

A scaled copy keeps a config's tasks, variants, depth settings and backends, and shrinks what only costs time:
images, pairs, steps, samples, seeds, the model's size. It is written into a copy of the repository and run
from that copy's root, as a user runs the full one. The others run elsewhere in the suite: config/config.yaml
in full (`make demo`, tests/workflow/conftest.py), config/test.yaml in full (test_documented_commands.py),
and config/paper.yaml needs a GPU cluster, so its plan is checked there job by job.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from repo_clone import clone_repo, shell
from snakemake.utils import update_config

REPO = Path(__file__).resolve().parents[2]
N_PER_TASK = 24  # pairs per task in every scaled copy (the shipped configs use 400)


def load(*names: str) -> dict[str, Any]:
    """Config files merged in order, as `--configfile a b` merges them."""
    cfg: dict[str, Any] = {}
    for name in names:
        update_config(cfg, yaml.safe_load((REPO / "config" / name).read_text()))
    return cfg


def scaled(cfg: dict[str, Any]) -> dict[str, Any]:
    """The same study on a small toy world with a few steps of everything."""
    cfg = copy.deepcopy(cfg)
    factor = N_PER_TASK / cfg["targets"]["n_per_task"]
    cfg["run_name"] = f"{cfg['run_name']}-scaled"
    cfg["data"]["toyworld"].update(n_train=40, n_val=12, width=96, height=72)
    cfg["targets"].update(n_per_task=N_PER_TASK, shard_size=12, eval_n=8)
    cfg["depth"]["shard_size"] = 12
    cfg["vqa"].update(train_per_image=1, eval_per_image=1)
    for spec in cfg["study"]["variants"].values():
        if "pairs" in spec:  # nested data sizes stay nested and distinct
            spec["pairs"] = max(2, math.ceil(spec["pairs"] * factor))
        if spec.get("seeds"):  # study.variants.<v>.seeds
            spec["seeds"] = spec["seeds"][:1]
    cfg["study"]["seeds"] = cfg["study"]["seeds"][:1]
    tiny = cfg["models"]["tiny"]
    for stage in ("vit", "understanding", "umm"):
        if stage in tiny["pretrain"]:
            tiny["pretrain"][stage].update(steps=3, batch_size=4)
            if "checkpoint_every" in tiny["pretrain"][stage]:
                tiny["pretrain"][stage]["checkpoint_every"] = 2
            if "warmup" in tiny["pretrain"][stage] and tiny["pretrain"][stage]["warmup"] >= 1:
                tiny["pretrain"][stage]["warmup"] = 1
    tiny["pretrain"]["corpus"]["images"] = 16
    tiny["pretrain"].pop("shipped", None)  # the shipped base is the full config's: build the small one
    # the model's size only costs time: the tests' architecture (config/test.yaml); the shipped size runs in
    # full in `make demo` (tests/workflow/conftest.py)
    tiny["architecture"] = load("test.yaml")["models"]["tiny"]["architecture"]
    tiny["finetune"].update(steps=4, warmup=1, checkpoint_every=2)
    cfg["eval"].update(generation_samples=4, sampling_steps=2, batch_size=16)
    cfg["eval"]["geneval"] = {
        **cfg["eval"].get("geneval", {}),
        "n_per_tag": 1,
        "seeds": [0],
        "sampling_steps": 2,
    }
    cfg["analysis"] = {
        **cfg.get("analysis", {}),
        **{"timesteps": 2, "n_questions": 8, "n_prompts": 6, "max_per_class": 24},
    }
    cfg["resources"] = {**cfg.get("resources", {}), "pretrain": {"threads": 1}, "train": {"threads": 1}}
    return cfg


SHIPPED = {"study.yaml": ("config.yaml", "study.yaml")}  # the full embedded study, as README names it


@pytest.mark.slow(minutes=6)
@pytest.mark.timeout(1800)  # about 5.5 min alone on 2 cores; `make test` runs a second worker beside it
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_scaled_copy_of_the_shipped_config_runs_end_to_end(tmp_path: Path, name: str) -> None:
    full = load(*SHIPPED[name])
    small = scaled(full)
    clone = clone_repo(tmp_path / "sgt-pipeline")
    (clone / "config" / "scaled.yaml").write_text(yaml.safe_dump(small, sort_keys=False))
    plan = shell("snakemake -n --configfile config/scaled.yaml", clone)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    run = shell(".venv/bin/snakemake --configfile config/scaled.yaml --cores 2", clone, timeout=3000)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]
    # every variant of the full config is a row, every task has its targets, the report's inputs exist
    table = pd.read_csv(clone / "results" / "tables" / "understanding.csv", index_col=0)
    assert set(full["study"]["variants"]) <= set(table.index), sorted(table.index)
    for task in full["targets"]["tasks"]:
        assert (clone / "results" / "targets" / task / "manifest.parquet").is_file(), task
    for table_name in ("table3", "table6", "table7"):
        assert (clone / "results" / "tables" / f"{table_name}.csv").is_file(), table_name
    again = shell(".venv/bin/snakemake --configfile config/scaled.yaml --cores 2", clone)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
