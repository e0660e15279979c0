"""Benchmark images from a tuned cluster model, drawn by its checkout's own inference code (issue #22).

A backend draws a benchmark when a :class:`Drawer` is registered for the pair (backend name, benchmark):
``generate_run`` (run.py) and the generation rules look the drawer up here, so neither knows which model or
benchmark it runs and adding one is a registration, not another branch. A drawer parses its config section
once (``settings``), names the command that draws into a work folder kept across requeues (``launch``) and
moves that folder to the rule's output once it is complete (``publish``). ``needs`` names extra rule inputs
(a prompt checkout, a dataset cache) that common.smk maps to paths.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from sgt.io import atomic_write_text
from sgt.models.backend import Launch

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


def settings_record(settings: Any) -> dict[str, Any]:
    """A settings dataclass as a JSON-ready dict (``sgt_generation.json``)."""
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


# --- GenEval's folder layout, shared by every GenEval drawer ---


def prompt_count(prompts: Path) -> int:
    return sum(1 for line in Path(prompts).read_text(encoding="utf-8").splitlines() if line.strip())


def missing_samples(images: Path, prompts: Path, num_images: int) -> list[int]:
    """Prompt indices whose folder lacks its metadata or any of its ``num_images`` samples."""
    missing = []
    for idx in range(prompt_count(prompts)):
        folder = Path(images) / f"{idx:05}"
        pngs = [folder / "samples" / f"{k:05}.png" for k in range(num_images)]
        if not (folder / "metadata.jsonl").is_file() or not all(p.is_file() for p in pngs):
            missing.append(idx)
    return missing


def publish_folder(images: Path, out: Path, record: Mapping[str, Any]) -> None:
    """Write ``sgt_generation.json`` into a complete work folder, then move it to ``out``."""
    atomic_write_text(Path(images) / "sgt_generation.json", json.dumps(dict(record), indent=1))
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(images).rename(out)


def publish_geneval(
    images: Path, out: Path, prompts: Path, num_images: int, record: Mapping[str, Any]
) -> None:
    """Move a GenEval folder with every prompt's ``num_images`` samples to ``out``; refuse a partial one."""
    missing = missing_samples(images, prompts, num_images)
    if missing:
        raise RuntimeError(
            f"{images}: {len(missing)} prompts without all {num_images} samples "
            f"(first {missing[:5]}); it stopped early: rerun the job, it keeps the finished prompts"
        )
    publish_folder(images, out, {**record, "prompts": str(prompts)})
    logger.info("GenEval images (seed %s) -> %s", record.get("seed"), out)


# --- GEdit-Bench's folder layout (gen_images_gedit.py), shared by every GEdit drawer ---


def gedit_paths(images: Path, row: Mapping[str, Any]) -> tuple[Path, Path]:
    """``fullset/{task_type}/{instruction_language}/{key}.png`` and its ``{key}_SRCIMG.png``."""
    folder = Path(images) / "fullset" / row["task_type"] / row["instruction_language"]
    return folder / f"{row['key']}.png", folder / f"{row['key']}_SRCIMG.png"


def missing_gedit(images: Path, rows: list[Mapping[str, Any]]) -> list[str]:
    """Keys of index rows whose edited image or source image is not in ``images``."""
    return [r["key"] for r in rows if not all(p.is_file() for p in gedit_paths(images, r))]


def publish_gedit(images: Path, out: Path, rows: list[Mapping[str, Any]], record: Mapping[str, Any]) -> None:
    """Move a GEdit folder with every row's images to ``out``, with the root ``metadata.jsonl`` the judges
    read (key, task_type, instruction_language, instruction per line); refuse a partial one."""
    missing = missing_gedit(images, rows)
    if missing:
        raise RuntimeError(
            f"{images}: {len(missing)} of {len(rows)} GEdit items without their images "
            f"(first {missing[:5]}); "
            "it stopped early: rerun the job, it keeps the finished items"
        )
    keys = ("key", "task_type", "instruction_language", "instruction")
    lines = [json.dumps({k: r[k] for k in keys}, ensure_ascii=False) for r in rows]
    atomic_write_text(Path(images) / "metadata.jsonl", "\n".join(lines) + "\n")
    publish_folder(images, out, {**record, "items": len(rows)})
    logger.info("GEdit images (%d items) -> %s", len(rows), out)
