"""Pinned checkouts of an upstream repo, tested against a local bare repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sgt.models.backends.upstream import checkout, head_commit


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.fixture
def bare_repo(tmp_path: Path) -> tuple[Path, list[str]]:
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "-b", "main", cwd=work)
    commits = []
    for version in ("v1", "v2"):
        (work / "train.py").write_text(f"raise SystemExit('{version} must never be executed by sgt')\n")
        git("add", "train.py", cwd=work)
        git("commit", "-q", "-m", version, cwd=work)
        commits.append(git("rev-parse", "HEAD", cwd=work))
    git("clone", "-q", "--bare", str(work), str(tmp_path / "upstream.git"), cwd=tmp_path)
    return tmp_path / "upstream.git", commits


def test_checkout_pins_the_commit(bare_repo, tmp_path):
    url, (first, second) = bare_repo
    dest = checkout(str(url), first, tmp_path / "co")
    assert head_commit(dest) == first and "v1" in (dest / "train.py").read_text()
    assert checkout(str(url), first, dest) == dest  # reuse, no new clone
    with pytest.raises(RuntimeError, match="not the pinned"):
        checkout(str(url), second, dest)


def test_checkout_rejects_moving_refs_and_unknown_commits(bare_repo, tmp_path):
    url, _ = bare_repo
    with pytest.raises(ValueError, match="full 40-hex"):
        checkout(str(url), "main", tmp_path / "co")
    with pytest.raises(RuntimeError, match="failed"):
        checkout(str(url), "1" * 40, tmp_path / "co")
    assert not (tmp_path / "co").exists()  # nothing half-made under the final name


def test_checkout_names_the_key_of_a_placeholder_commit(bare_repo, tmp_path):
    url, _ = bare_repo
    key = "models.omnigen2.upstream.commit"
    with pytest.raises(ValueError, match=rf"{key} is the all-zero placeholder.*docs/backends.md"):
        checkout(str(url), "0" * 40, tmp_path / "co", key=key)
    assert not (tmp_path / "co").exists()
