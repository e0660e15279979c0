"""Every registered backend, the tiny model included, passes the same interface checks the rules rely on."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from backend_helpers import FIXED_GETITEM, fake_checkout

from sgt.models.backend_interface import BaseBuilder, Launch, Recipe, Resources
from sgt.models.backends import BACKENDS
from sgt.models.backends.run import backend_for, config_keys, job_resources, recipe_for, train_with_backend
from sgt.testing.tiny import SMALLEST

TABLE8 = {
    "lr": 1e-4,
    "warmup": 10,
    "steps": 100,
    "batch_size": 60,
    "betas": [0.9, 0.95],
    "weight_decay": 0.01,
}
UPSTREAM = {"url": "https://example.invalid/x.git", "commit": "1" * 40}
MIX = {"vqa": 1, "semantic": 2}


def model_setup(name: str, tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``models.<name>`` as in config, and the per-job options the train rule adds."""
    setups = {
        "tiny": (
            {
                "backend": "tiny",
                "architecture": dataclasses.asdict(SMALLEST),
                "finetune": {"steps": 2, "batch_size": 3, "warmup": 1, "checkpoint_every": 1},
            },
            {"base": tmp / "base", "threads": 1},
        ),
        "bagel": (
            {
                "backend": "bagel",
                "upstream": UPSTREAM,
                "recipe": TABLE8,
                "model_path": str(tmp / "m"),
                "gpus": 8,
            },
            {"checkout": tmp / "Bagel"},
        ),
        "omnigen2": (
            {
                "backend": "omnigen2",
                "upstream": UPSTREAM,
                "recipe": TABLE8,
                "model_path": str(tmp / "m"),
                "vae_path": str(tmp / "vae"),
                "text_encoder_path": str(tmp / "te"),
                "gpus": 4,
            },
            {"checkout": fake_checkout(tmp / "OmniGen2", FIXED_GETITEM)},
        ),
    }
    return setups[name]


def build(name: str, tmp: Path) -> tuple[Any, Recipe]:
    cfg, runtime = model_setup(name, tmp)
    return backend_for(cfg, **runtime), recipe_for(cfg, "sgt", MIX, seed=0)


def test_every_registered_backend_has_a_setup(tmp_path):
    for name in BACKENDS:
        model_setup(name, tmp_path / name)  # a new backend must be added to the table above


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_declares_what_the_workflow_needs(name, tmp_path):
    backend, recipe = build(name, tmp_path)
    cls = type(backend)
    assert cls.name == name
    assert isinstance(cls.needs_base, bool) and isinstance(cls.needs_upstream, bool)
    assert isinstance(cls.own_loop, bool)
    assert cls.evaluator in ("embedded", "vlmeval")
    assert isinstance(backend, BaseBuilder) == cls.needs_base  # a base step exists only where it is built
    cfg, _ = model_setup(name, tmp_path / "again")
    assert set(cfg) <= config_keys(name)
    assert recipe.steps > 0 and recipe.batch_size > 0 and recipe.mix == MIX
    stage = Resources(gpus=0, runtime_min=30, mem_mb=1000, threads=3)
    res = backend.resources(stage)
    assert isinstance(res, Resources) and res.threads == 3 and res.gpus >= 0
    checkout = tmp_path / "co" if cls.needs_upstream else None
    assert job_resources(cfg, {"threads": 3, "mem_mb": 1000, "runtime": 30, "gpu": 0}, checkout) == res


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_runs_through_the_interface(name, toy_shards, vqa_jsonl, tmp_path):
    backend, recipe = build(name, tmp_path)
    data = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "data")
    assert data.is_dir() and any(data.iterdir())
    config = backend.write_config(data, recipe, tmp_path / "run" / "train_config.yaml")
    assert config.is_file()
    workdir = tmp_path / "run"
    backend.prepare(config, workdir)
    launch = backend.launch(config, recipe, workdir)
    assert isinstance(launch, Launch) and launch.argv and all(isinstance(a, str) for a in launch.argv)
    assert backend.checkpoint(workdir) is None  # nothing trained yet
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "weights.bin").write_bytes(b"w")
    backend.handoff(ckpt, tmp_path / "out")
    assert (tmp_path / "out").is_dir() and any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_export_refuses_rows_of_another_task(name, toy_shards, vqa_jsonl, tmp_path):
    backend, recipe = build(name, tmp_path)
    with pytest.raises(ValueError, match="task"):
        backend.export({"semantic": toy_shards["edge"]}, vqa_jsonl, recipe, tmp_path / "data")


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_export_needs_vqa_when_the_mix_has_it(name, toy_shards, tmp_path):
    backend, recipe = build(name, tmp_path)
    with pytest.raises(ValueError, match="vqa"):
        backend.export(toy_shards, None, recipe, tmp_path / "data")


def test_tiny_backend_trains_and_hands_over_a_loadable_model(toy_shards, vqa_jsonl, tmp_path):
    from sgt.models.tiny_umm import TinyUMM, load_model, save_model

    cfg, runtime = model_setup("tiny", tmp_path)
    runtime["base"].mkdir()
    save_model(TinyUMM(SMALLEST), runtime["base"])
    recipe = recipe_for(cfg, "sgt", MIX, seed=0)
    log = tmp_path / "train.log"
    out = tmp_path / "models" / "tiny" / "sgt" / "seed0"
    train_with_backend(cfg, toy_shards, vqa_jsonl, recipe, tmp_path / "work", out, log, **runtime)
    summary = json.loads((out / "train.json").read_text())
    assert summary["steps"] == 2 and summary["mix"] == MIX and summary["samples"]["semantic"] == 4
    assert load_model(out).cfg == SMALLEST
    assert "step" in (out / "metrics.csv").read_text()
    assert "sgt.train" in log.read_text()  # the launched process's log reached the rule's log


def test_untrained_tiny_model_is_seeded_random_weights_and_cluster_models_have_none(tmp_path):
    import torch

    from sgt.models.backends.run import build_untrained
    from sgt.models.tiny_umm import load_model

    cfg = {"backend": "tiny", "architecture": dataclasses.asdict(SMALLEST)}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        build_untrained(cfg, tmp_path / name, seed=seed)
    a, b, c = (load_model(tmp_path / n).state_dict() for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)  # same seed, same weights
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert (tmp_path / "a" / "train.json").is_file()
    cluster, _ = model_setup("bagel", tmp_path)
    with pytest.raises(TypeError, match="no untrained model"):
        build_untrained(cluster, tmp_path / "bagel", seed=0)
