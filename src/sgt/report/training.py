"""What each fine-tune trained on: steps, batch, learning rates and the samples drawn from each source.

Why: a delta between two variants means little without the budget behind it (issue #23: "report the steps
and samples per variant"). Every number comes from the run's own ``train.json`` (steps, batch size, mix,
distinct samples per source) and the exact mix schedule (``sgt.train.mix``), never from the config alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sgt.io import atomic_write_text, read_json
from sgt.train.mix import mix_schedule

COLUMNS = ["variant", "label", "seeds", "steps", "batch_size", "samples", "drawn", "distinct", "epochs"]


def drawn_per_source(mix: Mapping[str, float], batch_size: int, steps: int) -> dict[str, int]:
    """Samples each source gives over the whole run (exact: the schedule the loop follows)."""
    totals: dict[str, int] = {}
    for batch in mix_schedule(mix, batch_size, steps):
        for source, k in batch.items():
            totals[source] = totals.get(source, 0) + k
    return totals


def _describe(counts: Mapping[str, float], digits: int = 0) -> str:
    return ", ".join(f"{k} {v:.{digits}f}" for k, v in sorted(counts.items()))


def training_table(
    runs: Sequence[str | Path], labels: Mapping[str, str], variant_order: Sequence[str]
) -> pd.DataFrame:
    """One row per variant (its seeds share a recipe): steps, batch, samples drawn per source, the distinct
    samples each source holds and how many passes over them the run makes."""
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        path = Path(run) / "train.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no training summary; rerun the train job of {run}")
        summary = read_json(path)
        missing = sorted({"variant", "steps", "batch_size", "mix", "samples"} - set(summary))
        if missing:
            raise ValueError(f"{path}: training summary lacks {missing}; rerun its train job")
        by_variant.setdefault(summary["variant"], []).append(summary | {"seed_dir": Path(run).name})
    rows = []
    for variant in [v for v in variant_order if v in by_variant] + sorted(
        set(by_variant) - set(variant_order)
    ):
        first = by_variant[variant][0]
        drawn = drawn_per_source(first["mix"], int(first["batch_size"]), int(first["steps"]))
        distinct = {k: int(v) for k, v in first["samples"].items()}
        passes = {k: drawn[k] / distinct[k] for k in drawn if distinct.get(k)}
        seeds = sorted(s["seed_dir"].removeprefix("seed") for s in by_variant[variant])
        rows.append(
            {
                "variant": variant,
                "label": labels.get(variant, variant),
                "seeds": " ".join(seeds),
                "steps": int(first["steps"]),
                "batch_size": int(first["batch_size"]),
                "samples": int(first["steps"]) * int(first["batch_size"]),
                "drawn": _describe(drawn),
                "distinct": _describe(distinct),
                "epochs": _describe(passes, 2),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def write_training_table(
    runs: Sequence[str | Path],
    labels: Mapping[str, str],
    variant_order: Sequence[str],
    recipe: Mapping[str, Any],
    csv_out: str | Path,
    md_out: str | Path,
) -> None:
    """The table as CSV and as Markdown headed by the fine-tune recipe every variant shares."""
    table = training_table(runs, labels, variant_order)
    atomic_write_text(csv_out, table.to_csv(index=False))
    shown = {k: recipe[k] for k in sorted(recipe) if k not in {"checkpoint_every", "engine"}}
    head = "Fine-tune recipe (every variant): " + ", ".join(f"{k} {v}" for k, v in shown.items())
    note = (
        "drawn: samples each source gives over the run (exact mix schedule); distinct: samples the source "
        "holds; epochs: drawn / distinct."
    )
    atomic_write_text(
        md_out, f"# Training budget per variant\n\n{head}\n\n{note}\n\n{table.to_markdown(index=False)}\n"
    )
