"""The paper's Tables 3, 6 and 7 from a run: per variant and benchmark the mean over seeds, the paired delta
to the run's base variant with a 95% t-interval, and the paper's number for the same (or analogue) column.

The long table (one row per model x variant x column) is the data; Markdown and LaTeX are views of it.
"""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sgt.report.plan import BASE_ROW, Variant, base_variant, table_rows
from sgt.report.reference import BenchmarkRef, paper_value
from sgt.report.stats import estimate

logger = logging.getLogger(__name__)

GENEVAL_TAGS: tuple[str, ...] = (
    "position",
    "colors",
    "color_attr",
    "counting",
    "single_object",
    "two_object",
)
GENERATION_GROUPS = frozenset({"generation", "editing"})
OVERALL = "Overall"
SEED_IN_PATH = re.compile(r"seed(\d+)\.csv$")
LONG_COLUMNS = (
    "table", "model", "variant", "label", "mix", "paper_model", "paper_row", "column", "n", "mean", "ci_low",
    "ci_high", "delta", "delta_ci_low", "delta_ci_high", "paper_column", "relation", "paper_value",
    "paper_base", "paper_delta",
)  # fmt: skip


def load_results(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Every tidy eval CSV; ``seed`` is taken from the file name (``seed3.csv``) where the file has none."""
    frames = []
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: evaluation result missing; run its eval rule first")
        frame = pd.read_csv(path)
        missing = {"model", "variant", "benchmark", "metric", "value"} - set(frame.columns)
        if missing:
            raise ValueError(f"{path}: columns {sorted(missing)} missing from a tidy evaluation result")
        if "seed" not in frame.columns:
            m = SEED_IN_PATH.search(path.name)
            frame["seed"] = int(m.group(1)) if m else 0
        frames.append(frame)
    if not frames:
        raise ValueError("no evaluation results given to the report")
    return pd.concat(frames, ignore_index=True)


def _is_headline(tidy: pd.DataFrame) -> pd.Series:
    """The headline number of each benchmark: the ``headline`` flag where present, else metric 'accuracy'."""
    flag = tidy["headline"] if "headline" in tidy.columns else pd.Series(np.nan, index=tidy.index)
    text = flag.astype(str).str.lower()
    return text.isin({"true", "1", "1.0"}) | (flag.isna() & (tidy["metric"] == "accuracy"))


def _pivot(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    return rows.pivot_table(
        index=["model", "variant", "seed"], columns=column, values="value", aggfunc="mean"
    )


def understanding_matrix(tidy: pd.DataFrame, bench_map: Mapping[str, BenchmarkRef]) -> pd.DataFrame:
    """(model, variant, seed) x understanding benchmark, headline values; generation checks excluded."""
    gen = {b for b, r in bench_map.items() if r.group in GENERATION_GROUPS}
    keep = _is_headline(tidy) & ~tidy["benchmark"].isin(gen) & ~tidy["benchmark"].str.startswith("gen_")
    return _pivot(tidy[keep], "benchmark")


def generation_matrix(tidy: pd.DataFrame, bench_map: Mapping[str, BenchmarkRef]) -> pd.DataFrame:
    """(model, variant, seed) x headline of each generation/editing benchmark (GenEval overall, GEdit)."""
    gen = {b for b, r in bench_map.items() if r.group in GENERATION_GROUPS}
    return _pivot(tidy[_is_headline(tidy) & tidy["benchmark"].isin(gen)], "benchmark")


def geneval_benchmarks(bench_map: Mapping[str, BenchmarkRef]) -> list[str]:
    """The run benchmarks scored by GenEval's rules: the real prompt set and the embedded toy one."""
    return [b for b, r in bench_map.items() if r.paper == "GenEval"]


def geneval_matrix(tidy: pd.DataFrame, geneval: Sequence[str] = ("GenEval",)) -> pd.DataFrame:
    """(model, variant, seed) x GenEval tag (plus ``overall``), percent, from the benchmarks ``geneval``."""
    rows = tidy[tidy["benchmark"].isin(list(geneval)) & tidy["metric"].isin([*GENEVAL_TAGS, "overall"])]
    matrix = _pivot(rows, "metric")
    return matrix[[c for c in (*GENEVAL_TAGS, "overall") if c in matrix.columns]]


def with_overall(matrix: pd.DataFrame) -> pd.DataFrame:
    out = matrix.copy()
    out[OVERALL] = matrix.mean(axis=1, skipna=False)
    return out


def _table6(tidy: pd.DataFrame, bench_map: Mapping[str, BenchmarkRef]) -> pd.DataFrame:
    return with_overall(understanding_matrix(tidy, bench_map))


def _table3(tidy: pd.DataFrame, bench_map: Mapping[str, BenchmarkRef]) -> pd.DataFrame:
    return understanding_matrix(tidy, bench_map).join(generation_matrix(tidy, bench_map), how="outer")


def _table7(tidy: pd.DataFrame, bench_map: Mapping[str, BenchmarkRef]) -> pd.DataFrame:
    names = geneval_benchmarks(bench_map)
    matrix = geneval_matrix(tidy, names)
    present = sorted(set(tidy["benchmark"]) & set(names))
    # the tags are GenEval's, but a toy prompt set is only an analogue of the paper's: say which ran
    matrix.attrs["relation"] = "/".join(dict.fromkeys(bench_map[b].relation for b in present)) or "same"
    return matrix


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One paper table: its title, the paper's reference file and how to pick its columns from a run."""

    title: str
    columns: Callable[[pd.DataFrame, Mapping[str, BenchmarkRef]], pd.DataFrame]
    paper_column: Callable[[str, Mapping[str, BenchmarkRef]], tuple[str | None, str]]


def _mapped(column: str, bench_map: Mapping[str, BenchmarkRef]) -> tuple[str | None, str]:
    ref = bench_map.get(column)
    if ref is None:
        return None, "not in benchmarks.yaml"
    return ref.paper, ref.relation if ref.paper else "no paper counterpart"


def _overall_or_mapped(column: str, bench_map: Mapping[str, BenchmarkRef]) -> tuple[str | None, str]:
    if column == OVERALL:
        return OVERALL, "analogue: mean of this run's columns"
    return _mapped(column, bench_map)


def _tag(column: str, bench_map: Mapping[str, BenchmarkRef]) -> tuple[str | None, str]:
    return column, "same"


TABLES: dict[str, TableSpec] = {
    "table6": TableSpec("Table 6: proxy task x understanding benchmark", _table6, _overall_or_mapped),
    "table7": TableSpec("Table 7: GenEval per tag", _table7, _tag),
    "table3": TableSpec("Table 3: SFT and SFT + proxy task", _table3, _mapped),
    "table9": TableSpec("Table 9: more results of mixed SFT and SGT training (BAGEL)", _table3, _mapped),
}
# Columns of a reference table that are row labels or derived, not benchmarks a run fills
REFERENCE_META = frozenset({"paper_label", OVERALL, "overall"})


def unfilled_columns(
    long: pd.DataFrame, tidy: pd.DataFrame, reference: pd.DataFrame, bench_map: Mapping[str, BenchmarkRef]
) -> dict[str, str]:
    """The paper's columns of one table that no column of this run fills, each with the reason: the note of
    the run's NaN rows (no judge, VLMEvalKit's error), a benchmark VLMEvalKit lacks, or nothing run for it."""
    from sgt.eval.vlmeval.adapter import NOT_IN_VLMEVALKIT

    filled = set(long["paper_column"].dropna()) if not long.empty else set()
    notes = tidy["note"] if "note" in tidy.columns else pd.Series("", index=tidy.index)
    out: dict[str, str] = {}
    for column in reference.columns:
        if column in REFERENCE_META or column in filled or not reference[column].notna().any():
            continue
        benches = sorted(b for b, r in bench_map.items() if r.paper == column and r.relation == "same")
        said = sorted(
            {
                f"{b}: {n}"
                for b, n in zip(tidy["benchmark"], notes, strict=True)
                if b in benches and isinstance(n, str) and n
            }
        )
        lacking = [f"{b}: {NOT_IN_VLMEVALKIT[b]}" for b in benches if b in NOT_IN_VLMEVALKIT]
        if said:
            out[column] = "; ".join(said)
        elif lacking:
            out[column] = "; ".join(lacking)
        else:
            out[column] = f"no result in this run for {', '.join(benches) or column}"
    return out


def unfilled_note(unfilled: Mapping[str, str]) -> str:
    if not unfilled:
        return ""
    return "Paper columns this run does not fill: " + "; ".join(
        f"**{c}** ({why})" for c, why in unfilled.items()
    )


def _seed_values(matrix: pd.DataFrame, model: str, variant: str | None, column: str) -> pd.Series:
    if variant is None:
        return pd.Series(dtype=float)
    try:
        sub = matrix.loc[(model, variant)]
    except KeyError:
        return pd.Series(dtype=float)
    return sub[column].dropna() if column in sub.columns else pd.Series(dtype=float)


def paired_deltas(variant_values: pd.Series, base_values: pd.Series) -> list[float]:
    """Variant minus base seed by seed (both indexed by seed): one delta per seed of the variant.

    Variants can have seeds of their own (study.variants.<v>.seeds). The base is one checkpoint (the shipped
    or released model): its seeds change only the evaluation's sampling, so seed s of a variant (trained and
    evaluated with s) is paired with the base evaluated with s, sharing its sampling noise. A seed the base
    lacks is compared with the base's mean over its seeds: a variant on [0, 1, 2] against a base on [0] gives
    three deltas to the base's one evaluation, and the interval then holds the variant's seed spread only.
    A variant on [0] against a base on [0, 1, 2] gives one delta, to the base's seed 0, and no interval.
    """
    if base_values.empty:
        return []
    return [v - base_values.get(s, base_values.mean()) for s, v in variant_values.items()]


def build_table(
    table: str,
    tidy: pd.DataFrame,
    variants: Mapping[str, Variant],
    reference: pd.DataFrame,
    bench_map: Mapping[str, BenchmarkRef],
    paper_model: Mapping[str, str],
) -> pd.DataFrame:
    """The long form of one paper table for every model in ``tidy``."""
    spec = TABLES[table]
    matrix = spec.columns(tidy, bench_map)
    base = base_variant(variants)
    rows = table_rows(variants, table)
    # models with a result for a row of this table (not e.g. the majority-answer baseline's "none")
    models = sorted(
        m
        for m in set(tidy["model"]) & set(matrix.index.get_level_values("model"))
        if set(matrix.loc[m].index.get_level_values("variant")) & {v for v, _ in rows}
    )
    records = []
    for model in models:
        pmodel = paper_model.get(model, model)
        for variant, prow in rows:
            if not variants[variant].runs_for(model):
                continue  # study.variants.<v>.models leaves this model out: no row, not an empty one
            for column in matrix.columns:
                values = _seed_values(matrix, model, variant, column)
                base_values = _seed_values(matrix, model, base, column)
                est = estimate(values)
                delta = estimate(paired_deltas(values, base_values))
                pcol, relation = spec.paper_column(str(column), bench_map)
                relation = matrix.attrs.get("relation", relation)
                pval = paper_value(reference, pmodel, prow, pcol)
                base_row = variants[base].tables.get(table, BASE_ROW) if base else BASE_ROW
                pbase = paper_value(reference, pmodel, base_row, pcol)
                v = variants[variant]
                records.append(
                    (table, model, variant, v.label, v.mix_text(), pmodel, prow, str(column), est.n, est.mean,
                     est.low, est.high, delta.mean, delta.low, delta.high, pcol, relation, pval, pbase,
                     pval - pbase)
                )  # fmt: skip
    return pd.DataFrame.from_records(records, columns=list(LONG_COLUMNS))


def seed_deltas(
    table: str, tidy: pd.DataFrame, variants: Mapping[str, Variant], bench_map: Mapping[str, BenchmarkRef]
) -> pd.DataFrame:
    """Per (model, variant, seed, column) the paired delta to the base variant: what the findings test."""
    matrix = TABLES[table].columns(tidy, bench_map)
    base = base_variant(variants)
    records = []
    for model in sorted(set(matrix.index.get_level_values("model"))):
        for variant, _ in table_rows(variants, table):
            for column in matrix.columns:
                values = _seed_values(matrix, model, variant, column)
                deltas = paired_deltas(values, _seed_values(matrix, model, base, column))
                records += [
                    (table, model, variant, s, str(column), d)
                    for s, d in zip(values.index, deltas, strict=False)
                ]
    return pd.DataFrame.from_records(
        records, columns=["table", "model", "variant", "seed", "column", "delta"]
    )


def _num(x: float, signed: bool = False) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:{'+' if signed else ''}.2f}"


def run_cell(r: pd.Series, is_base: bool) -> str:
    """``44.68 (Δ +1.20 [+0.30, +2.10])``; ``n=1`` when there is no interval; base rows show only the mean."""
    if r["n"] == 0:
        return "–"
    if math.isnan(r["ci_low"]):
        mean = f"{_num(r['mean'])} (n={r['n']})"
    else:
        mean = f"{_num(r['mean'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
    if is_base or math.isnan(r["delta"]):
        return mean
    ci = (
        ""
        if math.isnan(r["delta_ci_low"])
        else f" [{_num(r['delta_ci_low'], True)}, {_num(r['delta_ci_high'], True)}]"
    )
    return f"{mean}; Δ {_num(r['delta'], True)}{ci}"


def paper_cell(r: pd.Series, is_base: bool) -> str:
    if math.isnan(r["paper_value"]):
        return "–"
    if is_base or math.isnan(r["paper_delta"]):
        return _num(r["paper_value"])
    return f"{_num(r['paper_value'])} (Δ {_num(r['paper_delta'], True)})"


def wide_cells(long: pd.DataFrame, base: str | None) -> tuple[list[str], list[list[str]]]:
    """Header and rows: model, variant, mix, paper row, then per column the run cell and the paper cell."""
    columns = list(dict.fromkeys(long["column"]))
    header = ["model", "variant", "mix", "paper row"]
    for c in columns:
        sub = long[long["column"] == c].iloc[0]
        header.append(c)
        if isinstance(sub["paper_column"], str):
            header.append(f"paper {sub['paper_model']}: {sub['paper_column']} ({sub['relation']})")
        else:
            header.append(f"paper ({sub['relation']})")
    rows = []
    for (model, variant), grp in long.groupby(["model", "variant"], sort=False):
        first = grp.iloc[0]
        cells = [model, first["label"], first["mix"], first["paper_row"] or "–"]
        for c in columns:
            r = grp[grp["column"] == c].iloc[0]
            cells += [run_cell(r, variant == base), paper_cell(r, variant == base)]
        rows.append(cells)
    return header, rows


LEGEND = (
    "Run cells: mean over seeds [95% t-interval] (n=1: one seed, no interval); Δ: paired difference to the "
    "run's base variant, mean [95% t-interval] (seed s against the base's seed s, or the base's mean where "
    "the base lacks s). Paper cells: the published number (Δ to the paper's base "
    "row). 'analogue': an embedded toy benchmark probing the same capability group - compare directions, "
    "not levels."
)


def to_markdown(long: pd.DataFrame, base: str | None, title: str, note: str = "") -> str:
    lines = [f"## {title}", ""]
    if long.empty:
        return "\n".join([*lines, note or "No rows.", ""])
    header, rows = wide_cells(long, base)
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    lines += ["", LEGEND]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _bold(text: str) -> str:
    """The notes' Markdown ``**bold**`` as HTML."""
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)


def to_html(long: pd.DataFrame, base: str | None, title: str, note: str = "") -> str:
    """A standalone page with the same cells as the Markdown view: the report shows HTML entries inline,
    while CSV, Markdown and LaTeX entries are download-only there."""
    e = html.escape
    body = [f"<h2>{e(title)}</h2>"]
    if long.empty:
        body.append(f"<p>{_bold(e(note or 'No rows.'))}</p>")
    else:
        header, rows = wide_cells(long, base)
        head = "".join(f"<th>{e(h)}</th>" for h in header)
        cells = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
        body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>")
        body += [f"<p>{e(LEGEND)}</p>", *([f"<p>{_bold(e(note))}</p>"] if note else [])]
    style = ("body{font-family:sans-serif;margin:2.5em 1em 1em;font-size:14px}table{border-collapse:collapse}"
             "th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}th{background:#eee}"
             "tbody tr:nth-child(even){background:#f7f7f7}")  # fmt: skip
    head = f"<head><meta charset='utf-8'><title>{e(title)}</title><style>{style}</style></head>"
    return f"<!DOCTYPE html><html>{head}<body>{''.join(body)}</body></html>\n"


LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\^{}", "Δ": r"$\Delta$",
                 "–": "--"}  # fmt: skip


def latex_escape(text: str) -> str:
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def to_latex(long: pd.DataFrame, base: str | None, title: str, note: str = "") -> str:
    """A standalone ``tabular`` (booktabs rules) with the same cells as the Markdown view."""
    if long.empty:
        return f"% {latex_escape(title)}: {latex_escape(note or 'no rows')}\n"
    header, rows = wide_cells(long, base)
    lines = [
        f"% {latex_escape(title)}",
        "\\begin{tabular}{" + "l" * 4 + "r" * (len(header) - 4) + "}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in header) + " \\\\",
        "\\midrule",
        *(" & ".join(latex_escape(c) for c in row) + " \\\\" for row in rows),
        "\\bottomrule",
        "\\end{tabular}",
        f"% {latex_escape(LEGEND)}",
    ]
    return "\n".join(lines) + "\n"
