"""The proxy-task registry: a task is one decorated function ``(sample, rng, **params) -> (condition, target)``.

Adding a task takes that function and one config entry under ``targets.tasks``; a task may also live outside
this package and be named by module path (``mypkg.tasks:saliency``) in its config entry's ``function`` key.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sgt.data.records import Image, Sample

Level = Literal["high", "mid", "low", "mixed"]
MakeFn = Callable[..., tuple[Image, Image]]
LEVELS: tuple[str, ...] = ("high", "mid", "low", "mixed")
# Config keys of a task entry that are ours, not the function's keyword arguments.
RESERVED_KEYS = frozenset({"function", "level", "instructions", "needs"})


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    level: str
    make: MakeFn
    needs: tuple[str, ...] = ()  # annotations the recipe reads: "instances", "panoptic", "depth"

    def __call__(self, sample: Sample, rng: np.random.Generator, **params: Any) -> tuple[Image, Image]:
        return self.make(sample, rng, **params)


TASKS: dict[str, Task] = {}


def register(name: str, level: Level, needs: tuple[str, ...] = ()) -> Callable[[MakeFn], MakeFn]:
    """Register ``fn`` as proxy task ``name``; registering one name twice is a bug and raises."""
    if level not in LEVELS:
        raise ValueError(f"task {name!r}: level must be one of {LEVELS}, got {level!r}")

    def deco(fn: MakeFn) -> MakeFn:
        if name in TASKS and TASKS[name].make is not fn:
            raise ValueError(f"proxy task {name!r} registered twice")
        TASKS[name] = Task(name, level, fn, tuple(needs))
        return fn

    return deco


def _load_function(path: str) -> MakeFn:
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"task function {path!r}: write it as 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"task function {path!r}: cannot import {module_name!r} ({err})") from err
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"task function {path!r}: {module_name} has no callable {attr!r}")
    return fn


def resolve_task(name: str, entry: Mapping[str, Any] | None = None) -> Task:
    """The task for config entry ``targets.tasks.<name>``: a registered name, or a ``function`` path."""
    import sgt.targets  # noqa: F401  (registers the built-in tasks)

    entry = dict(entry or {})
    if "function" in entry:
        fn = _load_function(str(entry["function"]))
        registered = next((t for t in TASKS.values() if t.make is fn), None)
        if registered is not None:
            return Task(name, entry.get("level", registered.level), fn, registered.needs)
        return Task(name, entry.get("level", "high"), fn, tuple(entry.get("needs", ())))
    if name not in TASKS:
        known = ", ".join(sorted(TASKS))
        raise KeyError(
            f"unknown task {name!r} in targets.tasks; known: {known} "
            f"(or give the entry a 'function: package.module:function')"
        )
    return TASKS[name]


def task_params(task: Task, entry: Mapping[str, Any] | None) -> dict[str, Any]:
    """The keyword arguments for ``task.make`` from its config entry; unknown keys are config errors."""
    params = {k: v for k, v in dict(entry or {}).items() if k not in RESERVED_KEYS}
    sig = inspect.signature(task.make)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    allowed = [n for n, p in list(sig.parameters.items())[2:] if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(params) - set(allowed))
    if unknown and not accepts_any:
        raise ValueError(
            f"targets.tasks.{task.name}: unknown parameter(s) {unknown}; {task.name} takes {allowed}"
        )
    return params
