"""DPG-Bench in ELLA's layout: prompts ``<item_id>.txt`` in, one ``<item_id>.png`` grid per prompt out.

Facts from TencentQQGYLab/ELLA ``dpg_bench/compute_dpg_bench.py`` and ``dist_eval.sh``: each prompt's image
is a 2x2 grid of ``pic_num`` (4) samples of ``resolution`` pixels; every sample is asked every question of
its item (``dpg_bench.csv``: item_id, text, keywords, proposition_id, dependency, category_broad,
category_detailed, tuple, question_natural_language) and a question scores 1 when the answer is exactly
"yes"; a question whose parent (``dependency``, 0 = none) scored 0 is zeroed; the item's score is the mean
over samples of the mean over questions; DPG-Bench is the mean item score (percent). Category scores use the
last sample's answers before zeroing, grouped by the tuple's head (L2) and its part before "-" (L1). The
reader skips the CSV's first data row, as upstream's ``if i == 0: continue`` does. The VQA model (mPLUG
upstream) is an OpenAI-compatible endpoint here (``eval.judge``); ``sgt.eval.dpg.run`` scores a folder.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from tqdm import tqdm

from sgt.eval.judge.chat import Endpoint, MalformedReply, endpoint_from_config
from sgt.io import atomic_path

logger = logging.getLogger(__name__)

VQAFn = Callable[[Image.Image, str], str]
GRID = ((0, 0), (1, 0), (0, 1), (1, 1))  # crop order of compute_dpg_bench.py: (column, row)


@dataclass(slots=True)
class DPGItem:
    """One prompt's question graph: proposition id -> tuple, parent ids, question."""

    tuples: dict[int, str] = field(default_factory=dict)
    dependencies: dict[int, list[int]] = field(default_factory=dict)
    questions: dict[int, str] = field(default_factory=dict)


def read_dpg_questions(path: str | os.PathLike[str]) -> dict[str, DPGItem]:
    """The question graphs of ``dpg_bench.csv`` keyed by item id (first data row skipped, as upstream)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no DPG-Bench questions; point eval.dpg.questions at dpg_bench.csv")
    items: dict[str, DPGItem] = {}
    with open(p, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        need = {"item_id", "proposition_id", "dependency", "tuple", "question_natural_language"}
        missing = need - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{p}: DPG-Bench CSV lacks columns {sorted(missing)}")
        for n, row in enumerate(reader):
            if n == 0:
                continue
            item = items.setdefault(str(row["item_id"]), DPGItem())
            qid = int(row["proposition_id"])
            item.tuples[qid] = row["tuple"]
            item.dependencies[qid] = [int(d.strip()) for d in row["dependency"].split(",")]
            item.questions[qid] = row["question_natural_language"]
    return items


def read_dpg_prompts(prompts_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``<item_id>.txt`` prompt files, sorted by item id."""
    root = Path(prompts_dir)
    files = sorted(root.glob("*.txt")) if root.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"{root}: no <item_id>.txt prompts; point eval.dpg.prompts at dpg_bench/prompts"
        )
    return {f.stem: f.read_text(encoding="utf-8").strip() for f in files}


def image_grid(images: Sequence[npt.NDArray[np.uint8]]) -> npt.NDArray[np.uint8]:
    """Up to four equal square samples in compute_dpg_bench.py's crop order; one sample is returned as is."""
    if len(images) == 1:
        return np.asarray(images[0])
    if (
        not 1 < len(images) <= 4
        or len({im.shape for im in images}) != 1
        or images[0].shape[0] != images[0].shape[1]
    ):
        raise ValueError("a DPG-Bench grid holds 2-4 square samples of one size")
    r = images[0].shape[0]
    grid = np.zeros((2 * r, 2 * r, 3), np.uint8)
    for im, (col, row) in zip(images, GRID, strict=False):
        grid[row * r : (row + 1) * r, col * r : (col + 1) * r] = im
    return grid


def write_dpg_outputs(
    prompts: Mapping[str, str],
    generate_fn: Callable[[str, int], npt.NDArray[np.uint8]],
    outdir: str | os.PathLike[str],
    seeds: Sequence[int],
) -> Path:
    """One grid ``<item_id>.png`` per prompt, sample k drawn with ``seeds[k]``; existing grids are kept."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    for item_id, text in tqdm(sorted(prompts.items()), desc="dpg prompts", disable=None):
        target = out / f"{item_id}.png"
        if target.is_file():
            continue
        grid = image_grid([np.asarray(generate_fn(text, int(s))) for s in seeds])
        with atomic_path(target, suffix=".png") as tmp:
            Image.fromarray(grid).save(tmp)
    return out


def score_item(
    image: Image.Image, item: DPGItem, vqa: VQAFn, resolution: int, pic_num: int
) -> tuple[float, dict[int, float]]:
    """(item score, last sample's raw per-question scores) as compute_dpg_one_sample computes them."""
    scores = []
    raw: dict[int, float] = {}
    for col, row in GRID[:pic_num]:
        crop = image.crop(
            (col * resolution, row * resolution, (col + 1) * resolution, (row + 1) * resolution)
        )
        raw = {qid: float(vqa(crop, q) == "yes") for qid, q in item.questions.items()}
        zeroed = dict(raw)
        for qid, parents in item.dependencies.items():
            if any(p != 0 and raw[p] == 0 for p in parents):
                zeroed[qid] = 0.0
        scores.append(sum(zeroed.values()) / len(zeroed))
    return sum(scores) / len(scores), raw


def score_dpg(
    imagedir: str | os.PathLike[str], items: Mapping[str, DPGItem], vqa: VQAFn, resolution: int, pic_num: int
) -> dict[str, float]:
    """DPG-Bench score, ``L1/<category>`` and ``L2/<category>`` scores, in percent."""
    paths = dpg_images(imagedir, items)
    results = []
    for path in tqdm(paths, desc="dpg images", disable=None):
        item = items[path.stem]
        results.append((item, *score_item(Image.open(path).convert("RGB"), item, vqa, resolution, pic_num)))
    return aggregate_dpg(results)


def dpg_images(imagedir: str | os.PathLike[str], items: Mapping[str, DPGItem]) -> list[Path]:
    """The ``<item_id>.png`` grids of a folder, each checked to have questions."""
    paths = sorted(Path(imagedir).glob("*.png"))
    if not paths:
        raise FileNotFoundError(f"{imagedir}: no <item_id>.png grids; run the DPG-Bench generation first")
    for path in paths:
        if path.stem not in items:
            raise KeyError(f"{path}: item {path.stem!r} has no questions in dpg_bench.csv")
    return paths


def aggregate_dpg(results: Sequence[tuple[DPGItem, float, dict[int, float]]]) -> dict[str, float]:
    """``overall`` (mean item score) and L1/L2 category scores, percent, from (item, score, raw answers)."""
    l2: dict[str, list[float]] = {}
    for item, _, raw in results:
        for qid, tup in item.tuples.items():
            l2.setdefault(tup.split("(")[0].strip(), []).append(raw[qid])
    out = {"overall": 100 * float(np.mean([score for _, score, _ in results]))}
    l1: dict[str, list[float]] = {}
    for cat, vals in l2.items():
        l1.setdefault(cat.split("-")[0].strip(), []).extend(vals)
    out |= {f"L1/{c}": 100 * float(np.mean(v)) for c, v in sorted(l1.items())}
    out |= {f"L2/{c}": 100 * float(np.mean(v)) for c, v in sorted(l2.items())}
    return out


class ChatVQA:
    """Asks a yes/no question about an image through an OpenAI-compatible endpoint.

    The reply's first word must be yes or no (upstream's mPLUG answers one word); anything else is
    ``MalformedReply``, so a refusal or an essay leaves the item unscored instead of counting as "no".
    """

    def __init__(self, base_url: str, model: str, api_key: str = "EMPTY", timeout: float = 120.0) -> None:
        self.endpoint = Endpoint(base_url, model, api_key, timeout, retries=0)

    @classmethod
    def from_endpoint(cls, endpoint: Endpoint) -> ChatVQA:
        vqa = cls(endpoint.base_url, endpoint.model)
        vqa.endpoint = endpoint
        return vqa

    def __call__(self, image: Image.Image, question: str) -> str:
        reply = self.endpoint.chat([image], f"{question} Answer yes or no.")
        words = reply.strip().lower().replace(".", " ").replace(",", " ").replace("!", " ").split()
        if not words or words[0] not in ("yes", "no"):
            raise MalformedReply(f"VQA reply {reply[:80]!r} starts with neither yes nor no")
        return words[0]


def vqa_from_config(judge: Mapping[str, Any] | None) -> ChatVQA | None:
    """The VQA judge of ``eval.judge``, or None when none is configured."""
    endpoint = endpoint_from_config(judge)
    return ChatVQA.from_endpoint(endpoint) if endpoint else None
