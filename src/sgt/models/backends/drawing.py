"""Benchmark images from a tuned cluster model, drawn by its checkout's own inference code (issue #22).

A backend draws a benchmark when a :class:`Drawer` is registered for the pair (backend name, benchmark):
``generate_run`` (run.py) and the generation rules look the drawer up here, so neither knows which model or
benchmark it runs and adding one is a registration, not another branch. The output layouts the scorers
read are in :mod:`.layouts`. A drawer parses its config section
once (``settings``), names the command that draws into a work folder kept across requeues (``launch``) and
moves that folder to the rule's output once it is complete (``publish``). ``needs`` names extra rule inputs
(a prompt checkout, a dataset cache) that sgt.plan maps to paths.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from sgt.io import atomic_write_text
from sgt.models.backend_interface import Launch

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """One generation job: the model folder the upstream code loads, the work folder it draws into,
    the generation seed (None where the benchmark has no seed wildcard and the drawer's settings hold it),
    the job's GPUs and the extra inputs the drawer ``needs`` (name -> path)."""

    model: Path
    images: Path
    seed: int | None
    gpus: int
    inputs: Mapping[str, Path] = field(default_factory=dict)

    def input(self, name: str) -> Path:
        if name not in self.inputs:
            raise KeyError(f"generation job lacks input {name!r} (has {sorted(self.inputs)}): a rule bug")
        return Path(self.inputs[name]).absolute()


class Drawer(Protocol):
    """What one (backend, benchmark) pair implements."""

    needs: ClassVar[tuple[str, ...]]

    def settings(self, cfg: Mapping[str, Any]) -> Any:
        """The typed settings of ``eval.cluster_<benchmark>.<backend>``; unknown keys are named."""

    def launch(self, backend: Any, job: Job, settings: Any) -> Launch:
        """The command that draws (and resumes drawing) into ``job.images``."""

    def publish(self, backend: Any, job: Job, settings: Any, out: Path) -> None:
        """Move a complete ``job.images`` to ``out``; refuse an incomplete one, naming what is missing."""


DRAWERS: dict[tuple[str, str], Drawer] = {}
D = TypeVar("D")


def register(backend: str, benchmark: str) -> Callable[[type[D]], type[D]]:
    """Class decorator: instances of the class draw ``benchmark`` for ``backend``."""

    def deco(cls: type[D]) -> type[D]:
        if (backend, benchmark) in DRAWERS:
            raise ValueError(f"drawer for {backend}/{benchmark} registered twice")
        DRAWERS[(backend, benchmark)] = cls()  # type: ignore[assignment]
        return cls

    return deco


def drawer(backend: str, benchmark: str) -> Drawer:
    """The drawer of ``benchmark`` for ``backend``; a missing one names what the backend can draw."""
    found = DRAWERS.get((backend, benchmark))
    if found is None:
        raise KeyError(
            f"backend {backend!r} draws no {benchmark!r} images; "
            f"it draws {drawn_benchmarks(backend) or 'none'}"
        )
    return found


def drawn_benchmarks(backend: str) -> list[str]:
    """The benchmarks ``backend`` has a drawer for (what the generation rules plan for its models)."""
    return sorted(b for (name, b) in DRAWERS if name == backend)


S = TypeVar("S")


def settings_from(cls: type[S], cfg: Mapping[str, Any], key: str) -> S:
    """``cls`` (a dataclass of settings) from a config section, naming unknown keys by their config path."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(cfg) - known)
    if unknown:
        raise KeyError(f"{key}: unknown keys {unknown}; known: {sorted(known)}")
    return cls(**cfg)


def single_node_torchrun(gpus: int) -> list[str]:
    """torchrun's flags for one node: ``--standalone`` takes a free rendezvous port, so generation jobs that
    SLURM packs onto one node (one GPU each) never collide on a fixed master port."""
    return ["torchrun", "--standalone", "--nnodes=1", f"--nproc_per_node={max(gpus, 1)}"]


def settings_record(settings: Any) -> dict[str, Any]:
    """A settings dataclass as a JSON-ready dict (``sgt_generation.json``)."""
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


def write_entry(images: Path, name: str, template: str) -> tuple[Path, Path]:
    """Write a drawer's generated entry script beside its work folder, where a requeued job finds it again.

    Returns (the work folder, absolute; the script's path).
    """
    images = Path(images).absolute()
    entry = images.parent / name
    atomic_write_text(entry, template)
    return images, entry
