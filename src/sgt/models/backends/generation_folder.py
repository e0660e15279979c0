"""The OmniGen2 pipeline folder a tuned run draws from: the released model's files, linked, with the run's
fine-tuned transformer and Qwen2.5-VL in their places (no multi-GB copy).

``inference.py``'s ``load_pipeline`` calls ``OmniGen2Pipeline.from_pretrained(model_path)`` (model_index.json,
scheduler, vae, processor, ``mllm``) and, without ``--transformer_path``,
``OmniGen2Transformer2DModel.from_pretrained(model_path, subfolder="transformer")``. The SGT fork trains both
the transformer and the MLLM, and its own demos load both fine-tuned parts
(scripts/infer_text2image.py ``--checkpoint_dir``), so both are swapped in:

* transformer: accelerate's ``save_state`` writes the first prepared model (train.py:705/:729, the DiT) as
  ``pytorch_model_fsdp.bin`` (FSDP full state dict) or ``model.safetensors``, with the parameter names of
  ``OmniGen2Transformer2DModel``: linked as ``transformer/diffusion_pytorch_model.{bin,safetensors}``, the
  names diffusers loads (``.bin`` through ``torch.load(weights_only=True)``). This replaces the fork's
  ``convert_ckpt_to_hf_format.py``, which only re-saves the same tensors.
* mllm: the eval folder's ``model.safetensors`` (vlmeval_model's fine-tuned Qwen2.5-VL, eval_folder.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from sgt.io import atomic_dir
from sgt.models.backends.eval_folder import _link_files, _require

logger = logging.getLogger(__name__)

TRANSFORMER_FILES = {  # accelerate's name for model 0 -> the name diffusers loads
    "pytorch_model_fsdp.bin": "diffusion_pytorch_model.bin",
    "model.safetensors": "diffusion_pytorch_model.safetensors",
}
REPLACED = re.compile(
    r"^(transformer/diffusion_pytorch_model.*|mllm/(model|pytorch_model)(-\d+-of-\d+)?\.(safetensors|bin)(\.index\.json)?)$"
)
PIPELINE_OPENS = ("model_index.json", "transformer/config.json", "mllm/config.json", "vae/config.json")


def _tensor_names(path: Path) -> set[str]:
    """Parameter names in a weights file, without loading the tensors (safetensors header, mmap'd .bin)."""
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            return set(fh.keys())
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict")
    return set(state)


def base_transformer_names(base: Path) -> set[str]:
    """The released transformer's parameter names (its index, else its weight files' headers)."""
    folder = Path(base) / "transformer"
    index = folder / "diffusion_pytorch_model.safetensors.index.json"
    if index.is_file():
        return set(json.loads(index.read_text(encoding="utf-8"))["weight_map"])
    names: set[str] = set()
    for path in sorted(folder.glob("diffusion_pytorch_model*.safetensors")):
        names |= _tensor_names(path)
    return names


def omnigen2_generation_folder(base: Path, checkpoint: Path, eval_folder: Path, out: Path) -> dict[str, str]:
    """``out``: OmniGen2's released folder linked, transformer and mllm weights from the tuned run."""
    base, checkpoint, eval_folder = Path(base), Path(checkpoint), Path(eval_folder)
    _require(
        base,
        PIPELINE_OPENS,
        "OmniGen2 base model",
        "models.omnigen2.model_path must be the released OmniGen2 folder",
    )
    found = [
        (checkpoint / src, dst) for src, dst in TRANSFORMER_FILES.items() if (checkpoint / src).is_file()
    ]
    if not found:
        raise FileNotFoundError(
            f"{checkpoint}: neither {' nor '.join(TRANSFORMER_FILES)}; the OmniGen2 run saved no transformer"
        )
    weights, name = found[0]
    mllm = eval_folder / "model.safetensors"
    if not mllm.is_file():
        raise FileNotFoundError(
            f"{mllm} missing: {eval_folder} is not vlmeval_model's OmniGen2 folder; rebuild it"
        )
    want = base_transformer_names(base)
    if want:
        got = _tensor_names(weights)
        missing, extra = sorted(want - got), sorted(got - want)
        if missing or extra:
            raise ValueError(
                f"{weights}: {len(missing)} transformer parameters of {base} missing (e.g. {missing[:3]}), "
                f"{len(extra)} unexpected (e.g. {extra[:3]}); not this OmniGen2's transformer"
            )
    with atomic_dir(out) as tmp:
        linked = _link_files(base, tmp, REPLACED)
        os.symlink(weights.resolve(), tmp / "transformer" / name)
        os.symlink(mllm.resolve(), tmp / "mllm" / "model.safetensors")
    logger.info("OmniGen2 generation folder %s: %d base files + %s + %s", out, len(linked), weights, mllm)
    return {"transformer": str(weights), "mllm": str(mllm), "base": str(base)}


def released_omnigen2_folder(base: Path, out: Path) -> dict[str, str]:
    """``out``: OmniGen2's released folder linked whole, for the study's variant without a run."""
    base = Path(base)
    _require(
        base,
        PIPELINE_OPENS,
        "OmniGen2 base model",
        "models.omnigen2.model_path must be the released OmniGen2 folder",
    )
    with atomic_dir(out) as tmp:
        linked = _link_files(base, tmp, ())
    logger.info("released OmniGen2 generation folder %s: %d files of %s", out, len(linked), base)
    return {"transformer": "released", "mllm": "released", "base": str(base)}
