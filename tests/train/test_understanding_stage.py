"""The base's understanding stage: VQA alone on the understanding path, the rest of the model untouched."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sgt.testing.tiny import smallest_model, toy_sources
from sgt.train.loop import UNDERSTANDING_PATH
from sgt.train.stages import understanding_settings
from sgt.train.study import _train_understanding

STAGE = {"steps": 3, "batch_size": 4, "warmup": 1, "checkpoint_every": 2, "questions_per_image": 1}


def test_only_the_understanding_path_learns(tmp_path: Path) -> None:
    model = smallest_model()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    metrics = _train_understanding(model, toy_sources()["vqa"], STAGE, tmp_path, seed=0, threads=1)
    assert len(metrics) == 3 and all(torch.isfinite(torch.tensor(m["loss_vqa"])) for m in metrics)
    for name, p in model.named_parameters():
        changed = not torch.equal(p, before[name])
        assert changed == name.startswith(UNDERSTANDING_PATH), name
        assert p.requires_grad  # the freeze lasts for the stage only


def test_unknown_stage_keys_are_named() -> None:
    with pytest.raises(ValueError, match=r"pretrain.understanding: unknown key\(s\) \['step'\]"):
        understanding_settings({"step": 10})
    assert understanding_settings(None)["steps"] == 0
