"""OmniGen2 export checked against the fork's loader rules, its YAML batch/mix settings, and its launch."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import yaml
from backend_helpers import FIXED_GETITEM, FORK_GETITEM, assert_snapshot, fake_checkout, paper_recipe
from PIL import Image

from sgt.io import sha256_file
from sgt.models.backends.omnigen2 import OmniGen2Backend, check_checkout, interleave

RECIPE = dict(steps=2500, lr=4e-4, warmup=300, batch_size=60)  # Table 8, OmniGen2 column


@pytest.fixture
def backend(tmp_path: Path) -> OmniGen2Backend:
    return OmniGen2Backend(
        checkout=fake_checkout(tmp_path / "OmniGen2", FIXED_GETITEM),
        model_path=tmp_path / "models/OmniGen2",
        vae_path=tmp_path / "models/FLUX.1-dev",
        text_encoder_path=tmp_path / "models/Qwen2.5-VL-3B-Instruct",
        gpus=4,
    )


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_export_matches_the_loader(backend, toy_shards, vqa_jsonl, tmp_path):
    recipe = paper_recipe(mix={"vqa": 1, "semantic": 1, "edge": 1}, **RECIPE)
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    entries = yaml.safe_load((root / "data.yml").read_text())["data"]
    assert {e["type"] for e in entries} == {"gen", "sft"}
    # Upstream ignores ratio; record counts and the interleave pattern set the mix.
    assert {e["ratio"] for e in entries} == {1.0}
    gen = read_jsonl(root / "gen.jsonl")
    for rec in gen:
        assert "id" not in rec and "text" not in rec  # the fork routes on 'id' and 'text'
        assert rec["task_type"] in ("semantic", "edge") and rec["instruction"]
        (cond,) = rec["input_images"]
        assert os.path.isabs(cond) and os.path.isabs(rec["output_image"])
        assert sha256_file(rec["output_image"]) == rec["target_sha256"] != sha256_file(cond)
        Image.open(cond).convert("RGB")
        Image.open(rec["output_image"]).convert("RGB")
    counts = Counter(r["task_type"] for r in gen)
    assert abs(counts["semantic"] - counts["edge"]) <= 1 and sum(counts.values()) == len(gen)
    assert len(gen) >= backend.layout(recipe).micro_global * 2
    sft = read_jsonl(root / "sft.jsonl")
    sft_root = root / "sft_images"  # what OMNIGEN2_SFT_IMAGE_ROOT points to
    assert len(sft) >= backend.layout(recipe).micro_global
    for rec in sft:
        assert rec["id"] and rec["task_type"] == "sft"
        human, gpt = rec["conversations"]
        assert human["from"] == "human" and human["value"].count("<image>") == 1 and gpt["from"] == "gpt"
        Image.open(sft_root / rec["image"]).convert("RGB")


def test_config_sets_batch_and_mix(backend, toy_shards, vqa_jsonl, tmp_path):
    recipe = paper_recipe(mix={"vqa": 1, "semantic": 2}, **RECIPE)
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    cfg = yaml.safe_load(backend.write_config(root, recipe, tmp_path / "train.yml").read_text())
    train, pattern = cfg["train"], cfg["data"]["interleave_pattern"]
    micro, accum = train["batch_size"], train["gradient_accumulation_steps"]
    assert micro * accum * backend.gpus == train["global_batch_size"] == 60
    # Every optimizer step holds the exact mix.
    assert accum % len(pattern) == 0
    assert Counter(pattern) == {"gen": 2, "sft": 1}  # VQA:seg 1:2 (paper Fig. 5a)
    assert (train["learning_rate"], train["warmup_t"], train["max_train_steps"]) == (4e-4, 300, 2500)
    assert (train["adam_beta1"], train["adam_beta2"], train["adam_weight_decay"]) == (0.9, 0.95, 0.01)
    assert cfg["resume_from_checkpoint"] == "latest" and cfg["data"]["data_path"] == str(root / "data.yml")


def test_eight_gpus_cannot_hold_a_batch_of_60(tmp_path):
    b = OmniGen2Backend(
        checkout=tmp_path, model_path=tmp_path, vae_path=tmp_path, text_encoder_path=tmp_path, gpus=8
    )
    with pytest.raises(ValueError, match=r"gpus to one of \[1, 2, 4, 5, 10\].*batch_size to 48 or 72"):
        b.layout(paper_recipe(**RECIPE))


@pytest.mark.parametrize("gpus", range(1, 17))
@pytest.mark.parametrize(
    ("mix", "cycle"),
    [({"vqa": 1, "semantic": 2}, 3), ({"semantic": 1}, 1), ({"vqa": 1}, 1), ({"vqa": 2, "edge": 3}, 5)],
)
def test_layout_splits_the_global_batch_or_says_how_to_fix_it(gpus, mix, cycle, tmp_path):
    b = OmniGen2Backend(
        checkout=tmp_path, model_path=tmp_path, vae_path=tmp_path, text_encoder_path=tmp_path, gpus=gpus
    )
    possible = any(60 % (m * gpus) == 0 and (60 // (m * gpus)) % cycle == 0 for m in (1, 2))
    recipe = paper_recipe(**{**RECIPE, "mix": mix})
    if not possible:
        with pytest.raises(ValueError, match=r"models.omnigen2.gpus to one of .*batch_size to \d+ or \d+"):
            b.layout(recipe)
        return
    lay = b.layout(recipe)
    assert lay.batch_size * lay.grad_accum * lay.processes == 60 and lay.processes == gpus
    assert (
        1 <= lay.batch_size <= b.max_micro_batch and len(lay.pattern) == cycle and lay.grad_accum % cycle == 0
    )


def test_interleave_spreads_counts():
    assert interleave({"gen": 2, "sft": 1}) == ("gen", "sft", "gen")
    assert Counter(interleave({"gen": 3, "sft": 2})) == {"gen": 3, "sft": 2}


def test_checkout_check_refuses_the_fork_routing(tmp_path):
    fork = fake_checkout(tmp_path / "fork", FORK_GETITEM)
    with pytest.raises(ValueError, match="never calls process_item"):
        check_checkout(fork, needs_sft=True)
    check_checkout(fake_checkout(tmp_path / "fixed", FIXED_GETITEM), needs_sft=True)
    no_sft = fake_checkout(tmp_path / "upstream", FIXED_GETITEM.replace("process_sft", "other"))
    with pytest.raises(ValueError, match="no VQA SFT support"):
        check_checkout(no_sft, needs_sft=True)


def test_prepare_links_output_dir_and_skips_partial_checkpoints(backend, toy_shards, vqa_jsonl, tmp_path):
    recipe = paper_recipe(**RECIPE)
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    config = backend.write_config(root, recipe, tmp_path / "train.yml")
    workdir = tmp_path / "run"
    for step, ranks in ((250, 4), (500, 2)):  # checkpoint-500's save was cut off after two ranks
        d = workdir / f"checkpoint-{step}"
        d.mkdir(parents=True)
        for i in range(ranks):
            (d / f"random_states_{i}.pkl").write_bytes(b"x")
    backend.prepare(config, workdir)
    assert backend.experiment_dir(config).resolve() == workdir.resolve()
    assert backend.experiment_dir(config) == backend.checkout / "experiments" / "sgt-sgt"
    assert (workdir / "partial-checkpoint-500").is_dir() and not (workdir / "checkpoint-500").exists()
    assert backend.checkpoint(workdir) == workdir / "checkpoint-250"
    backend.prepare(config, workdir)  # idempotent
    other = tmp_path / "other"
    with pytest.raises(RuntimeError, match="two runs share a name"):
        backend.prepare(config, other)
    assert_snapshot("omnigen2_launch", backend.launch(config, recipe, workdir), tmp_path)


def test_multi_turn_conversations_become_one_sft_record_per_exchange(
    backend, toy_shards, multi_turn_vqa_jsonl, tmp_path
):
    # the fork's process_sft keeps only the last human and gpt turns, so each exchange gets its own record
    recipe = paper_recipe(mix={"vqa": 1, "semantic": 2}, **RECIPE)
    root = backend.export(toy_shards, multi_turn_vqa_jsonl, recipe, tmp_path / "export")
    sft = read_jsonl(root / "sft.jsonl")
    pairs = {tuple(t["value"] for t in rec["conversations"]) for rec in sft}
    assert all(len(p) == 2 for p in pairs)
    assert {("<image>\nIs it dark?", "no"), ("<image>\nAny objects?", "none")} <= pairs
