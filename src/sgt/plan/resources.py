"""Per-stage job resources: threads, memory and runtime (grown on each retry) and GPUs.

A stage is a ``resources.<stage>`` key of the config, or one of :data:`STAGE_MIXES`: jobs that take their
resources from more than one stage (a checkout: download's threads and GPUs with data's memory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """Where each resource comes from: a ``resources.<stage>`` name, or a fixed number."""

    threads: str | int
    memory: str  # mem_mb and runtime, both grown on each retry
    gpu: str | int


STAGE_MIXES: dict[str, Stage] = {
    # a clone or a hub download: a CPU node with internet, sized like a data job
    "checkout": Stage(threads="download", memory="data", gpu="download"),
    # the LLaVA-OneVision VQA file: one data thread, the download's memory (it reads every subset)
    "llava_vqa": Stage(threads="data", memory="download", gpu="download"),
    # the tiny random depth checkpoints: never on a GPU
    "depth_models": Stage(threads="depth", memory="depth", gpu=0),
    # random weights: one thread, no GPU, an eval job's memory
    "untrained": Stage(threads=1, memory="eval", gpu=0),
}


def grown(base: int, attempt: int, factor: float = 1.5) -> int:
    """``base`` grown on each retry (out of memory, time limit)."""
    return int(base * factor ** (attempt - 1))


def _grow(base: int) -> Callable[[Any, int], int]:
    return lambda wildcards, attempt: grown(base, attempt)


def _stage(resources: Mapping[str, Mapping[str, int]], name: str) -> Stage:
    if name in STAGE_MIXES:
        return STAGE_MIXES[name]
    if name in resources:
        return Stage(threads=name, memory=name, gpu=name)
    raise KeyError(
        f"unknown resource stage {name!r}: use one of {sorted(resources)} or {sorted(STAGE_MIXES)}, "
        "or add it to resources in workflow/schemas/config.schema.yaml (or to sgt.plan.resources.STAGE_MIXES)"
    )


def _value(resources: Mapping[str, Mapping[str, int]], source: str | int, key: str) -> int:
    return source if isinstance(source, int) else resources[source][key]


def threads_for(resources: Mapping[str, Mapping[str, int]], stage: str) -> int:
    """A job's threads for ``stage`` (``resources`` is the config's ``resources`` section)."""
    return _value(resources, _stage(resources, stage).threads, "threads")


def resources_for(resources: Mapping[str, Mapping[str, int]], stage: str) -> dict[str, Any]:
    """A rule's ``resources:`` for ``stage``: mem_mb and runtime as functions of the attempt, and gpu."""
    spec = _stage(resources, stage)
    return {
        "mem_mb": _grow(resources[spec.memory]["mem_mb"]),
        "runtime": _grow(resources[spec.memory]["runtime"]),
        "gpu": _value(resources, spec.gpu, "gpu"),
    }
