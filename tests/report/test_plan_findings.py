import pandas as pd
from report_fixtures import LEVELS, tidy_rows

from sgt.report.findings import Evidence, findings
from sgt.report.paper_tables import TABLES, seed_deltas
from sgt.report.plan import figure_plans, variants_from_config
from sgt.report.reference import load_benchmark_map


def test_figures_follow_the_configured_variants(study):
    plans = figure_plans(study, LEVELS)
    assert plans["fig3a"].available and plans["fig3a"].points["levels"] == {"high": ["seg"], "low": ["edge"]}
    assert plans["fig6"].available and plans["fig6"].variants == ("sft", "seg")
    assert not plans["fig5a"].available and "three task:SFT ratios" in plans["fig5a"].reason
    assert not plans["fig3b"].available and "table7" in plans["fig3b"].reason
    more = {"variants": {**study["variants"], "seg1": {"mix": {"vqa": 1, "semantic": 1}}}}
    sweep = figure_plans(more, LEVELS)["fig5a"]
    assert sweep.available and [r for r, _ in sweep.points["sweeps"]["semantic"]] == [0.0, 1.0, 2.0]


def test_fig6_compares_sft_with_the_highest_level_task_at_two_to_one(study):
    """The paper's Fig. 6 is SFT against SFT + segmentation; an edge variant listed first must not win."""
    edge_first = {"variants": {"edge_sft": {"mix": {"vqa": 1, "edge": 2}}, **study["variants"]}}
    assert figure_plans(edge_first, LEVELS)["fig6"].variants == ("sft", "seg")
    edge_only = {"variants": {k: v for k, v in edge_first["variants"].items() if k != "seg"}}
    assert figure_plans(edge_only, LEVELS)["fig6"].variants == ("sft", "edge_sft")


def test_size_sweep_makes_fig5b_and_stays_out_of_the_ratio_sweep(study):
    assert not figure_plans(study, LEVELS, 100)["fig5b"].available  # one size per mix: no sweep
    seg = study["variants"]["seg"]
    more = {"variants": {**study["variants"], "seg10": {**seg, "pairs": 10}, "seg40": {**seg, "pairs": 40}}}
    plans = figure_plans(more, LEVELS, 100)
    assert plans["fig5b"].available
    assert plans["fig5b"].points["sizes"] == {"seg10": 10, "seg40": 40, "seg": 100}
    assert plans["fig5b"].variants == ("seg10", "seg40", "seg")
    # the cut variants have seg's ratio but must not add points to the ratio sweep or Fig. 6
    assert plans["fig6"].variants == ("sft", "seg")
    assert figure_plans(more, LEVELS)["fig5b"].points["sizes"] == {"seg10": 10, "seg40": 40}


def test_no_base_variant_means_no_gain_figures(study):
    no_base = {"variants": {k: v for k, v in study["variants"].items() if k != "base"}}
    plans = figure_plans(no_base, LEVELS)
    assert not any(p.available for p in plans.values())


def _evidence(study, reference_dir, seg_gain: float, seeds=(0, 1, 2)):
    scores = {}
    for s in seeds:
        scores[("base", s)] = {"toy_cvbench": 50.0, "toy_pope": 50.0}
        scores[("sft", s)] = {"toy_cvbench": 50.0, "toy_pope": 50.0}
        scores[("seg", s)] = {"toy_cvbench": 50.0 + seg_gain + 0.1 * s, "toy_pope": 50.0}
        scores[("edge", s)] = {"toy_cvbench": 51.0, "toy_pope": 50.0}
    tidy = tidy_rows(scores)
    variants = variants_from_config(study)
    bench_map = load_benchmark_map(reference_dir / "benchmarks.yaml")
    deltas = pd.concat([seed_deltas(t, tidy, variants, bench_map) for t in TABLES])
    return Evidence(deltas, pd.DataFrame(), variants, LEVELS, bench_map, "base")


def test_observation1_sentence_follows_the_numbers(study, reference_dir):
    agree = findings(_evidence(study, reference_dir, seg_gain=5.0))[0]
    flip = findings(_evidence(study, reference_dir, seg_gain=-3.0))[0]
    assert agree.verdict == "agrees" and flip.verdict == "disagrees"
    # Overall gain per seed: seg (gain + 0.1 s) / 2, edge 1 / 2; contrast mean over seeds 0..2
    assert "= +2.05 [" in agree.sentence and "n=3" in agree.sentence
    assert agree.sentence != flip.sentence and "= -1.95 [" in flip.sentence
    one = findings(_evidence(study, reference_dir, seg_gain=5.0, seeds=(0,)))[0]
    assert one.verdict == "not testable" and "no interval" in one.sentence and "n=1" in one.sentence
    assert "= +2.00 (n=1, no interval)" in one.sentence  # the number is still printed, with its n


def test_untestable_claims_say_what_is_missing(study, reference_dir):
    items = {f.key: f for f in findings(_evidence(study, reference_dir, seg_gain=1.0))}
    assert items["Observation 2"].verdict == "not testable" and "chart_ocr" in items["Observation 2"].sentence
    assert items["Finding 1"].verdict == "not testable"


def test_variants_without_paper_rows_make_every_finding_untestable_not_an_error(reference_dir):
    """A study whose variants name no paper table (no ``tables`` key) has no rows to compare: say so."""
    untagged = {"variants": {"base": {}, "seg": {"mix": {"vqa": 1, "semantic": 2}}}}
    tidy = tidy_rows({("base", 0): {"toy_cvbench": 50.0}, ("seg", 0): {"toy_cvbench": 55.0}})
    variants = variants_from_config(untagged)
    bench_map = load_benchmark_map(reference_dir / "benchmarks.yaml")
    deltas = pd.concat([seed_deltas(t, tidy, variants, bench_map) for t in TABLES])
    items = findings(Evidence(deltas, pd.DataFrame(), variants, LEVELS, bench_map, "base"))
    assert items and items[0].key == "Observation 1" and items[0].verdict == "not testable"
    assert "single-task variants" in items[0].sentence


def test_analysis_findings_from_tidy_analysis_rows(study, reference_dir):
    ev = _evidence(study, reference_dir, seg_gain=1.0)
    rows = [("tiny", v, s, "linear_probe", "accuracy", acc) for s in (0, 1) for v, acc in
            (("base", 60.0 + s), ("seg", 70.0 + 2 * s))]  # fmt: skip
    cols = ["model", "variant", "seed", "benchmark", "metric", "value"]
    ev = Evidence(ev.deltas, pd.DataFrame(rows, columns=cols), ev.variants, ev.levels, ev.bench_map, ev.base)
    f1 = {f.key: f for f in findings(ev)}["Finding 1"]
    assert f1.verdict == "agrees"  # deltas 10, 11: 10.5 +- 12.71 * 0.707 / 1.414 = [4.15, 16.85]
    assert "1 of 1 variants" in f1.sentence and "+10.50" in f1.sentence


def test_a_contrast_counts_only_the_seeds_both_sides_have(study, reference_dir):
    """seg (high level) on three seeds against edge (low level) on one: one contrast, n=1, no interval; a
    one-seed trained variant has no spread to stand in for its missing seeds."""
    full = _evidence(study, reference_dir, seg_gain=5.0)
    deltas = full.deltas[(full.deltas["variant"] != "edge") | (full.deltas["seed"] == 0)]
    ev = Evidence(deltas, full.analysis, full.variants, full.levels, full.bench_map, full.base)
    one = findings(ev)[0]
    assert one.key == "Observation 1" and "(n=1, no interval)" in one.sentence
    assert "= +2.00 (n=1" in one.sentence  # seed 0: seg (5 + 0) / 2 - edge 1 / 2


def test_analysis_deltas_of_a_three_seed_variant_to_a_one_seed_base(study, reference_dir):
    """The base's one evaluation stands for each seed it lacks: three deltas, so an interval."""
    ev = _evidence(study, reference_dir, seg_gain=1.0)
    rows = [("tiny", "base", 0, "linear_probe", "accuracy", 60.0)]
    rows += [("tiny", "seg", s, "linear_probe", "accuracy", 70.0 + s) for s in (0, 1, 2)]
    cols = ["model", "variant", "seed", "benchmark", "metric", "value"]
    ev = Evidence(ev.deltas, pd.DataFrame(rows, columns=cols), ev.variants, ev.levels, ev.bench_map, ev.base)
    f1 = {f.key: f for f in findings(ev)}["Finding 1"]
    assert "+11.00 [" in f1.sentence and "n=3" in f1.sentence, f1.sentence  # deltas 10, 11, 12


def _probe_evidence(study, reference_dir, accuracies):
    """Evidence whose analysis rows are linear-probe accuracies {(variant, seed): value}."""
    ev = _evidence(study, reference_dir, seg_gain=1.0)
    rows = [("tiny", v, s, "linear_probe", "accuracy", acc) for (v, s), acc in accuracies.items()]
    cols = ["model", "variant", "seed", "benchmark", "metric", "value"]
    frame = pd.DataFrame(rows, columns=cols)
    return Evidence(ev.deltas, frame, ev.variants, ev.levels, ev.bench_map, ev.base)


def test_one_seed_is_not_testable_never_no_difference(study, reference_dir):
    """Issue #23: one seed with both at 100 read "+0.00, no difference"; it has no interval to judge."""
    ev = _probe_evidence(study, reference_dir, {("base", 0): 100.0, ("seg", 0): 100.0})
    f1 = {f.key: f for f in findings(ev)}["Finding 1"]
    assert f1.verdict == "not testable" and "no difference" not in f1.sentence
    assert "n=1" in f1.sentence and "one seed gives no interval" in f1.sentence and "+0.00" in f1.sentence


def test_both_at_ceiling_in_every_seed_is_not_testable(study, reference_dir):
    ceiling = {(v, s): 100.0 for v in ("base", "seg") for s in (0, 1, 2)}
    f1 = {f.key: f for f in findings(_probe_evidence(study, reference_dir, ceiling))}["Finding 1"]
    assert f1.verdict == "not testable" and "zero variance" in f1.sentence and "n=3" in f1.sentence
    assert "no difference" not in f1.sentence


def test_a_real_interval_gives_a_verdict_with_n_and_interval(study, reference_dir):
    acc = {("base", s): 90.0 + s for s in (0, 1, 2)} | {
        ("seg", s): 90.0 + s + (0.5, -0.5, 1.0)[s] for s in (0, 1, 2)
    }
    f1 = {f.key: f for f in findings(_probe_evidence(study, reference_dir, acc))}["Finding 1"]
    # deltas 0.5, -0.5, 1.0: mean 0.33, interval includes 0
    assert f1.verdict == "leans towards" and "+0.33 [" in f1.sentence and "n=3" in f1.sentence
    clear = {("base", s): 90.0 + s for s in (0, 1, 2)} | {("seg", s): 95.0 + s + 0.1 * s for s in (0, 1, 2)}
    f1 = {f.key: f for f in findings(_probe_evidence(study, reference_dir, clear))}["Finding 1"]
    assert f1.verdict == "agrees" and "+5.10 [" in f1.sentence and "n=3" in f1.sentence


def test_every_sentence_prints_its_n(study, reference_dir):
    for seeds in ((0,), (0, 1, 2)):
        for item in findings(_evidence(study, reference_dir, seg_gain=2.0, seeds=seeds)):
            if item.sentence.startswith("Not testable in this run:") and "=" not in item.sentence:
                continue  # nothing to compare: the sentence names what is missing instead
            assert "n=" in item.sentence, item
