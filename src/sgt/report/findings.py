"""The paper's Observations 1-3 and Findings 1-3 checked against a run: every sentence is computed from the
effect size, its 95% t-interval over seeds and n, never written in advance.

A verdict needs an interval: with one seed (n < 2) or per-seed values with zero variance (e.g. both
sides at ceiling) the claim is "not testable", with the reason, never "no difference".

Inputs are per-seed deltas to the base variant (``seed_deltas``) and, for Findings 1-3, the analysis results
in the tidy layout (model, variant, seed, benchmark, metric, value) with benchmarks ``linear_probe``
(metric ``accuracy``), ``visual_attention`` (metrics ``layer_<i>``: share of attention on image tokens) and
``prompt_attention`` (metrics ``object``, ``position``, ``color``, ``other``: attention share per group).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sgt.report.paper_tables import OVERALL
from sgt.report.plan import Variant
from sgt.report.reference import BenchmarkRef
from sgt.report.stats import Estimate, estimate

PERCEPTION_GROUPS = ("vision_centric", "spatial", "hallucination")
REASONING_GROUPS = ("chart_ocr", "knowledge_math")
CRITICAL_TOKENS = ("object", "position", "color")


@dataclass(frozen=True, slots=True)
class Finding:
    key: str
    claim: str
    # agrees | leans towards | leans against | disagrees | no difference (n >= 2, mean 0, spread) | mixed |
    # not testable (no data, n < 2, or zero variance on both sides)
    verdict: str
    sentence: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a check sees: per-seed deltas of the paper tables, analysis rows, variants and their levels."""

    deltas: pd.DataFrame  # table, model, variant, seed, column, delta
    analysis: pd.DataFrame  # tidy analysis rows (may be empty)
    variants: Mapping[str, Variant]
    levels: Mapping[str, str]  # task -> level
    bench_map: Mapping[str, BenchmarkRef]
    base: str | None


def untestable_reason(est: Estimate) -> str | None:
    """Why ``est`` cannot carry a verdict, or None: no values, one value (no interval), or zero spread over
    seeds (a degenerate interval: e.g. both sides at ceiling in every seed). Never read as 'no difference'."""
    if est.n == 0 or np.isnan(est.mean):
        return "no values to compare (n=0)"
    if est.n < 2:
        return f"one seed gives no interval (n={est.n}); run at least 2 seeds"
    if est.low == est.high:
        return (
            f"the {est.n} per-seed values are identical (zero variance, {est.mean:+.2f} in every seed; "
            "e.g. both sides at ceiling), so the interval is degenerate"
        )
    return None


def verdict(est: Estimate, expected: int = 1) -> str:
    """agrees / disagrees when the interval excludes zero, 'leans ...' when it does not; 'not testable'
    without an interval (n < 2) or with a degenerate one (zero variance)."""
    if untestable_reason(est) is not None:
        return "not testable"
    if est.mean == 0:
        return "no difference"
    same = np.sign(est.mean) == expected
    if est.excludes_zero():
        return "agrees" if same else "disagrees"
    return "leans towards" if same else "leans against"


def _sentence(v: str, what: str, est: Estimate, unit: str = "points") -> str:
    """The verdict's sentence; it always prints the estimate with its n and interval."""
    if v == "not testable":
        return f"Not testable in this run ({untestable_reason(est)}): {what} = {est.text()} {unit}."
    lead = {
        "agrees": "This run agrees",
        "disagrees": "This run disagrees",
        "leans towards": "This run points the same way, but not conclusively",
        "leans against": "This run points the other way, but not conclusively",
        "no difference": "This run shows no difference",
    }[v]
    why = " (the 95% interval includes 0)" if not est.excludes_zero() else ""
    return f"{lead}{why}: {what} = {est.text()} {unit}."


def _level(ev: Evidence, variant: str) -> str | None:
    tasks = ev.variants[variant].tasks
    return ev.levels.get(tasks[0]) if len(tasks) == 1 else None


def _per_seed_contrast(frame: pd.DataFrame, side: Callable[[pd.Series], int | None]) -> list[float]:
    """Per (model, seed): mean delta of side +1 rows minus mean delta of side -1 rows.

    Only seeds that both sides have count: a trained variant on one seed has no seed spread to stand in for
    its missing seeds (unlike the base, one checkpoint), so high-level variants on [0, 1, 2] against a
    low-level one on [0] give one contrast, n=1, not three.
    """
    # a comprehension, not DataFrame.apply: apply on an empty frame returns a frame, not a column
    sides = pd.Series([side(row) for _, row in frame.iterrows()], index=frame.index, dtype=float)
    frame = frame.assign(side=sides).dropna(subset=["side", "delta"])
    out = []
    for _, grp in frame.groupby(["model", "seed"]):
        plus, minus = grp[grp["side"] == 1]["delta"], grp[grp["side"] == -1]["delta"]
        if len(plus) and len(minus):
            out.append(float(plus.mean() - minus.mean()))
    return out


def _not_testable(key: str, claim: str, why: str) -> Finding:
    return Finding(key, claim, "not testable", f"Not testable in this run: {why}")


def observation1(ev: Evidence) -> Finding:
    key, claim = (
        "Observation 1",
        "High-level semantic tasks outperform low-level cues (understanding, Fig. 3a).",
    )
    rows = ev.deltas[(ev.deltas["table"] == "table6") & (ev.deltas["column"] == OVERALL)]
    rows = rows[rows["variant"] != ev.base]
    side = {"high": 1, "mid": -1, "low": -1}
    values = _per_seed_contrast(rows, lambda r: side.get(_level(ev, r["variant"]) or ""))
    if not values:
        return _not_testable(
            key, claim, "Table 6 needs single-task variants of the high level and of mid or low level."
        )
    est = estimate(values)
    v = verdict(est)
    return Finding(
        key, claim, v, _sentence(v, "gain of high-level minus gain of mid/low-level tasks in Overall", est)
    )


def observation2(ev: Evidence) -> Finding:
    key, claim = "Observation 2", "Visual supervision enhances perception, not reasoning (Fig. 3a)."
    rows = ev.deltas[(ev.deltas["table"] == "table6") & (ev.deltas["variant"] != ev.base)]
    group = {b: r.group for b, r in ev.bench_map.items()}
    present = {group.get(c) for c in rows["column"]}
    missing = [g for g in (*PERCEPTION_GROUPS, *REASONING_GROUPS) if g not in present]
    if rows.empty or not present & set(REASONING_GROUPS) or not present & set(PERCEPTION_GROUPS):
        return _not_testable(
            key,
            claim,
            f"Table 6 has no benchmark of the group(s) {missing} (benchmarks.yaml groups); add them.",
        )

    def side(r: pd.Series) -> int | None:
        g = group.get(r["column"])
        return 1 if g in PERCEPTION_GROUPS else -1 if g in REASONING_GROUPS else None

    est = estimate(_per_seed_contrast(rows, side))
    v = verdict(est)
    return Finding(key, claim, v, _sentence(v, "mean gain on perception minus reasoning benchmarks", est))


def _each_variant(rows: pd.DataFrame, base: str) -> dict[str, Estimate]:
    rows = rows[rows["variant"] != base]
    return {v: estimate(g["value"]) for v, g in rows.groupby("variant", sort=False)}


def _all_of(
    key: str, claim: str, what: str, ests: Mapping[str, Estimate], ev: Evidence, unit: str
) -> Finding:
    verdicts = {n: verdict(e) for n, e in ests.items()}
    kinds = set(verdicts.values())
    overall = kinds.pop() if len(kinds) == 1 else "mixed"

    def part(n: str, e: Estimate) -> str:
        why = untestable_reason(e)
        detail = f"not testable: {why}" if why else verdicts[n]
        return f"{ev.variants[n].label}: {e.text()} {unit} ({detail})"

    parts = "; ".join(part(n, e) for n, e in ests.items())
    if overall == "not testable":
        return Finding(key, claim, overall, f"Not testable in this run: {what}: {parts}.")
    pos = sum(e.mean > 0 for e in ests.values())
    return Finding(key, claim, overall, f"{pos} of {len(ests)} variants raise {what}: {parts}.")


def observation3(ev: Evidence) -> Finding:
    key, claim = (
        "Observation 3",
        "Various proxy tasks consistently improve spatial fidelity (GenEval position, Fig. 3b).",
    )
    rows = ev.deltas[(ev.deltas["table"] == "table7") & (ev.deltas["column"] == "position")]
    ests = _each_variant(rows.rename(columns={"delta": "value"}), ev.base)
    if not ests:
        return _not_testable(key, claim, "no GenEval 'position' scores for Table 7 variants in this run.")
    return _all_of(key, claim, "GenEval position over base", ests, ev, "points")


def _analysis_deltas(ev: Evidence, benchmark: str, reduce: Callable[[pd.DataFrame], float]) -> pd.DataFrame:
    """Per (model, variant, seed): reduce(rows of that benchmark) minus the base's (same seed if any)."""
    rows = ev.analysis[ev.analysis["benchmark"] == benchmark] if not ev.analysis.empty else ev.analysis
    if rows.empty:
        return pd.DataFrame(columns=["model", "variant", "seed", "value"])
    values = rows.groupby(["model", "variant", "seed"]).apply(reduce, include_groups=False).rename("value")
    out = []
    for (model, variant, seed), value in values.items():
        if variant == ev.base or (model, ev.base) not in values.droplevel("seed").index:
            continue
        base = values.loc[(model, ev.base)]
        out.append((model, variant, seed, value - base.get(seed, base.mean())))
    return pd.DataFrame(out, columns=["model", "variant", "seed", "value"])


def _analysis_finding(
    ev: Evidence,
    key: str,
    claim: str,
    benchmark: str,
    reduce: Callable[[pd.DataFrame], float],
    what: str,
    unit: str,
) -> Finding:
    deltas = _analysis_deltas(ev, benchmark, reduce)
    if deltas.empty:
        return _not_testable(
            key, claim, f"no '{benchmark}' analysis results for the base and a tuned variant."
        )
    return _all_of(key, claim, what, _each_variant(deltas, ev.base), ev, unit)


def _probe(rows: pd.DataFrame) -> float:
    return float(rows.loc[rows["metric"] == "accuracy", "value"].mean())


def _deep_visual_share(rows: pd.DataFrame) -> float:
    layers = rows[rows["metric"].str.match(r"layer_\d+$")]
    order = layers.assign(i=layers["metric"].str.removeprefix("layer_").astype(int)).sort_values("i")
    return float(order["value"].iloc[len(order) // 2 :].mean())


def _critical_share(rows: pd.DataFrame) -> float:
    return float(rows.loc[rows["metric"].isin(CRITICAL_TOKENS), "value"].sum())


def finding1(ev: Evidence) -> Finding:
    claim = "SGT promotes feature linear separability (Fig. 7)."
    what = "linear-probe accuracy over base"
    return _analysis_finding(ev, "Finding 1", claim, "linear_probe", _probe, what, "points")


def finding2(ev: Evidence) -> Finding:
    claim = "Mitigating linguistic over-reliance: more attention on visual tokens in deeper layers (Fig. 8a)."
    what = "the visual-token attention share of the deeper half of layers over base"
    return _analysis_finding(ev, "Finding 2", claim, "visual_attention", _deep_visual_share, what, "(share)")


def finding3(ev: Evidence) -> Finding:
    claim = "Amplifying critical tokens: more attention on object, position and colour words (Fig. 8b)."
    what = "the attention share of object+position+colour tokens over base"
    return _analysis_finding(ev, "Finding 3", claim, "prompt_attention", _critical_share, what, "(share)")


CHECKS: tuple[Callable[[Evidence], Finding], ...] = (
    observation1, observation2, observation3, finding1, finding2, finding3
)  # fmt: skip


def findings(ev: Evidence) -> list[Finding]:
    return [check(ev) for check in CHECKS]


def to_markdown(items: Sequence[Finding], missing_figures: Mapping[str, str], run_name: str) -> str:
    lines = [f"# Findings of run `{run_name}` against the paper", ""]
    for f in items:
        lines += [f"**{f.key}** - paper: *{f.claim}*", "", f"Verdict: **{f.verdict}**. {f.sentence}", ""]
    if missing_figures:
        lines += ["## Figures not produced", ""]
        lines += [f"- **{name}**: {why}" for name, why in missing_figures.items()]
        lines.append("")
    return "\n".join(lines)


def to_html(items: Sequence[Finding], missing_figures: Mapping[str, str], run_name: str) -> str:
    e = html.escape
    body = [f"<h1>Findings of run <code>{e(run_name)}</code> against the paper</h1>"]
    for f in items:
        body.append(
            f"<h3>{e(f.key)}: <em>{e(f.claim)}</em></h3>"
            f"<p>Verdict: <b>{e(f.verdict)}</b>. {e(f.sentence)}</p>"
        )
    if missing_figures:
        body.append("<h2>Figures not produced</h2><ul>")
        body += [f"<li><b>{e(n)}</b>: {e(w)}</li>" for n, w in missing_figures.items()]
        body.append("</ul>")
    style = "body{font-family:sans-serif;max-width:60em;margin:1em auto;line-height:1.4}"
    head = f"<head><meta charset='utf-8'><style>{style}</style></head>"
    return f"<!DOCTYPE html><html>{head}<body>{''.join(body)}</body></html>\n"
