"""The analyses' tables (probe.csv, visual_attention.csv, prompt_attention.csv) as tidy rows for the findings.

Findings 1-3 read (model, variant, seed, benchmark, metric, value) rows: ``linear_probe``/``accuracy`` in
percent, ``visual_attention``/``layer_<i>`` (the visual-token share of layer i) and ``prompt_attention``/
``object|position|color|other`` (the share of each prompt-token group, averaged over the analysed generation
timesteps and layers, as Fig. 8b pools them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sgt.scores import RUN_KEYS, TIDY_COLUMNS

GROUP_NAMES = {"colour": "color"}  # the findings' token names


def _probe(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[RUN_KEYS].assign(
        benchmark="linear_probe", metric="accuracy", value=100.0 * frame["probe_accuracy"]
    )


def _visual(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[RUN_KEYS].assign(
        benchmark="visual_attention",
        metric="layer_" + frame["layer"].astype(int).astype(str),
        value=frame["visual_share"],
    )


def _prompt(frame: pd.DataFrame) -> pd.DataFrame:
    pooled = frame.groupby([*RUN_KEYS, "group"], as_index=False)["share"].mean()
    pooled = pooled.dropna(subset=["share"])  # groups with attention mass but no share (bos, noise)
    return pooled[RUN_KEYS].assign(
        benchmark="prompt_attention", metric=pooled["group"].replace(GROUP_NAMES), value=pooled["share"]
    )


# a table is recognised by the column only it has
CONVERTERS = {"probe_accuracy": _probe, "visual_share": _visual, "share": _prompt}


def analysis_tidy(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Tidy rows from the analysis tables (already tidy CSVs pass through unchanged)."""
    frames = []
    for path in paths:
        frame = pd.read_csv(path)
        if set(TIDY_COLUMNS) <= set(frame.columns):
            frames.append(frame[TIDY_COLUMNS])
            continue
        kind = next((c for c in CONVERTERS if c in frame.columns), None)
        if kind is None:
            raise ValueError(
                f"{path}: neither a tidy result (columns {TIDY_COLUMNS}) nor an analysis table "
                f"(a column of {sorted(CONVERTERS)}); pass the analysis_figures rule's CSVs"
            )
        frames.append(CONVERTERS[kind](frame))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TIDY_COLUMNS)
