"""Headless Chromium for the report's browser test, installed with apt-get when missing (as for SLURM).

The test fails, never skips, when no browser can be had: :func:`ensure_chromium` returns why, and the
caller puts :data:`sgt.report.browser.INSTALL` in its message.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess

from sgt.report.browser import BROWSERS

logger = logging.getLogger(__name__)
APT_PACKAGES = ("chromium",)


def have_browser() -> bool:
    return any(shutil.which(b) for b in BROWSERS)


def ensure_chromium(*, install: bool = True, timeout: float = 420) -> str | None:
    """None when a Chromium is on PATH (installing Debian's ``chromium`` first if needed), else why not."""
    if have_browser():
        return None
    if not install:
        return "no Chromium on PATH and installing it is turned off (SGT_CHROMIUM_INSTALL=0)"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "no Chromium on PATH, and apt-get cannot install it here (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install_cmd = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", *APT_PACKAGES]
    output = ""
    for step in (None, ["apt-get", "update", "-q"]):  # update only when the first try fails (stale lists)
        try:
            if step:
                logger.info("apt-get install failed; running apt-get update first")
                subprocess.run(step, env=env, capture_output=True, text=True, timeout=timeout)
            logger.info("installing %s with apt-get (about 1 minute)", " ".join(APT_PACKAGES))
            done = subprocess.run(install_cmd, env=env, capture_output=True, text=True, timeout=timeout)
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired:
            output = f"timed out after {timeout:.0f} s"
        if have_browser():
            return None
    return f"apt-get could not install {' '.join(APT_PACKAGES)}: {output.strip()[-400:]}"
