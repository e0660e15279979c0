"""Layers only point down (issue #24): pyproject.toml's import-linter contracts hold for src/sgt, and they
catch a backwards import, one placed inside a function included."""

from __future__ import annotations

import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``sgt`` package under ``root/src`` with ``root/pyproject.toml``'s contracts."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    cmd = [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache", "--no-logo"]
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_layers_point_down() -> None:
    done = lint_imports(REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_top_level_module_has_a_layer() -> None:
    """A module the layers contract does not name would be free to import anything."""
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["name"] == "sgt layers point down")
    named = {name for layer in layers for name in re.findall(r"sgt\.\w+", layer)}
    present = {f"sgt.{m.name}" for m in pkgutil.iter_modules([str(REPO / "src" / "sgt")])}
    assert present - named == set()


def test_a_backwards_import_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        REPO / "src" / "sgt", tmp_path / "src" / "sgt", ignore=shutil.ignore_patterns("__pycache__")
    )
    coco = tmp_path / "src" / "sgt" / "data" / "coco.py"
    coco.write_text(
        coco.read_text() + "\n\ndef _backwards() -> None:\n    import sgt.report.tables  # noqa\n"
    )
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "sgt.data is not allowed to import sgt.report" in done.stdout
    assert "sgt.data.coco -> sgt.report.tables" in done.stdout
