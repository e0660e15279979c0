"""A run's HTML report opened in headless Chromium as a user opens it, and checked against the run's files.

Every result category must hold its entries in the rendered page: Tables 3, 6 and 7 with the paper's reference
columns (their cells checked against results/tables/*.csv), every figure the config draws, the findings and
the config used. Used on the demo's report (test_report_in_browser.py) and the test config's
(test_documented_commands.py); the ``chromium`` fixture (conftest.py) provides the browser.
"""

from __future__ import annotations

import html
import math
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import yaml

from sgt.report import spa
from sgt.report.browser import Chromium
from sgt.report.plan import figure_plans, table_rows, variants_from_config

CHECKED_TABLES = ("table3", "table6", "table7")


class _Tables(HTMLParser):
    """Cell texts of every ``<table>`` in a document: tables -> rows -> cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def rendered_table(dom: str) -> tuple[list[str], list[list[str]]]:
    parser = _Tables()
    parser.feed(dom)
    assert len(parser.tables) == 1, f"expected one table in the rendered page, found {len(parser.tables)}"
    rows = parser.tables[0]
    return rows[0], rows[1:]


def _num(x: float) -> str:
    return f"{x:.2f}"


def check_table(table: str, dom: str, csv: Path, config: dict) -> None:
    """The rendered table against its CSV, and the CSV against the rows the config asks for."""
    variants = variants_from_config(config["study"])
    expected = [variants[v].label for v, _ in table_rows(variants, table)]
    long = pd.read_csv(csv) if csv.stat().st_size else pd.DataFrame(columns=["label"])
    missing = [label for label in expected if label not in set(long["label"])]
    assert not missing, f"{csv}: no rows for {missing} (the config's {table} rows: {expected})"
    header, rows = rendered_table(dom)
    assert header[:4] == ["model", "variant", "mix", "paper row"], header
    shown = {(r[0], r[1]): r for r in rows}
    assert len(shown) == len(rows) == long[["model", "variant"]].drop_duplicates().shape[0], (rows, csv)
    for r in long.itertuples():
        assert (r.model, r.label) in shown, f"{table}: row {r.model}/{r.label} of {csv} not rendered"
        cells = shown[(r.model, r.label)]
        j = header.index(r.column)
        run, paper = cells[j], cells[j + 1]
        want = "–" if r.n == 0 else _num(r.mean)
        where = f"{table}, row {r.label}, column {r.column}"
        assert run.startswith(want), f"{where}: the page shows {run!r}, {csv.name} says {want}"
        if isinstance(r.paper_column, str):  # the paper's reference column beside the run's
            assert header[j + 1] == f"paper {r.paper_model}: {r.paper_column} ({r.relation})", header
        want = "–" if math.isnan(r.paper_value) else _num(r.paper_value)
        assert paper.startswith(want), f"{where}: the paper cell shows {paper!r}, {csv.name} says {want}"
    assert long["paper_column"].notna().any(), f"{csv}: no column has a paper reference"


def expected_figures(clone: Path, config: dict) -> list[str]:
    """The figures the config can draw (the report's own plan) and every figure image the run wrote."""
    from sgt.targets import resolve_task

    tasks = config["targets"]["tasks"]
    levels = {t: resolve_task(t, spec).level for t, spec in tasks.items()}
    plans = figure_plans(config["study"], levels, config["targets"]["n_per_task"])
    planned = {f"results/figures/{name}.png" for name, plan in plans.items() if plan.available}
    drawn = {p.relative_to(clone).as_posix() for p in (clone / "results/figures").rglob("*.png")}
    drawn |= {p.relative_to(clone).as_posix() for p in (clone / "results/depth").glob("*/discrepancy.png")}
    return sorted(planned | drawn)


def assert_report_shows_the_run(clone: Path) -> None:
    """Open the clone's results/report.html and check every category, entry and table (see module doc)."""
    config = yaml.safe_load((clone / "results/report/config.yaml").read_text())
    with Chromium(timeout=60) as browser:
        entries = spa.load_report(browser, clone / "results/report.html")
        # every (sub)category lists its entries in the navigation bar
        groups: dict[tuple[str, str], list[spa.Entry]] = {}
        for entry in entries.values():
            groups.setdefault((entry.category, entry.subcategory), []).append(entry)
        for (category, subcategory), members in groups.items():
            listed = spa.show_category(browser, category, subcategory)
            for entry in members:  # a row of its labels' values, or its path when it has no labels
                row = "\t".join(entry.labels) if entry.labels else entry.path
                assert row in listed, (
                    f"{entry.path} ({row!r}) not listed under {category}/{subcategory}: {listed}"
                )
        # Tables 3, 6 and 7, rendered inline, against their CSVs
        for table in CHECKED_TABLES:
            path = f"results/tables/{table}.html"
            assert path in entries, f"{path} is not in the report (entries: {sorted(entries)})"
            assert (entries[path].category, entries[path].subcategory) == ("Tables", table)
            check_table(
                table, spa.open_entry(browser, entries[path]), clone / f"results/tables/{table}.csv", config
            )
            assert "Paper Table" in spa.navbar_text(browser), f"{table}: caption not shown"
        # every figure the config draws, as an image that decoded
        for figure in expected_figures(clone, config):
            assert figure in entries, f"figure {figure} is missing from the report"
            assert "naturalWidth=" in spa.open_entry(browser, entries[figure]), figure
            assert "DESCRIPTION" in spa.navbar_text(browser).upper(), f"{figure}: no caption shown"
        # the findings: every one in findings.md, with its verdict
        findings = entries.get("results/report/findings.html")
        assert findings is not None and findings.category == "Findings", sorted(entries)
        dom = spa.open_entry(browser, findings)
        lines = (clone / "results/report/findings.md").read_text().splitlines()
        keys = [line.split("**")[1] for line in lines if line.startswith("**")]
        assert keys and all(f"<h3>{key}:" in dom for key in keys), (keys, dom[:2000])
        assert dom.count("Verdict: <b>") == len(keys), dom[:2000]
        # the config used, readable in the page and equal to the file
        used = entries.get("results/report/config.yaml")
        assert used is not None and used.category == "Config", sorted(entries)
        text = spa.open_entry(browser, used)
        shown = yaml.safe_load(html.unescape(text.split(">", 1)[1].rsplit("</pre>", 1)[0]))
        assert shown == config, "the config shown in the report differs from results/report/config.yaml"
        # the run's budget beside it (report.budget, issue #25): estimated and measured hours per rule
        budget = entries.get("results/report/budget.html")
        assert (budget is not None) == config["report"]["budget"], sorted(entries)
        if budget is not None:
            assert budget.category == "Config", budget
            header, rows = rendered_table(spa.open_entry(browser, budget))
            assert {"cpu_hours", "measured_cpu_hours"} <= set(header), header
            train = next(row for row in rows if row[0] == "train")
            assert float(train[header.index("cpu_hours")]) > 0, train
            assert float(train[header.index("measured_cpu_hours")]) > 0, train
