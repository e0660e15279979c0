"""The DevTools-over-pipe Chromium driver and the report navigation, on small pages (the real report is
checked in tests/workflow: report_checks.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from sgt.report import spa
from sgt.report.browser import INSTALL, Chromium
from sgt.report.screenshot import screenshot
from sgt.testing import chromium as installer


def _entries(*paths: str) -> dict[str, spa.Entry]:
    mimes = {"html": "text/html", "png": "image/png", "csv": "text/csv", "md": "text/markdown"}
    return {p: spa.Entry(p, Path(p).name, "Tables", "t", mimes[p.rsplit(".", 1)[1]]) for p in paths}


def test_an_entry_is_named_by_path_or_by_file_name_and_the_inline_format_wins() -> None:
    entries = _entries("results/tables/table3.csv", "results/tables/table3.html", "results/figures/fig3a.png",
                       "results/figures/tiny/fig3a.png", "results/tables/table6.md")  # fmt: skip
    assert spa.resolve(entries, "Table 3").path == "results/tables/table3.html"
    assert spa.resolve(entries, "table6").view == "text"  # download-only: shown in the app's text view
    assert spa.resolve(entries, "results/figures/tiny/fig3a.png").path == "results/figures/tiny/fig3a.png"
    with pytest.raises(KeyError, match="names several entries.*give the path"):
        spa.resolve(entries, "fig3a")
    with pytest.raises(KeyError, match="no report entry named 'Table 9'.*table3, table6"):
        spa.resolve(entries, "Table 9")


def test_chromium_reads_the_rendered_dom_inside_a_data_iframe(tmp_path: Path, chromium: None) -> None:
    """What the report does with an HTML entry: a data: iframe, which --dump-dom does not descend into."""
    inner = base64.b64encode(b"<table><tr><td>57.52 (n=1)</td></tr></table>").decode()
    page = tmp_path / "page.html"
    page.write_text(
        f"<html><body><h1>outer</h1><iframe src='data:text/html;base64,{inner}'></iframe></body></html>"
    )
    with Chromium(size=(400, 300), timeout=30) as browser:
        browser.open(page)
        assert browser.evaluate("document.querySelector('h1').textContent") == "outer"
        frames = browser.wait_for_value(
            lambda: [f for f in browser.frames() if f["url"].startswith("data:text/html")], "the iframe"
        )
        context = browser.frame_context(frames[0]["id"])
        cell = browser.wait_for("document.querySelector('td') && document.querySelector('td').textContent",
                                "the cell", context)  # fmt: skip
        assert cell == "57.52 (n=1)"
        browser.screenshot(tmp_path / "shot.png")
    assert (tmp_path / "shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_report_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run snakemake --report"):
        screenshot(tmp_path / "report.html", tmp_path / "shot.png")


def test_no_browser_and_no_way_to_install_one_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(installer, "have_browser", lambda: False)
    assert "SGT_CHROMIUM_INSTALL=0" in installer.ensure_chromium(install=False)
    monkeypatch.setattr(installer.os, "geteuid", lambda: 1000)
    assert "needs root and apt-get" in installer.ensure_chromium(install=True)
    assert INSTALL == "apt-get install -y chromium"
