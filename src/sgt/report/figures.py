"""The paper's Figs. 3a/3b, 5a, 5b and 6 from a run (matplotlib, Agg, PNG + PDF).

Each figure function takes the long tables (``paper_tables.build_table``) or training metrics and the figure's
plan (``plan.FigurePlan``) and returns a matplotlib Figure; ``save_figure`` writes both formats atomically.
Error bars are 95% t-intervals over seeds and are drawn only where there are at least two seeds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sgt.io import atomic_path
from sgt.report.paper_tables import GENEVAL_TAGS, OVERALL
from sgt.report.plan import FigurePlan, Variant

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LEVEL_COLORS = {"high": "#1b7837", "mid": "#e08214", "low": "#762a83", "mixed": "#878787"}
FIG6_SMOOTH = 10  # steps in the rolling mean of the loss curves


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _yerr(rows: pd.DataFrame) -> np.ndarray | None:
    lo = (rows["delta"] - rows["delta_ci_low"]).to_numpy(dtype=float)
    hi = (rows["delta_ci_high"] - rows["delta"]).to_numpy(dtype=float)
    if np.isnan(lo).all():
        return None
    return np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)])


def _n_text(rows: pd.DataFrame) -> str:
    """The seed count behind the plotted rows; each variant has its own (study.variants.<v>.seeds)."""
    ns = sorted(set(rows["n"].astype(int)))
    if len(ns) > 1:
        return f"n={ns[0]} to {ns[-1]} seeds by variant, 95% t-interval where n>1"
    return f"n={ns[0]} seed(s)" + (", no interval" if ns == [1] else ", 95% t-interval")


def fig3(
    long: pd.DataFrame, plan: FigurePlan, variants: Mapping[str, Variant], column: str, ylabel: str
) -> Figure:
    """Gain over base of each single-task variant, by level; the paper's gain as a hollow marker."""
    plt = _plt()
    levels: Mapping[str, Sequence[str]] = plan.points["levels"]
    fig, axes = plt.subplots(1, len(long["model"].unique()), figsize=(7, 3.6), squeeze=False)
    for ax, (model, grp) in zip(axes[0], long.groupby("model"), strict=True):
        x, labels, ticks = 0.0, [], []
        for level, names in levels.items():
            for name in names:
                r = grp[(grp["variant"] == name) & (grp["column"] == column)]
                if r.empty:
                    continue
                yerr = _yerr(r)
                ax.bar(x, r["delta"].iloc[0], color=LEVEL_COLORS[level], yerr=yerr, capsize=3,
                       label=level if name == names[0] else None)  # fmt: skip
                if not math.isnan(r["paper_delta"].iloc[0]):
                    ax.plot(x, r["paper_delta"].iloc[0], "o", mfc="none", mec="k",
                            label="paper Δ" if not labels else None)  # fmt: skip
                labels.append(variants[name].label)
                ticks.append(x)
                x += 1
            x += 0.5
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(ticks, labels)
        ax.tick_params(axis="x", rotation=30)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{model} ({_n_text(grp)})", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig3a(long: pd.DataFrame, plan: FigurePlan, variants: Mapping[str, Variant]) -> Figure:
    return fig3(long, plan, variants, OVERALL, "Δ Overall understanding vs base (points)")


def fig3b(long: pd.DataFrame, plan: FigurePlan, variants: Mapping[str, Variant]) -> Figure:
    """Per GenEval tag, one bar per single-task variant (coloured by level)."""
    plt = _plt()
    names = [n for lv in plan.points["levels"].values() for n in lv]
    level_of = {n: lv for lv, ns in plan.points["levels"].items() for n in ns}
    tags = [t for t in (*GENEVAL_TAGS, "overall") if t in set(long["column"])]
    fig, axes = plt.subplots(len(long["model"].unique()), 1, figsize=(8, 3.4), squeeze=False)
    width = 0.8 / max(len(names), 1)
    for ax, (model, grp) in zip(axes[:, 0], long.groupby("model"), strict=True):
        for i, name in enumerate(names):
            rows = grp[grp["variant"] == name].set_index("column").reindex(tags).reset_index()
            ax.bar(np.arange(len(tags)) + i * width, rows["delta"], width, yerr=_yerr(rows), capsize=2,
                   color=LEVEL_COLORS[level_of[name]], alpha=0.5 + 0.5 * (i + 1) / len(names),
                   label=f"{variants[name].label} ({level_of[name]})")  # fmt: skip
        ax.axhline(0, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(tags)) + 0.4 - width / 2, tags)
        ax.set_ylabel("Δ GenEval vs base (points)")
        ax.set_title(f"{model} ({_n_text(grp)})", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig5a(long: pd.DataFrame, plan: FigurePlan, variants: Mapping[str, Variant]) -> Figure:
    """Δ Overall understanding against the task:SFT ratio, one line per task and model."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    overall = long[long["column"] == OVERALL]
    for task, points in plan.points["sweeps"].items():
        for model, grp in overall.groupby("model"):
            rows = grp.set_index("variant").reindex([v for _, v in points])
            ratios = [r for r, _ in points]
            ax.errorbar(ratios, rows["delta"], yerr=_yerr(rows.reset_index()), marker="o", capsize=3,
                        label=f"{model}: {task}")  # fmt: skip
    ax.axhline(0, color="k", lw=0.8)
    return _overall_delta_axes(fig, ax, overall, "task pairs per SFT sample in a batch (task:SFT)")


def _overall_delta_axes(fig: Figure, ax: Any, overall: pd.DataFrame, xlabel: str) -> Figure:
    """Labels, n and legend of a Δ Overall understanding panel (Figs. 5a and 5b)."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Δ Overall understanding vs base")
    ax.set_title(_n_text(overall), fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig5b(long: pd.DataFrame, plan: FigurePlan, variants: Mapping[str, Variant]) -> Figure:
    """Δ Overall understanding against the number of task pairs (``plan.points['sizes']``)."""
    plt = _plt()
    sizes: Mapping[str, int] = plan.points["sizes"]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    overall = long[long["column"] == OVERALL]
    for model, grp in overall.groupby("model"):
        order = sorted(sizes, key=sizes.get)
        rows = grp.set_index("variant").reindex(order)
        ax.errorbar([sizes[v] for v in order], rows["delta"], yerr=_yerr(rows.reset_index()), marker="o",
                    capsize=3, label=model)  # fmt: skip
    ax.set_xscale("log")
    return _overall_delta_axes(fig, ax, overall, "proxy-task pairs")


def read_metrics(paths: Mapping[str, Sequence[str | Path]]) -> pd.DataFrame:
    """Training logs per variant (``{variant: [metrics.csv per seed]}``), tagged variant and run."""
    frames = []
    for variant, files in paths.items():
        for i, p in enumerate(files):
            if not Path(p).is_file():
                raise FileNotFoundError(f"{p}: training metrics missing; the fine-tune rule writes it")
            frame = pd.read_csv(p)
            if "step" not in frame.columns:
                raise ValueError(f"{p}: no 'step' column; expected the fine-tune loop's metrics.csv")
            frames.append(frame.assign(variant=variant, run=i))
    return pd.concat(frames, ignore_index=True)


def fig6(metrics: pd.DataFrame, plan: FigurePlan, variants: Mapping[str, Variant]) -> Figure:
    """VQA loss (the SFT objective) over steps for the 1:0 and 2:1 variants: thin per seed, thick mean.

    The paper plots benchmark scores over training; the run logs losses per source, so this is the
    understanding loss those scores come from.
    """
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    if "loss_vqa" not in metrics.columns:
        raise ValueError("training metrics have no 'loss_vqa' column; Fig. 6 compares the SFT loss")
    for color, variant in zip(("#2166ac", "#b2182b"), plan.variants, strict=True):
        runs = metrics[metrics["variant"] == variant]
        label = f"{variants[variant].label} ({plan.points['ratios'][variant]})"
        for _, run in runs.groupby("run"):
            ax.plot(run["step"], run["loss_vqa"], color=color, lw=0.5, alpha=0.4)
        mean = runs.groupby("step")["loss_vqa"].mean().rolling(FIG6_SMOOTH, min_periods=1).mean()
        ax.plot(mean.index, mean.to_numpy(), color=color, lw=2, label=f"{label}, n={runs['run'].nunique()}")
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel(f"VQA loss (rolling mean of {FIG6_SMOOTH})")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


FIGURE_FUNCTIONS: dict[str, Any] = {
    "fig3a": fig3a,
    "fig3b": fig3b,
    "fig5a": fig5a,
    "fig5b": fig5b,
    "fig6": fig6,
}


def save_figure(fig: Figure, png: str | Path, pdf: str | Path) -> None:
    """PNG and PDF, each written to a temp path then renamed; PDF creation date fixed for identical bytes."""
    plt = _plt()
    for path, fmt, meta in ((png, "png", {"Software": None}), (pdf, "pdf", {"CreationDate": None})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, metadata=meta)
    plt.close(fig)
