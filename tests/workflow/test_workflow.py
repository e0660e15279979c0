"""The workflow itself: lint, format, config checks, paper-scale planning, runs, rerun, kill and resume."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")


def snakemake(*args: str, cwd: Path | None = None, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), *args]
    return subprocess.run(
        cmd,
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def job_counts(output: str) -> dict[str, int]:
    """Parse Snakemake's "Job stats" table."""
    counts: dict[str, int] = {}
    block = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            if counts:
                break
            continue
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def test_lint_is_clean() -> None:
    result = snakemake("--lint", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt_check_passes() -> None:
    result = subprocess.run(
        [str(BIN / "snakefmt"), "--check", "Snakefile", "workflow/rules"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_configs_validate_against_the_schema() -> None:
    from snakemake.utils import update_config, validate

    from sgt.config import check_config

    for name in ("config.yaml", "test.yaml", "paper.yaml", "study.yaml"):
        cfg = yaml.safe_load((REPO / "config" / name).read_text())
        if name == "study.yaml":  # an overlay: --configfile merges it into the Snakefile's config.yaml
            cfg, overlay = yaml.safe_load((REPO / "config" / "config.yaml").read_text()), cfg
            update_config(cfg, overlay)
        validate(cfg, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
        check_config(cfg)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("bogus_key=1", "bogus_key"),
        ("seed=-3", "seed"),
        ("targets={'n_per_task': 10, 'shard_sise': 5}", "shard_sise"),
    ],
)
def test_bad_config_stops_before_any_job_naming_the_key(tmp_path: Path, override: str, named: str) -> None:
    cfg = str(REPO / "config" / "config.yaml")
    result = snakemake(
        "-n", "--cores", "1", "-d", str(tmp_path), "--configfile", cfg, "--config", override, timeout=300
    )
    assert result.returncode != 0
    assert named in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_unknown_mix_source_stops_naming_it(tmp_path: Path) -> None:
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["study"]["variants"]["typo"] = {"mix": {"vqa": 1, "segm": 2}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    result = snakemake("-n", "--cores", "1", "-d", str(tmp_path), "--configfile", str(path), timeout=300)
    assert result.returncode != 0
    assert "study.variants.typo.mix: unknown source 'segm'" in result.stdout + result.stderr


def test_two_variants_on_the_same_samples_stop_planning(tmp_path: Path) -> None:
    """Issue #27: a variant that differs from another only in label (or in a ratio the run cannot show)."""
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["study"]["variants"]["again"] = {"mix": {"vqa": 2, "semantic": 4}, "label": "SFT+Semantic again"}
    path = tmp_path / "dup.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    result = snakemake("-n", "--cores", "1", "-d", str(tmp_path), "--configfile", str(path), timeout=300)
    assert result.returncode != 0
    message = "study.variants.again: model 'tiny' would train on exactly the samples of study.variants."
    message += "sft_semantic (mixes {'vqa': 1, 'semantic': 2} and {'vqa': 2, 'semantic': 4}"
    assert message in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_interrupt_mid_training_then_rerun_redoes_only_unfinished_jobs(tmp_path: Path) -> None:
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["models"]["tiny"]["finetune"].update(steps=400, checkpoint_every=2)
    cfg["study"]["variants"] = {"base": {}, "sft_semantic": {"mix": {"vqa": 1, "semantic": 2}}}
    # only the branch the fine-tune reads (45 jobs -> 29): the edge and depth branches are not what is
    # interrupted; they run whole in test_documented_commands.py (test_test_config_runs_end_to_end_...) and
    # test_depth_branch.py
    cfg["targets"]["tasks"] = {"semantic": cfg["targets"]["tasks"]["semantic"]}
    cfg["depth"]["also_estimate"] = []
    cfg_path = tmp_path / "kill.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    workdir = tmp_path / "run"
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--cores", "2", "-d", str(workdir)]
    cmd += ["--configfile", str(cfg_path)]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    ckpt = workdir / "results" / "work" / "tiny" / "sft_semantic" / "seed0" / "ckpt" / "state.json"
    deadline = time.time() + 600
    try:
        while not ckpt.is_file():
            assert proc.poll() is None, "the run ended before training started"
            assert time.time() < deadline, "no checkpoint within 10 minutes"
            time.sleep(0.5)
        time.sleep(1.0)
    finally:
        if proc.poll() is None:  # an early exit must surface as the assertion above, not a ProcessLookupError
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground group gets SIGINT
        proc.wait(timeout=300)
    assert not (workdir / "results" / "models" / "tiny" / "sft_semantic" / "seed0").exists()
    # the rerun must finish quickly, so it gets the short schedule; the checkpoint is still ahead of it
    plan = snakemake(
        "-n", "--cores", "2", "-d", str(workdir), "--configfile", str(cfg_path), "--rerun-incomplete"
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    todo = job_counts(plan.stdout)
    assert "train" in todo and "evaluate" in todo
    for done in ("toyworld", "validate_data", "pretrain", "vqa_train"):
        assert done not in todo, (done, todo)
    assert "output: results/targets/semantic/" not in plan.stdout  # training shards were finished
    resumed = snakemake(
        "--cores", "2", "-d", str(workdir), "--configfile", str(cfg_path), "--rerun-incomplete"
    )
    assert resumed.returncode == 0, resumed.stderr[-5000:]
    log = (workdir / "results" / "logs" / "train" / "tiny" / "sft_semantic" / "seed0.log").read_text()
    assert "resuming from" in log
