"""The tidy result record every evaluation writes: one CSV row per (model, variant, seed, benchmark, metric).

Kept apart from the evaluators so that a job writing results (VLMEvalKit, judges, GenEval scoring) does not
import torch to do it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sgt.io import atomic_path

TIDY_COLUMNS = ["model", "variant", "seed", "benchmark", "metric", "value"]


def write_tidy(
    rows: Sequence[Mapping[str, Any]], out: str | Path, *, columns: Sequence[str] = TIDY_COLUMNS
) -> None:
    """Rows as CSV with ``columns`` (TIDY_COLUMNS, or those plus extras such as VLMEvalKit's ``note``)."""
    with atomic_path(out, suffix=".csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
