"""A figure an architecture cannot give: the figures job writes a note row and a figure that says why."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from sgt.analysis.cluster import extractor_for
from sgt.analysis.figures import NOTE_COLUMNS, make_figures
from sgt.analysis.run import COLUMNS


def _write(path: Path, rows: list[dict], columns: list[str]) -> Path:
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def test_a_figure_without_data_shows_and_tables_its_reason(tmp_path: Path, caplog) -> None:
    ident = {"model": "m", "variant": "v", "seed": 0}
    reason = "the diffusion transformer is not in the eval folder"
    inputs = {
        "tsne": [
            _write(
                tmp_path / "tsne.csv",
                [{**ident, "image_id": 1, "ann_id": 1, "label": "a", "x": 0.0, "y": 1.0}],
                COLUMNS["tsne"],
            )
        ],
        "probe": [
            _write(
                tmp_path / "probe.csv",
                [
                    {
                        **ident,
                        "class_a": "a",
                        "class_b": "b",
                        "n_a": 1,
                        "n_b": 0,
                        "feature_dim": 4,
                        "pca_dim": 0,
                        "perplexity": 0,
                        "folds": 2,
                        "probe_accuracy": 0.5,
                        "probe_accuracy_std": 0.0,
                        "chance": 0.5,
                    }
                ],
                COLUMNS["probe"],
            )
        ],
        "visual_attention": [
            _write(
                tmp_path / "va.csv",
                [{**ident, "layer": 0, "visual_share": 0.3, "visual_share_std": 0.0, "n_questions": 1}],
                COLUMNS["visual_attention"],
            )
        ],
        "prompt_attention": [_write(tmp_path / "pa.csv", [], COLUMNS["prompt_attention"])],
        "notes": [
            _write(tmp_path / "notes.csv", [{**ident, "figure": "fig8b", "note": reason}], NOTE_COLUMNS)
        ],
    }
    names = ["probe", "visual_attention", "prompt_attention", "notes"]
    outputs = {k: tmp_path / "out" / f"{k}.csv" for k in names}
    for fig in ("fig7", "fig8a", "fig8b"):
        outputs |= {
            f"{fig}_png": tmp_path / "out" / f"{fig}.png",
            f"{fig}_pdf": tmp_path / "out" / f"{fig}.pdf",
        }
    with caplog.at_level(logging.WARNING):
        make_figures(inputs, outputs, compare=["v"], labels={})
    assert f"fig8b not measured: {reason}" in caplog.text
    assert "fig7 not measured" not in caplog.text and "fig8a not measured" not in caplog.text
    assert pd.read_csv(outputs["notes"]).to_dict("records") == [{**ident, "figure": "fig8b", "note": reason}]
    assert all(outputs[f"{f}_png"].stat().st_size > 0 for f in ("fig7", "fig8a", "fig8b"))


def test_a_backend_without_extractor_is_named_with_the_fix() -> None:
    with pytest.raises(
        ValueError, match=r"no mechanism-analysis extractor for backend 'tiny'.*analysis\.compare"
    ):
        extractor_for("tiny")
