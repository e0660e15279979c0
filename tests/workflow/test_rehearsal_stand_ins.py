"""The rehearsal's stand-in trainers (tests/workflow/rehearsal/), run alone: their argv checks, the layout
they write, and that a job costs no torch or transformers import where its purpose needs none (issue #22:
the rehearsal runs ~450 jobs on 2 cores)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rehearsal_site import _bagel_checkout, _omnigen2_checkout

# run a script as __main__, then report the heavy modules it imported
NO_HEAVY = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
    "print('heavy:', sorted(m for m in ('torch', 'transformers', 'accelerate') if m in sys.modules))"
)


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True
    )


def test_bagel_stand_in_trainer_writes_upstreams_step_folder_without_torch(tmp_path: Path) -> None:
    checkout = _bagel_checkout(tmp_path / "Bagel")
    (tmp_path / "data.yaml").write_text("unified_edit: {}\n")
    argv = ["--dataset_config_file", str(tmp_path / "data.yaml"), "--total_steps", "8"]
    argv += ["--checkpoint_dir", str(tmp_path / "ckpt")]
    proc = _run(["-c", NO_HEAVY, "train/pretrain_unified_navit.py", *argv], checkout, WORLD_SIZE="2")
    assert proc.returncode == 0, proc.stderr
    assert "heavy: []" in proc.stdout
    assert "(step=0000008) Train Loss mse" in proc.stdout
    step = tmp_path / "ckpt" / "0000008"
    assert sorted(p.name for p in step.iterdir()) == [
        "ema.safetensors",
        "model.safetensors",
        "optimizer.00000-of-00002.pt",
        "optimizer.00001-of-00002.pt",
        "scheduler.pt",
    ]
    import torch
    from safetensors.torch import load_file

    assert torch.equal(load_file(step / "ema.safetensors")["stand_in.weight"], torch.full((2, 2), 8.0))
    assert torch.load(step / "scheduler.pt", weights_only=True) == {"step": 8}
    assert torch.load(step / "optimizer.00001-of-00002.pt", weights_only=True) == {}

    unknown = _run(["train/pretrain_unified_navit.py", *argv, "--no_such_flag", "1"], checkout)
    assert unknown.returncode != 0 and "unknown flag --no_such_flag" in unknown.stderr


@pytest.fixture(scope="module")
def omnigen2_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _omnigen2_checkout(tmp_path_factory.mktemp("SGT")) / "OmniGen2"


def test_omnigen2_stand_in_dataset_module_imports_without_transformers(omnigen2_checkout: Path) -> None:
    """sgt's entry script imports it in every training job; only building a dataset needs the processor."""
    probe = (
        "import sys; import omnigen2.dataset.omnigen2_train_dataset as d; "
        "assert 'transformers' not in sys.modules, 'transformers imported'; print(d.OmniGen2TrainDataset)"
    )
    proc = _run(["-c", probe], omnigen2_checkout, PYTHONPATH=str(omnigen2_checkout))
    assert proc.returncode == 0, proc.stderr


def test_omnigen2_stand_in_trainer_writes_accelerates_checkpoint(omnigen2_checkout: Path, tmp_path: Path):
    release, qwen = tmp_path / "release", tmp_path / "qwen"
    (release / "transformer").mkdir(parents=True)
    qwen.mkdir()
    from safetensors.numpy import save_file

    save_file({"t": np.zeros(2, np.float32)}, release / "transformer" / "diffusion_pytorch_model.safetensors")
    save_file({"q": np.ones(2, np.float32)}, qwen / "model.safetensors")
    config = tmp_path / "run.yaml"
    config.write_text(
        f"name: rehearsal-test\nmodel: {{pretrained_model_path: {release}}}\n"
        "train: {max_train_steps: 4}\ndata: {interleave_pattern: [gen, sft]}\n"
    )
    proc = _run(
        ["train.py", "--config", str(config)],
        omnigen2_checkout,
        WORLD_SIZE="2",
        OMNIGEN2_QWEN_PROCESSOR_PATH=str(qwen),
        PYTHONPATH=str(omnigen2_checkout),
    )
    assert proc.returncode == 0, proc.stderr
    out = omnigen2_checkout / "experiments" / "rehearsal-test" / "checkpoint-4"
    assert sorted(p.name for p in out.iterdir()) == [
        "model.safetensors",
        "model_1.safetensors",
        "random_states_0.pkl",
        "random_states_1.pkl",
    ]
    assert "interleave_pattern = ['gen', 'sft']" in proc.stdout
