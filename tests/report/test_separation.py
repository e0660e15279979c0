"""Trained against untrained beyond the seed spread: the separation table from known numbers."""

import pandas as pd
import pytest
from report_fixtures import REFERENCE, tidy_rows

from sgt.report.build import separation_rows, write_separation
from sgt.report.plan import base_variant, variants_from_config
from sgt.report.reference import load_benchmark_map

STUDY = {
    "variants": {
        "base": {"label": "Base"},
        "sft": {"mix": {"vqa": 1}, "label": "SFT"},
        "random": {"untrained": True, "label": "Untrained"},
    }
}


def _tidy() -> pd.DataFrame:
    scores = {}
    for s, (sft, floor) in enumerate([(70.0, 40.0), (72.0, 45.0), (74.0, 50.0)]):
        scores[("base", s)] = {"toy_cvbench": 60.0, "toy_pope": 50.0}
        scores[("sft", s)] = {"toy_cvbench": sft, "toy_pope": 51.0}
        scores[("random", s)] = {"toy_cvbench": floor, "toy_pope": 50.0 + s}
    return tidy_rows(scores)


def test_untrained_variant_is_a_floor_not_a_second_base():
    variants = variants_from_config(STUDY)
    assert base_variant(variants) == "base" and variants["random"].untrained


def test_margins_stds_and_intervals_follow_the_numbers():
    rows = separation_rows(
        _tidy(), variants_from_config(STUDY), load_benchmark_map(REFERENCE / "benchmarks.yaml")
    )
    rows = rows.set_index(["trained", "benchmark"])
    cv = rows.loc[("sft", "toy_cvbench")]
    assert cv["untrained"] == "random" and cv["n_seeds"] == 3
    assert cv["margin"] == pytest.approx(72.0 - 45.0) and cv["seed_std"] == pytest.approx(5.0)
    assert cv["beats_spread"] and cv["intervals_apart"]
    pope = rows.loc[("sft", "toy_pope")]  # 51 against 50, 51, 52: no separation
    assert pope["margin"] == pytest.approx(0.0) and not pope["beats_spread"] and not pope["intervals_apart"]
    overall = rows.loc[("sft", "Overall")]  # mean of the two benchmarks per seed
    assert overall["margin"] == pytest.approx((72.0 + 51.0) / 2 - (45.0 + 51.0) / 2)
    assert set(rows.index.get_level_values("trained")) == {"base", "sft"}


def test_without_an_untrained_variant_the_table_says_why(tmp_path):
    eval_csv = tmp_path / "seed0.csv"
    _tidy().to_csv(eval_csv, index=False)
    study = {"variants": {k: v for k, v in STUDY["variants"].items() if k != "random"}}
    write_separation([eval_csv], study, REFERENCE / "benchmarks.yaml", tmp_path / "s.csv", tmp_path / "s.md")
    assert "No variant has `untrained: true`" in (tmp_path / "s.md").read_text()
    write_separation([eval_csv], STUDY, REFERENCE / "benchmarks.yaml", tmp_path / "s.csv", tmp_path / "s.md")
    text = (tmp_path / "s.md").read_text()
    assert "| tiny | SFT | Untrained | toy_cvbench | +27.00 | 5.00 | yes | yes | 3 |" in text


def test_sweep_figures_draw_variants_that_are_no_paper_table_row(tmp_path):
    """Fig. 5a/5b points (an SFT-only or cut-size variant) need no ``tables`` tag to be drawn."""
    from dataclasses import asdict

    from sgt.report.build import write_figure
    from sgt.report.plan import figure_plans

    study = {
        "variants": {
            "base": {"label": "Base"},
            "sft": {"mix": {"vqa": 1}},
            "seg": {"mix": {"vqa": 1, "semantic": 2}, "tables": {"table6": "+Semantic"}},
            "seg1": {"mix": {"vqa": 1, "semantic": 1}},
            "seg_small": {"mix": {"vqa": 1, "semantic": 2}, "pairs": 10},
        }
    }
    scores = {(v, 0): {"toy_cvbench": 50.0 + k} for k, v in enumerate(study["variants"])}
    eval_csv = tmp_path / "seed0.csv"
    tidy_rows(scores).to_csv(eval_csv, index=False)
    plans = figure_plans(study, {"semantic": "high"}, 40)
    for name in ("fig5a", "fig5b"):
        png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
        bench_map = REFERENCE / "benchmarks.yaml"
        plan = asdict(plans[name])
        write_figure(name, plan, study, [eval_csv], {}, REFERENCE, bench_map, {"tiny": "BAGEL"}, png, pdf)
        assert png.stat().st_size > 1000 and pdf.is_file()


def test_each_variant_keeps_its_own_seed_count(tmp_path):
    """The untrained floor on one seed, SFT on three: the Markdown row says 3 / 1, intervals n/a."""
    tidy = _tidy()
    tidy = tidy[(tidy["variant"] != "random") | (tidy["seed"] == 0)]
    eval_csv = tmp_path / "seed0.csv"
    tidy.to_csv(eval_csv, index=False)
    write_separation([eval_csv], STUDY, REFERENCE / "benchmarks.yaml", tmp_path / "s.csv", tmp_path / "s.md")
    row = "| tiny | SFT | Untrained | toy_cvbench | +32.00 | 2.00 | yes | n/a | 3 / 1 |"
    assert row in (tmp_path / "s.md").read_text()


def test_a_figure_averages_each_variant_over_its_own_seeds(tmp_path):
    """Fig. 3a with SFT+Seg on three seeds and SFT+Edge on one (study.variants.<v>.seeds): each bar is its
    variant's mean over the seeds it has, and the title says the counts differ."""
    from dataclasses import asdict

    import pandas as pd

    from sgt.report import figures as figs
    from sgt.report.build import write_figure
    from sgt.report.plan import figure_plans

    study = {
        "variants": {
            "base": {"label": "Base"},
            "seg": {"mix": {"vqa": 1, "semantic": 2}, "tables": {"table6": "+Semantic"}},
            "edge": {"mix": {"vqa": 1, "edge": 2}, "tables": {"table6": "+Edge"}},
        }
    }
    scores = {("base", s): {"toy_cvbench": 50.0} for s in range(3)}
    scores |= {("seg", s): {"toy_cvbench": 52.0 + 2 * s} for s in range(3)}
    scores[("edge", 0)] = {"toy_cvbench": 49.0}
    eval_csv = tmp_path / "seed0.csv"
    tidy_rows(scores).to_csv(eval_csv, index=False)
    plan = figure_plans(study, {"semantic": "high", "edge": "low"})["fig3a"]
    png, pdf, data = tmp_path / "f.png", tmp_path / "f.pdf", tmp_path / "f.csv"
    bench_map = REFERENCE / "benchmarks.yaml"
    write_figure("fig3a", asdict(plan), study, [eval_csv], {}, REFERENCE, bench_map, {}, png, pdf, data)
    plotted = pd.read_csv(data).set_index(["variant", "column"])
    assert plotted.loc[("seg", "toy_cvbench"), ["n", "mean", "delta"]].tolist() == [3, 54.0, 4.0]
    assert plotted.loc[("edge", "toy_cvbench"), ["n", "mean", "delta"]].tolist() == [1, 49.0, -1.0]
    fig = figs.fig3a(pd.read_csv(data), plan, variants_from_config(study))
    assert "n=1 to 3 seeds by variant" in fig.axes[0].get_title()
