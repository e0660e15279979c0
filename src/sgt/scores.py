"""The tidy result record every evaluation and analysis writes, and its one writer: one CSV row per (model,
variant, seed, benchmark, metric) with its value, and the optional ``headline``/``note``/``source`` columns.

A base module (no torch, no pandas): a job that only writes results (VLMEvalKit, judges, GenEval scoring)
imports nothing heavy, and evaluations, analyses and the report all read the same column names from here.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgt.io import atomic_path


@dataclass(frozen=True, slots=True)
class Score:
    """One number of one run: ``headline`` marks the number a paper column holds, ``note`` why it is what
    it is (e.g. a judge fell back to exact matching), ``source`` the file it was read from."""

    model: str
    variant: str
    seed: int
    benchmark: str
    metric: str
    value: float
    headline: bool | None = None
    note: str | None = None
    source: str | None = None


_FIELDS = [f.name for f in dataclasses.fields(Score)]
RUN_KEYS = ["model", "variant", "seed"]  # one training run
TIDY_COLUMNS = _FIELDS[: _FIELDS.index("value") + 1]  # the columns every result has
OPTIONAL_COLUMNS = _FIELDS[len(TIDY_COLUMNS) :]


def score_columns(*extras: str) -> list[str]:
    """``TIDY_COLUMNS`` plus the named optional columns, always in the record's order."""
    unknown = sorted(set(extras) - set(OPTIONAL_COLUMNS))
    if unknown:
        raise ValueError(f"unknown result column(s) {unknown}; optional ones are {OPTIONAL_COLUMNS}")
    return [*TIDY_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in extras)]


def write_tidy(
    rows: Sequence[Score | Mapping[str, Any]], out: str | Path, *, columns: Sequence[str] = TIDY_COLUMNS
) -> None:
    """Rows (``Score`` records or mappings with their keys) as CSV with ``columns`` (``score_columns``)."""
    records = [dataclasses.asdict(r) if isinstance(r, Score) else r for r in rows]
    with atomic_path(out, suffix=".csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
