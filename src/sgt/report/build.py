"""Entry points of the report rules: paper tables, figures, findings and the config used (atomic writes)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from sgt.analysis.tidy import analysis_tidy
from sgt.io import atomic_path, atomic_write_text
from sgt.report import figures as figs
from sgt.report import findings as fnd
from sgt.report.paper_tables import (
    TABLES,
    build_table,
    load_results,
    seed_deltas,
    to_html,
    to_latex,
    to_markdown,
    unfilled_columns,
    unfilled_note,
)
from sgt.report.plan import FigurePlan, base_variant, variants_from_config
from sgt.report.reference import load_benchmark_map, load_reference

logger = logging.getLogger(__name__)


def _empty_note(table: str, reference: pd.DataFrame) -> str:
    ref = reference.reset_index()
    paper = "\n".join(
        ["| " + " | ".join(map(str, ref.columns)) + " |", "|" + "---|" * len(ref.columns)]
        + ["| " + " | ".join("" if pd.isna(x) else str(x) for x in r) + " |" for r in ref.values]
    )
    return (
        f"This run has no results for {table}'s columns (for Table 7: no GenEval rows; tag variants with "
        f"'tables: {{{table}: <paper row>}}' and evaluate them on GenEval). The paper's numbers:\n\n{paper}"
    )


def write_paper_tables(
    eval_csvs: Sequence[str | Path],
    study: Mapping[str, Any],
    reference_dir: str | Path,
    benchmark_map: str | Path,
    paper_model: Mapping[str, str],
    outputs: Mapping[str, str | Path],
) -> None:
    """``outputs``: ``<table>_{csv,md,tex,html}`` for each of Tables 3, 6, 7, 9."""
    tidy = load_results(eval_csvs)
    variants = variants_from_config(study)
    base = base_variant(variants)
    reference = load_reference(reference_dir)
    bench_map = load_benchmark_map(benchmark_map)
    for table, spec in TABLES.items():
        long = build_table(table, tidy, variants, reference[table], bench_map, paper_model)
        if long.empty:
            note = _empty_note(table, reference[table])
        else:
            note = unfilled_note(unfilled_columns(long, tidy, reference[table], bench_map))
        atomic_write_text(outputs[f"{table}_csv"], long.to_csv(index=False, lineterminator="\n"))
        atomic_write_text(outputs[f"{table}_md"], to_markdown(long, base, spec.title, note))
        atomic_write_text(outputs[f"{table}_tex"], to_latex(long, base, spec.title, note))
        atomic_write_text(outputs[f"{table}_html"], to_html(long, base, spec.title, note))
        logger.info(
            "%s: %d rows (%d variants)", table, len(long), long["variant"].nunique() if len(long) else 0
        )


def separation_rows(
    tidy: pd.DataFrame, variants: Mapping[str, Any], bench_map: Mapping[str, Any]
) -> pd.DataFrame:
    """Every trained variant against every untrained one: per understanding benchmark (and Overall, and
    GenEval overall where evaluated) the margin of the seed means, the larger seed std, and whether both
    checks pass."""
    from sgt.eval.spread import seed_spread, separation
    from sgt.report.paper_tables import geneval_benchmarks, geneval_matrix, understanding_matrix, with_overall

    matrices = [with_overall(understanding_matrix(tidy, bench_map))]
    geneval = geneval_matrix(tidy, geneval_benchmarks(bench_map))
    if "overall" in geneval.columns:
        matrices.append(geneval[["overall"]].rename(columns={"overall": "GenEval overall"}))
    long = pd.concat(
        [m.rename_axis(columns="benchmark").stack().rename("value").reset_index() for m in matrices]
    ).assign(metric="accuracy")
    spread = seed_spread(long)
    floors = [v for v, spec in variants.items() if spec.untrained]
    frames = [
        separation(spread, v, floor).assign(trained=v, untrained=floor)
        for floor in floors
        for v, spec in variants.items()
        if not spec.untrained and v in set(spread["variant"])
    ]
    cols = ["model", "trained", "untrained", "benchmark", "margin", "seed_std", "beats_spread",
            "intervals_apart", "n_seeds", "n_seeds_trained", "n_seeds_untrained"]  # fmt: skip
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def write_separation(
    eval_csvs: Sequence[str | Path],
    study: Mapping[str, Any],
    benchmark_map: str | Path,
    csv_out: str | Path,
    md_out: str | Path,
) -> None:
    """Do the embedded benchmarks tell a trained model from an untrained one, beyond the seed spread?"""
    variants = variants_from_config(study)
    rows = separation_rows(load_results(eval_csvs), variants, load_benchmark_map(benchmark_map))
    atomic_write_text(csv_out, rows.to_csv(index=False, lineterminator="\n"))
    title = "# Trained vs untrained: margin of the seed means against the seed-to-seed spread\n\n"
    if rows.empty:
        text = (
            title
            + "No variant has `untrained: true` in study.variants, so there is no floor to compare with.\n"
        )
    else:
        head = ["model", "trained", "untrained", "benchmark", "margin", "seed std", "margin > std",
                "95% CIs apart", "seeds"]  # fmt: skip
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows.itertuples():
            names = f"{variants[r.trained].label} | {variants[r.untrained].label}"
            seeds = f"{r.n_seeds_trained} / {r.n_seeds_untrained}"  # each variant's own seeds
            seeds = str(r.n_seeds) if r.n_seeds_trained == r.n_seeds_untrained else seeds
            lines.append(
                f"| {r.model} | {names} | {r.benchmark} | "
                f"{r.margin:+.2f} | {r.seed_std:.2f} | {'yes' if r.beats_spread else 'no'} | "
                f"{'yes' if r.intervals_apart else ('n/a' if r.n_seeds < 2 else 'no')} | {seeds} |"
            )
        text = title + "\n".join(lines) + "\n"
    atomic_write_text(md_out, text)
    logger.info("separation: %d rows, %d beat the seed spread", len(rows), int(rows["beats_spread"].sum()))


def write_figure(
    name: str,
    plan: Mapping[str, Any],
    study: Mapping[str, Any],
    eval_csvs: Sequence[str | Path],
    metrics: Mapping[str, Sequence[str | Path]],
    reference_dir: str | Path,
    benchmark_map: str | Path,
    paper_model: Mapping[str, str],
    png: str | Path,
    pdf: str | Path,
    data_csv: str | Path | None = None,
) -> None:
    """One figure of ``figures.FIGURE_FUNCTIONS``; ``plan`` is the ``FigurePlan`` as a dict (a rule param).
    ``data_csv``: the numbers it plots, ours beside the paper's (Figs. 3a/3b, 5a, 5b: the long table's rows of
    the figure's variants; Fig. 6: the training metrics), for whoever redraws or checks it."""
    fplan = FigurePlan(name, plan["available"], plan["reason"], tuple(plan["variants"]), plan["points"])
    if not fplan.available:
        raise ValueError(f"{name} cannot be drawn from this config: {fplan.reason}")
    variants = variants_from_config(study)
    if name == "fig6":
        data = figs.read_metrics(metrics)
    else:
        table = {"fig3b": "table7"}.get(name, "table6")
        reference = load_reference(reference_dir)[table]
        tidy, bench_map = load_results(eval_csvs), load_benchmark_map(benchmark_map)
        # a sweep's points need not be rows of the paper table: add them, without a paper row
        drawn = {
            v: dataclasses.replace(spec, tables={table: None, **spec.tables})
            if v in fplan.variants and not spec.is_base
            else spec
            for v, spec in variants.items()
        }
        data = build_table(table, tidy, drawn, reference, bench_map, paper_model)
        missing = sorted(set(fplan.variants) - set(data["variant"][data["n"] > 0]))
        if missing:
            raise ValueError(
                f"{name}: no {table} results for variants {missing}; are they evaluated on its benchmarks?"
            )
    figs.save_figure(figs.FIGURE_FUNCTIONS[name](data, fplan, variants), png, pdf)
    if data_csv is not None:
        plotted = data if name == "fig6" else data[data["variant"].isin(fplan.variants)]
        with atomic_path(data_csv, suffix=".csv") as tmp:
            plotted.to_csv(tmp, index=False)


def write_findings(
    eval_csvs: Sequence[str | Path],
    analysis_csvs: Sequence[str | Path],
    study: Mapping[str, Any],
    levels: Mapping[str, str],
    benchmark_map: str | Path,
    missing_figures: Mapping[str, str],
    run_name: str,
    md: str | Path,
    html_path: str | Path,
) -> None:
    tidy = load_results(eval_csvs)
    variants = variants_from_config(study)
    bench_map = load_benchmark_map(benchmark_map)
    deltas = pd.concat([seed_deltas(t, tidy, variants, bench_map) for t in TABLES], ignore_index=True)
    analysis = analysis_tidy(analysis_csvs) if analysis_csvs else pd.DataFrame()
    ev = fnd.Evidence(deltas, analysis, variants, levels, bench_map, base_variant(variants))
    items = fnd.findings(ev)
    for f in items:
        logger.info("%s: %s", f.key, f.verdict)
    atomic_write_text(md, fnd.to_markdown(items, missing_figures, run_name))
    atomic_write_text(html_path, fnd.to_html(items, missing_figures, run_name))


def write_config(config: Mapping[str, Any], path: str | Path) -> None:
    """The config the run used, as YAML (key order kept) - shown in the report."""
    atomic_write_text(path, yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False))
