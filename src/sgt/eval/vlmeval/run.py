"""Run VLMEvalKit on a cluster model's eval folder and turn its result files into our tidy rows.

VLMEvalKit loads a model through a class in ``vlmeval.vlm``: the backend's ``vlmeval_class`` (``Bagel``,
``Qwen2VLChat``) unless ``eval.vlmeval.model_classes`` names another; the folder comes from the backend's
``eval_folder``. run.py runs inside its checkout, so every path it gets is absolute, and it runs with
``eval.vlmeval.python`` (VLMEvalKit's own environment, envs/vlmeval.yaml) while this job stays in ours.
Dataset TSVs come from the shared ``LMUData`` the CPU rule ``vlmeval_data`` filled (each job gets a folder of
links to them, where run.py decodes its images), so the GPU node needs no internet. Headline numbers become
``accuracy`` rows, so the tables treat embedded and real benchmarks alike; a dataset without a number keeps
a NaN row whose ``note`` says why.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sgt.eval.vlmeval.adapter import (
    VLMEvalRun,
    judge_env,
    judge_from_config,
    parse_vlmeval_results,
    scorable,
    vlmeval_command,
    write_vlmeval_config,
)
from sgt.eval.vlmeval.lmudata import link_lmudata
from sgt.models.backend_interface import Launch
from sgt.models.backends import run_launch
from sgt.scores import Score, score_columns, write_tidy

logger = logging.getLogger(__name__)
RESULT_COLUMNS = score_columns("headline", "note")


def vlmeval_python(setting: str | None) -> str:
    """The interpreter that runs run.py: an absolute path (relative ones are taken from the project root),
    or a command name looked up on PATH. Checked now, so a missing environment stops before the GPU waits."""
    python = setting or "python"
    if os.sep in python:
        path = Path(python).absolute()
        if not path.is_file():
            raise FileNotFoundError(
                f"eval.vlmeval.python: {path} does not exist; create VLMEvalKit's environment "
                "(`make vlmeval-env`, from envs/vlmeval.yaml) or point the key at its python"
            )
        return str(path)
    if shutil.which(python) is None:
        raise FileNotFoundError(f"eval.vlmeval.python: {python!r} is not on PATH; name VLMEvalKit's python")
    return python


def vlmeval_invocation(
    vlmeval_cfg: Mapping[str, Any],
    run_name: str,
    vlm_class: str,
    model_path: str | Path,
    workdir: str | Path,
    *,
    python: str = "python",
) -> VLMEvalRun:
    """run.py's argv and ``--config`` JSON (written under ``workdir``), every path absolute. The JSON holds
    only the datasets run.py can score: with ``--config`` it runs every entry it is given."""
    datasets: Sequence[str] = vlmeval_cfg["datasets"]
    judge = judge_from_config(vlmeval_cfg.get("judge"))
    results = Path(workdir).absolute() / "results"
    runnable, _ = scorable(datasets, judge)
    model = {"model_path": str(Path(model_path).absolute())}
    config = write_vlmeval_config(
        Path(workdir).absolute() / "vlmeval.json", run_name, vlm_class, model, runnable
    )
    return vlmeval_command(run_name, datasets, results, judge, config=config, python=python)


def run_vlmeval(
    eval_model: str | Path,
    vlmeval_checkout: str | Path,
    lmudata_manifest: str | Path,
    vlmeval_cfg: Mapping[str, Any],
    workdir: str | Path,
    out: str | Path,
    log: str | Path,
    *,
    model: str,
    variant: str,
    seed: int,
    vlm_class: str,
) -> None:
    datasets: Sequence[str] = vlmeval_cfg["datasets"]
    judge = judge_from_config(vlmeval_cfg.get("judge"))
    python = vlmeval_python(vlmeval_cfg.get("python"))
    run_name = f"{model}-{variant}-seed{seed}"
    workdir = Path(workdir).absolute()
    run = vlmeval_invocation(vlmeval_cfg, run_name, vlm_class, eval_model, workdir, python=python)
    for name, why in run.skipped.items():
        logger.warning("%s: not run (%s)", name, why)
    # the job's own LMUData: links to the shared TSVs, since run.py decodes images into it without locks
    env = {**run.env, "LMUData": str(link_lmudata(lmudata_manifest, workdir / "LMUData"))}
    secrets: tuple[str, ...] = ()
    if judge is not None:
        env.update(judge_env(judge))
        secrets = (env["OPENAI_API_KEY"],)  # VLMEvalKit logs the judge key; the job log must not keep it
    if run.datasets:
        run_launch(Launch(run.argv, env, cwd=Path(vlmeval_checkout).absolute(), secrets=secrets), log)
    log_text = Path(log).read_text(encoding="utf-8", errors="replace") if Path(log).is_file() else ""
    table = parse_vlmeval_results(workdir / "results", run_name, variant, datasets, judge, log_text=log_text)
    scored = table[table["headline"] & table["value"].notna()]
    if run.datasets and scored.empty:
        reasons = "; ".join(f"{r.benchmark}: {r.note}" for r in table.itertuples() if r.headline)
        raise RuntimeError(f"VLMEvalKit scored none of {list(run.datasets)} for {run_name}: {reasons}")
    rows = []
    for r in table.to_dict("records"):
        rows.append(
            Score(
                model=model,
                variant=variant,
                seed=seed,
                benchmark=r["benchmark"],
                metric="accuracy" if r["headline"] else r["metric"],
                value=r["value"],
                headline=bool(r["headline"]),
                note=r["note"] if isinstance(r["note"], str) else "",
            )
        )
    missing = [r.benchmark for r in rows if r.headline and math.isnan(r.value)]
    logger.info("%s: %d of %d datasets scored; none for %s", run_name, len(scored), len(datasets), missing)
    write_tidy(rows, out, columns=RESULT_COLUMNS)
