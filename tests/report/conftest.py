"""Fixtures of the report tests (data in report_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import REFERENCE, STUDY


@pytest.fixture
def reference_dir() -> Path:
    return REFERENCE


@pytest.fixture
def study() -> dict:
    return STUDY
