"""Atomic file output: a killed job never leaves a half-written file under its final name.

Temp files sit beside their target as ``.<name>.<host>-<pid>-<random>.sgt-tmp<suffix>``: a hard kill (SIGKILL,
power loss) can leave one behind, and the next writer of the same target removes those of dead processes
(same host) or older than a day (another host). Outputs get the permissions of the umask, like any file the
user creates (``mkstemp`` alone makes them 0600, unreadable to a cluster's other users).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

TEMP_MARK = ".sgt-tmp"
STALE_ELSEWHERE_S = 24 * 3600  # a temp from another host: its writer is gone after this long


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()
HOST = socket.gethostname().replace("-", "_").replace(".", "_") or "host"


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(final: Path) -> list[Path]:
    """Temp siblings of ``final`` left by writers that died (a killed job); returns what was removed."""
    removed = []
    for tmp in final.parent.glob(f".{glob_escape(final.name)}.*{TEMP_MARK}*"):
        owner = tmp.name[len(final.name) + 2 :].split(TEMP_MARK, 1)[0]
        host, _, rest = owner.partition("-")
        pid = rest.split("-", 1)[0]
        stale = False
        if host == HOST and pid.isdigit():
            stale = not pid_alive(int(pid))
        else:
            with contextlib.suppress(OSError):
                stale = time.time() - tmp.lstat().st_mtime > STALE_ELSEWHERE_S
        if stale:
            if tmp.is_dir() and not tmp.is_symlink():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _temp_prefix(final: Path) -> str:
    return f".{final.name}.{HOST}-{os.getpid()}-"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it over ``path`` only if the block succeeds."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    fd, tmp_name = tempfile.mkstemp(
        prefix=_temp_prefix(final), suffix=f"{TEMP_MARK}{suffix or '.tmp'}", dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temp directory beside ``path``; it replaces ``path`` only if the block succeeds."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(final)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(final), suffix=TEMP_MARK, dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~UMASK)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Sorted keys and a trailing newline, so the same object always gives the same bytes."""
    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file; run the rule or command that produces it first")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{p}: not valid JSON ({err}); delete it and rerun the rule that writes it") from err


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """A YAML file's content, loaded safely (libyaml when installed). A syntax error raises ``ValueError``
    naming the file, line and column (``path:line:col``): PyYAML names only ``<unicode string>``."""
    import yaml

    p = Path(path)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(p.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{p}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(p)
        context = ""
        if err.context and err.context_mark is not None:
            context = f" ({err.context} from line {err.context_mark.line + 1})"
        raise ValueError(f"{where}: not valid YAML: {err.problem}{context}; fix the file there") from None
    except yaml.YAMLError as err:
        raise ValueError(f"{p}: not valid YAML ({err}); fix the file") from None


def read_parquet(path: str | os.PathLike[str], columns: list[str] | None = None) -> pa.Table:
    """One Parquet file as a table. ``pq.read_table`` goes through ``pyarrow.dataset``, whose import alone
    costs about 0.5 s of CPU in every job that reads a shard; a single file needs only ``ParquetFile``."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as parquet:
        return parquet.read(columns=columns)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
