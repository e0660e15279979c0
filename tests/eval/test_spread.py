from __future__ import annotations

import math

import pandas as pd
import pytest

from sgt.eval.spread import seed_spread, separation


def tidy(values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {"model": "tiny", "variant": v, "benchmark": "toy_pope", "metric": "accuracy", "seed": s, "value": x}
        for v, xs in values.items()
        for s, x in enumerate(xs)
    ]
    return pd.DataFrame(rows)


def test_spread_mean_std_and_t_interval():
    s = seed_spread(tidy({"sft": [60.0, 62.0, 64.0]})).iloc[0]
    assert (s["n_seeds"], s["mean"], s["std"]) == (3, 62.0, 2.0)
    half = 4.302652729911275 * 2.0 / math.sqrt(3)  # t(0.975, df=2)
    assert s["ci_low"] == pytest.approx(62 - half) and s["ci_high"] == pytest.approx(62 + half)


def test_one_seed_has_no_interval_and_text_values_are_skipped():
    df = tidy({"base": [50.0]})
    df = pd.concat([df, df.assign(metric="overall", value="no judge")])
    s = seed_spread(df)
    assert list(s["metric"]) == ["accuracy"] and s["std"].iloc[0] == 0 and math.isnan(s["ci_low"].iloc[0])


def test_separation_needs_margin_above_spread():
    s = seed_spread(tidy({"base": [50.0, 51.0, 52.0], "sft": [60.0, 62.0, 64.0], "noisy": [48, 55, 62]}))
    clear = separation(s, "sft", "base").iloc[0]
    assert (
        clear["margin"] == 11.0
        and clear["seed_std"] == 2.0
        and clear["beats_spread"]
        and clear["intervals_apart"]
    )
    close = separation(s, "noisy", "base").iloc[0]
    assert close["margin"] == 4.0 and not close["beats_spread"] and not close["intervals_apart"]
    with pytest.raises(ValueError, match="missing_variant"):
        separation(s, "missing_variant", "base")


def test_missing_columns_named():
    with pytest.raises(ValueError, match="seed"):
        seed_spread(pd.DataFrame({"model": [], "variant": [], "benchmark": [], "metric": [], "value": []}))


def test_separation_of_variants_with_different_seed_counts():
    """study.variants.<v>.seeds: a trained variant on three seeds against an untrained one on one."""
    s = seed_spread(tidy({"sft": [60.0, 62.0, 64.0], "floor": [40.0]}))
    row = separation(s, "sft", "floor").iloc[0]
    assert (row["n_seeds"], row["n_seeds_trained"], row["n_seeds_untrained"]) == (1, 3, 1)
    assert row["margin"] == 22.0 and row["seed_std"] == 2.0 and row["beats_spread"]
    assert not row["intervals_apart"]  # the floor's one seed has no interval
