"""Seed-to-seed spread of every metric, for the check "trained beats untrained by more than the seed spread".

Per (model, variant, benchmark, metric): the mean over training seeds, their sample standard deviation and a
95% Student-t interval of the mean. ``separation`` compares two variants: the margin between their means
must exceed the larger of their seed standard deviations and the two intervals must not overlap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sgt.intervals import t_interval
from sgt.scores import TIDY_COLUMNS

KEYS = [c for c in TIDY_COLUMNS if c not in ("seed", "value")]  # one metric of one variant, over seeds


def seed_spread(tidy: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per metric: n_seeds, mean, std (ddof=1; 0 for one seed), ci_low, ci_high."""
    missing = sorted(set(KEYS + ["seed", "value"]) - set(tidy.columns))
    if missing:
        raise ValueError(f"tidy results lack columns {missing}; need {KEYS + ['seed', 'value']}")
    values = tidy.assign(value=pd.to_numeric(tidy["value"], errors="coerce")).dropna(subset=["value"])
    per_seed = values.groupby(KEYS + ["seed"], as_index=False)["value"].mean()
    rows = []
    for key, group in per_seed.groupby(KEYS, sort=True):
        v = group["value"].to_numpy(dtype=np.float64)
        mean, low, high, n = t_interval(v.tolist(), confidence)
        std = float(v.std(ddof=1)) if n > 1 else 0.0
        rows.append(
            dict(zip(KEYS, key, strict=True))
            | {"n_seeds": n, "mean": mean, "std": std, "ci_low": low, "ci_high": high}
        )
    return pd.DataFrame(rows, columns=[*KEYS, "n_seeds", "mean", "std", "ci_low", "ci_high"])


def separation(
    spread: pd.DataFrame, trained: str, untrained: str, by: Sequence[str] = ("model",)
) -> pd.DataFrame:
    """Per metric: margin = mean(trained) - mean(untrained), the larger std, and whether both tests pass.

    Each side has the seeds it has (study.variants.<v>.seeds): ``n_seeds`` is the smaller count, beside
    each side's own; a side on one seed has no interval, so ``intervals_apart`` is then False.
    """
    cols = [*by, "benchmark", "metric"]
    a = spread[spread["variant"] == trained].set_index(cols)
    b = spread[spread["variant"] == untrained].set_index(cols)
    if a.empty or b.empty:
        raise ValueError(f"no spread rows for variant {trained if a.empty else untrained!r}")
    both = a.merge(b, left_index=True, right_index=True, suffixes=("_trained", "_untrained"))
    out = pd.DataFrame(index=both.index)
    out["margin"] = both["mean_trained"] - both["mean_untrained"]
    out["seed_std"] = np.maximum(both["std_trained"], both["std_untrained"])
    out["beats_spread"] = out["margin"] > out["seed_std"]
    out["intervals_apart"] = both["ci_low_trained"] > both["ci_high_untrained"]
    out["n_seeds"] = np.minimum(both["n_seeds_trained"], both["n_seeds_untrained"])
    out["n_seeds_trained"], out["n_seeds_untrained"] = both["n_seeds_trained"], both["n_seeds_untrained"]
    return out.reset_index()
