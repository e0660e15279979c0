"""Outputs a killed job leaves behind, their permissions, and the logs of earlier attempts (issue 21)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sgt.io import HOST, TEMP_MARK, atomic_dir, atomic_path, atomic_write_text, remove_stale_temps
from sgt.logs import setup_logging


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_hard_killed_writer_leaves_a_temp_the_next_writer_removes(tmp_path: Path) -> None:
    out = tmp_path / "shard-000.npz"
    # what SIGKILL leaves mid-write: a temp of a dead process on this host, and a day-old one from elsewhere
    dead = tmp_path / f".{out.name}.{HOST}-{dead_pid()}-abc{TEMP_MARK}.npz"
    dead.write_bytes(b"")
    far = tmp_path / f".{out.name}.othernode-123-xyz{TEMP_MARK}.npz"
    far.write_bytes(b"x")
    old = time.time() - 2 * 24 * 3600
    os.utime(far, (old, old))
    recent = tmp_path / f".{out.name}.othernode-456-xyz{TEMP_MARK}.npz"  # maybe a live writer elsewhere
    recent.write_bytes(b"x")
    mine = tmp_path / f".{out.name}.{HOST}-{os.getpid()}-def{TEMP_MARK}.npz"  # a live writer: this process
    mine.write_bytes(b"x")
    other = tmp_path / f".other.npz.{HOST}-{dead_pid()}-abc{TEMP_MARK}.npz"  # another target's: not ours
    other.write_bytes(b"")
    with atomic_path(out, suffix=".npz") as tmp:
        tmp.write_bytes(b"data")
    assert out.read_bytes() == b"data"
    assert not dead.exists() and not far.exists()
    assert recent.exists() and mine.exists() and other.exists()
    assert remove_stale_temps(tmp_path / "other.npz") == [other]


def test_a_temp_directory_of_a_dead_writer_is_removed_too(tmp_path: Path) -> None:
    out = tmp_path / "model"
    dead = tmp_path / f".model.{HOST}-{dead_pid()}-q1{TEMP_MARK}"
    (dead / "sub").mkdir(parents=True)
    with atomic_dir(out) as tmp:
        (tmp / "w.bin").write_bytes(b"w")
    assert (out / "w.bin").is_file() and not dead.exists()


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_outputs_follow_the_umask(tmp_path: Path, umask: int) -> None:
    script = (
        "import os, sys\n"
        f"os.umask({umask})\n"
        "from sgt.io import atomic_write_text, atomic_dir\n"
        "atomic_write_text(sys.argv[1] + '/f.txt', 'x')\n"
        "with atomic_dir(sys.argv[1] + '/d') as t:\n"
        "    (t / 'g').write_text('y')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)  # UMASK is read at import
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o777 & ~umask


def test_every_attempts_log_is_kept_beside_the_rules_log(tmp_path: Path) -> None:
    import logging

    log = tmp_path / "logs" / "train.log"
    for attempt in range(1, 4):
        log.unlink(missing_ok=True)  # what Snakemake does before it reruns a job
        setup_logging(log)
        logging.getLogger("sgt.test").info("attempt %d", attempt)
        for handler in logging.getLogger().handlers:
            handler.flush()
    assert "attempt 3" in log.read_text() and "attempt 2" not in log.read_text()
    history = (tmp_path / "logs" / "train.log.all").read_text()
    assert [f"attempt {k}" in history for k in (1, 2, 3)] == [True, True, True]
    assert history.count("=== attempt started") == 3
    setup_logging(None)  # back to stderr only, for the other tests


def test_atomic_write_leaves_nothing_when_the_block_fails(tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    atomic_write_text(out, "old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.json"]
