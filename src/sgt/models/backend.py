"""The interface every model backend implements, so the workflow rules never know which model they run.

A backend turns our target shards plus a recipe (task mix, SFT ratio, steps, lr) into a training run:
it exports data in its own format, writes its training config, prepares the run folder, names the launch
command and the resources that command needs, and finds the checkpoint that evaluation loads.

The VQA SFT input every backend reads is one JSONL file, one record a line:
``{"image": "<path, absolute or relative to the JSONL's folder>", "question": "...", "answer": "..."}``
(:func:`read_vqa`). Mix keys are task names plus :data:`VQA_KEY` for the SFT data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

VQA_KEY = "vqa"


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
    """A command line (argv), the environment it adds and the folder it must run in."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Resources = Resources()
    cwd: Path | None = None


@dataclass(frozen=True, slots=True)
class VqaRecord:
    """One VQA SFT example: an image file and a single question/answer turn."""

    image: Path
    question: str
    answer: str


def read_vqa(path: str | Path) -> list[VqaRecord]:
    """Read the VQA SFT JSONL; relative image paths are taken from the JSONL's folder."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no VQA JSONL; write one record a line with image/question/answer")
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{n}: not valid JSON ({err})") from err
        missing = sorted({"image", "question", "answer"} - set(raw))
        if missing:
            raise ValueError(f"{path}:{n}: VQA record lacks {missing}; each needs image, question, answer")
        image = Path(raw["image"])
        image = image if image.is_absolute() else path.parent / image
        if not image.is_file():
            raise FileNotFoundError(f"{path}:{n}: image {image} does not exist")
        records.append(VqaRecord(image, str(raw["question"]), str(raw["answer"])))
    if not records:
        raise ValueError(f"{path}: no VQA records; a recipe with a 'vqa' weight needs at least one")
    return records


class Backend(Protocol):
    name: str

    def export(
        self, shards: Mapping[str, Sequence[Path]], vqa: Path | None, recipe: Recipe, out: Path
    ) -> Path:
        """Write the training data in the backend's format under ``out``; return its root."""

    def write_config(self, data_root: Path, recipe: Recipe, out: Path) -> Path:
        """Write the backend's training config for ``recipe`` to ``out``; return its path."""

    def prepare(self, config: Path, workdir: Path) -> None:
        """Make ``workdir`` ready to start or resume (links, helper files); run just before ``launch``."""

    def launch(self, config: Path, recipe: Recipe, workdir: Path) -> Launch:
        """The command that trains (and resumes from the newest checkpoint in ``workdir``)."""

    def checkpoint(self, workdir: Path) -> Path | None:
        """The newest finished checkpoint in ``workdir``, or None."""
