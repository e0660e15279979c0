"""The cluster models' GenEval CSVs (rule score_geneval) land in Table 3's GenEval column, Table 7 and
Fig. 3b as they are, and each generation seed's own rows stay out of them."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import LEVELS, REFERENCE

from sgt.eval.geneval.cluster import average_seeds
from sgt.eval.geneval.rules import TAGS
from sgt.report.build import write_figure
from sgt.report.paper_tables import build_table, load_results
from sgt.report.plan import figure_plans, variants_from_config
from sgt.report.reference import load_benchmark_map, load_reference

STUDY = {
    "variants": {
        "base": {"label": "Base"},
        "sft": {"mix": {"vqa": 1}, "label": "SFT", "tables": {"table3": "SFT"}},
        "seg": {"mix": {"semantic": 1}, "label": "+Semantic", "tables": {"table7": "+Segmentation"}},
        "edge": {"mix": {"edge": 1}, "label": "+Edge", "tables": {"table7": "+Edge"}},
    }
}
# per variant: position accuracy (percent) in each of two generation seeds; other tags all correct
POSITION = {"base": (40, 60), "sft": (50, 50), "seg": (60, 80), "edge": (50, 70)}


def _results(path: Path, position: int) -> Path:
    """100 images per tag; ``position`` of the position images correct, every other image correct."""
    rows = []
    for tag in TAGS:
        for i in range(100):
            ok = i < position if tag == "position" else True
            rows.append({"tag": tag, "correct": ok, "metadata": json.dumps({"tag": tag, "i": i})})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def cluster_csvs(tmp_path):
    csvs = []
    for variant, positions in POSITION.items():
        run = tmp_path / "bagel" / variant / "geneval"
        results = {g: _results(run / f"seed0/gseed{g}/results.jsonl", p) for g, p in enumerate(positions)}
        csvs.append(run / "seed0.csv")
        average_seeds(results, csvs[-1], model="bagel", variant=variant, seed=0)
    return csvs


def test_table3_and_table7_read_the_seed_means(cluster_csvs):
    tidy = load_results(cluster_csvs)
    variants = variants_from_config(STUDY)
    refs, bench_map = load_reference(REFERENCE), load_benchmark_map(REFERENCE / "benchmarks.yaml")
    t3 = build_table("table3", tidy, variants, refs["table3"], bench_map, {"bagel": "BAGEL"})
    sft = t3[(t3["variant"] == "sft") & (t3["column"] == "GenEval")].iloc[0]
    # overall = mean of 6 tags: (5 x 100 + 50) / 6 in both generation seeds
    assert sft["mean"] == pytest.approx(550 / 6, abs=1e-3) and sft["n"] == 1
    assert (sft["paper_column"], sft["relation"]) == ("GenEval", "same")
    assert set(t3["column"]) == {"GenEval"}  # the per-seed rows and the sd are not headlines
    t7 = build_table("table7", tidy, variants, refs["table7"], bench_map, {"bagel": "BAGEL"})
    assert set(t7["column"]) == {*TAGS, "overall"}
    seg = t7[(t7["variant"] == "seg") & (t7["column"] == "position")].iloc[0]
    assert seg["mean"] == 70.0 and seg["delta"] == 20.0 and seg["relation"] == "same"
    assert seg["paper_value"] == pytest.approx(56.6)  # BAGEL +Segmentation, Table 7


def test_fig3b_draws_the_cluster_model(cluster_csvs, tmp_path):
    plan = figure_plans(STUDY, LEVELS, 1000)["fig3b"]
    assert plan.available, plan.reason
    png, pdf, data = tmp_path / "fig3b.png", tmp_path / "fig3b.pdf", tmp_path / "fig3b.csv"
    write_figure(
        "fig3b", asdict(plan), STUDY, cluster_csvs, {}, REFERENCE, REFERENCE / "benchmarks.yaml",
        {"bagel": "BAGEL"}, png, pdf, data,
    )  # fmt: skip
    assert png.stat().st_size > 0 and pdf.stat().st_size > 0
    # the numbers it plots: each drawn variant's GenEval tags, the paper's value beside ours
    plotted = pd.read_csv(data)
    assert set(plotted["variant"]) == set(plan.variants) and set(plotted["model"]) == {"bagel"}
    seg = plotted[(plotted["variant"] == "seg") & (plotted["column"] == "position")].iloc[0]
    assert seg["delta"] == 20.0 and seg["paper_value"] == pytest.approx(56.6)
