"""Screenshot of the HTML report in headless Chromium: checks that ``snakemake --report`` output opens.

    python -m sgt.report.screenshot results/report.html results/report.png

Needs a Chromium binary (``apt-get install chromium``); no Python browser package.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
from pathlib import Path

from sgt.io import atomic_path

logger = logging.getLogger(__name__)
BROWSERS: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(
        f"no headless browser found (tried {', '.join(BROWSERS)}); apt-get install chromium"
    )


def screenshot(
    html: str | Path, png: str | Path, size: tuple[int, int] = (1400, 1800), wait_ms: int = 5000
) -> Path:
    """Render ``html`` (a file) to a PNG; ``wait_ms`` lets the report's scripts run first."""
    page = Path(html).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page}: report missing; run snakemake --report {html} first")
    with atomic_path(png, suffix=".png") as tmp:
        cmd = [find_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={wait_ms}",
               f"--screenshot={tmp}", page.as_uri()]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True, timeout=300)
        if tmp.stat().st_size == 0:
            raise RuntimeError(f"{cmd[0]} wrote an empty screenshot of {page}")
    logger.info("screenshot of %s -> %s", page, png)
    return Path(png)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html")
    parser.add_argument("png")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    screenshot(args.html, args.png)


if __name__ == "__main__":
    main()
