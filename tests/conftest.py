"""Shared fixtures: a small toy world written once per test session; headless Chromium for the report."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _environment_restored() -> Iterator[None]:
    """Each test starts from the session's environment: code that sets variables in-process (the deepspeed
    engine's MASTER_PORT, RANK...) must not leak into later tests' subprocesses."""
    saved = dict(os.environ)
    yield
    if os.environ != saved:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def toyworld_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sgt.data.toyworld import ToyWorldSpec, write_toyworld

    return write_toyworld(
        ToyWorldSpec(n_train=16, n_val=6, seed=3), tmp_path_factory.mktemp("tw") / "toyworld"
    )


@pytest.fixture(scope="session")
def chromium() -> None:
    """A headless Chromium on PATH, installed with apt-get when missing (SGT_CHROMIUM_INSTALL=0: don't).
    Fails, never skips, when there is none: the report's browser checks are part of make test."""
    from sgt.report.browser import INSTALL
    from sgt.testing.chromium import ensure_chromium

    reason = ensure_chromium(install=os.environ.get("SGT_CHROMIUM_INSTALL", "1") != "0")
    if reason:
        pytest.fail(f"the report's browser tests need headless Chromium ({reason}); install it: {INSTALL}")
