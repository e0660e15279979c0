"""Tables from tidy rows: the condition-use table puts each model's checks beside their baselines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sgt.report.tables import build_tables, condition_table, generation_table, understanding_table


def _tidy() -> pd.DataFrame:
    rows = []
    for variant, seed, gap, acc, vqa in [
        ("base", 0, 1.3, 0.5, 60.0),
        ("base", 1, 1.1, 0.3, 50.0),
        ("sft", 0, 1.0, 0.2, 40.0),
    ]:
        ident = {"model": "tiny", "variant": variant, "seed": seed}
        rows += [
            {**ident, "benchmark": "gen_semantic", "metric": "condition_gap", "value": gap},
            {**ident, "benchmark": "gen_semantic", "metric": "pixel_accuracy", "value": acc},
            {
                **ident,
                "benchmark": "gen_semantic",
                "metric": "pixel_accuracy_background_baseline",
                "value": 0.25,
            },
            {**ident, "benchmark": "gen_semantic", "metric": "foreground_iou", "value": acc / 2},
            {**ident, "benchmark": "gen_edit_gray", "metric": "condition_gap", "value": gap + 1},
            {**ident, "benchmark": "gen_edit_gray", "metric": "foreground_iou", "value": 0.0},
            {**ident, "benchmark": "toy_pope", "metric": "accuracy", "value": vqa},
            {**ident, "benchmark": "toy_vsr", "metric": "accuracy", "value": vqa + 10},
        ]
    for bench, value in (("toy_pope", 50.0), ("toy_vsr", 56.0)):
        rows.append(
            {
                "model": "none",
                "variant": "majority_answer",
                "seed": 0,
                "benchmark": bench,
                "metric": "accuracy",
                "value": value,
            }
        )
    return pd.DataFrame(rows)


def test_condition_table_sets_checks_beside_their_baselines() -> None:
    tidy, order = _tidy(), ["base", "sft"]
    table = condition_table(understanding_table(tidy, order), generation_table(tidy, order))
    assert list(table.index) == ["base", "sft"]  # the baseline is a column, not a row
    assert table.loc["base", "semantic/condition_gap"] == 1.2  # mean over seeds
    assert table.loc["base", "edit_gray/condition_gap"] == 2.2
    assert table.loc["sft", "semantic/pixel_accuracy"] == 0.2
    assert (table["semantic/pixel_accuracy_background_baseline"] == 0.25).all()
    assert "edit_gray/pixel_accuracy" not in table.columns  # photos: no label-map accuracy
    assert table.loc["base", "vqa/Overall"] == 60.0 and table.loc["sft", "vqa/Overall"] == 45.0
    assert (table["vqa/Overall_majority_baseline"] == 53.0).all()


def test_build_tables_writes_the_condition_table(tmp_path: Path) -> None:
    csv = tmp_path / "eval.csv"
    _tidy().to_csv(csv, index=False)
    names = ["understanding", "generation", "condition_use"]
    outputs = {
        **{n: tmp_path / f"{n}.csv" for n in names},
        **{f"{n}_md": tmp_path / f"{n}.md" for n in names},
    }
    build_tables([csv], outputs, ["base", "sft"], {"base": "Base", "sft": "SFT"})
    md = (tmp_path / "condition_use.md").read_text()
    assert md.startswith("# Condition use (with baselines)")
    assert "| base | Base | 2.2 | 1.2 |" in md


def test_overall_carries_its_interval_and_the_paired_difference_to_sft() -> None:
    """Three SFT seeds against three SFT+Semantic seeds: paired differences with a t-interval; a one-seed
    variant gets a difference and no interval; without a reference there is no difference column."""
    rows = []
    for variant, seeds in {"sft": {0: 50.0, 1: 52.0, 2: 54.0}, "sem": {0: 47.0, 1: 50.0, 2: 50.0}}.items():
        for seed, value in seeds.items():
            rows += [("tiny", variant, seed, bench, "accuracy", value) for bench in ("a", "b")]
    rows += [("tiny", "edge", 0, bench, "accuracy", 40.0) for bench in ("a", "b")]
    tidy = pd.DataFrame(rows, columns=["model", "variant", "seed", "benchmark", "metric", "value"])
    table = understanding_table(tidy, ["sft", "sem", "edge"], reference="sft")
    assert table.loc["sft", "Overall"] == 52.0
    assert table.loc["sft", "Overall_low"] < 52.0 < table.loc["sft", "Overall_high"]
    assert table.loc["sem", "delta_Overall_vs_sft"] == -3.0  # differences -3, -2, -4
    assert table.loc["sem", "delta_Overall_vs_sft_high"] < 0  # 95% interval [-5.48, -0.52]
    assert table.loc["edge", "delta_Overall_vs_sft"] == -10.0  # paired with SFT's seed 0
    assert pd.isna(table.loc["edge", "delta_Overall_vs_sft_low"])
    assert pd.isna(table.loc["edge", "Overall_low"])
    assert not any(c.startswith("delta") for c in understanding_table(tidy, ["sft"]).columns)
