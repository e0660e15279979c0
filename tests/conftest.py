"""Shared fixtures: a small toy world written once per test session; headless Chromium for the report.

`make test` runs one pytest-xdist worker a core with ``--dist loadfile``: each test file is one unit of work,
except that the files whose tests read `make demo`'s copy (``DEMO_FILES``) are one unit together, so one
worker builds that copy once. The long end-to-end runs start first, longest first, so that the short tests
fill the other core around them instead of one long run finishing alone at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_FIXTURE = "demo_clone"  # tests/workflow/conftest.py: `make demo` once per session (per worker)
DEMO_FILES = frozenset(
    {
        "tests/workflow/test_demo_study.py",
        "tests/workflow/test_documented_commands.py",
        "tests/workflow/test_recovery.py",
        "tests/workflow/test_report_in_browser.py",
    }
)
DEMO_UNIT = "make demo"  # the work unit of DEMO_FILES under --dist loadfile
DEMO_TIMEOUT_S = 2400  # the demo's own limit there; the first of these tests includes building it


def work_unit(nodeid: str) -> str:
    """A test's unit of work under ``--dist loadfile``: its file, or the demo's files together."""
    path = nodeid.split("::", 1)[0]
    return DEMO_UNIT if path in DEMO_FILES else path


def _reads_demo(item: pytest.Item) -> bool:
    return DEMO_FIXTURE in getattr(item, "fixturenames", ())


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent without the plugin
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the demo's files as one unit (pytest-xdist's ``loadgroup`` would do this with
    marks, but its marks do not reach the scheduler under pytest 9: it renames a node attribute pytest 9
    no longer reads)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class DemoOnceScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return DemoOnceScheduling(config, log)


def _start_order(item: pytest.Item) -> tuple[int, float]:
    """The demo's tests first (one unit, the longest), then the other end-to-end runs, longest first
    (``@pytest.mark.slow(minutes=...)``, alone on 2 cores), then everything else, each in collection order."""
    if _reads_demo(item):
        return 0, 0.0
    slow = item.get_closest_marker("slow")
    return (1, -float(slow.kwargs.get("minutes", 1))) if slow else (2, 0.0)


MISPLACED_DEMO_USER = pytest.StashKey[str]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _reads_demo(item):
            if work_unit(item.nodeid) != DEMO_UNIT:
                item.stash[MISPLACED_DEMO_USER] = (
                    f"{item.nodeid} reads make demo's copy but its file is not in DEMO_FILES (conftest.py): "
                    "add its file there, or a second pytest-xdist worker builds the demo again"
                )
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(DEMO_TIMEOUT_S))
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the scheduler hands out units in this order
        items.sort(key=_start_order)  # stable: the collection's order within each class


@pytest.hookimpl(tryfirst=True)  # before its fixtures: the demo is not built for a test that fails here
def pytest_runtest_setup(item: pytest.Item) -> None:
    if MISPLACED_DEMO_USER in item.stash:
        pytest.fail(item.stash[MISPLACED_DEMO_USER], pytrace=False)


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
