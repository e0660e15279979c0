import math

import pandas as pd
import pytest
from report_fixtures import LEVELS, tidy_rows

from sgt.report.paper_tables import (
    build_table,
    load_results,
    seed_deltas,
    to_html,
    to_latex,
    to_markdown,
    unfilled_columns,
    unfilled_note,
)
from sgt.report.plan import variants_from_config
from sgt.report.reference import load_benchmark_map, load_reference

SEEDS = (0, 1, 2)


def _scores():
    out = {}
    for s in SEEDS:
        out[("base", s)] = {"toy_cvbench": 50.0 + s, "toy_vsr": 60.0}
        out[("sft", s)] = {"toy_cvbench": 51.0 + s, "toy_vsr": 60.0}
        out[("seg", s)] = {"toy_cvbench": 52.0 + 2 * s, "toy_vsr": 64.0}
        out[("edge", s)] = {"toy_cvbench": 49.0 + s, "toy_vsr": 61.0}
    return out


@pytest.fixture
def ctx(reference_dir, study):
    return {
        "variants": variants_from_config(study),
        "ref": load_reference(reference_dir),
        "map": load_benchmark_map(reference_dir / "benchmarks.yaml"),
    }


def _row(long, variant, column):
    r = long[(long["variant"] == variant) & (long["column"] == column)]
    assert len(r) == 1
    return r.iloc[0]


def test_table6_means_deltas_and_t_intervals(ctx):
    long = build_table(
        "table6", tidy_rows(_scores()), ctx["variants"], ctx["ref"]["table6"], ctx["map"], {"tiny": "BAGEL"}
    )
    assert list(dict.fromkeys(long["variant"])) == ["base", "seg", "edge"]  # sft is not tagged table6
    seg = _row(long, "seg", "toy_cvbench")
    assert seg["mean"] == pytest.approx(54.0) and seg["n"] == 3
    # paired deltas 2, 3, 4 -> mean 3, sd 1, t(0.975, 2) = 4.3027 -> half width 4.3027 / sqrt(3)
    half = 4.302652729911275 / math.sqrt(3)
    assert seg["delta"] == pytest.approx(3.0)
    assert (seg["delta_ci_low"], seg["delta_ci_high"]) == pytest.approx((3 - half, 3 + half))
    # identical deltas: zero-width interval
    vsr = _row(long, "seg", "toy_vsr")
    assert (vsr["delta"], vsr["delta_ci_low"], vsr["delta_ci_high"]) == pytest.approx((4, 4, 4))
    overall = _row(long, "seg", "Overall")
    assert overall["delta"] == pytest.approx(3.5)
    # paper columns: analogue of CV-Bench, BAGEL +Semantic 78.4 vs base 73.2
    assert (seg["paper_column"], seg["relation"]) == ("CV-Bench", "analogue")
    assert (seg["paper_value"], seg["paper_delta"]) == pytest.approx((78.4, 5.2))
    assert _row(long, "edge", "Overall")["paper_value"] == 74.4


def test_single_seed_has_no_interval_and_says_so(ctx):
    scores = {k: v for k, v in _scores().items() if k[1] == 0}
    long = build_table(
        "table3", tidy_rows(scores), ctx["variants"], ctx["ref"]["table3"], ctx["map"], {"tiny": "BAGEL"}
    )
    seg = _row(long, "seg", "toy_cvbench")
    assert seg["n"] == 1 and math.isnan(seg["delta_ci_low"]) and seg["delta"] == 2.0
    md = to_markdown(long, "base", "Table 3")
    assert "52.00 (n=1); Δ +2.00 |" in md and "79.23 (Δ +6.02)" in md
    tex = to_latex(long, "base", "Table 3")
    assert "\\toprule" in tex and "toy\\_cvbench" in tex and "$\\Delta$" in tex
    page = to_html(long, "base", "Table 3 <&>")  # the report's inline view: the Markdown view's cells
    assert "<td>52.00 (n=1); Δ +2.00</td><td>79.23 (Δ +6.02)</td>" in page and "Table 3 &lt;&amp;&gt;" in page
    assert page.count("<tr>") == 1 + long["variant"].nunique()
    assert "No rows." in to_html(long.iloc[:0], "base", "Table 3")


def test_table7_reads_geneval_tags_and_compares_with_the_paper(ctx, study):
    study = {
        "variants": {
            **study["variants"],
            "seg": {**study["variants"]["seg"], "tables": {"table7": "+Segmentation"}},
        }
    }
    variants = variants_from_config(study)
    gen = {("base", 0): {"position": 40.0, "overall": 70.0}, ("seg", 0): {"position": 46.0, "overall": 71.0}}
    long = build_table(
        "table7", tidy_rows({}, gen), variants, ctx["ref"]["table7"], ctx["map"], {"tiny": "BAGEL"}
    )
    pos = _row(long, "seg", "position")
    assert pos["delta"] == 6.0 and pos["relation"] == "same"
    assert pos["paper_delta"] == pytest.approx(56.6 - 51.3)


def test_table7_from_the_embedded_geneval_is_an_analogue(ctx, study):
    """The tiny model's GenEval (toy prompts, benchmark gen_geneval) fills Table 7, labelled analogue."""
    variants = variants_from_config(
        {
            "variants": {
                **study["variants"],
                "seg": {**study["variants"]["seg"], "tables": {"table7": "+Edge"}},
            }
        }
    )
    gen = {("base", 0): {"position": 40.0, "overall": 70.0}, ("seg", 0): {"position": 46.0, "overall": 71.0}}
    tidy = tidy_rows({}, gen).replace({"benchmark": {"GenEval": "gen_geneval"}})
    long = build_table("table7", tidy, variants, ctx["ref"]["table7"], ctx["map"], {"tiny": "BAGEL"})
    pos = _row(long, "seg", "position")
    assert pos["delta"] == 6.0 and pos["relation"] == "analogue"


def test_models_without_rows_of_the_table_are_left_out(ctx):
    """The majority-answer baseline (model 'none', variant majority_answer) is no row of a paper table."""
    tidy = tidy_rows(_scores())
    baseline = tidy[tidy["variant"] == "base"].assign(model="none", variant="majority_answer")
    long = build_table(
        "table6",
        pd.concat([tidy, baseline]),
        ctx["variants"],
        ctx["ref"]["table6"],
        ctx["map"],
        {"tiny": "BAGEL"},
    )
    assert set(long["model"]) == {"tiny"}
    assert "paper BAGEL: CV-Bench (analogue)" in to_markdown(long, "base", "t", "")


def test_seed_read_from_file_name_when_missing(tmp_path):
    p = tmp_path / "seed7.csv"
    tidy_rows({("base", 0): {"toy_vsr": 1.0}}).drop(columns="seed").to_csv(p, index=False)
    assert set(load_results([p])["seed"]) == {7}


def test_seed_deltas_pair_by_seed(ctx):
    d = seed_deltas("table6", tidy_rows(_scores()), ctx["variants"], ctx["map"])
    seg = d[(d["variant"] == "seg") & (d["column"] == "toy_cvbench")].sort_values("seed")
    assert seg["delta"].tolist() == [2.0, 3.0, 4.0]
    assert set(LEVELS) == {"semantic", "edge"}


def test_unfilled_paper_columns_are_listed_with_their_reason(ctx):
    """Cluster rows as the vlmeval rule writes them: a NaN headline with a note for what had no number."""
    rows = []
    for variant in ("base", "seg"):
        for bench, value, note in (
            ("CV-Bench-2D", 70.0 if variant == "base" else 72.0, ""),
            ("POPE", 85.0, "F1; exact matching (no judge)"),
            ("MathVista_MINI", math.nan, "needs judge endpoint"),
        ):
            rows.append(("bagel", variant, 0, bench, "accuracy", value, True, note))
    tidy = pd.DataFrame(
        rows, columns=["model", "variant", "seed", "benchmark", "metric", "value", "headline", "note"]
    )
    long = build_table("table6", tidy, ctx["variants"], ctx["ref"]["table6"], ctx["map"], {"bagel": "BAGEL"})
    assert set(long["column"]) == {
        "CV-Bench-2D",
        "POPE",
        "Overall",
    }  # the all-NaN MathVista column is dropped
    unfilled = unfilled_columns(long, tidy, ctx["ref"]["table6"], ctx["map"])
    assert unfilled["MathVista"] == "MathVista_MINI: needs judge endpoint"
    assert unfilled["SIBench"].startswith("SIBench-mini: not in VLMEvalKit")
    assert unfilled["MMVP"] == "no result in this run for MMVP"
    assert "CV-Bench" not in unfilled and "POPE" not in unfilled and "Overall" not in unfilled
    md = to_markdown(long, "base", "Table 6", unfilled_note(unfilled))
    assert (
        "**SIBench** (SIBench-mini: not in VLMEvalKit" in md
        and "**MathVista** (MathVista_MINI: needs judge" in md
    )


def test_a_variant_that_does_not_run_for_a_model_has_no_row_for_it(ctx, study):
    """study.variants.<v>.models: a model left out gets no row, not an empty '–' row beside the paper's."""
    restricted = {
        **study,
        "variants": {**study["variants"], "edge": {**study["variants"]["edge"], "models": ["x"]}},
    }
    tidy = tidy_rows({k: v for k, v in _scores().items() if k[0] != "edge"})
    long = build_table(
        "table6", tidy, variants_from_config(restricted), ctx["ref"]["table6"], ctx["map"], {"tiny": "BAGEL"}
    )
    assert list(dict.fromkeys(long["variant"])) == ["base", "seg"]
    everyone = build_table(
        "table6", tidy, ctx["variants"], ctx["ref"]["table6"], ctx["map"], {"tiny": "BAGEL"}
    )
    assert (everyone[everyone["variant"] == "edge"]["n"] == 0).all()  # without the key: an empty row


def test_variants_with_seeds_of_their_own_pair_with_the_base_seed_by_seed(ctx):
    """study.variants.<v>.seeds: seed s of a variant against the base's seed s (the base is one checkpoint,
    its seeds are evaluation seeds), else against the base's mean; each row's n is its own seed count."""
    one_base = {("base", 0): {"toy_cvbench": 50.0, "toy_vsr": 60.0}}
    one_base |= {("seg", s): {"toy_cvbench": x, "toy_vsr": 60.0} for s, x in enumerate((52.0, 53.0, 57.0))}
    one_base[("edge", 0)] = {"toy_cvbench": 49.0, "toy_vsr": 60.0}
    long = build_table(
        "table6", tidy_rows(one_base), ctx["variants"], ctx["ref"]["table6"], ctx["map"], {"tiny": "BAGEL"}
    )
    seg, edge, base = (_row(long, v, "toy_cvbench") for v in ("seg", "edge", "base"))
    assert (seg["n"], edge["n"], base["n"]) == (3, 1, 1)
    # three deltas to the base's one evaluation: 2, 3, 7
    half = 4.302652729911275 * math.sqrt(7.0) / math.sqrt(3)  # sd of (2, 3, 7) = sqrt(7)
    assert seg["delta"] == pytest.approx(4.0)
    assert (seg["delta_ci_low"], seg["delta_ci_high"]) == pytest.approx((4 - half, 4 + half))
    assert edge["delta"] == -1.0 and math.isnan(edge["delta_ci_low"])

    # a base on three seeds: edge's seed 0 against the base's seed 0 (50), not its mean (51); seg's seed 3,
    # which the base lacks, against the base's mean
    three_base = {("base", s): {"toy_cvbench": 50.0 + s} for s in range(3)}
    three_base |= {("seg", s): {"toy_cvbench": x} for s, x in enumerate((52.0, 53.0, 54.0, 60.0))}
    three_base[("edge", 0)] = {"toy_cvbench": 49.0}
    d = seed_deltas("table6", tidy_rows(three_base), ctx["variants"], ctx["map"])
    d = d[d["column"] == "toy_cvbench"].sort_values("seed")
    assert d[d["variant"] == "edge"][["seed", "delta"]].values.tolist() == [[0, -1.0]]
    seg = d[d["variant"] == "seg"]
    assert seg["seed"].tolist() == [0, 1, 2, 3] and seg["delta"].tolist() == [2.0, 2.0, 2.0, 9.0]
    assert d[d["variant"] == "base"]["delta"].tolist() == [0.0, 0.0, 0.0]
