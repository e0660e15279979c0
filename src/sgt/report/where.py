"""Where a finished run's results are: the paths ``make demo`` prints at its end, for the user to open."""

from __future__ import annotations

from pathlib import Path

REPORT = "results/report.html"
TABLES = "results/tables/*.md"
FINDINGS = "results/report/findings.md"


def result_paths(root: str | Path = ".") -> dict[str, list[Path]]:
    """The report, the Markdown tables and the findings under ``root``; raises naming what is missing."""
    root = Path(root)
    found = {
        "report": [root / REPORT],
        "tables": sorted(root.glob(TABLES)),
        "findings": [root / FINDINGS],
    }
    missing = [str(p) for p in (*found["report"], *found["findings"]) if not p.is_file()]
    missing += [] if found["tables"] else [str(root / TABLES)]
    if missing:
        raise FileNotFoundError(
            f"not found: {', '.join(missing)}; run the workflow, then snakemake --report {REPORT}"
        )
    return found


def describe(paths: dict[str, list[Path]]) -> str:
    """One path a line under its kind's name, the way the end of ``make demo`` shows them."""
    width = max(map(len, paths)) + 2
    lines = []
    for kind, found in paths.items():
        lines += [f"{(kind + ':') if i == 0 else '':<{width}}{p}" for i, p in enumerate(found)]
    return "\n".join(lines)
