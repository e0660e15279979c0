"""Shared fixtures: a small toy world written once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def toyworld_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sgt.data.toyworld import ToyWorldSpec, write_toyworld

    return write_toyworld(ToyWorldSpec(n_train=16, n_val=6, seed=3), tmp_path_factory.mktemp("tw") / "toyworld")
