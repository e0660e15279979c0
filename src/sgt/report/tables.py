"""Tables from tidy evaluation rows: one row per trained variant, one column per score, mean over seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from sgt.intervals import t_interval
from sgt.io import atomic_write_text
from sgt.report.paper_tables import paired_deltas

UNDERSTANDING_METRIC = "accuracy"


def read_tidy(paths: Sequence[str | Path]) -> pd.DataFrame:
    frames = []
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"{p}: evaluation result missing; run its eval rule first")
        frames.append(pd.read_csv(p))
    if not frames:
        raise ValueError("no evaluation results given to aggregate")
    return pd.concat(frames, ignore_index=True)


def understanding_table(
    tidy: pd.DataFrame, variant_order: Sequence[str], reference: str | None = None
) -> pd.DataFrame:
    """Variants x understanding benchmarks (accuracy, %), plus Overall (unweighted mean) with its 95%
    t-interval over seeds, the seed count and, with ``reference`` (the SFT variant), each variant's paired
    difference in Overall to it: what a proxy task adds to SFT, with its interval (issue #23)."""
    acc = tidy[(tidy["metric"] == UNDERSTANDING_METRIC) & ~tidy["benchmark"].str.startswith("gen_")]
    per_seed = acc.pivot_table(index=["variant", "seed"], columns="benchmark", values="value", aggfunc="mean")
    per_seed["Overall"] = per_seed.mean(axis=1)
    table = per_seed.groupby(level="variant").mean()
    overall = per_seed["Overall"]
    spans = {v: t_interval(overall.loc[v].tolist()) for v in table.index}
    table["Overall_low"] = [spans[v][1] for v in table.index]
    table["Overall_high"] = [spans[v][2] for v in table.index]
    table["n_seeds"] = per_seed.groupby(level="variant").size()
    if reference is not None and reference in table.index:
        # the paper tables' pairing: seed s against the reference's seed s, else against its mean
        ref = overall.loc[reference]
        deltas = {v: t_interval(paired_deltas(overall.loc[v], ref)) for v in table.index}
        table[f"delta_Overall_vs_{reference}"] = [deltas[v][0] for v in table.index]
        table[f"delta_Overall_vs_{reference}_low"] = [deltas[v][1] for v in table.index]
        table[f"delta_Overall_vs_{reference}_high"] = [deltas[v][2] for v in table.index]
    order = [v for v in variant_order if v in table.index] + sorted(set(table.index) - set(variant_order))
    return table.loc[order].round(2)


def generation_table(tidy: pd.DataFrame, variant_order: Sequence[str]) -> pd.DataFrame:
    """Variants x generation checks (``gen_<task>/<metric>``), mean over seeds."""
    gen = tidy[tidy["benchmark"].str.startswith("gen_")].copy()
    if gen.empty:
        return pd.DataFrame(index=pd.Index([], name="variant"))
    gen["column"] = gen["benchmark"].str.removeprefix("gen_") + "/" + gen["metric"]
    table = gen.pivot_table(index="variant", columns="column", values="value", aggfunc="mean")
    order = [v for v in variant_order if v in table.index] + sorted(set(table.index) - set(variant_order))
    return table.loc[order].round(4)


MAJORITY_VARIANT = "majority_answer"


def condition_table(und: pd.DataFrame, gen: pd.DataFrame) -> pd.DataFrame:
    """Does each model read its condition image and the image it is asked about? From the understanding and
    generation tables, one row per variant: shuffled/true flow-loss ratio per generation check (1.0 = the
    condition is ignored), segmentation pixel accuracy and foreground IoU beside the all-background baseline,
    and VQA Overall beside the majority-answer baseline (answers from the question alone)."""
    table = pd.DataFrame(index=pd.Index([v for v in und.index if v != MAJORITY_VARIANT], name="variant"))
    for col in sorted(c for c in gen.columns if c.endswith("/condition_gap")):
        table[col] = gen[col]
    for task in sorted({c.split("/")[0] for c in gen.columns if c.endswith("/foreground_iou")}):
        if task.startswith("edit_"):  # photos, not label maps: pixel accuracy means nothing there
            continue
        for metric in ("pixel_accuracy", "pixel_accuracy_background_baseline", "foreground_iou"):
            table[f"{task}/{metric}"] = gen.get(f"{task}/{metric}")
    table["vqa/Overall"] = und["Overall"]
    if MAJORITY_VARIANT in und.index:
        table["vqa/Overall_majority_baseline"] = und.loc[MAJORITY_VARIANT, "Overall"]
    return table


def _cell(v: object) -> str:
    if isinstance(v, str):
        return v
    return "" if pd.isna(v) else f"{v:g}"


def to_markdown(table: pd.DataFrame, title: str) -> str:
    cols = [table.index.name or "variant", *map(str, table.columns)]
    lines = [f"# {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for idx, row in table.iterrows():
        cells = [str(idx)] + [_cell(v) for v in row.tolist()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(table: pd.DataFrame, csv_path: str | Path, md_path: str | Path, title: str) -> None:
    atomic_write_text(csv_path, table.to_csv(lineterminator="\n"))
    atomic_write_text(md_path, to_markdown(table, title))


def build_tables(
    eval_csvs: Sequence[str | Path],
    outputs: Mapping[str, str | Path],
    variant_order: Sequence[str],
    labels: Mapping[str, str],
    reference: str | None = None,
) -> None:
    """Write the understanding and generation tables (CSV + Markdown) from every tidy eval CSV;
    ``reference`` is the SFT variant the understanding table's differences are to (None: no such column)."""
    tidy = read_tidy(eval_csvs)
    und = understanding_table(tidy, variant_order, reference)
    gen = generation_table(tidy, variant_order)
    cond = condition_table(und, gen)
    for table in (und, gen, cond):
        table.insert(0, "label", [labels.get(v, v) for v in table.index])
    write_table(
        und, outputs["understanding"], outputs["understanding_md"], "Understanding (embedded benchmarks)"
    )
    write_table(gen, outputs["generation"], outputs["generation_md"], "Generation checks")
    write_table(cond, outputs["condition_use"], outputs["condition_use_md"], "Condition use (with baselines)")
