"""The shipped base checkpoint is used only when it is exactly what the pretrain rule would build now."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
import torch

from sgt.config import validate_config
from sgt.data.vqa import make_qa, write_jsonl
from sgt.io import read_json, sha256_file
from sgt.models.tiny_inputs import EDITS, edit_pairs
from sgt.models.tiny_umm import TinyUMMConfig
from sgt.testing.tiny import SMALLEST
from sgt.train.shipped_base import MANIFEST, RECIPE_VERSION, fingerprint, install, recorded_fingerprint, ship
from sgt.train.stages import PRETRAIN_MIX
from sgt.train.study import pretrain_base

PRETRAIN = {
    "vit": {"steps": 2, "batch_size": 4},
    "umm": {"steps": 2, "batch_size": 4, "warmup": 1, "checkpoint_every": 2},
    "mix": {"vqa": 1, "t2i": 1, "edit": 1},
}
SMALL_CORPUS = {"images": 4, "vqa_per_image": 0}
UNDERSTANDING = {"steps": 3, "batch_size": 4, "warmup": 1, "checkpoint_every": 2, "questions_per_image": 1}


@pytest.fixture(scope="module")
def vqa_jsonl(toyworld_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vqa") / "train.jsonl"
    write_jsonl(make_qa(toyworld_root, "train2017", ["toy_pope"], 1, seed=0), out)
    return out


def _pretrain(root: Path, vqa: Path, out: Path, work: Path, **pretrain: object) -> None:
    arch = dataclasses.asdict(SMALLEST)
    pretrain_base(root, "train2017", vqa, arch, {**PRETRAIN, **pretrain}, out, work, seed=0, threads=1)


def test_shipped_base_is_reused_only_when_it_matches(
    toyworld_root: Path, vqa_jsonl: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    built = tmp_path / "built"
    _pretrain(toyworld_root, vqa_jsonl, built, tmp_path / "work0")
    (built / ".snakemake_timestamp").touch()  # Snakemake marks directory outputs; not part of the model
    shipped = ship(built, tmp_path / "shipped", read_json(built / "train.json")["fingerprint"])
    manifest = read_json(shipped / MANIFEST)
    assert manifest["sha256"]["model.safetensors"] == sha256_file(built / "model.safetensors")
    assert not any(name.startswith(".") for name in manifest["sha256"])

    with caplog.at_level(logging.INFO):
        _pretrain(toyworld_root, vqa_jsonl, tmp_path / "reused", tmp_path / "work1", shipped=str(shipped))
    assert "using the shipped base" in caplog.text
    assert not (tmp_path / "work1").exists(), "a matching shipped base must not train"
    assert (tmp_path / "reused" / "model.safetensors").read_bytes() == (
        built / "model.safetensors"
    ).read_bytes()

    caplog.clear()
    other = {**PRETRAIN["umm"], "steps": 3}
    with caplog.at_level(logging.INFO):
        _pretrain(
            toyworld_root, vqa_jsonl, tmp_path / "retrained", tmp_path / "w2", shipped=str(shipped), umm=other
        )
    assert "built from other ['pretrain']" in caplog.text
    assert read_json(tmp_path / "retrained" / "train.json")["steps"] == 3


def test_a_corrupt_shipped_file_is_an_error_not_a_silent_retrain(
    toyworld_root: Path, vqa_jsonl: Path, tmp_path: Path
) -> None:
    built = tmp_path / "built"
    _pretrain(toyworld_root, vqa_jsonl, built, tmp_path / "work0")
    shipped = ship(built, tmp_path / "shipped", read_json(built / "train.json")["fingerprint"])
    weights = shipped / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="model.safetensors: missing or its sha256 differs"):
        _pretrain(toyworld_root, vqa_jsonl, out, tmp_path / "work1", shipped=str(shipped))
    assert not out.exists()


def test_changed_training_data_changes_the_fingerprint(toyworld_root: Path, tmp_path: Path) -> None:
    from sgt.train.shipped_base import data_fingerprint

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(make_qa(toyworld_root, "train2017", ["toy_pope"], 1, seed=0), a)
    write_jsonl(make_qa(toyworld_root, "train2017", ["toy_pope"], 1, seed=1), b)
    assert data_fingerprint(toyworld_root, "train2017", a) == data_fingerprint(toyworld_root, "train2017", a)
    assert data_fingerprint(toyworld_root, "train2017", a) != data_fingerprint(toyworld_root, "train2017", b)


def test_edit_pairs_apply_each_edit_to_every_image() -> None:
    images = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    pairs = edit_pairs(images, ["mirror", "gray", "invert"])
    assert len(pairs) == 9 and pairs.conditions is not None
    assert torch.equal(pairs.conditions[:3], images)
    assert torch.equal(pairs.targets[:3], images.flip(3))
    gray = pairs.targets[3:6]
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
    assert torch.allclose(pairs.targets[6:], 1 - images)
    assert pairs.prompts[0] == EDITS["mirror"][1] and pairs.prompts[-1] == EDITS["invert"][1]
    with pytest.raises(ValueError, match="choose from"):
        edit_pairs(images, ["segment"])


def test_a_corpus_joins_the_pretraining_data(toyworld_root: Path, vqa_jsonl: Path, tmp_path: Path) -> None:
    """With ``corpus.images`` the base trains on more scenes (captions too only with ``t2i``), and the
    fingerprint says so."""
    plain, more, captioned = tmp_path / "plain", tmp_path / "more", tmp_path / "captioned"
    vit = {"steps": 2, "pool": "max", "flip": True, "largest": True}
    _pretrain(toyworld_root, vqa_jsonl, plain, tmp_path / "w0")
    _pretrain(toyworld_root, vqa_jsonl, more, tmp_path / "w1", corpus={"images": 5}, vit=vit)
    with_captions = {"images": 5, "t2i": True}
    _pretrain(toyworld_root, vqa_jsonl, captioned, tmp_path / "w2", corpus=with_captions, vit=vit)
    summary, base = read_json(more / "train.json"), read_json(plain / "train.json")
    assert summary["samples"]["t2i"] == base["samples"]["t2i"]
    assert read_json(captioned / "train.json")["samples"]["t2i"] == base["samples"]["t2i"] + 5
    assert summary["samples"]["vqa"] > base["samples"]["vqa"]
    assert summary["fingerprint"]["pretrain"]["corpus"] == {
        "images": 5,
        "seed": 1,
        "vqa_per_image": 2,
        "t2i": False,
        "benchmarks": ["toy_attribute", "toy_cvbench", "toy_pope", "toy_vsr"],
    }
    assert sha256_file(more / "model.safetensors") != sha256_file(plain / "model.safetensors")


def test_the_demo_config_matches_the_shipped_base() -> None:
    """Editing the demo's base settings without re-shipping would make every demo run retrain the base
    (about 20 min): `make base-checkpoint` after any change to models.tiny.architecture or pretrain."""
    import yaml

    repo = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    tiny = config["models"]["tiny"]
    shipped = read_json(repo / tiny["pretrain"]["shipped"] / MANIFEST)["fingerprint"]
    named = {k: v for k, v in tiny["pretrain"].items() if k != "shipped"}
    assert tiny["architecture"].items() <= shipped["architecture"].items()
    for key, value in named.items():  # every named setting as recorded (stages: their named keys)
        assert (
            value.items() <= shipped["pretrain"][key].items()
            if isinstance(value, dict)
            else (shipped["pretrain"][key] == value)
        ), key
    # the workflow sees the config with the schema's defaults filled in: it must match with them too
    validate_config(config, repo / "workflow" / "schemas" / "config.schema.yaml")
    now = fingerprint(tiny["architecture"], tiny["pretrain"], config["seed"], shipped["data_sha256"])
    assert now == recorded_fingerprint(shipped)


def test_a_default_left_out_or_spelt_out_fingerprints_alike(tmp_path: Path) -> None:
    """A base shipped from a config that named only some keys is used by one that spells out the rest at
    their defaults (the schema fills them in), and not by one that changes any of them."""
    data, shipped = "0" * 64, tmp_path / "shipped"
    arch, pretrain = {"lm_hidden": 64}, {"umm": {"steps": 2}, "corpus": {"images": 3}}
    shipped.mkdir()
    (shipped / "model.safetensors").write_bytes(b"weights")
    sparse = {"recipe_version": RECIPE_VERSION, "architecture": arch, "pretrain": pretrain, "seed": 0}
    files = {"model.safetensors": sha256_file(shipped / "model.safetensors")}
    (shipped / MANIFEST).write_text(
        json.dumps({"fingerprint": sparse | {"data_sha256": data}, "sha256": files})
    )
    arch = {**dataclasses.asdict(TinyUMMConfig()), **arch}
    spelt_out = {**pretrain, "umm": {"steps": 2, "batch_size": 16, "engine": "torch"}, "mix": PRETRAIN_MIX}
    assert install(shipped, fingerprint(arch, spelt_out, 0, data), tmp_path / "a")
    for changed in ({"umm": {"steps": 2, "batch_size": 8}}, {"edits": ["gray"]}, {"corpus": {"seed": 2}}):
        assert not install(shipped, fingerprint(arch, {**spelt_out, **changed}, 0, data), tmp_path / "b")


def test_a_changed_recipe_never_resumes_the_last_runs_state(
    toyworld_root: Path, vqa_jsonl: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The work folder keeps a finished UMM checkpoint; a rerun with another UMM recipe must start that
    stage over (it would otherwise return the old weights), yet keep the ViT stage it did not change."""
    changed = {"umm": {**PRETRAIN["umm"], "lr": 0.003}}  # type: ignore[dict-item]
    _pretrain(toyworld_root, vqa_jsonl, tmp_path / "first", tmp_path / "work")
    with caplog.at_level(logging.INFO, logger="sgt.train.study"):
        _pretrain(toyworld_root, vqa_jsonl, tmp_path / "again", tmp_path / "work", **changed)
    assert "ViT pretraining already done" in caplog.text and "ckpt was made of other inputs" in caplog.text
    _pretrain(toyworld_root, vqa_jsonl, tmp_path / "fresh", tmp_path / "clean", **changed)
    again = sha256_file(tmp_path / "again" / "model.safetensors")
    assert again == sha256_file(tmp_path / "fresh" / "model.safetensors")
    assert again != sha256_file(tmp_path / "first" / "model.safetensors")


def test_the_understanding_stage_runs_before_the_mixed_one_and_resumes(
    toyworld_root: Path, vqa_jsonl: Path, tmp_path: Path
) -> None:
    """With the stage the base differs, train.json and metrics_understanding.csv say what it did, and a
    rerun on the same work folder (as after a kill) resumes to the same weights instead of training again."""
    _pretrain(toyworld_root, vqa_jsonl, tmp_path / "plain", tmp_path / "w0", corpus=SMALL_CORPUS)
    _pretrain(
        toyworld_root,
        vqa_jsonl,
        tmp_path / "staged",
        tmp_path / "w1",
        corpus=SMALL_CORPUS,
        understanding=UNDERSTANDING,
    )
    summary = read_json(tmp_path / "staged" / "train.json")
    # the corpus adds its questions: one per scene and benchmark at most, 4 scenes
    training_questions = summary["samples"]["vqa"]
    assert summary["understanding"]["steps"] == 3
    assert training_questions < summary["understanding"]["questions"] <= training_questions + 4 * 4
    rows = (tmp_path / "staged" / "metrics_understanding.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) == 1 + 3
    staged = sha256_file(tmp_path / "staged" / "model.safetensors")
    assert staged != sha256_file(tmp_path / "plain" / "model.safetensors")
    _pretrain(
        toyworld_root,
        vqa_jsonl,
        tmp_path / "again",
        tmp_path / "w1",
        corpus=SMALL_CORPUS,
        understanding=UNDERSTANDING,
    )
    assert sha256_file(tmp_path / "again" / "model.safetensors") == staged


def test_a_base_kept_from_the_sft_questions_never_reads_them(
    toyworld_root: Path, vqa_jsonl: Path, tmp_path: Path
) -> None:
    """``sft_questions: false``: the corpus asks every question the base sees, only of the forms in
    ``corpus.benchmarks``; the SFT file is not part of the fingerprint (another one builds the same base)."""
    other = tmp_path / "other.jsonl"
    write_jsonl(make_qa(toyworld_root, "train2017", ["toy_vsr"], 1, seed=3), other)
    corpus = {"images": 6, "vqa_per_image": 1, "benchmarks": ["toy_pope"]}
    kept = {"sft_questions": False, "corpus": corpus, "understanding": UNDERSTANDING}
    _pretrain(toyworld_root, vqa_jsonl, tmp_path / "a", tmp_path / "wa", **kept)
    _pretrain(toyworld_root, other, tmp_path / "b", tmp_path / "wb", **kept)
    a, b = read_json(tmp_path / "a" / "train.json"), read_json(tmp_path / "b" / "train.json")
    assert a["fingerprint"] == b["fingerprint"]
    assert sha256_file(tmp_path / "a" / "model.safetensors") == sha256_file(
        tmp_path / "b" / "model.safetensors"
    )
    assert a["samples"]["vqa"] == 6  # one POPE question per corpus scene, none of the SFT file's
    assert a["understanding"]["questions"] == 6  # questions_per_image 1 of one benchmark
    assert a["question_forms"] == ["toy_pope"] and a["sft_questions"] is False
    with pytest.raises(ValueError, match="no questions to train on"):
        _pretrain(
            toyworld_root,
            vqa_jsonl,
            tmp_path / "c",
            tmp_path / "wc",
            sft_questions=False,
            corpus={"images": 0},
        )
