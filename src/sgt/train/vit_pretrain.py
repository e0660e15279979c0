"""Task-neutral pretraining of the tiny UMM's ViT on global image labels.

BAGEL starts from a pretrained SigLIP; a from-scratch ViT was the bottleneck in the probe (shared/notes).
The labels are global only (which shapes and colours appear, how many objects, which background, and the
shape and colour of the largest object), never per-pixel: dense supervision would be segmentation, the very
proxy task the study compares.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn

from sgt.data.toyworld import COLORS, THINGS
from sgt.seeding import rng_for, torch_seed_for
from sgt.train.settings import TrainConfig, lr_at

logger = logging.getLogger(__name__)
MAX_COUNT = 6


@dataclass(frozen=True)
class GlobalLabels:
    shapes: torch.Tensor  # N x len(THINGS) multi-hot
    colors: torch.Tensor  # N x len(COLORS) multi-hot
    count: torch.Tensor  # N, 0..MAX_COUNT-1
    upper_is_sky: torch.Tensor  # N
    lower_is_grass: torch.Tensor  # N
    largest_shape: torch.Tensor  # N, index into THINGS; -100 (ignored) for a scene without objects
    largest_color: torch.Tensor  # N, index into COLORS; -100 likewise


def global_labels(scenes: Sequence[dict[str, Any]]) -> GlobalLabels:
    shape_idx = {name: i for i, name in enumerate(THINGS.values())}
    color_idx = {name: i for i, name in enumerate(COLORS)}
    n = len(scenes)
    shapes, colors = torch.zeros(n, len(shape_idx)), torch.zeros(n, len(color_idx))
    count = torch.zeros(n, dtype=torch.long)
    largest_shape = torch.full((n,), -100, dtype=torch.long)
    largest_color = torch.full((n,), -100, dtype=torch.long)
    for i, scene in enumerate(scenes):
        for obj in scene["objects"]:
            shapes[i, shape_idx[obj["category"]]] = 1
            colors[i, color_idx[obj["color"]]] = 1
        count[i] = min(len(scene["objects"]), MAX_COUNT - 1)
        if scene["objects"]:  # visible area in the image: a size fact, like "a big red circle"
            big = max(scene["objects"], key=lambda o: o["area"])
            largest_shape[i], largest_color[i] = shape_idx[big["category"]], color_idx[big["color"]]
    upper = torch.tensor([float(s["upper"] == "sky") for s in scenes])
    lower = torch.tensor([float(s["lower"] == "grass") for s in scenes])
    return GlobalLabels(shapes, colors, count, upper, lower, largest_shape, largest_color)


@dataclass(frozen=True)
class ViTPretrainConfig:
    """``pretrain.vit``. ``pool``: mean or max over tokens before the heads. ``flip``: mirror half of each
    batch (every label is mirror-invariant; it doubles what the ViT sees). ``largest``: also classify the
    largest object's shape and colour (a one-of-five target about one object, beside the multi-label
    presence that names none). The learning rate warms up over ``warmup`` of the steps and then follows
    a cosine to a tenth."""

    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    pool: str = "mean"
    flip: bool = False
    largest: bool = False
    warmup: float = 0.1

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> ViTPretrainConfig:
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"pretrain.vit: unknown key(s) {unknown}; known: {sorted(known)}")
        cfg = cls(**d)
        if cfg.pool not in ("mean", "max"):
            raise ValueError(f"pretrain.vit.pool {cfg.pool!r}: choose mean or max")
        return cfg


class _Heads(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.shapes = nn.Linear(hidden, len(THINGS))
        self.colors = nn.Linear(hidden, len(COLORS))
        self.count = nn.Linear(hidden, MAX_COUNT)
        self.stuff = nn.Linear(hidden, 2)
        self.largest_shape = nn.Linear(hidden, len(THINGS))
        self.largest_color = nn.Linear(hidden, len(COLORS))


def _batch(
    images: torch.Tensor, cfg: ViTPretrainConfig, seed: int, step: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices and pixels of step ``step``'s batch, drawn from (seed, step) alone."""
    rng = rng_for(seed, "vit", step)
    idx = torch.from_numpy(rng.integers(0, len(images), size=cfg.batch_size))
    x = images[idx]
    if cfg.flip:
        mirrored = torch.from_numpy(rng.random(cfg.batch_size) < 0.5)
        x = torch.where(mirrored[:, None, None, None], x.flip(-1), x)
    return idx, x


def _head_losses(
    heads: _Heads, feats: torch.Tensor, labels: GlobalLabels, idx: torch.Tensor, largest: bool
) -> torch.Tensor:
    bce, ce = nn.functional.binary_cross_entropy_with_logits, nn.functional.cross_entropy
    stuff = torch.stack([labels.upper_is_sky[idx], labels.lower_is_grass[idx]], 1)
    loss = (
        bce(heads.shapes(feats), labels.shapes[idx])
        + bce(heads.colors(feats), labels.colors[idx])
        + ce(heads.count(feats), labels.count[idx])
        + bce(heads.stuff(feats), stuff)
    )
    if largest and bool((labels.largest_shape[idx] >= 0).any()):
        loss = loss + ce(heads.largest_shape(feats), labels.largest_shape[idx], ignore_index=-100)
        loss = loss + ce(heads.largest_color(feats), labels.largest_color[idx], ignore_index=-100)
    return loss


def pretrain_vit(
    vit: nn.Module,
    images: torch.Tensor,
    labels: GlobalLabels,
    cfg: ViTPretrainConfig,
    *,
    seed: int,
) -> list[float]:
    """Train ``vit`` (a SiglipVisionModel) with pooled linear heads; the heads are thrown away after.

    Max pooling makes each token answer for itself (a small object is one token of 64, which a mean washes
    out); it is still image-level supervision."""
    schedule = TrainConfig(steps=cfg.steps, lr=cfg.lr, warmup=max(1, int(cfg.steps * cfg.warmup)))
    with torch.random.fork_rng(devices=[]):  # the heads' initial weights come from the seed alone
        torch.manual_seed(torch_seed_for(seed, "vit_heads"))
        heads = _Heads(vit.config.hidden_size)
    params = list(vit.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.01)
    losses = []
    vit.train()
    for step in range(cfg.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, schedule)
        idx, x = _batch(images, cfg, seed, step)
        tokens = vit(pixel_values=x * 2.0 - 1.0).last_hidden_state
        feats = tokens.amax(dim=1) if cfg.pool == "max" else tokens.mean(dim=1)
        loss = _head_losses(heads, feats, labels, idx, cfg.largest)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if (step + 1) % 100 == 0:
            logger.info("vit pretrain step %d/%d loss %.4f", step + 1, cfg.steps, sum(losses[-100:]) / 100)
    return losses
