"""Figs. 7, 8a and 8b from the per-checkpoint analysis CSVs: combined tidy tables plus PNG and PDF plots.

Variants are drawn in the order of ``analysis.compare``; the first is the reference (the base model in the
paper). Seeds are averaged. Error bars are 95% t-intervals: over seeds when there are two or more, else the
one seed's interval over its questions (Fig. 8a) or prompts (Fig. 8b), so a single run still says how sure
its means are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sgt.io import atomic_path

logger = logging.getLogger(__name__)
SAVE_META = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Creator": None, "Producer": None}}


def _read(paths: Sequence[str | Path]) -> Any:
    import pandas as pd

    frames = [pd.read_csv(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _save(fig: Any, png: str | Path, pdf: str | Path) -> None:
    """PNG and PDF without timestamps, so the same data gives the same bytes."""
    import matplotlib.pyplot as plt

    for out, fmt in ((png, "png"), (pdf, "pdf")):
        with atomic_path(out, suffix=f".{fmt}") as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight", metadata=SAVE_META[fmt])
    plt.close(fig)


def _csv(df: Any, out: str | Path) -> None:
    with atomic_path(out, suffix=".csv") as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")


def _subplots(n: int, width: float = 4.2, height: float = 3.6) -> tuple[Any, list[Any]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
    return fig, list(axes[0])


def fig7_tsne(
    tsne: Any, probe: Any, compare: Sequence[str], labels: Mapping[str, str], png: str | Path, pdf: str | Path
) -> None:
    """One t-SNE panel per variant (its first seed), titled with the probe accuracy over seeds."""
    fig, axes = _subplots(len(compare))
    classes = [probe["class_a"].iloc[0], probe["class_b"].iloc[0]] if len(probe) else []
    for ax, variant in zip(axes, compare, strict=True):
        pts = tsne[tsne["variant"] == variant]
        rows = probe[probe["variant"] == variant]
        if len(pts):
            pts = pts[pts["seed"] == pts["seed"].min()]
        for cls, marker in zip(classes, ("o", "s"), strict=False):
            sel = pts[pts["label"] == cls]
            ax.scatter(sel["x"], sel["y"], s=10, marker=marker, alpha=0.7, label=f"{cls} ({len(sel)} drawn)")
        if not len(pts):
            ax.text(0.5, 0.5, "too few crops for t-SNE", ha="center", transform=ax.transAxes)
        ax.set_title(f"{labels.get(variant, variant)}\n{_probe_text(rows)}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("ViT tokens of confusable classes (PCA 50 -> t-SNE)", y=1.08)
    _save(fig, png, pdf)


def _probe_text(rows: Any) -> str:
    """'probe 0.81 +- 0.03 (folds), chance 0.50, n 320/320' for one seed; over seeds the t-interval."""
    from sgt.intervals import t_interval

    if not len(rows):
        return "no probe"
    acc = rows["probe_accuracy"].astype(float)
    n = f"n {int(rows['n_a'].iloc[0])}/{int(rows['n_b'].iloc[0])}"
    chance = f"chance {rows['chance'].astype(float).mean():.2f}"
    if len(rows) == 1:
        std = float(rows["probe_accuracy_std"].iloc[0])
        return f"linear probe {acc.iloc[0]:.2f} +- {std:.2f} (std over folds)\n{chance}, {n}"
    mean, low, high, k = t_interval(acc.tolist())
    return f"linear probe {mean:.2f} [{low:.2f}, {high:.2f}] (95%, {k} seeds)\n{chance}, {n}"


def seed_intervals(df: Any, keys: Sequence[str], value: str, low: str, high: str) -> Any:
    """Per ``keys``: mean over seeds and a 95% interval, with ``over`` naming what it is over.

    Two or more seeds: the t-interval of the seed means (over seeds). One seed: that seed's own interval
    (``low``/``high`` columns: over questions or prompts); NaN when the CSV has none.
    """
    import pandas as pd

    from sgt.intervals import t_interval

    rows = []
    for key, grp in df.groupby(list(keys), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        per_seed = grp.groupby("seed")[[value, *(c for c in (low, high) if c in grp)]].mean()
        if len(per_seed) >= 2:
            mean, lo, hi, n = t_interval(per_seed[value].tolist())
            over = "seeds"
        else:
            mean, n = float(per_seed[value].iloc[0]), 1
            lo = float(per_seed[low].iloc[0]) if low in per_seed else float("nan")
            hi = float(per_seed[high].iloc[0]) if high in per_seed else float("nan")
            over = "within seed"
        rows.append({**dict(zip(keys, key, strict=True)), "mean": mean, "low": lo, "high": hi,
                     "n_seeds": n, "over": over})  # fmt: skip
    return pd.DataFrame(rows, columns=[*keys, "mean", "low", "high", "n_seeds", "over"])


def _yerr(sel: Any) -> Any:
    """Asymmetric error bars from low/high (zero where there is no interval)."""
    import numpy as np

    lower = (sel["mean"] - sel["low"]).fillna(0).clip(lower=0)
    upper = (sel["high"] - sel["mean"]).fillna(0).clip(lower=0)
    return np.vstack([lower.to_numpy(), upper.to_numpy()])


def fig8a_visual_attention(
    df: Any, compare: Sequence[str], labels: Mapping[str, str], png: str | Path, pdf: str | Path
) -> Any:
    """Visual share per layer with 95% intervals (left), its change against the reference variant (right)."""
    per = seed_intervals(df, ["variant", "layer"], "visual_share", "visual_share_low", "visual_share_high")
    fig, (ax, dax) = _subplots(2)
    ref = per[per["variant"] == compare[0]].set_index("layer")["mean"]
    for variant in compare:
        sel = per[per["variant"] == variant]
        ax.errorbar(sel["layer"], sel["mean"], yerr=_yerr(sel), marker="o", capsize=3,
                    label=labels.get(variant, variant))  # fmt: skip
        if variant != compare[0]:
            delta = sel.set_index("layer")["mean"] - ref
            dax.plot(delta.index, delta.values, marker="o", label=labels.get(variant, variant))
    over = ", ".join(sorted(set(per["over"]))) or "none"
    ax.set(
        xlabel="LM layer", ylabel="attention on visual tokens", title=f"Understanding path (95% CI: {over})"
    )
    dax.axhline(0.0, color="grey", lw=0.8)
    dax.set(xlabel="LM layer", ylabel=f"change vs {labels.get(compare[0], compare[0])}", title="Change")
    for a in (ax, dax):
        a.set_xticks(sorted(per["layer"].unique()))
        a.legend(fontsize=8)
    _save(fig, png, pdf)
    return per


def fig8b_prompt_attention(
    df: Any, compare: Sequence[str], labels: Mapping[str, str], png: str | Path, pdf: str | Path
) -> Any:
    """Share of each word group, averaged over timesteps and layers, one bar group per word group.

    Error bars: 95% interval over seeds (n >= 2), else the seed's per-(timestep, layer) intervals over
    prompts averaged, which is at least as wide as the interval of the pooled share.
    """
    import numpy as np

    from sgt.analysis.prompt_attention import WORD_GROUPS

    words = df[df["group"].isin(WORD_GROUPS)]
    words = words.astype({c: float for c in ("share", "share_low", "share_high") if c in words})
    per = seed_intervals(words, ["variant", "group"], "share", "share_low", "share_high")
    fig, (ax,) = _subplots(1, width=6.0)
    width = 0.8 / max(len(compare), 1)
    x = np.arange(len(WORD_GROUPS))
    for i, variant in enumerate(compare):
        sel = per[per["variant"] == variant].set_index("group").reindex(list(WORD_GROUPS))
        ax.bar(x + i * width, 100 * sel["mean"], width, yerr=100 * _yerr(sel), capsize=3,
               label=labels.get(variant, variant))  # fmt: skip
    ax.set_xticks(x + width * (len(compare) - 1) / 2, list(WORD_GROUPS))
    over = ", ".join(sorted(set(per["over"]))) or "none"
    ax.set(
        ylabel="% of attention on prompt words",
        title=f"Noise tokens -> prompt words, first steps (95% CI: {over})",
    )
    ax.legend(fontsize=8)
    _save(fig, png, pdf)
    return per


NOTE_COLUMNS = ["model", "variant", "seed", "figure", "note"]


def not_measured(figure: str, reasons: Sequence[str], png: str | Path, pdf: str | Path) -> None:
    """A figure that says why it has no data (an analysis the architecture cannot give), never a blank one."""
    import textwrap

    fig, (ax,) = _subplots(1, width=6.0)
    text = "\n".join(textwrap.fill(r, 60) for r in reasons)
    ax.text(0.5, 0.5, f"{figure}: not measured\n\n{text}", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()
    _save(fig, png, pdf)


def make_figures(
    inputs: Mapping[str, Sequence[str | Path]],
    outputs: Mapping[str, str | Path],
    *,
    compare: Sequence[str],
    labels: Mapping[str, str],
) -> None:
    """``inputs``: kind -> per-checkpoint CSVs; writes combined CSVs and the three figures.

    ``inputs['notes']`` (cluster models): per-checkpoint notes on figures not measured or measured with
    stand-ins; they are combined into ``outputs['notes']`` and a figure without data shows its reasons.
    """
    import pandas as pd

    tsne, probe = _read(inputs["tsne"]), _read(inputs["probe"])
    visual, prompt = _read(inputs["visual_attention"]), _read(inputs["prompt_attention"])
    notes = _read(inputs.get("notes", []))
    notes = notes if len(notes.columns) else pd.DataFrame(columns=NOTE_COLUMNS)
    _csv(probe, outputs["probe"])
    _csv(visual, outputs["visual_attention"])
    _csv(prompt, outputs["prompt_attention"])
    if "notes" in outputs:
        _csv(notes, outputs["notes"])
    drawn = {
        "fig7": (
            probe,
            lambda: fig7_tsne(tsne, probe, compare, labels, outputs["fig7_png"], outputs["fig7_pdf"]),
        ),
        "fig8a": (
            visual,
            lambda: fig8a_visual_attention(
                visual, compare, labels, outputs["fig8a_png"], outputs["fig8a_pdf"]
            ),
        ),
        "fig8b": (
            prompt,
            lambda: fig8b_prompt_attention(
                prompt, compare, labels, outputs["fig8b_png"], outputs["fig8b_pdf"]
            ),
        ),
    }
    for figure, (frame, draw) in drawn.items():
        if len(frame):
            draw()
            continue
        reasons = sorted(set(notes.loc[notes["figure"] == figure, "note"])) or [
            "no rows in its analysis CSVs"
        ]
        logger.warning("%s not measured: %s", figure, "; ".join(reasons))
        not_measured(figure, reasons, outputs[f"{figure}_png"], outputs[f"{figure}_pdf"])
    for _, row in probe.iterrows():
        logger.info(
            "%s seed %s: probe %.3f (chance %.3f)",
            row["variant"],
            row["seed"],
            row["probe_accuracy"],
            row["chance"],
        )
