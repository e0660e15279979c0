"""Hard kills and the README's recovery recipe, run from a copy's root (issue 21).

The README says: after a hard kill, run ``.venv/bin/snakemake --unlock`` once, then rerun. Two hard kills:
SIGKILL of the demo's training child mid-step (Snakemake sees the job fail), checked against the weights of
the session's uninterrupted `make demo`; and SIGKILL of the whole Snakemake process group (power loss: the
lock and incomplete outputs stay) during a longer fine-tune of the tiny config. Each recovery must end with
the weights of a run that was never interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
import yaml
from repo_clone import VENV, clone_repo, shell

from sgt.io import sha256_file

TARGET = "results/models/tiny/sft_semantic/seed0"
RUN = f".venv/bin/snakemake --configfile config/kill.yaml --cores 2 {TARGET}"
RECOVER = ".venv/bin/snakemake --unlock"  # README: "run `.venv/bin/snakemake --unlock` once, then rerun"


def clone_with_config(root: Path) -> Path:
    clone = clone_repo(root)
    cfg = yaml.safe_load((clone / "config" / "test.yaml").read_text())
    cfg["models"]["tiny"]["finetune"].update(steps=300, checkpoint_every=5)
    cfg["study"]["variants"] = {"base": {}, "sft_semantic": {"mix": {"vqa": 1, "semantic": 2}}}
    (clone / "config" / "kill.yaml").write_text(yaml.safe_dump(cfg))
    return clone


def weights(clone: Path, target: str = TARGET) -> str:
    return sha256_file(clone / target / "model.safetensors")


def start(clone: Path, command: str = RUN) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(clone / "src"),
    }
    return subprocess.Popen(
        ["bash", "-c", command], cwd=clone, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def wait_for_checkpoint(
    clone: Path, proc: subprocess.Popen[bytes], after_step: int, variant: str = "sft_semantic"
) -> None:
    """Until the fine-tune's checkpoint is past ``after_step``: the kill then lands mid-training."""
    state = clone / "results" / "work" / "tiny" / variant / "seed0" / "ckpt" / "state.json"
    deadline = time.time() + 600
    while True:
        assert proc.poll() is None, "the run ended before the kill"
        assert time.time() < deadline, "no checkpoint within 10 minutes"
        if state.is_file():
            try:
                if yaml.safe_load(state.read_text())["step"] >= after_step:
                    return
            except (ValueError, KeyError, yaml.YAMLError):
                pass  # being replaced right now
        time.sleep(0.2)


def training_child(proc: subprocess.Popen[bytes]) -> psutil.Process:
    for child in psutil.Process(proc.pid).children(recursive=True):
        if "sgt.train.tiny_main" in " ".join(child.cmdline()):
            return child
    raise AssertionError("no training child process found")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> str:
    clone = clone_with_config(tmp_path_factory.mktemp("whole") / "sgt-pipeline")
    result = shell(RUN, clone, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    return weights(clone)


DEMO_SFT = "results/models/tiny/sft/seed0"
# the demo's own command, for one of its fine-tunes (SFT: VQA only, so no targets to make first)
DEMO_RUN = f".venv/bin/snakemake --workflow-profile profiles/local --cores 2 {DEMO_SFT}"


@pytest.mark.slow
def test_sigkill_of_the_demos_training_child_then_recovery_gives_the_demos_weights(
    tmp_path: Path, demo_clone: Path
) -> None:
    clone = clone_repo(tmp_path / "sgt-pipeline")
    proc = start(clone, DEMO_RUN)
    try:
        wait_for_checkpoint(clone, proc, after_step=40, variant="sft")  # the demo saves every 40 of 150
        training_child(proc).send_signal(signal.SIGKILL)
        assert proc.wait(timeout=300) != 0  # the job failed; Snakemake stopped
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not (clone / DEMO_SFT).exists()
    for command in (RECOVER, DEMO_RUN):
        result = shell(command, clone, timeout=1800)
        assert result.returncode == 0, (command, result.stderr[-3000:])
    log = (clone / "results" / "logs" / "train" / "tiny" / "sft" / "seed0.log").read_text()
    assert "resuming from" in log
    history = (clone / "results/logs/train/tiny/sft/seed0.log.all").read_text()
    assert history.count("=== attempt started") == history.count("launching in") == 2  # the killed one too
    assert weights(clone, DEMO_SFT) == weights(demo_clone, DEMO_SFT)


@pytest.mark.slow
def test_power_loss_then_unlock_and_a_plain_rerun_gives_the_uninterrupted_weights(
    tmp_path: Path, uninterrupted: str
) -> None:
    clone = clone_with_config(tmp_path / "sgt-pipeline")
    proc = start(clone)
    try:
        wait_for_checkpoint(clone, proc, after_step=20)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # everything at once, as a power loss would
        proc.wait(timeout=60)
    locked = shell(RUN, clone)
    assert locked.returncode != 0 and "unlock" in (locked.stdout + locked.stderr).lower()
    # no --rerun-incomplete: the workflow's default profile (profiles/default) carries it
    for command in (RECOVER, RUN):
        result = shell(command, clone, timeout=1800)
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-3000:])
    assert weights(clone) == uninterrupted
    leftovers = [p for p in (clone / "results").rglob("*") if ".sgt-tmp" in p.name]
    assert not leftovers, leftovers
