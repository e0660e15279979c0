"""The tiny base's pretraining stages (ViT, understanding, UMM, corpus) and what their settings mean when left
out. Its own module, so the study that builds the base and the shipped-base fingerprint both read it without
importing each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sgt.train.settings import PER_JOB, TrainConfig, loop_defaults

# What a stage's settings mean when left out (the config schema repeats them; tests keep the two equal).
PRETRAIN_MIX = {"vqa": 2, "t2i": 1, "edit": 1}  # pretrain.mix
PRETRAIN_EDITS = ("mirror", "gray", "invert")  # pretrain.edits
UNDERSTANDING_DEFAULTS = {"steps": 0, "questions_per_image": 4}  # beside the loop's own
UNDERSTANDING_FIXED = ("engine", "vit_lr_scale", "understanding_lr_scale")  # the stage fixes these


def understanding_settings(cfg: Mapping[str, Any] | None) -> dict[str, Any]:
    """``pretrain.understanding`` with its defaults: ``steps`` (0: no such stage), ``questions_per_image``
    (corpus questions per scene and benchmark) and the loop's settings (``batch_size``, ``lr``, ...)."""
    cfg = dict(cfg or {})
    loop_keys = set(TrainConfig.__dataclass_fields__) - set(PER_JOB) - set(UNDERSTANDING_FIXED)
    known = loop_keys | {"questions_per_image"}
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise ValueError(f"pretrain.understanding: unknown key(s) {unknown}; known: {sorted(known)}")
    return {**UNDERSTANDING_DEFAULTS, **cfg}


def base_settings(
    architecture: Mapping[str, Any], pretrain: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``models.<m>.architecture`` and ``.pretrain`` with every default the code applies written out.

    A key left out and the same key at its default build the same base, so they must fingerprint alike: the
    schema fills defaults into the config, while a shipped base's record holds only the keys its config
    named (``sgt.train.shipped_base``). ``shipped`` is kept as given.
    """
    from sgt.models.tiny_umm import TinyUMMConfig
    from sgt.train.corpus import CORPUS_DEFAULTS
    from sgt.train.vit_pretrain import ViTPretrainConfig

    loop = loop_defaults()
    understanding = {k: v for k, v in loop.items() if k not in UNDERSTANDING_FIXED}
    arch = {**dataclasses.asdict(TinyUMMConfig()), **architecture}
    stages = {
        "vit": dataclasses.asdict(ViTPretrainConfig()),
        "understanding": {**understanding, **UNDERSTANDING_DEFAULTS},
        "umm": loop,
        "corpus": CORPUS_DEFAULTS,
    }
    filled = dict(pretrain)
    for stage, defaults in stages.items():
        filled[stage] = {**defaults, **(pretrain.get(stage) or {})}
    filled["mix"] = dict(pretrain.get("mix", PRETRAIN_MIX))
    filled["edits"] = list(pretrain.get("edits", PRETRAIN_EDITS))
    filled["sft_questions"] = bool(pretrain.get("sft_questions", True))
    filled["corpus"]["benchmarks"] = sorted(filled["corpus"]["benchmarks"])
    return arch, filled
