"""Backend registry: ``get_backend(name, **options)`` builds a backend from its ``models.<name>`` config."""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sgt.models.backend_interface import Backend, Launch
from sgt.models.backends.bagel import BagelBackend
from sgt.models.backends.omnigen2 import OmniGen2Backend

# the benchmark drawers register themselves (drawing.DRAWERS) on import
from sgt.models.backends import (  # noqa: E402,F401  isort: skip
    bagel_gedit,
    bagel_geneval,
    dpg_drawing,
    omnigen2_gedit,
    omnigen2_geneval,
)

logger = logging.getLogger(__name__)
launch_logger = logging.getLogger("sgt.launch")  # the launched command's own output
launch_logger.setLevel(logging.INFO)


class _Registry(Mapping[str, Callable[..., Backend]]):
    """Backend classes by name; an entry given as ``"module:Class"`` is imported on first use. The tiny
    UMM's backend trains with our own loop, so it lives in ``sgt.train``, a layer this one never imports."""

    def __init__(self, entries: Mapping[str, Callable[..., Backend] | str]) -> None:
        self._entries = dict(entries)

    def __getitem__(self, name: str) -> Callable[..., Backend]:
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = self._entries[name] = getattr(importlib.import_module(module), attr)
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


BACKENDS: Mapping[str, Callable[..., Backend]] = _Registry(
    {
        BagelBackend.name: BagelBackend,
        OmniGen2Backend.name: OmniGen2Backend,
        "tiny": "sgt.train.tiny_backend:TinyBackend",
    }
)
PATH_OPTIONS = frozenset({"checkout", "base", "model_path", "vae_path", "text_encoder_path"})


def backend_class(name: str) -> Callable[..., Backend]:
    """The registered class of backend ``name`` (its class attributes say what the workflow must provide)."""
    if name not in BACKENDS:
        raise KeyError(f"unknown backend {name!r} in models.*.backend; known: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name]


def get_backend(name: str, **options: Any) -> Backend:
    """The backend ``name`` built from its options; unknown names and options are config errors."""
    cls = backend_class(name)
    opts = {k: Path(v) if k in PATH_OPTIONS else v for k, v in options.items()}
    try:
        return cls(**opts)
    except TypeError as err:
        raise ValueError(f"backend {name!r}: bad options {sorted(options)} ({err})") from err


def _masked(line: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line


# torch.distributed's rendezvous variables: a launched program gets its own from torchrun/accelerate (or its
# defaults); inherited ones (a parent that trained in-process, a shell that ran torchrun) would make it join a
# process group that is not its own, on a port already taken.
DISTRIBUTED_ENV = frozenset(
    {"RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "MASTER_ADDR", "MASTER_PORT",
     "TORCHELASTIC_RUN_ID"}
)  # fmt: skip


def launch_env(launch: Launch) -> dict[str, str]:
    """The environment a launch runs in: ours without inherited rendezvous variables, plus the launch's."""
    return {k: v for k, v in os.environ.items() if k not in DISTRIBUTED_ENV} | dict(launch.env)


def run_launch(launch: Launch, log: str | Path) -> None:
    """Run ``launch`` in its folder with its environment added; its output goes line by line to ``log``.

    The lines pass through ``logging``, so a rule log already opened by ``setup_logging`` gets them through
    its one file handle (a second handle on the same file would overwrite them). On Ctrl-C / SIGTERM the
    child gets the signal too; we wait for it to save its checkpoint and exit before re-raising.
    """
    logger.info("launching in %s: %s", launch.cwd, " ".join(launch.argv))
    path = Path(log).absolute()
    handled = any(
        isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path
        for h in logging.getLogger().handlers
    )
    extra = None if handled else logging.FileHandler(path, mode="a", encoding="utf-8")
    if extra is not None:
        launch_logger.addHandler(extra)
    try:
        with subprocess.Popen(
            launch.argv,
            cwd=launch.cwd,
            env=launch_env(launch),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as proc:
            try:
                for line in proc.stdout or ():
                    launch_logger.info("%s", _masked(line.rstrip("\n"), launch.secrets))
            except KeyboardInterrupt:
                proc.wait()
                raise
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, launch.argv)
    finally:
        if extra is not None:
            launch_logger.removeHandler(extra)
            extra.close()


__all__ = [
    "BACKENDS",
    "DISTRIBUTED_ENV",
    "BagelBackend",
    "OmniGen2Backend",
    "backend_class",
    "get_backend",
    "launch_env",
    "run_launch",
]
