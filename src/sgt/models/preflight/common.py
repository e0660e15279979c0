"""What every backend's preflight shares: findings, the verdict, the report and running a probe.

A probe is one of our modules (``sgt.models.preflight.<backend>_probe``) started with ``python -m`` in the
upstream checkout, so upstream's own imports (``data.dataset_base``, ``omnigen2.dataset``) resolve as they do
in its trainer. It writes what it measured to a JSON file that the parent judges. Packages the GPU nodes
have but a CPU node may not (``flash_attn``, ``decord``, ``wandb``, a CUDA-only ``torchvision``) are replaced
by the stand-ins in ``stand_ins/`` only when they do not import, and the report names every stand-in used.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sgt.io import atomic_write_json

logger = logging.getLogger(__name__)

STAND_IN_ROOT = Path(__file__).parent / "stand_ins"
# modules upstream imports at load time that a CPU node may lack; each has an import-only stand-in
STAND_INS = ("flash_attn", "decord", "wandb", "torchvision")
SGT_ROOT = Path(__file__).resolve().parents[3]  # the folder holding the sgt package (src/)


@dataclass(frozen=True, slots=True)
class Finding:
    """One invariant checked on what the upstream loaders produced.

    ``upstream`` names the file of the checkout the invariant is about, so a failure says where to look.
    """

    invariant: str
    ok: bool
    detail: str
    upstream: str


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """What a backend's ``preflight`` returns: its findings, the figures it measured, the stand-ins used.

    ``figures`` may carry values the training launch needs (BAGEL: the measured tokens per sample).
    """

    findings: tuple[Finding, ...]
    figures: Mapping[str, Any]
    stand_ins: tuple[str, ...] = ()


class PreflightError(RuntimeError):
    """An invariant failed: the GPU job would train on the wrong data or crash."""


class ProbeError(RuntimeError):
    """The upstream loaders could not even run on our export."""


def within(measured: float, expected: float, rel: float) -> bool:
    """``measured`` is within ``rel`` (a fraction) of ``expected``."""
    return abs(measured - expected) <= rel * abs(expected)


def judge(backend: str, findings: Sequence[Finding]) -> None:
    """Raise :class:`PreflightError` naming every broken invariant and its upstream file."""
    broken = [f for f in findings if not f.ok]
    if broken:
        lines = "\n".join(f"  - {f.invariant}: {f.detail} (upstream {f.upstream})" for f in broken)
        raise PreflightError(
            f"{backend} preflight: {len(broken)} of {len(findings)} invariants broken; the GPU job would "
            f"train on the wrong data or crash:\n{lines}"
        )


def write_report(out: str | Path, backend: str, result: PreflightResult) -> None:
    """The preflight's JSON record: every finding, the measured figures and the stand-ins that were used."""
    atomic_write_json(
        out,
        {
            "backend": backend,
            "ok": all(f.ok for f in result.findings),
            "findings": [asdict(f) for f in result.findings],
            "figures": dict(result.figures),
            "stand_ins": list(result.stand_ins),
        },
    )


def read_report(path: str | Path) -> dict[str, Any]:
    """A report written by :func:`write_report` (the train job reads the measured figures from it)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def missing_modules(modules: Sequence[str], *, python: str, env: Mapping[str, str], cwd: Path) -> list[str]:
    """Those of ``modules`` that fail to import in ``python`` (a CUDA-only build fails with RuntimeError)."""
    missing = []
    for name in modules:
        proc = subprocess.run(
            [python, "-c", f"import {name}"], cwd=cwd, env=dict(env), capture_output=True, text=True
        )
        if proc.returncode != 0:
            missing.append(name)
    return missing


def stand_in_dir(names: Sequence[str], dest: Path, overrides: Mapping[str, Path] | None = None) -> Path:
    """A folder holding only the stand-ins ``names`` (so real packages that import stay in use).

    ``overrides`` names another stand-in package folder for some names (the analyses' computing flash_attn).
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = (overrides or {}).get(name, STAND_IN_ROOT / name)
        shutil.copytree(source, dest / name, dirs_exist_ok=True)
    return dest


def _probe_env(
    python: str,
    checkout: Path,
    env: Mapping[str, str] | None,
    tmp: Path,
    stand_ins: Mapping[str, Path] | None,
) -> tuple[dict[str, str], list[str]]:
    """The probe's environment (PYTHONPATH: checkout, our package, the stand-ins needed) and those used."""
    base_env = {**os.environ, **(env or {})}
    base_env.pop("PYTHONPATH", None)
    path = [str(checkout), str(SGT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    probe_env = {**base_env, "PYTHONPATH": os.pathsep.join(path), "PYTHONDONTWRITEBYTECODE": "1"}
    needed = missing_modules(STAND_INS, python=python, env=probe_env, cwd=checkout)
    if needed:
        logger.warning("preflight: stand-ins for %s (they do not import here)", ", ".join(needed))
        path.append(str(stand_in_dir(needed, tmp / "stand_ins", stand_ins)))
        probe_env["PYTHONPATH"] = os.pathsep.join(path)
    return probe_env, needed


def _probe_failed(module: str, checkout: Path, returncode: int | None, output: str) -> ProbeError:
    tail = "\n".join(output.splitlines()[-30:])
    hint = (
        "; a module is missing: install the checkout's requirements.txt into the environment the "
        "jobs run in (the training job needs them too)"
        if "ModuleNotFoundError" in tail
        else ""
    )
    return ProbeError(
        f"preflight probe {module} failed in {checkout} (exit {returncode}); the upstream "
        f"loaders could not read our export{hint}. Last lines:\n{tail}"
    )


def run_probe(
    module: str,
    args: Sequence[str],
    *,
    checkout: Path,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    log: str | Path | None = None,
    timeout_s: int = 3600,
    stand_ins: Mapping[str, Path] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Run ``python -m module *args --out JSON`` in ``checkout``; return (what it wrote, stand-ins used).

    PYTHONPATH is the checkout, then our package, then the stand-ins needed (``stand_ins`` overrides
    some, see :func:`stand_in_dir`); its output goes to ``log``.
    """
    checkout = Path(checkout).absolute()
    with tempfile.TemporaryDirectory(prefix="sgt-preflight-") as tmp:
        probe_env, needed = _probe_env(python, checkout, env, Path(tmp), stand_ins)
        out = Path(tmp) / "probe.json"
        cmd = [python, "-m", module, *args, "--out", str(out)]
        logger.info("preflight probe in %s: %s", checkout, " ".join(cmd))
        proc = subprocess.run(
            cmd,
            cwd=checkout,
            env=probe_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            timeout=timeout_s,
        )
        if log is not None:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(proc.stdout)
        if proc.returncode != 0 or not out.is_file():
            raise _probe_failed(module, checkout, proc.returncode, proc.stdout)
        return json.loads(out.read_text(encoding="utf-8")), needed


SERVE_DONE = "sgt-probe: pass written to"  # a probe's line after each pass under --serve (bagel_probe)


class ProbeSession:
    """One probe process (``python -m module *args --serve``) that runs several passes: see
    :func:`probe_session`. A pass is one JSON request line on its stdin; the probe writes the pass's JSON
    and then prints ``SERVE_DONE <path>``; everything else it prints goes to ``log``."""

    def __init__(
        self,
        module: str,
        cmd: Sequence[str],
        *,
        checkout: Path,
        env: Mapping[str, str],
        tmp: Path,
        log: str | Path | None,
        timeout_s: int,
    ) -> None:
        self.module, self.checkout, self.tmp, self.log, self.timeout_s = module, checkout, tmp, log, timeout_s
        self.passes = 0
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            list(cmd),
            cwd=checkout,
            env=dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One pass of ``request`` (the probe's per-pass arguments); what the probe wrote for it."""
        self.passes += 1
        out = self.tmp / f"probe-{self.passes}.json"
        done = f"{SERVE_DONE} {out}"
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({**request, "out": str(out)}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the probe has exited: its output says why (below)
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                raise ProbeError(
                    f"preflight probe {self.module} in {self.checkout}: pass {self.passes} took over "
                    f"{self.timeout_s} s"
                ) from None
            if line is None:
                raise _probe_failed(self.module, self.checkout, self.proc.wait(), "".join(self.output))
            if line.rstrip("\n") == done:
                break
            self.output.append(line)
            if self.log is not None:
                with open(self.log, "a", encoding="utf-8") as fh:
                    fh.write(line)
        if not out.is_file():
            raise _probe_failed(self.module, self.checkout, self.proc.poll(), "".join(self.output))
        return json.loads(out.read_text(encoding="utf-8"))

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def probe_session(
    module: str,
    args: Sequence[str],
    *,
    checkout: Path,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
    log: str | Path | None = None,
    timeout_s: int = 3600,
    stand_ins: Mapping[str, Path] | None = None,
) -> Iterator[tuple[ProbeSession, list[str]]]:
    """:func:`run_probe` for several passes in one process: yields (the session, the stand-ins used).

    For a calibration whose passes differ only in per-pass arguments: the process imports upstream's modules
    (torch, transformers) once instead of once a pass. Same environment and stand-ins as :func:`run_probe`.
    """
    checkout = Path(checkout).absolute()
    with tempfile.TemporaryDirectory(prefix="sgt-preflight-") as tmp:
        probe_env, needed = _probe_env(python, checkout, env, Path(tmp), stand_ins)
        cmd = [python, "-m", module, *args, "--serve"]
        logger.info("preflight probe in %s: %s", checkout, " ".join(cmd))
        session = ProbeSession(
            module, cmd, checkout=checkout, env=probe_env, tmp=Path(tmp), log=log, timeout_s=timeout_s
        )
        try:
            yield session, needed
        finally:
            session.close()
