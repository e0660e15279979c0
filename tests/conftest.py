"""Shared fixtures: a small toy world written once per test session."""

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
