"""Screenshot of the HTML report in headless Chromium, at its start page or at one result page.

    python -m sgt.report.screenshot results/report.html report.png
    python -m sgt.report.screenshot results/report.html docs/report-table3.png --entry "Table 3"

``--entry`` takes a result's path in the report or its file name without extension ("Table 3",
"fig3a", "findings"); the page shows the entry and its caption as a user who clicked it sees them.
Needs a Chromium binary (``apt-get install -y chromium``); no Python browser package.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sgt.io import atomic_path
from sgt.report import spa
from sgt.report.browser import Chromium

logger = logging.getLogger(__name__)


def screenshot(
    html: str | Path,
    png: str | Path,
    entry: str | None = None,
    size: tuple[int, int] = (1400, 900),
    hide_navbar: bool = False,
) -> Path:
    """Render the report ``html`` (at result ``entry`` if given, without the side bar if ``hide_navbar``)."""
    page = Path(html).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: report missing; run snakemake --report {html} first")
    with Chromium(size=size) as browser, atomic_path(png, suffix=".png") as tmp:
        entries = spa.load_report(browser, page)
        if entry is not None:
            spa.open_entry(browser, spa.resolve(entries, entry))
        if hide_navbar:
            spa.hide_navbar(browser)
        browser.screenshot(tmp)
        if tmp.stat().st_size == 0:
            raise RuntimeError(f"Chromium wrote an empty screenshot of {page}")
    logger.info("screenshot of %s%s -> %s", page, f" at {entry!r}" if entry else "", png)
    return Path(png)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", help="the report (snakemake --report results/report.html)")
    parser.add_argument("png", help="where to write the screenshot")
    parser.add_argument("--entry", help='a result to open first: its path or name, e.g. "Table 3" or fig3a')
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--hide-navbar", action="store_true", help="close the side bar (caption, job info)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    screenshot(args.html, args.png, args.entry, (args.width, args.height), args.hide_navbar)


if __name__ == "__main__":
    main()
