"""The tiny UMM's pretraining corpus: fresh toy-world scenes, disjoint from every split the study uses.

Why: on the demo's 480 training images a from-scratch ViT memorises its global labels (train loss 0.01) and
its features do not tell shapes apart on held-out images. BAGEL's base is pretrained on far more data than
it is later tuned and tested on; this is the toy world's stand-in: more scenes from the same generator under
their own split name (``pretrain``: no image repeats a train or val one), rendered in memory at the model's
resolution, with the same task-neutral supervision as the training split (global labels, captions, VQA).
No proxy-task target is ever made from them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from sgt.data.images import decode_image
from sgt.data.toyworld import ToyWorldSpec, render_image
from sgt.data.vqa import BENCHMARKS, scene_questions
from sgt.models.tiny_inputs import VQASet, to_tensor

CORPUS_SPLIT = "pretrain"
# pretrain.corpus when a key is left out (the config schema repeats them; a test keeps the two equal)
CORPUS_DEFAULTS: dict[str, Any] = {
    "images": 0,
    "seed": 1,
    "vqa_per_image": 2,
    "t2i": False,
    "benchmarks": sorted(BENCHMARKS),
}


@dataclass(frozen=True)
class Corpus:
    images: torch.Tensor  # N x 3 x S x S in [0, 1]
    scenes: list[dict[str, Any]]  # as in scenes_<split>.json: objects, upper, lower
    captions: list[str]

    def __len__(self) -> int:
        return len(self.captions)


def render_corpus(n: int, *, seed: int, size: int, width: int, height: int) -> Corpus:
    """``n`` toy-world scenes of the ``pretrain`` split at ``width`` x ``height``, resized to ``size``."""
    from tqdm import tqdm

    spec = ToyWorldSpec(n_train=0, n_val=0, seed=seed, width=width, height=height)
    images, scenes, captions = [], [], []
    for index in tqdm(range(n), desc="pretraining corpus", disable=None):
        r = render_image(spec, CORPUS_SPLIT, index)
        images.append(to_tensor([decode_image(r.jpeg, f"corpus image {index}")], size)[0])
        scenes.append({"image_id": index, "objects": r.objects, "upper": r.stuff[0], "lower": r.stuff[1]})
        captions.append(r.caption)
    empty = torch.zeros(0, 3, size, size)
    return Corpus(torch.stack(images) if images else empty, scenes, captions)


def corpus_vqa(corpus: Corpus, benchmarks: Sequence[str], per_image: int, seed: int) -> VQASet:
    """Questions about the corpus scenes from the same generators as the SFT set (images held once)."""
    paths = [f"corpus:{k}" for k in range(len(corpus))]
    rows = scene_questions(corpus.scenes, paths, CORPUS_SPLIT, list(benchmarks), per_image, seed)
    return VQASet(
        corpus.images,
        [r.question for r in rows],
        [r.answer for r in rows],
        torch.tensor([r.image_id for r in rows], dtype=torch.long),
    )


def corpus_settings(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """``pretrain.corpus`` with its defaults: ``images`` (0 = no corpus), ``seed`` (its own stream),
    ``vqa_per_image`` (0: the corpus asks no questions in the UMM stage), ``t2i`` (its captions join
    text-to-image too; off: text-to-image learns from the training split alone) and ``benchmarks`` (the
    embedded benchmarks whose question forms the corpus asks, in both stages: the base can be kept from
    the forms only the SFT data teaches; docs/tiny-umm.md)."""
    cfg = dict(cfg or {})
    unknown = sorted(set(cfg) - set(CORPUS_DEFAULTS))
    if unknown:
        raise ValueError(f"pretrain.corpus: unknown key(s) {unknown}; known: {sorted(CORPUS_DEFAULTS)}")
    values = {**CORPUS_DEFAULTS, **cfg}
    benchmarks = sorted(values["benchmarks"])
    strange = sorted(set(benchmarks) - set(BENCHMARKS))
    if strange or not benchmarks:
        raise ValueError(
            f"pretrain.corpus.benchmarks: {strange or 'empty'}; name one or more of {sorted(BENCHMARKS)}"
        )
    return {
        "images": int(values["images"]),
        "seed": int(values["seed"]),
        "vqa_per_image": int(values["vqa_per_image"]),
        "t2i": bool(values["t2i"]),
        "benchmarks": benchmarks,
    }
