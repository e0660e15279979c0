"""Task-neutral pretraining of the tiny UMM's ViT on global image labels.

BAGEL starts from a pretrained SigLIP; a from-scratch ViT was the bottleneck in the probe (shared/notes).
The labels are global only (which shapes and colours appear, how many objects, which background), never
per-pixel: dense supervision would be segmentation, the very proxy task the study compares.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sgt.data.toyworld import COLORS, THINGS
from sgt.seeding import rng_for

logger = logging.getLogger(__name__)
MAX_COUNT = 6


@dataclass(frozen=True)
class GlobalLabels:
    shapes: torch.Tensor  # N x len(THINGS) multi-hot
    colors: torch.Tensor  # N x len(COLORS) multi-hot
    count: torch.Tensor  # N, 0..MAX_COUNT-1
    upper_is_sky: torch.Tensor  # N
    lower_is_grass: torch.Tensor  # N


def global_labels(scenes: Sequence[dict[str, Any]]) -> GlobalLabels:
    shape_idx = {name: i for i, name in enumerate(THINGS.values())}
    color_idx = {name: i for i, name in enumerate(COLORS)}
    n = len(scenes)
    shapes, colors = torch.zeros(n, len(shape_idx)), torch.zeros(n, len(color_idx))
    count = torch.zeros(n, dtype=torch.long)
    for i, scene in enumerate(scenes):
        for obj in scene["objects"]:
            shapes[i, shape_idx[obj["category"]]] = 1
            colors[i, color_idx[obj["color"]]] = 1
        count[i] = min(len(scene["objects"]), MAX_COUNT - 1)
    upper = torch.tensor([float(s["upper"] == "sky") for s in scenes])
    lower = torch.tensor([float(s["lower"] == "grass") for s in scenes])
    return GlobalLabels(shapes, colors, count, upper, lower)


class _Heads(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.shapes = nn.Linear(hidden, len(THINGS))
        self.colors = nn.Linear(hidden, len(COLORS))
        self.count = nn.Linear(hidden, MAX_COUNT)
        self.stuff = nn.Linear(hidden, 2)


def pretrain_vit(
    vit: nn.Module,
    images: torch.Tensor,
    labels: GlobalLabels,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    pool: str = "mean",
) -> list[float]:
    """Train ``vit`` (a SiglipVisionModel) with pooled linear heads; the heads are thrown away after.

    ``pool``: ``mean`` or ``max`` over the tokens. Max pooling makes each token answer for itself (a small
    object is one token of 64, which a mean washes out); it is still image-level supervision."""
    if pool not in ("mean", "max"):
        raise ValueError(f"pretrain.vit.pool {pool!r}: choose mean or max")
    hidden = vit.config.hidden_size
    heads = _Heads(hidden)
    params = list(vit.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    bce, ce = nn.functional.binary_cross_entropy_with_logits, nn.functional.cross_entropy
    losses = []
    vit.train()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1.0, (step + 1) / max(1, steps // 10))
        idx = torch.from_numpy(rng_for(seed, "vit", step).integers(0, len(images), size=batch_size))
        tokens = vit(pixel_values=images[idx] * 2.0 - 1.0).last_hidden_state
        feats = tokens.amax(dim=1) if pool == "max" else tokens.mean(dim=1)
        loss = (
            bce(heads.shapes(feats), labels.shapes[idx])
            + bce(heads.colors(feats), labels.colors[idx])
            + ce(heads.count(feats), labels.count[idx])
            + bce(heads.stuff(feats), torch.stack([labels.upper_is_sky[idx], labels.lower_is_grass[idx]], 1))
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if (step + 1) % 100 == 0:
            logger.info("vit pretrain step %d/%d loss %.4f", step + 1, steps, sum(losses[-100:]) / 100)
    return losses
