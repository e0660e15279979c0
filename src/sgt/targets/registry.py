"""The proxy-task registry: a task is a decorated function ``(sample, rng, **params) -> (condition, target)``.

A task whose recipe draws random values (a blur angle, a down-sampling factor) returns them as a third value,
``(condition, target, drawn)``, so every shard row records the recipe actually applied; ``Task.pair`` turns
either form into a ``Pair``.

Adding a task takes that function and one config entry under ``targets.tasks``; a task may also live outside
this package and be named by module path (``mypkg.tasks:saliency``) in its config entry's ``function`` key.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from sgt.data.records import Image, Sample

Level = Literal["high", "mid", "low", "mixed"]
MakeFn = Callable[..., "tuple[Image, Image] | tuple[Image, Image, Mapping[str, Any]] | Pair"]
LEVELS: tuple[str, ...] = ("high", "mid", "low", "mixed")
# Config keys of a task entry that are ours, not the function's keyword arguments.
RESERVED_KEYS = frozenset({"function", "level", "instructions", "needs"})


@dataclass(frozen=True, slots=True)
class Pair:
    """One made pair: ``drawn`` holds the random recipe values (JSON-able); ``made_by`` the task that made it
    when it is not the task that was asked for (a ``mixed`` task delegates to one of its members)."""

    condition: Image = field(repr=False)
    target: Image = field(repr=False)
    drawn: Mapping[str, Any] = field(default_factory=dict)
    made_by: str | None = None


@dataclass(frozen=True, slots=True)
class Task:
    name: str
    level: str
    make: MakeFn
    needs: tuple[str, ...] = ()  # annotations the recipe reads: "instances", "panoptic", "depth"

    def __call__(self, sample: Sample, rng: np.random.Generator, **params: Any) -> Any:
        """The function's own result (two or three values, or a ``Pair``); see ``pair`` for one type."""
        return self.make(sample, rng, **params)

    def pair(self, sample: Sample, rng: np.random.Generator, **params: Any) -> Pair:
        """Run the recipe and return a ``Pair`` whatever form the function returned."""
        out = self.make(sample, rng, **params)
        if isinstance(out, Pair):
            return out
        if isinstance(out, tuple) and len(out) == 2:
            return Pair(out[0], out[1])
        if isinstance(out, tuple) and len(out) == 3 and isinstance(out[2], Mapping):
            return Pair(out[0], out[1], dict(out[2]))
        raise TypeError(
            f"task {self.name!r} returned {type(out).__name__}; return (condition, target), "
            "(condition, target, drawn) or a Pair"
        )


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


def effective_params(task: Task, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` completed with the function's keyword defaults: what the recipe really ran with."""
    sig = inspect.signature(task.make)
    full = {
        n: p.default
        for n, p in sig.parameters.items()
        if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
    }
    full.update(params)
    return full


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
