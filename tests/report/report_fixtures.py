"""Tidy fixtures for the report tests: one model, three seeds, known numbers (imported by the tests)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REFERENCE = Path(__file__).resolve().parents[2] / "config" / "paper_reference"

STUDY = {
    "variants": {
        "base": {"label": "Base"},
        "sft": {"mix": {"vqa": 1}, "label": "SFT", "tables": {"table3": "SFT"}},
        "seg": {
            "mix": {"vqa": 1, "semantic": 2},
            "label": "SFT+Seg",
            "tables": {"table3": "SFT+SGT", "table6": "+Semantic"},
        },
        "edge": {
            "mix": {"vqa": 1, "edge": 2},
            "label": "SFT+Edge",
            "tables": {"table3": "SFT+Edge", "table6": "+Edge"},
        },
    }
}
LEVELS = {"semantic": "high", "edge": "low"}


def tidy_rows(values: dict[tuple[str, int], dict[str, float]], geneval: dict | None = None) -> pd.DataFrame:
    """``values[(variant, seed)] = {benchmark: accuracy}`` -> tidy rows like the embedded evaluator's."""
    rows = []
    for (variant, seed), scores in values.items():
        for bench, v in scores.items():
            rows.append(("tiny", variant, seed, bench, "accuracy", v))
            rows.append(("tiny", variant, seed, bench, "accuracy:sub", v / 2))  # not a headline
    for (variant, seed), tags in (geneval or {}).items():
        for tag, v in tags.items():
            rows.append(("tiny", variant, seed, "GenEval", tag, v))
    return pd.DataFrame(rows, columns=["model", "variant", "seed", "benchmark", "metric", "value"])
