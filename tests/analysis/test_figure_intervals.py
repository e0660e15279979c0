"""Figs. 8a/8b error bars: 95% intervals over seeds with two or more, else the one seed's over its images."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sgt.analysis.figures import seed_intervals
from sgt.analysis.visual_attention import visual_attention_rows


def test_visual_rows_carry_a_t_interval_over_questions() -> None:
    shares = np.array([[0.5, 0.2], [0.7, 0.2], [0.6, 0.2]])  # 3 questions x 2 layers
    rows = visual_attention_rows(shares)
    # layer 0: mean 0.6, sd 0.1, t(0.975, 2) = 4.303: half-width 0.248
    assert rows[0]["visual_share"] == pytest.approx(0.6)
    assert rows[0]["visual_share_low"] == pytest.approx(0.6 - 0.248413, abs=1e-5)
    assert rows[0]["visual_share_high"] == pytest.approx(0.6 + 0.248413, abs=1e-5)
    assert rows[1]["visual_share_low"] == rows[1]["visual_share_high"] == pytest.approx(0.2)
    one = visual_attention_rows(shares[:1])
    assert math.isnan(one[0]["visual_share_low"])  # one question: no interval


def _frame(seeds: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "variant": "base",
                "layer": 0,
                "seed": s,
                "visual_share": v,
                "visual_share_low": v - 0.1,
                "visual_share_high": v + 0.1,
            }
            for s, v in seeds.items()
        ]  # fmt: skip
    )


def test_one_seed_shows_its_interval_over_images_and_several_seeds_theirs() -> None:
    keys = ["variant", "layer"]
    cols = ("visual_share", "visual_share_low", "visual_share_high")
    one = seed_intervals(_frame({0: 0.5}), keys, *cols).iloc[0]
    assert one["over"] == "within seed" and one["n_seeds"] == 1 and one["mean"] == pytest.approx(0.5)
    assert (one["low"], one["high"]) == pytest.approx((0.4, 0.6))
    three = seed_intervals(_frame({0: 0.5, 1: 0.6, 2: 0.7}), keys, *cols).iloc[0]
    assert three["over"] == "seeds" and three["n_seeds"] == 3
    assert three["mean"] == pytest.approx(0.6) and three["high"] - three["mean"] == pytest.approx(
        0.248413, abs=1e-5
    )
    bare = seed_intervals(
        _frame({0: 0.5}).drop(columns=["visual_share_low", "visual_share_high"]), keys, *cols
    )
    assert math.isnan(bare.iloc[0]["low"])  # an older CSV without intervals: no error bar, no error
