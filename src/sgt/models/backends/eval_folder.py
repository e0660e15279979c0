"""Model folders that VLMEvalKit's own classes load, built from a cluster run's hand-off.

Upstream training writes weights only; VLMEvalKit's classes read a complete model folder. Facts from
VLMEvalKit at e8e78f05 and the trainers:

* ``vlmeval.vlm.Bagel`` (vlmeval/vlm/bagel_umm.py) loads ``ema.safetensors``, else ``model.safetensors``
  (``__init__``), then ``llm_config.json``, ``vit_config.json``, ``ae.safetensors`` and
  ``Qwen2Tokenizer.from_pretrained(model_path)`` (``vocab.json``, ``merges.txt``, ``tokenizer_config.json``)
  in ``_build_model``. BAGEL's trainer saves ``checkpoints/<step>/{model,ema}.safetensors`` with the same
  parameter names as the released ``ema.safetensors``. The folder links the base model's files beside the
  run's EMA weights; the base's own ``ema.safetensors`` is never linked (it would be loaded instead).
* ``vlmeval.vlm.Qwen2VLChat`` (vlmeval/vlm/qwen2_vl/model.py) reads ``config.json`` (``architectures``
  picks Qwen2.5-VL), ``AutoProcessor.from_pretrained`` and
  ``Qwen2_5_VLForConditionalGeneration.from_pretrained`` from one folder. The SGT fork's OmniGen2
  ``train.py`` fine-tunes its Qwen2.5-VL (``text_encoder``, loaded from ``text_encoder_path``) and prepares
  it second (train.py:709 under FSDP, :730 without), so accelerate's ``save_state`` writes it as model 1:
  ``pytorch_model_fsdp_1.bin`` (FSDP full state dict) or ``model_1.safetensors``. OmniGen2's understanding
  is that Qwen2.5-VL alone (the diffusion transformer only draws), so its export is the text encoder's
  folder with the fine-tuned weights: an existing class loads it and no code of ours runs inside VLMEvalKit.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sgt.io import atomic_dir

if TYPE_CHECKING:  # torch only where Qwen2.5-VL weights are read: a BAGEL folder is links alone
    import torch

logger = logging.getLogger(__name__)

BAGEL_WEIGHTS = ("ema.safetensors", "model.safetensors")
# Every file Bagel.__init__/_build_model opens in model_path (vlmeval/vlm/bagel_umm.py at e8e78f05)
BAGEL_OPENS = (
    "ema.safetensors",
    "llm_config.json",
    "vit_config.json",
    "ae.safetensors",
    "vocab.json",
    "merges.txt",
)
QWEN_WEIGHT_FILE = re.compile(r"^(model|pytorch_model)(-\d+-of-\d+)?\.(safetensors|bin)(\.index\.json)?$")
# What Qwen2VLChat's loaders open: config, processor (image processor + tokenizer) and weights
QWEN_OPENS = ("config.json", "preprocessor_config.json", "tokenizer_config.json", "model.safetensors")
TEXT_ENCODER_FILES = ("pytorch_model_fsdp_1.bin", "model_1.safetensors")


def _link_files(src: Path, dst: Path, skip: Iterable[str] | re.Pattern[str]) -> list[str]:
    """Absolute symlinks in ``dst`` to the regular files of ``src`` (subfolders too), except ``skip``."""
    linked = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        name = rel.as_posix()
        excluded = skip.match(name) if isinstance(skip, re.Pattern) else name in set(skip)
        if not path.is_file() or excluded or any(p.startswith(".") for p in rel.parts):
            continue
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path.resolve(), dst / rel)
        linked.append(name)
    return linked


def _require(folder: Path, names: Iterable[str], what: str, fix: str) -> None:
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{what}: {', '.join(missing)} missing in {folder}; {fix}")


def _qwen_base(text_encoder: Path, relation: str) -> Path:
    """``text_encoder`` once it holds the Qwen2.5-VL files we read besides the weights."""
    text_encoder = Path(text_encoder)
    _require(
        text_encoder,
        [n for n in QWEN_OPENS if n != "model.safetensors"],
        "Qwen2.5-VL base",
        f"models.omnigen2.text_encoder_path must be the Qwen2.5-VL-3B-Instruct folder OmniGen2 {relation}",
    )
    return text_encoder


def bagel_eval_folder(base: Path, checkpoint: Path, out: Path) -> dict[str, str]:
    """``out``: the base BAGEL folder's files, linked, with the run's EMA weights as ``ema.safetensors``."""
    base, checkpoint = Path(base), Path(checkpoint)
    weights = next((checkpoint / w for w in BAGEL_WEIGHTS if (checkpoint / w).is_file()), None)
    if weights is None:
        raise FileNotFoundError(
            f"{checkpoint}: neither ema.safetensors nor model.safetensors; the BAGEL run's checkpoint "
            "is incomplete"
        )
    _require(
        base,
        [n for n in BAGEL_OPENS if n != "ema.safetensors"],
        "BAGEL base model",
        "models.bagel.model_path must be the released BAGEL-7B-MoT folder (configs, VAE and tokenizer)",
    )
    with atomic_dir(out) as tmp:
        linked = _link_files(base, tmp, BAGEL_WEIGHTS)
        os.symlink(weights.resolve(), tmp / "ema.safetensors")
        _require(tmp, BAGEL_OPENS, "BAGEL eval folder", "report this: the layout Bagel reads changed")
    logger.info("BAGEL eval folder %s: %d base files + %s", out, len(linked), weights)
    return {"weights": str(weights), "base": str(base)}


def text_encoder_state(checkpoint: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """The fine-tuned Qwen2.5-VL weights in an accelerate checkpoint of the SGT fork (model index 1)."""
    import torch
    from safetensors.torch import load_file

    checkpoint = Path(checkpoint)
    for name in TEXT_ENCODER_FILES:
        path = checkpoint / name
        if path.is_file():
            if path.suffix == ".safetensors":
                return load_file(path), path
            state = torch.load(path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
                raise ValueError(f"{path}: not a state dict of tensors")
            return state, path
    raise FileNotFoundError(
        f"{checkpoint}: no {' or '.join(TEXT_ENCODER_FILES)}; the OmniGen2 run saved no text encoder "
        "(is the checkout the SGT fork, which trains it?)"
    )


def _normalise(key: str) -> str:
    """Qwen2.5-VL parameter names as transformers < 4.52 spelt them (``model.layers``, ``visual``), the one
    spelling every version loads: 4.52+ maps them onto ``model.language_model``/``model.visual``."""
    key = re.sub(r"^model\.language_model\.", "model.", key)
    return re.sub(r"^model\.visual\.", "visual.", key)


def expected_keys(config_dir: Path) -> set[str]:
    """Parameter names of the Qwen2.5-VL that ``config_dir/config.json`` describes (built on meta)."""
    import torch
    from transformers import AutoConfig, Qwen2_5_VLForConditionalGeneration

    config = AutoConfig.from_pretrained(config_dir)
    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(config)
    keys = set(model.state_dict())
    if getattr(config, "tie_word_embeddings", False) or getattr(
        getattr(config, "text_config", None), "tie_word_embeddings", False
    ):
        keys.discard("lm_head.weight")
    return {_normalise(k) for k in keys}


def _unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory: a tied ``lm_head`` is dropped (transformers re-ties
    it on load), any other alias is copied."""
    seen: set[int] = set()
    out = {}
    for key in sorted(state, key=lambda k: k == "lm_head.weight"):  # lm_head last: the embedding stays
        tensor = state[key]
        ptr = tensor.untyped_storage().data_ptr()
        if ptr in seen:
            if key == "lm_head.weight":
                continue
            tensor = tensor.clone()
        seen.add(ptr)
        out[key] = tensor.contiguous()
    return out


def qwen25vl_eval_folder(text_encoder: Path, checkpoint: Path, out: Path) -> dict[str, str]:
    """``out``: the base Qwen2.5-VL folder's config and processor files with the fine-tuned weights."""
    text_encoder = _qwen_base(text_encoder, "trained from")
    architectures = json.loads((text_encoder / "config.json").read_text(encoding="utf-8")).get(
        "architectures"
    )
    if "qwen2_5" not in str(architectures).lower():
        raise ValueError(
            f"{text_encoder}/config.json: architectures {architectures} is not Qwen2.5-VL; Qwen2VLChat "
            "picks its loader from this field"
        )
    state, source = text_encoder_state(checkpoint)
    got = {_normalise(k) for k in state}
    want = expected_keys(text_encoder)
    missing, unexpected = sorted(want - got), sorted(got - want - {"lm_head.weight"})
    if missing or unexpected:
        raise ValueError(
            f"{source}: {len(missing)} parameters of {text_encoder}/config.json missing "
            f"(e.g. {missing[:3]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:3]}); the checkpoint is not this Qwen2.5-VL"
        )
    from safetensors.torch import save_file

    with atomic_dir(out) as tmp:
        linked = _link_files(text_encoder, tmp, QWEN_WEIGHT_FILE)
        # the pre-4.52 names: transformers 4.49 (the bagel package's pin, so VLMEvalKit's env) reads only
        # those, and 4.52+ renames them on load; the fork's 4.57 saves the new ones
        legacy = {_normalise(k): v for k, v in _unshared(state).items()}
        save_file(legacy, tmp / "model.safetensors", metadata={"format": "pt"})
        _require(
            tmp, QWEN_OPENS, "Qwen2.5-VL eval folder", "report this: the layout Qwen2VLChat reads changed"
        )
    logger.info(
        "Qwen2.5-VL eval folder %s: %d base files + %d tensors from %s", out, len(linked), len(state), source
    )
    return {"weights": str(source), "base": str(text_encoder)}


def released_qwen25vl_folder(text_encoder: Path, out: Path) -> dict[str, str]:
    """``out``: the released Qwen2.5-VL folder linked whole, for the study's variant without a run."""
    text_encoder = _qwen_base(text_encoder, "was built on")
    weights = [p.name for p in text_encoder.iterdir() if QWEN_WEIGHT_FILE.match(p.name)]
    if not weights:
        raise FileNotFoundError(f"{text_encoder}: no model*.safetensors; not a released Qwen2.5-VL folder")
    with atomic_dir(out) as tmp:
        linked = _link_files(text_encoder, tmp, ())
    logger.info("released Qwen2.5-VL eval folder %s: %d files of %s", out, len(linked), text_encoder)
    return {"weights": "released", "base": str(text_encoder)}
