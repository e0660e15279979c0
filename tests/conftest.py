"""Shared fixtures: a small toy world written once per test session; headless Chromium for the report.

Under pytest-xdist (`make test` runs one worker per core) the tests that share `make demo`'s copy run on one
worker, which builds it once, and the long end-to-end runs start first so that the short tests fill the
other core around them instead of leaving one long run alone at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_FIXTURE = "demo_clone"  # tests/workflow/conftest.py: `make demo` once per session (per worker)
DEMO_TIMEOUT_S = 2400  # the demo's own limit there; its first test includes building it


def _start_order(item: pytest.Item) -> tuple[int, float]:
    """The demo's tests first (one work unit, the longest), then the other end-to-end runs, longest first
    (``@pytest.mark.slow(minutes=...)``, alone on 2 cores), then everything else, each in collection order."""
    if DEMO_FIXTURE in getattr(item, "fixturenames", ()):
        return 0, 0.0
    slow = item.get_closest_marker("slow")
    return (1, -float(slow.kwargs.get("minutes", 1))) if slow else (2, 0.0)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if DEMO_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("demo"))
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(DEMO_TIMEOUT_S))
    if config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") != "no":
        items.sort(key=_start_order)  # stable: the collection's order within each class


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
