"""The training loop's settings (``TrainConfig``), its learning-rate schedule and its defaults as a config
section. Its own module, so the loop and its engines both read it without importing each other (no torch).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TrainConfig:
    steps: int
    batch_size: int = 16
    lr: float = 1e-3
    warmup: int = 20
    betas: tuple[float, float] = (0.9, 0.95)
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    min_lr_ratio: float = 0.1
    checkpoint_every: int = 50
    t_shift: float = 0.5
    vit_lr_scale: float = 1.0
    understanding_lr_scale: float = 1.0
    seed: int = 0
    threads: int = 2
    engine: str = "torch"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], **overrides: Any) -> TrainConfig:
        """A config section plus the job's own values (seed, threads). An unknown key is an error, never
        dropped: a misspelt ``learning_rate`` would otherwise train at the default rate."""
        known = set(cls.__dataclass_fields__)
        values = {**d, **overrides}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"training settings: unknown key(s) {unknown}; known: {sorted(known)}")
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


PER_JOB = ("seed", "threads")  # TrainConfig fields every job sets itself, never config keys


def loop_defaults() -> dict[str, Any]:
    """The training loop's defaults for the settings a config may give (``steps`` has none)."""
    fields = dataclasses.fields(TrainConfig)
    defaults = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items() if k not in PER_JOB}
