import math

import pytest

from sgt.report.reference import REFERENCE_TABLES, load_benchmark_map, load_reference, paper_value


def test_every_paper_table_loads_with_spot_values(reference_dir):
    ref = load_reference(reference_dir)
    assert set(ref) == set(REFERENCE_TABLES)
    assert paper_value(ref["table3"], "BAGEL", "SFT+SGT", "CV-Bench") == 79.23
    assert paper_value(ref["table3"], "OmniGen2", "Base", "GEdit-Bench-En") == 6.63
    assert paper_value(ref["table6"], "BAGEL", "+Panoptic", "Overall") == 75.8
    assert paper_value(ref["table6"], "OmniGen2", "+Edge", "ScienceQA") == 75.0
    assert paper_value(ref["table7"], "OmniGen2", "+Depth", "position") == 56.6
    assert paper_value(ref["table9"], "BAGEL", "SFT+SGT", "SEED") == 79.5
    assert paper_value(ref["table2"], "BAGEL", "SFT+SGT", "GenEval") == 90.0
    assert math.isnan(paper_value(ref["table2"], "Harmon", "Harmon", "GEdit-Bench-En"))  # X: no editing
    assert math.isnan(paper_value(ref["table6"], "BAGEL", "no-such-row", "MMVP"))


def test_table6_overall_is_the_mean_of_its_columns(reference_dir):
    t6 = load_reference(reference_dir)["table6"]
    bench = [c for c in t6.columns if c not in ("paper_label", "Overall")]
    gap = (t6[bench].mean(axis=1) - t6["Overall"]).abs()
    assert (gap < 0.1).all(), gap[gap >= 0.1]


def test_benchmark_map_marks_toy_benchmarks_as_analogues(reference_dir):
    m = load_benchmark_map(reference_dir / "benchmarks.yaml")
    assert (m["toy_cvbench"].paper, m["toy_cvbench"].relation) == ("CV-Bench", "analogue")
    assert m["CV-Bench-2D"].relation == "same"
    cols = set(load_reference(reference_dir)["table6"].columns)
    assert {r.paper for r in m.values() if r.group not in ("generation", "editing") and r.paper} - cols <= {
        "MMBench",
        "RealWorldQA",
        "SEED",
    }


def test_bad_benchmark_map_names_the_entry(tmp_path):
    p = tmp_path / "b.yaml"
    p.write_text("toy: {paper: VSR, relation: similar, group: spatial}\n")
    with pytest.raises(ValueError, match="'toy'"):
        load_benchmark_map(p)
