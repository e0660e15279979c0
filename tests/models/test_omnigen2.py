"""OmniGen2 export checked against the fork's loader rules, its YAML batch/mix settings, and its launch."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import yaml
from backend_helpers import (
    FIXED_GETITEM,
    FORK_GETITEM,
    UPSTREAM_GETITEM,
    assert_snapshot,
    fake_checkout,
    paper_recipe,
)
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


def test_checkout_check_takes_upstream_and_the_fork_and_refuses_other_routing(tmp_path):
    # the fork sends our records to process_panoptic, which the entry script reroutes
    check_checkout(fake_checkout(tmp_path / "fork", FORK_GETITEM), needs_sft=True)
    check_checkout(fake_checkout(tmp_path / "fixed", FIXED_GETITEM), needs_sft=True)
    upstream = fake_checkout(tmp_path / "upstream", UPSTREAM_GETITEM, sampler=False)
    check_checkout(upstream, needs_sft=False)
    with pytest.raises(ValueError, match="no VQA SFT support"):
        check_checkout(upstream, needs_sft=True)
    no_sampler = fake_checkout(tmp_path / "nosampler", FORK_GETITEM, sampler=False)
    with pytest.raises(ValueError, match="neither process_item"):
        check_checkout(no_sampler, needs_sft=False)
    sam_only = FORK_GETITEM.replace("self.process_panoptic(data_item)", "self.process_sam(data_item)")
    with pytest.raises(ValueError, match="neither process_item"):
        check_checkout(fake_checkout(tmp_path / "sam", sam_only), needs_sft=False)


def test_two_seeds_of_a_variant_get_their_own_experiment_folder(backend, toy_shards, vqa_jsonl, tmp_path):
    links = []
    for seed in (0, 1):
        recipe = paper_recipe(**{**RECIPE, "seed": seed})
        root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / f"export{seed}")
        config = backend.write_config(root, recipe, tmp_path / f"train{seed}.yml")
        backend.prepare(config, tmp_path / f"run{seed}")  # the second seed must not find the first's link
        links.append(backend.experiment_dir(config))
    assert links[0] != links[1] and all(link.resolve().name.startswith("run") for link in links)


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
    assert backend.experiment_dir(config) == backend.checkout / "experiments" / "sgt-sgt-seed0"
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


def train_py_conversions(path: Path) -> dict[str, object]:
    """What train.py does with the YAML: ``OmegaConf.load``, then ``OmegaConf.to_object`` on three keys.

    Upstream 0f72fa9 train.py:172 (``logger.log_with``) and :316 (``data.max_input_pixels``); the SGT fork
    train.py:360, :536 and :583 (``data.interleave_pattern``, when set).
    """
    from omegaconf import OmegaConf

    conf = OmegaConf.load(path)
    out = {
        "logger.log_with": OmegaConf.to_object(conf.logger.log_with),
        "data.max_input_pixels": OmegaConf.to_object(conf.data.get("max_input_pixels", 1024 * 1024)),
    }
    if conf.data.get("interleave_pattern", None) is not None:
        out["data.interleave_pattern"] = OmegaConf.to_object(conf.data.get("interleave_pattern", None))
    out["all"] = OmegaConf.to_container(conf, resolve=True)
    return out


def same_types(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_types(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(same_types(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    return a == b


@pytest.mark.parametrize(
    "mix", [{"semantic": 1}, {"vqa": 1}, {"vqa": 1, "semantic": 2}, {"edge": 1, "semantic": 1}]
)
def test_every_yaml_value_survives_train_py_conversions(backend, toy_shards, vqa_jsonl, tmp_path, mix):
    recipe = paper_recipe(**{**RECIPE, "mix": mix})
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    path = backend.write_config(root, recipe, tmp_path / "train.yml")
    plain = yaml.safe_load(path.read_text())
    got = train_py_conversions(path)
    assert same_types(got.pop("all"), plain)  # every value, with its type
    for key, value in got.items():
        section, name = key.split(".")
        assert same_types(value, plain[section][name]), key
    assert ("data.interleave_pattern" in got) == ("vqa" in mix and len(mix) > 1)
    # the value written before issue #20 crashed train.py before it loaded the model
    path.write_text(path.read_text().replace("log_with: []", "log_with: null"))
    with pytest.raises(ValueError, match="not an OmegaConf config"):
        train_py_conversions(path)


@pytest.mark.parametrize(
    ("mix", "gpus"),
    [
        ({"vqa": 1, "semantic": 2}, 4),
        ({"vqa": 1, "edge": 2}, 2),
        ({"semantic": 1, "edge": 1}, 5),
        ({"vqa": 1}, 4),
    ],
)
def test_each_epoch_is_whole_optimizer_steps_and_takes_every_record(
    toy_shards, vqa_jsonl, tmp_path, mix, gpus
):
    backend = OmniGen2Backend(
        checkout=tmp_path, model_path=tmp_path, vae_path=tmp_path, text_encoder_path=tmp_path, gpus=gpus
    )
    recipe = paper_recipe(**{**RECIPE, "mix": mix, "batch_size": 60})
    lay = backend.layout(recipe)
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    sizes = {
        s: len(read_jsonl(root / f"{s}.jsonl")) for s in ("gen", "sft") if (root / f"{s}.jsonl").is_file()
    }
    # The fork's sampler cuts each stream into global micro-batches (batch * processes), fills the pattern
    # until a stream runs out, and hands each rank its slice; accelerate steps every grad_accum micro-batches
    # and once more at the end of the epoch.
    chunks = {s: n // lay.micro_global for s, n in sizes.items()}
    cycles = min(chunks[s] // lay.pattern.count(s) for s in sizes)
    micro_per_rank = cycles * len(lay.pattern)
    assert micro_per_rank > 0 and micro_per_rank % lay.grad_accum == 0  # no short last step
    for s, n in sizes.items():
        assert cycles * lay.pattern.count(s) * lay.micro_global == n  # every record taken once an epoch
        assert n % lay.per_step(s) == 0
    steps = micro_per_rank // lay.grad_accum
    assert sum(lay.per_step(s) for s in sizes) * steps == sum(sizes.values())
    if "vqa" in mix:  # each VQA record appears, in order, before any repeats
        sft = read_jsonl(root / "sft.jsonl")
        assert [r["vqa_index"] for r in sft[:3]] == [0, 1, 2] and len({r["id"] for r in sft}) == len(sft)


def test_prepare_writes_the_entry_script_that_launch_runs(backend, toy_shards, vqa_jsonl, tmp_path):
    import ast

    recipe = paper_recipe(**RECIPE)
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    config = backend.write_config(root, recipe, tmp_path / "train.yml")
    backend.prepare(config, tmp_path / "run")
    entry = tmp_path / "run" / "sgt_omnigen2_entry.py"
    names = {n.name for n in ast.walk(ast.parse(entry.read_text())) if isinstance(n, ast.FunctionDef)}
    assert {"patch", "sgt_process_pair"} <= names
    assert str(entry) in backend.launch(config, recipe, tmp_path / "run").argv
