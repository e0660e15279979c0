"""`make demo` writes the HTML report and says where everything is; opened in headless Chromium, the report
shows every table, figure, finding and the config (checks in report_checks.py). The ``chromium`` fixture
installs Chromium with apt-get when missing and fails, never skips, with the install command when it cannot.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_checks import CHECKED_TABLES, assert_report_shows_the_run


@pytest.mark.slow
def test_the_demo_report_shows_every_table_figure_finding_and_the_config(
    demo_clone: Path, demo_output: str, chromium: None
) -> None:
    """`make demo` wrote the report and printed where everything is; the browser shows all of it."""
    assert (demo_clone / "results/report.html").stat().st_size > 100_000
    assert "report:" in demo_output, demo_output[-2000:]  # `sgt results`, make demo's last step
    printed = [line.split()[-1] for line in demo_output[demo_output.rindex("report:") :].splitlines()]
    assert "results/report.html" in printed and "results/report/findings.md" in printed, demo_output[-2000:]
    assert {f"results/tables/{t}.md" for t in CHECKED_TABLES} <= set(printed), demo_output[-2000:]
    assert all((demo_clone / p).is_file() for p in printed), printed
    assert_report_shows_the_run(demo_clone)
