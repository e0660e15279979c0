"""`make demo` once per session, in a copy of the repository, for the tests that need its results."""

from __future__ import annotations

from pathlib import Path

import pytest
from repo_clone import clone_repo, shell

DEMO_OUTPUT = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def demo_clone(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """A copy in which `make demo` ran, exactly as the README's first line (asserted to succeed)."""
    clone = clone_repo(tmp_path_factory.mktemp("demo") / "sgt-pipeline")
    fresh = shell("make -q .venv/.installed", clone)
    assert fresh.returncode == 0, "the virtualenv is older than requirements.lock: run `make test` first"
    demo = shell("make demo", clone, timeout=2400)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-5000:]
    assert "pip install" not in demo.stdout  # it reused the virtualenv
    pytestconfig.stash[DEMO_OUTPUT] = demo.stdout
    return clone


@pytest.fixture(scope="session")
def demo_output(demo_clone: Path, pytestconfig: pytest.Config) -> str:
    """What `make demo` printed on stdout (it ends with the paths of the report, tables and findings)."""
    return pytestconfig.stash[DEMO_OUTPUT]
