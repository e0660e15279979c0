"""The training loop: batch mix, exact resume, checkpoints, pre-emption."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from sgt.models.tiny_inputs import PairSet, VQASet
from sgt.models.tiny_umm import TinyUMM, load_model, load_vit, save_model
from sgt.testing.tiny import SMALLEST, smallest_model, toy_sources
from sgt.train.loop import UNDERSTANDING_PATH, param_groups, train
from sgt.train.settings import TrainConfig, lr_at

TINY = SMALLEST


def _sources() -> dict[str, VQASet | PairSet]:
    return toy_sources()


def _model() -> TinyUMM:
    return smallest_model()


def test_learning_rate_warms_up_then_decays() -> None:
    cfg = TrainConfig(steps=100, lr=1.0, warmup=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg) == pytest.approx(0.1)
    assert lr_at(9, cfg) == pytest.approx(1.0)
    assert lr_at(99, cfg) < 0.2
    assert all(lr_at(s, cfg) >= lr_at(s + 1, cfg) for s in range(10, 99))


def test_a_misspelt_setting_is_an_error_not_the_default() -> None:
    """Issue #21: ``learning_rate`` in place of ``lr`` was dropped and training ran at the default rate."""
    cfg = TrainConfig.from_dict({"steps": 3, "lr": 0.5, "betas": [0.8, 0.9]}, seed=1, threads=1)
    assert (cfg.lr, cfg.betas, cfg.seed) == (0.5, (0.8, 0.9), 1)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['learning_rate'\]"):
        TrainConfig.from_dict({"steps": 3, "learning_rate": 0.5})


def test_resume_matches_uninterrupted_training_exactly(tmp_path: Path) -> None:
    cfg = TrainConfig(steps=4, batch_size=4, lr=1e-3, warmup=1, checkpoint_every=100, threads=1)
    mix = {"vqa": 1, "semantic": 1}
    straight = _model()
    metrics_a = train(straight, _sources(), mix, cfg, tmp_path / "a")
    interrupted = _model()
    train(interrupted, _sources(), mix, cfg, tmp_path / "b", stop_after=2)
    resumed = _model()  # a fresh process: weights come from the checkpoint only
    metrics_b = train(resumed, _sources(), mix, cfg, tmp_path / "b")
    assert [m["loss"] for m in metrics_a] == [m["loss"] for m in metrics_b]
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert all(torch.isfinite(torch.tensor(m["loss"])) for m in metrics_a)


def test_resume_continues_a_composition_that_varies_by_step(tmp_path: Path) -> None:
    """1:4 at batch 4 takes 1, 1, 0, 1, 1 VQA samples: a run killed after step 3 resumes on that schedule."""
    cfg = TrainConfig(steps=5, batch_size=4, lr=1e-3, warmup=1, checkpoint_every=100, threads=1)
    mix = {"vqa": 1, "semantic": 4}
    straight = _model()
    metrics_a = train(straight, _sources(), mix, cfg, tmp_path / "a")
    train(_model(), _sources(), mix, cfg, tmp_path / "b", stop_after=3)
    resumed = _model()
    metrics_b = train(resumed, _sources(), mix, cfg, tmp_path / "b")
    assert [m["n_vqa"] for m in metrics_a] == [1, 1, 0, 1, 1]
    assert [(m["loss"], m["n_vqa"]) for m in metrics_a] == [(m["loss"], m["n_vqa"]) for m in metrics_b]
    assert "loss_vqa" not in metrics_a[2] and metrics_a[2]["n_semantic"] == 4
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_ratio_1_3_and_1_4_train_on_different_samples(tmp_path: Path) -> None:
    """Issue #27: at batch 8 the loop gave both 2:6 every step, so both runs ended in the same weights."""
    cfg = TrainConfig(steps=3, batch_size=8, lr=1e-3, warmup=1, checkpoint_every=100, threads=1)
    a = train(_model(), _sources(), {"vqa": 1, "semantic": 3}, cfg, tmp_path / "a")
    b = train(_model(), _sources(), {"vqa": 1, "semantic": 4}, cfg, tmp_path / "b")
    assert [m["n_vqa"] for m in a] == [2, 2, 2]
    assert [m["n_vqa"] for m in b] == [2, 1, 2]
    assert a[1]["loss"] != b[1]["loss"]


def test_mix_naming_an_unloaded_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="edge"):
        train(_model(), _sources(), {"vqa": 1, "edge": 1}, TrainConfig(steps=1, batch_size=2), tmp_path)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = _model()
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    for (name, p), q in zip(model.state_dict().items(), loaded.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    (tmp_path / "m" / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_model(tmp_path / "m")


def test_load_vit_takes_only_the_vit(tmp_path: Path) -> None:
    """The ViT stage's product is the ViT: a resumed base keeps its own LM weights and takes the saved ViT."""
    saved = smallest_model(seed=1)
    save_model(saved, tmp_path / "m")
    model = smallest_model(seed=2)
    lm_before = {k: v.clone() for k, v in model.lm.state_dict().items()}
    load_vit(model, tmp_path / "m")
    for (name, p), q in zip(saved.vit.state_dict().items(), model.vit.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert all(torch.equal(lm_before[k], v) for k, v in model.lm.state_dict().items())
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        load_vit(model, tmp_path / "missing")
    wider = TinyUMM(dataclasses.replace(SMALLEST, vit_hidden=2 * SMALLEST.vit_hidden))
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_vit(wider, tmp_path / "m")


def test_each_part_of_the_model_learns_at_its_own_scale() -> None:
    """ViT, understanding path and generation side land in their own optimiser groups, frozen parameters
    in none."""
    model = smallest_model()
    model.gen_out.weight.requires_grad_(False)
    cfg = TrainConfig(steps=1, vit_lr_scale=0.1, understanding_lr_scale=0.3)
    groups = {g["lr_scale"]: {id(p) for p in g["params"]} for g in param_groups(model, cfg)}
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[i] for i in groups[0.1]} == {n for n in names.values() if n.startswith("vit.")}
    assert {names[i] for i in groups[0.3]} == {n for n in names.values() if n.startswith(UNDERSTANDING_PATH)}
    rest = {names[i] for i in groups[1.0]}
    assert "gen_lm.layers.0.mlp.up_proj.weight" in rest and "gen_out.weight" not in rest
    assert sum(len(g) for g in groups.values()) == sum(p.requires_grad for p in model.parameters())
