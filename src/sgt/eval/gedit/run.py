"""Score one generation folder on GEdit-Bench-EN with VIEScore at the ``eval.judge`` endpoint (score_gedit).

The folder is BAGEL's ``gen_images_gedit.py`` layout, as Step1X-Edit's ``test_gedit_score.py`` reads it:
``fullset/{task_type}/{instruction_language}/{key}.png`` (edited) beside ``{key}_SRCIMG.png`` (source), plus
our ``metadata.jsonl`` ({key, task_type, instruction_language, instruction} per item). GEdit-Bench-EN is
the items with language ``en``. Values are VIEScore's 0-10 scale: per group the mean of SC, PQ and
sqrt(SC * PQ) over its items, and the benchmark the mean over groups (``calculate_statistics.py``).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sgt.eval.gedit.viescore import GROUPS, VIEScoreClient, load_viescore_prompts
from sgt.eval.judge.chat import Endpoint
from sgt.eval.judge.items import NO_ENDPOINT, ItemCache, ask_items, file_stamp, tidy_rows, verdict, write_rows

logger = logging.getLogger(__name__)

BENCHMARK = "GEdit-Bench-En"  # config/paper_reference/benchmarks.yaml -> Table 3's GEdit-Bench-En column
METADATA = "metadata.jsonl"


@dataclass(frozen=True, slots=True)
class EditItem:
    key: str
    group: str
    language: str
    instruction: str
    source: Path
    edited: Path


def read_gedit_folder(folder: str | os.PathLike[str], language: str = "en") -> list[EditItem]:
    """The items of ``metadata.jsonl`` in ``language``, each with its two images (checked to exist)."""
    root = Path(folder)
    meta = root / METADATA
    if not meta.is_file():
        raise FileNotFoundError(f"{meta}: no GEdit-Bench metadata; rerun the GEdit generation job for {root}")
    items = []
    for n, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            key, group, lang = str(rec["key"]), str(rec["task_type"]), str(rec["instruction_language"])
            instruction = str(rec["instruction"])
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(
                f"{meta}:{n}: not a JSON line with key, task_type, instruction_language, instruction ({err})"
            ) from err
        if lang != language:
            continue
        if group not in GROUPS:
            raise ValueError(f"{meta}:{n}: task_type {group!r} is not a GEdit-Bench group {GROUPS}")
        sub = root / "fullset" / group / lang
        item = EditItem(key, group, lang, instruction, sub / f"{key}_SRCIMG.png", sub / f"{key}.png")
        for path in (item.source, item.edited):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path}: image of GEdit item {key} missing; rerun its generation job"
                )
        items.append(item)
    if not items:
        raise ValueError(f"{meta}: no items in language {language!r}")
    return items


def summarize(
    items: Sequence[EditItem], scores: Mapping[str, Mapping[str, float] | None]
) -> dict[str, float]:
    """``overall``/``sc``/``pq`` (mean over the groups present), ``<group>/<metric>``; scored items only."""
    out: dict[str, float] = {}
    per_group: dict[str, dict[str, float]] = {}
    for group in GROUPS:
        sel = [scores[i.key] for i in items if i.group == group and scores.get(i.key) is not None]
        if not sel:
            continue
        sc = np.array([float(s["sc"]) for s in sel])  # type: ignore[index]
        pq = np.array([float(s["pq"]) for s in sel])  # type: ignore[index]
        per_group[group] = {
            "sc": float(sc.mean()),
            "pq": float(pq.mean()),
            "overall": float(np.sqrt(sc * pq).mean()),
        }
    for metric in ("overall", "sc", "pq"):
        out[metric] = float(np.mean([g[metric] for g in per_group.values()])) if per_group else math.nan
    for group, vals in per_group.items():
        out |= {f"{group}/{m}": v for m, v in vals.items()}
    return out


def score_gedit_folder(
    folder: str | os.PathLike[str],
    vie_prompts_py: str | os.PathLike[str],
    endpoint: Endpoint | None,
    out: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    ident: Mapping[str, Any],
    *,
    language: str = "en",
    max_tries: int = 2,
    max_unscored_fraction: float = 0.05,
    workers: int = 1,
) -> list[dict[str, Any]]:
    """Write and return the tidy rows of one GEdit-Bench-EN folder; see the module docstring."""
    items = read_gedit_folder(folder, language)
    if endpoint is None:
        logger.warning("GEdit-Bench-EN of %s not scored: no judge endpoint (set eval.judge)", folder)
        rows = tidy_rows(ident, BENCHMARK, None, NO_ENDPOINT, "no judge")
        write_rows(rows, out)
        return rows
    client = VIEScoreClient.from_endpoint(
        endpoint, load_viescore_prompts(vie_prompts_py), max_tries=max_tries
    )
    by_key = {i.key: i for i in items}
    if len(by_key) != len(items):
        raise ValueError(f"{folder}/{METADATA}: duplicate keys in language {language!r}")

    def ask(key: str) -> dict[str, float] | None:
        item = by_key[key]
        with Image.open(item.source) as src, Image.open(item.edited) as edited:
            s = client.score(src, edited, item.instruction)
        return None if math.isnan(s.sc) or math.isnan(s.pq) else {"sc": s.sc, "pq": s.pq}

    logger.info(
        "GEdit-Bench-EN: %d items of %s, judge %s at %s",
        len(items),
        folder,
        endpoint.model,
        endpoint.base_url,
    )
    run = ask_items(
        list(by_key),
        ask,
        ItemCache(cache),
        lambda k: file_stamp(endpoint.model, (by_key[k].source, by_key[k].edited)),
        workers,
    )
    ok, note = verdict(run, list(by_key), max_unscored_fraction, "score_gedit")
    missing = [g for g in GROUPS if not any(i.group == g and run.results.get(i.key) for i in items)]
    if ok and missing:
        note = "; ".join(filter(None, [note, f"groups without a scored item: {', '.join(missing)}"]))
    values = summarize(items, run.results) if ok else None
    rows = tidy_rows(ident, BENCHMARK, values, note, f"VIEScore judge {endpoint.model}")
    write_rows(rows, out)
    logger.info(
        "GEdit-Bench-EN %s: %s",
        f"overall {values['overall']:.4f}" if values else "no value",
        note or "all items scored",
    )
    return rows
