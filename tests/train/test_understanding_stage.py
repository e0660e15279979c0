"""The base's understanding stage: VQA alone on the understanding path, the rest of the model untouched."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from sgt.data.vqa import make_qa, write_jsonl
from sgt.io import read_json, sha256_file
from sgt.testing.tiny import SMALLEST, smallest_model, toy_sources
from sgt.train.loop import UNDERSTANDING_PATH
from sgt.train.study import _train_understanding, pretrain_base, understanding_settings

PRETRAIN = {
    "vit": {"steps": 2, "batch_size": 4},
    "umm": {"steps": 2, "batch_size": 4, "warmup": 1, "checkpoint_every": 2},
    "mix": {"vqa": 1, "t2i": 1, "edit": 1},
    "corpus": {"images": 4, "vqa_per_image": 0},
}
STAGE = {"steps": 3, "batch_size": 4, "warmup": 1, "checkpoint_every": 2, "questions_per_image": 1}


@pytest.fixture(scope="module")
def vqa_jsonl(toyworld_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vqa") / "train.jsonl"
    write_jsonl(make_qa(toyworld_root, "train2017", ["toy_pope", "toy_cvbench"], 1, seed=0), out)
    return out


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


def _pretrain(root: Path, vqa: Path, out: Path, work: Path, **pretrain: object) -> None:
    arch = dataclasses.asdict(SMALLEST)
    pretrain_base(root, "train2017", vqa, arch, {**PRETRAIN, **pretrain}, out, work, seed=0, threads=1)


def test_the_stage_runs_before_the_mixed_one_and_resumes(
    toyworld_root: Path, vqa_jsonl: Path, tmp_path: Path
) -> None:
    """With the stage the base differs, train.json and metrics_understanding.csv say what it did, and a
    rerun on the same work folder (as after a kill) resumes to the same weights instead of training again."""
    _pretrain(toyworld_root, vqa_jsonl, tmp_path / "plain", tmp_path / "w0")
    _pretrain(toyworld_root, vqa_jsonl, tmp_path / "staged", tmp_path / "w1", understanding=STAGE)
    summary = read_json(tmp_path / "staged" / "train.json")
    # the corpus adds its questions: one per scene and benchmark at most, 4 scenes
    training_questions = summary["samples"]["vqa"]
    assert summary["understanding"]["steps"] == 3
    assert training_questions < summary["understanding"]["questions"] <= training_questions + 4 * 4
    rows = (tmp_path / "staged" / "metrics_understanding.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) == 1 + 3
    staged = sha256_file(tmp_path / "staged" / "model.safetensors")
    assert staged != sha256_file(tmp_path / "plain" / "model.safetensors")
    _pretrain(toyworld_root, vqa_jsonl, tmp_path / "again", tmp_path / "w1", understanding=STAGE)
    assert sha256_file(tmp_path / "again" / "model.safetensors") == staged
