"""Score one generation folder on DPG-Bench with a yes/no VQA judge at the ``eval.judge`` endpoint (rule
score_dpg).

The folder is ELLA's layout: ``<item_id>.png``, a 2x2 grid of ``pic_num`` samples of ``resolution`` pixels
(both read from the generation job's ``sgt_generation.json``); the questions are ELLA's ``dpg_bench.csv``.
Scoring is ``sgt.eval.dpg.scoring``'s (compute_dpg_bench.py); an item with a reply that is neither yes nor
no is unscored rather than counted as "no". Values are percent.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from sgt.eval.dpg.scoring import ChatVQA, DPGItem, aggregate_dpg, dpg_images, read_dpg_questions, score_item
from sgt.eval.judge.chat import Endpoint, MalformedReply
from sgt.eval.judge.items import NO_ENDPOINT, ItemCache, ask_items, file_stamp, tidy_rows, verdict, write_rows

logger = logging.getLogger(__name__)

BENCHMARK = "DPG-Bench"  # config/paper_reference/benchmarks.yaml -> Table 9's DPGBench column
SETTINGS = "sgt_generation.json"


def grid_settings(folder: str | os.PathLike[str]) -> tuple[int, int]:
    """(resolution, pic_num) of a generation folder's grids, from its ``sgt_generation.json``."""
    path = Path(folder) / SETTINGS
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
        resolution, pic_num = int(rec["resolution"]), int(rec["pic_num"])
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{path}: missing; rerun the DPG-Bench generation job for {folder}") from err
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: needs integer 'resolution' and 'pic_num' ({err})") from err
    if resolution < 1 or not 1 <= pic_num <= 4:
        raise ValueError(f"{path}: resolution {resolution} and pic_num {pic_num} (1-4) are not a DPG grid")
    return resolution, pic_num


def score_dpg_folder(
    folder: str | os.PathLike[str],
    questions_csv: str | os.PathLike[str],
    endpoint: Endpoint | None,
    out: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    ident: Mapping[str, Any],
    *,
    max_unscored_fraction: float = 0.05,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Write and return the tidy rows of one DPG-Bench folder; see the module docstring."""
    resolution, pic_num = grid_settings(folder)
    items = read_dpg_questions(questions_csv)
    paths = {p.stem: p for p in dpg_images(folder, items)}
    if endpoint is None:
        logger.warning("DPG-Bench of %s not scored: no judge endpoint (set eval.judge)", folder)
        rows = tidy_rows(ident, BENCHMARK, None, NO_ENDPOINT, "no judge")
        write_rows(rows, out)
        return rows
    vqa = ChatVQA.from_endpoint(endpoint)

    def ask(key: str) -> dict[str, Any] | None:
        with Image.open(paths[key]) as im:
            grid = im.convert("RGB")
        if grid.size != (2 * resolution, 2 * resolution) and pic_num > 1:
            raise ValueError(f"{paths[key]}: {grid.size} is not a 2x2 grid of {resolution}-pixel samples")
        try:
            score, raw = score_item(grid, items[key], vqa, resolution, pic_num)
        except MalformedReply as err:
            logger.warning("%s: %s", key, err)
            return None
        return {"score": score, "raw": {str(q): v for q, v in raw.items()}}

    logger.info(
        "DPG-Bench: %d items of %s, judge %s at %s", len(paths), folder, endpoint.model, endpoint.base_url
    )
    run = ask_items(
        list(paths), ask, ItemCache(cache), lambda k: file_stamp(endpoint.model, (paths[k],)), workers
    )
    ok, note = verdict(run, list(paths), max_unscored_fraction, "score_dpg")
    values = None
    if ok:
        scored: list[tuple[DPGItem, float, dict[int, float]]] = [
            (items[k], r["score"], {int(q): v for q, v in r["raw"].items()})
            for k, r in run.results.items()
            if r is not None
        ]
        values = aggregate_dpg(scored)
    rows = tidy_rows(ident, BENCHMARK, values, note, f"VQA judge {endpoint.model}")
    write_rows(rows, out)
    logger.info(
        "DPG-Bench %s: %s",
        f"overall {values['overall']:.4f}" if values else "no value",
        note or "all items scored",
    )
    return rows
