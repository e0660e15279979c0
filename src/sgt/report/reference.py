"""The paper's published numbers (config/paper_reference/*.csv) and the run-benchmark -> paper-column map."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sgt.io import read_yaml

REFERENCE_TABLES: tuple[str, ...] = ("table2", "table3", "table6", "table7", "table9")
KEY_COLUMNS: tuple[str, ...] = ("model", "row", "paper_label")
RELATIONS: tuple[str, ...] = ("same", "analogue")


@dataclass(frozen=True, slots=True)
class BenchmarkRef:
    """How one run benchmark relates to the paper: its column there, ``same`` or ``analogue``, its group."""

    paper: str | None
    relation: str
    group: str


def load_reference(directory: str | Path) -> dict[str, pd.DataFrame]:
    """Every published table, indexed by (model, row); numbers as floats, empty cells NaN."""
    out = {}
    for name in REFERENCE_TABLES:
        path = Path(directory) / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: paper reference table missing; restore it from git")
        table = pd.read_csv(path)
        missing = [c for c in KEY_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(
                f"{path}: columns {missing} missing; every reference table keys rows by {KEY_COLUMNS}"
            )
        if table.duplicated(["model", "row"]).any():
            dup = table.loc[table.duplicated(["model", "row"]), ["model", "row"]].values.tolist()
            raise ValueError(f"{path}: duplicate (model, row) keys {dup}")
        out[name] = table.set_index(["model", "row"])
    return out


def load_benchmark_map(path: str | Path) -> dict[str, BenchmarkRef]:
    """``benchmarks.yaml``: run benchmark -> ``{paper, relation, group}``."""
    raw = read_yaml(path) or {}
    out = {}
    for name, spec in raw.items():
        relation = spec.get("relation")
        if relation not in RELATIONS or "group" not in spec:
            raise ValueError(
                f"{path}: entry {name!r} needs 'relation' in {RELATIONS} and a 'group'; got {spec!r}"
            )
        out[str(name)] = BenchmarkRef(spec.get("paper"), relation, str(spec["group"]))
    return out


def paper_value(table: pd.DataFrame, model: str, row: str | None, column: str | None) -> float:
    """One published number, NaN when the paper has no such row, column or value."""
    if row is None or column is None or column not in table.columns or (model, row) not in table.index:
        return math.nan
    value = table.at[(model, row), column]
    return float(value) if pd.notna(value) else math.nan
