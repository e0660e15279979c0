"""The base model's pretraining corpus: fresh, seeded toy-world scenes with task-neutral supervision only,
and VQA sets that hold each image once."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sgt.data.coco import CocoDataset
from sgt.data.images import read_image
from sgt.data.vqa import BENCHMARKS, QA
from sgt.models.tiny_inputs import VQASet, load_vqa, to_tensor
from sgt.train.corpus import corpus_settings, corpus_vqa, render_corpus


def test_corpus_is_seeded_and_new(toyworld_root: Path) -> None:
    a = render_corpus(6, seed=1, size=32, width=160, height=120)
    b = render_corpus(6, seed=1, size=32, width=160, height=120)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, render_corpus(6, seed=2, size=32, width=160, height=120).images)
    train = CocoDataset(toyworld_root, "train2017")
    seen = to_tensor([read_image(train.image_path(i)) for i in train.image_ids()], 32)
    # no corpus image repeats a training image (the corpus has its own split name in the generator)
    assert torch.cdist(a.images.flatten(1), seen.flatten(1)).min() > 1.0
    assert all(s["objects"] or s["upper"] for s in a.scenes) and a.images.shape == (6, 3, 32, 32)


def test_corpus_vqa_points_each_row_at_its_own_scene() -> None:
    corpus = render_corpus(5, seed=0, size=16, width=160, height=120)
    vqa = corpus_vqa(corpus, sorted(BENCHMARKS), per_image=2, seed=0)
    assert len(vqa) > 5 and vqa.images.shape[0] == 5  # images held once, rows point at them
    colours = {o["color"] for s in corpus.scenes for o in s["objects"]}
    for row in range(len(vqa)):
        k = int(vqa.image_of_row[row])  # type: ignore[index]
        assert torch.equal(vqa.batch_images(torch.tensor([row]))[0], corpus.images[k])
        if vqa.questions[row].startswith("what color is"):
            assert vqa.answers[row] in {o["color"] for o in corpus.scenes[k]["objects"]} <= colours


def test_vqa_sets_concatenate_with_their_own_images(toyworld_root: Path) -> None:
    train = CocoDataset(toyworld_root, "train2017")
    paths = [str(train.image_path(i)) for i in train.image_ids()[:2]]
    rows = [
        QA(1, paths[0], "q0", "a0", "c"),
        QA(2, paths[1], "q1", "a1", "c"),
        QA(1, paths[0], "q2", "a2", "c"),
    ]
    loaded = load_vqa(rows, 16)
    assert loaded.images.shape[0] == 2 and loaded.image_of_row.tolist() == [0, 1, 0]  # type: ignore[union-attr]
    plain = VQASet(torch.rand(2, 3, 16, 16), ["x", "y"], ["1", "2"])
    both = loaded + plain
    assert both.questions == ["q0", "q1", "q2", "x", "y"]
    assert torch.equal(
        both.batch_images(torch.tensor([2, 4])), torch.stack([loaded.images[0], plain.images[1]])
    )


def test_corpus_settings_name_unknown_keys() -> None:
    assert corpus_settings(None) == {
        "images": 0,
        "seed": 1,
        "vqa_per_image": 2,
        "t2i": False,
        "benchmarks": ["toy_attribute", "toy_cvbench", "toy_pope", "toy_vsr"],
    }
    assert corpus_settings({"benchmarks": ["toy_pope", "toy_attribute"]})["benchmarks"] == [
        "toy_attribute",
        "toy_pope",
    ]
    with pytest.raises(ValueError, match="toy_gqa"):
        corpus_settings({"benchmarks": ["toy_gqa"]})
    with pytest.raises(ValueError, match="empty"):
        corpus_settings({"benchmarks": []})
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['size'\]"):
        corpus_settings({"size": 3})
