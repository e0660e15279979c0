"""The tiny model's inputs: images, pairs and questions held in memory as tensors at model resolution.
Training and the embedded evaluation both read them. The embedded study is small, and decoding PNGs every
step would cost more than the model's forward pass on two cores."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import torch

from sgt.data.images import decode_image, read_image
from sgt.data.vqa import QA, split_turns
from sgt.io import read_parquet

logger = logging.getLogger(__name__)


def to_tensor(images: Sequence[npt.NDArray[np.uint8]], size: int, *, nearest: bool = False) -> torch.Tensor:
    """uint8 HxWx3 images -> float N x 3 x size x size in [0, 1]."""
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    arr = np.stack([cv2.resize(im, (size, size), interpolation=interp) for im in images])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)


@dataclass(frozen=True)
class VQASet:
    """Questions and answers about images; ``images`` holds each image once when ``image_of_row`` says which
    row asks about which (tens of questions per image: one copy per row would not fit a large corpus)."""

    images: torch.Tensor
    questions: list[str]
    answers: list[str]
    image_of_row: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.questions)

    def batch_images(self, rows: torch.Tensor) -> torch.Tensor:
        return self.images[rows if self.image_of_row is None else self.image_of_row[rows]]

    def __add__(self, other: VQASet) -> VQASet:
        """Both sets' rows, in order (each keeps its own images)."""

        def index(s: VQASet) -> torch.Tensor:
            return torch.arange(len(s.images)) if s.image_of_row is None else s.image_of_row

        return VQASet(
            torch.cat([self.images, other.images]),
            self.questions + other.questions,
            self.answers + other.answers,
            torch.cat([index(self), index(other) + len(self.images)]),
        )


@dataclass(frozen=True)
class PairSet:
    """Generation pairs: ``conditions`` is None for text-to-image."""

    name: str
    conditions: torch.Tensor | None
    targets: torch.Tensor
    prompts: list[str]

    def __len__(self) -> int:
        return len(self.prompts)


def load_vqa(rows: Sequence[QA], size: int) -> VQASet:
    """Each image decoded once; the rows point at it. The tiny model answers one question per sample, so a
    multi-turn record gives one row per exchange."""
    rows = split_turns(rows)
    slot: dict[str, int] = {}
    for r in rows:
        slot.setdefault(r.image_path, len(slot))
    if not slot:
        raise ValueError("no VQA rows to train on: check the vqa rule's output")
    images = torch.cat([to_tensor([read_image(path)], size) for path in slot])
    index = torch.tensor([slot[r.image_path] for r in rows], dtype=torch.long)
    return VQASet(images, [r.question for r in rows], [r.answer for r in rows], index)


def load_pairs(name: str, shards: Sequence[str | Path], size: int, *, nearest_targets: bool) -> PairSet:
    """Read target shards (parquet with PNG bytes); segmentation-like targets resize with nearest."""
    conds, targets, prompts = [], [], []
    for shard in shards:
        table = read_parquet(shard, columns=["image_id", "instruction", "condition_png", "target_png"])
        for row in table.to_pylist():
            conds.append(decode_image(row["condition_png"], f"{shard}:{row['image_id']} condition"))
            targets.append(decode_image(row["target_png"], f"{shard}:{row['image_id']} target"))
            prompts.append(row["instruction"])
    if not prompts:
        raise ValueError(f"task {name!r}: its shards hold no pairs ({list(shards)})")
    return PairSet(name, to_tensor(conds, size), to_tensor(targets, size, nearest=nearest_targets), prompts)


def caption_pairs(images: torch.Tensor, captions: Sequence[str]) -> PairSet:
    """Text-to-image pairs (no condition image) from images already at model resolution."""
    return PairSet("t2i", None, images, list(captions))


def _mirror(images: torch.Tensor) -> torch.Tensor:
    return torch.flip(images, dims=[3])


def _gray(images: torch.Tensor) -> torch.Tensor:
    luma = (0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2])[:, None]
    return luma.expand(-1, 3, -1, -1).contiguous()


def _invert(images: torch.Tensor) -> torch.Tensor:
    return 1.0 - images


# Generic global edits for the base model's image-to-image pretraining, as BAGEL is pretrained on editing
# data. None is a proxy task of the study (no segmentation, depth, edges, detection, restoration, identity).
EDITS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], str]] = {
    "mirror": (_mirror, "mirror the image left to right."),
    "gray": (_gray, "make the image gray."),
    "invert": (_invert, "invert the colors of the image."),
}


def edit_pairs(images: torch.Tensor, edits: Sequence[str] = tuple(EDITS)) -> PairSet:
    """Every image under every named edit: teaches the generation path to read the condition's ViT tokens
    without any of the study's proxy tasks."""
    unknown = sorted(set(edits) - set(EDITS))
    if unknown or not edits:
        raise ValueError(f"pretrain edits {unknown or '[]'}: choose from {sorted(EDITS)}")
    conds, targets, prompts = [], [], []
    for name in edits:
        fn, prompt = EDITS[name]
        conds.append(images)
        targets.append(fn(images))
        prompts += [prompt] * len(images)
    return PairSet("edit", torch.cat(conds), torch.cat(targets), prompts)
