"""Run VLMEvalKit on a cluster checkpoint and turn its result files into our tidy rows.

VLMEvalKit loads a model through a class in ``vlmeval.vlm``; the class for each of our models is named in
``eval.vlmeval.model_classes`` (it must accept ``model_path``). Headline numbers become ``accuracy`` rows, so
the tables treat embedded and real benchmarks alike; rows that could not be scored keep their note.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sgt.eval.embedded import write_tidy
from sgt.eval.vlmeval import (
    judge_env,
    judge_from_config,
    parse_vlmeval_results,
    vlmeval_command,
    write_vlmeval_config,
)
from sgt.models.backend import Launch
from sgt.models.backends import run_launch

logger = logging.getLogger(__name__)


def run_vlmeval(
    model_dir: str | Path,
    vlmeval_checkout: str | Path,
    vlmeval_cfg: Mapping[str, Any],
    workdir: str | Path,
    out: str | Path,
    log: str | Path,
    *,
    model: str,
    variant: str,
    seed: int,
) -> None:
    classes = vlmeval_cfg.get("model_classes", {})
    if model not in classes:
        raise KeyError(f"eval.vlmeval.model_classes has no entry for {model!r}: name its vlmeval.vlm class")
    checkpoint = json.loads((Path(model_dir) / "checkpoint.json").read_text())["checkpoint"]
    datasets: Sequence[str] = vlmeval_cfg["datasets"]
    judge = judge_from_config(vlmeval_cfg.get("judge"))
    run_name = f"{model}-{variant}-seed{seed}"
    workdir = Path(workdir)
    config = write_vlmeval_config(
        workdir / "vlmeval.json", run_name, classes[model], {"model_path": checkpoint}, datasets
    )
    run = vlmeval_command(run_name, datasets, workdir / "results", judge, config=config)
    env = {**run.env, **(judge_env(judge) if judge else {})}
    run_launch(Launch(run.argv, env, cwd=Path(vlmeval_checkout)), log)
    table = parse_vlmeval_results(workdir / "results", run_name, variant, datasets, judge)
    rows = []
    for r in table.to_dict("records"):
        metric = "accuracy" if r["headline"] else r["metric"]
        rows.append(
            {
                "model": model,
                "variant": variant,
                "seed": seed,
                "benchmark": r["benchmark"],
                "metric": metric,
                "value": r["value"],
            }
        )
    write_tidy(rows, out)
