"""A copy of the repository to run commands in, from its root, as a user with a fresh clone would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)


def clone_repo(dest: Path) -> Path:
    """The repository's tracked and unignored files (a fresh clone's content) under ``dest``, mtimes kept."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        src, dst = REPO / name, dest / name
        if not (src.exists() or src.is_symlink()):
            continue  # deleted in the work tree, not yet committed
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        elif src.is_file():
            shutil.copy2(src, dst)
    # `make` byte-compiles src/ once (PYTHONDONTWRITEBYTECODE is set, so nothing else writes .pyc files); a
    # copy without them recompiles the package in every job, about 0.5 s each. The sources keep their mtimes,
    # so the compiled files stay valid; Python ignores one whose source is gone.
    for compiled in (REPO / "src").rglob("__pycache__/*.pyc"):
        target = dest / compiled.relative_to(REPO)
        if target.parent.parent.is_dir():
            target.parent.mkdir(exist_ok=True)
            shutil.copy2(compiled, target)
    (dest / ".venv").symlink_to(VENV)  # the project's virtualenv, as `make` made it
    return dest


MAKE_VARIABLES = {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}


def shell(script: str, clone: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """``script`` in bash at the clone's root, the virtualenv first on PATH, the clone's sources imported.

    Without make's variables: under `make test` a `make demo` here would be a sub-make, which prints
    "make[1]: Leaving directory ..." after the output a user sees from their own `make demo`.
    """
    env = {
        **{k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES},
        "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(clone / "src"),
        "PYTHONHASHSEED": "0",
    }
    return subprocess.run(
        ["bash", "-c", f"set -e\n{script}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
