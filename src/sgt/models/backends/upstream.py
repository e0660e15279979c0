"""Check out an upstream training repository (BAGEL, OmniGen2) at the commit pinned in config.

Training code is cloned, never imported: nothing here runs code from the checkout, and git runs with hooks
off. A checkout is made in a temp folder and renamed into place, so a killed clone never looks finished;
an existing checkout at another commit is an error, not silently reused.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from pathlib import Path

from sgt.io import atomic_dir

logger = logging.getLogger(__name__)

_SHA = re.compile(r"^[0-9a-f]{40}$")
PLACEHOLDER = "0" * 40  # config/paper.yaml's marker for "no working commit pinned yet"


def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1"}
    cmd = ["git", "-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def head_commit(path: Path) -> str | None:
    """The commit checked out at ``path``, or None when it is not a git work tree."""
    if not (path / ".git").exists():
        return None
    return _git("rev-parse", "HEAD", cwd=path)


def checkout(url: str, commit: str, dest: str | Path, *, key: str = "upstream.commit") -> Path:
    """Clone ``url`` into ``dest`` with ``commit`` checked out (detached); reuse ``dest`` if it matches.

    ``commit`` (config key ``key``) must be a full 40-hex sha: a branch or tag moves, and the run would stop
    being reproducible. The all-zero placeholder is refused before any network access.
    """
    dest = Path(dest)
    commit = commit.lower()
    if not _SHA.match(commit):
        raise ValueError(f"{key} = {commit!r} for {url}: pin a full 40-hex commit sha, not a branch or tag")
    if commit == PLACEHOLDER:
        raise ValueError(
            f"{key} is the all-zero placeholder: no commit of {url} is pinned; set it to a commit whose "
            f"training code reads our export (docs/backends.md lists the checked ones and why)"
        )
    if dest.exists():
        found = head_commit(dest)
        if found == commit:
            logger.info("%s already at %s", dest, commit[:12])
            return dest
        raise RuntimeError(
            f"{dest} exists but is at {found or 'no git commit'}, not the pinned {commit[:12]}; "
            f"delete it (or change the checkout path) and rerun"
        )
    with atomic_dir(dest) as tmp:
        _git("clone", "--no-checkout", "--quiet", url, str(tmp))
        _git("checkout", "--quiet", "--detach", commit, cwd=tmp)
        if (found := _git("rev-parse", "HEAD", cwd=tmp)) != commit:
            raise RuntimeError(f"checked out {found} from {url}, expected {commit}")
    logger.info("checked out %s at %s into %s", url, commit[:12], dest)
    return dest
