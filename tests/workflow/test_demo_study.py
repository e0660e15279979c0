"""What the demo's miniature study must show for its numbers to mean something (issue #23), on the run of
`make demo` the session already made: SFT teaches the base something (intervals over three seeds apart), each
SFT + task variant's difference to SFT carries an interval, the probe is off its ceiling, and the training
budget is stated per variant."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.mark.slow
def test_sft_beats_the_base_with_intervals_apart(demo_clone: Path) -> None:
    table = pd.read_csv(demo_clone / "results/tables/understanding.csv", index_col=0)
    base, sft = table.loc["base"], table.loc["sft"]
    assert base["n_seeds"] == 1 and sft["n_seeds"] == 3  # the base is one checkpoint, evaluated once
    assert sft["Overall_low"] > base["Overall"], table[["Overall", "Overall_low", "Overall_high"]]
    semantic = table.loc["sft_semantic"]
    assert semantic["delta_Overall_vs_sft_low"] < semantic["delta_Overall_vs_sft_high"]  # n=3: an interval
    assert pd.isna(table.loc["sft_edge", "delta_Overall_vs_sft_low"])  # one seed: a difference, no interval


@pytest.mark.slow
def test_the_probe_is_below_its_ceiling_and_the_budget_is_stated(demo_clone: Path) -> None:
    probe = pd.read_csv(demo_clone / "results/analysis/tiny/probe.csv")
    assert set(probe["variant"]) == {"base", "sft_semantic"} and (probe["probe_accuracy"] < 1.0).all()
    assert (probe[["n_a", "n_b"]].min(axis=1) > probe["probe_pca_dim"]).all()  # more samples than dims
    budget = (demo_clone / "results/tables/training/tiny.md").read_text()
    assert "| sft " in budget and "vqa 1200" in budget and "warmup 15" in budget


@pytest.mark.slow
def test_the_report_states_estimated_and_measured_cpu_hours(demo_clone: Path) -> None:
    """#25 on the demo: the budget page beside the config, made after every other job, with their hours."""
    budget = (demo_clone / "results/report/budget.md").read_text()
    train = next(line for line in budget.splitlines() if line.startswith("| train | tiny |"))
    cells = [c.strip() for c in train.split("|")[1:-1]]
    assert int(cells[2]) == 10 and int(cells[3]) == 10, train  # ten fine-tunes, all done when it was made
    assert float(cells[9]) > 0, train  # estimated CPU-hours (threads x requested limit)
    assert float(cells[10]) > 0 and float(cells[11]) > 0, train  # measured job- and CPU-hours
    assert "budget.html" in (demo_clone / "results/report.html").read_text()  # its entry (content embedded)
