"""The analysis tables become the tidy rows Findings 1-3 read."""

import pandas as pd
import pytest

from sgt.analysis.tidy import analysis_tidy


def _write(tmp_path, name, rows):
    path = tmp_path / f"{name}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_probe_visual_and_prompt_tables_become_tidy_rows(tmp_path):
    key = {"model": "tiny", "variant": "seg", "seed": 1}
    probe = _write(tmp_path, "probe", [{**key, "probe_accuracy": 0.875, "chance": 0.5}])
    visual = _write(
        tmp_path, "visual", [{**key, "layer": i, "visual_share": s} for i, s in enumerate([0.2, 0.6])]
    )
    prompt = _write(tmp_path, "prompt", [
        {**key, "timestep": t, "layer": 0, "group": g, "mass": 1.0, "share": s}
        for t, shares in enumerate([{"object": 0.2, "colour": 0.1}, {"object": 0.4, "colour": 0.3}])
        for g, s in shares.items()
    ] + [{**key, "timestep": 0, "layer": 0, "group": "bos", "mass": 2.0, "share": None}])  # fmt: skip
    tidy = analysis_tidy([probe, visual, prompt]).set_index(["benchmark", "metric"])["value"]
    assert tidy[("linear_probe", "accuracy")] == pytest.approx(87.5)  # percent
    assert tidy[("visual_attention", "layer_1")] == pytest.approx(0.6)
    assert tidy[("prompt_attention", "object")] == pytest.approx(0.3)  # mean over timesteps
    assert tidy[("prompt_attention", "color")] == pytest.approx(0.2)  # the findings' spelling
    assert ("prompt_attention", "bos") not in tidy.index
    assert list(analysis_tidy([probe]).columns) == [
        "model",
        "variant",
        "seed",
        "benchmark",
        "metric",
        "value",
    ]


def test_an_unknown_table_is_an_error_naming_it(tmp_path):
    other = _write(tmp_path, "other", [{"a": 1}])
    with pytest.raises(ValueError, match="other.csv: neither a tidy result"):
        analysis_tidy([other])
