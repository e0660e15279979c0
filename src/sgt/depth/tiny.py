"""Tiny random-weight Depth Anything V2 / DepthPro checkpoints, saved like real ones (for tests and demos).

A saved tiny model has the files a downloaded checkpoint has (``config.json``, ``model.safetensors``,
``preprocessor_config.json``), so it exercises the same ``from_pretrained`` path as the paper's models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sgt.io import atomic_dir

KINDS: tuple[str, ...] = ("depth_anything_v2", "depthpro")

_TINY_VIT = {"model_type": "dinov2", "num_hidden_layers": 2, "hidden_size": 16, "num_attention_heads": 1}


def _depth_anything(seed: int) -> tuple[Any, dict[str, Any]]:
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation

    backbone = {
        "model_type": "dinov2",
        "image_size": 28,
        "patch_size": 14,
        "hidden_size": 8,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 16,
        "out_indices": [1, 2],
        "reshape_hidden_states": False,
    }
    config = DepthAnythingConfig(
        backbone_config=backbone,
        patch_size=14,
        reassemble_hidden_size=8,
        reassemble_factors=[1, 0.5],
        neck_hidden_sizes=[4, 4],
        fusion_hidden_size=6,
        head_hidden_size=4,
    )
    processor = {  # Depth-Anything-V2-*-hf's processor, at a tiny size
        "image_processor_type": "DPTImageProcessor",
        "do_resize": True,
        "size": {"height": 28, "width": 28},
        "keep_aspect_ratio": True,
        "ensure_multiple_of": 14,
        "resample": 3,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225],
        "do_pad": False,
    }
    return DepthAnythingForDepthEstimation(config), processor


def _depthpro(seed: int) -> tuple[Any, dict[str, Any]]:
    from transformers import DepthProConfig, DepthProForDepthEstimation

    vit = {**_TINY_VIT, "patch_size": 4}
    config = DepthProConfig(
        patch_size=16,
        fusion_hidden_size=16,
        intermediate_hook_ids=[1, 0],
        intermediate_feature_dims=[10, 8],
        scaled_images_ratios=[0.5, 1.0],
        scaled_images_overlap_ratios=[0.0, 0.2],
        scaled_images_feature_dims=[12, 12],
        use_fov_model=True,
        image_model_config=dict(vit),
        patch_model_config=dict(vit),
        fov_model_config=dict(vit),
    )
    processor = {  # apple/DepthPro-hf's processor, at a tiny size (patch_size / smallest ratio)
        "image_processor_type": "DepthProImageProcessor",
        "do_resize": True,
        "size": {"height": 32, "width": 32},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }
    return DepthProForDepthEstimation(config), processor


def build_tiny_random(kind: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Save a tiny random ``kind`` model (safetensors + config + preprocessor config) to ``out_dir``."""
    import torch

    builders = {"depth_anything_v2": _depth_anything, "depthpro": _depthpro}
    if kind not in builders:
        raise ValueError(f"unknown tiny model kind {kind!r}; use one of {KINDS}")
    torch.manual_seed(seed)
    model, processor = builders[kind](seed)
    out = Path(out_dir)
    with atomic_dir(out) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        (tmp / "preprocessor_config.json").write_text(json.dumps(processor, indent=1, sort_keys=True) + "\n")
    return out
