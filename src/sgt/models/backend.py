"""The interface every model backend implements, so the workflow rules never know which model they run.

A backend turns our target shards plus a recipe (task mix, SFT ratio, steps, lr) into a training run:
it exports data in its own format, writes its training config, names the launch command and the resources
that command needs, and finds the checkpoint that evaluation loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Recipe:
    """One fine-tuning run: per-batch mix weights (``{"vqa": 1, "semantic": 2}``) and optimiser settings."""

    variant: str
    mix: Mapping[str, float]
    steps: int
    lr: float
    warmup: int
    batch_size: int
    seed: int
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resources:
    gpus: int = 0
    nodes: int = 1
    runtime_min: int = 60
    mem_mb: int = 4000


@dataclass(frozen=True, slots=True)
class Launch:
    """A command line (argv) and the environment it needs."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Resources = Resources()


class Backend(Protocol):
    name: str

    def export(self, shards: Mapping[str, Sequence[Path]], vqa: Path, recipe: Recipe, out: Path) -> Path:
        """Write the training data in the backend's format under ``out``; return its root."""

    def write_config(self, data_root: Path, recipe: Recipe, out: Path) -> Path:
        """Write the backend's training config for ``recipe``; return its path."""

    def launch(self, config: Path, recipe: Recipe, workdir: Path) -> Launch:
        """The command that trains (and resumes from the newest checkpoint in ``workdir``)."""

    def checkpoint(self, workdir: Path) -> Path | None:
        """The newest finished checkpoint in ``workdir``, or None."""
