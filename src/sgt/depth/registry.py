"""Depth estimators by name, so config picks them: ``depth.estimators.<name>: {...}`` (like proxy tasks)."""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from sgt.data.records import Sample

DepthMap = npt.NDArray[np.float32]


class DepthEstimator(abc.ABC):
    """Maps images to per-pixel depth or disparity of the input's size; ``space`` says which."""

    needs_depth: ClassVar[bool] = False  # reads Sample.depth (the toy world's exact depth)
    batch_size: int = 1

    @property
    @abc.abstractmethod
    def space(self) -> str:
        """``disparity`` (relative inverse depth, larger is nearer) or ``depth`` (larger is farther)."""

    @abc.abstractmethod
    def estimate(self, samples: Sequence[Sample]) -> list[DepthMap]:
        """One H x W float32 map per sample, H and W those of ``sample.image``."""


ESTIMATORS: dict[str, type[DepthEstimator]] = {}


def register_estimator(name: str) -> Callable[[type[DepthEstimator]], type[DepthEstimator]]:
    def deco(cls: type[DepthEstimator]) -> type[DepthEstimator]:
        if name in ESTIMATORS and ESTIMATORS[name] is not cls:
            raise ValueError(f"depth estimator {name!r} registered twice")
        ESTIMATORS[name] = cls
        return cls

    return deco


def make_estimator(name: str, cfg: Mapping[str, Any] | None = None, *, seed: int = 0) -> DepthEstimator:
    """Build estimator ``name`` from its config entry; unknown names and keys are config errors."""
    import sgt.depth  # noqa: F401  (registers the built-in estimators)

    cls = ESTIMATORS.get(name)
    if cls is None:
        raise KeyError(f"unknown depth estimator {name!r}; known: {', '.join(sorted(ESTIMATORS))}")
    params = dict(cfg or {})
    sig = inspect.signature(cls.__init__)
    allowed = [n for n in list(sig.parameters)[1:] if n != "seed"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"depth.estimators.{name}: unknown key(s) {unknown}; {name} takes {allowed}")
    if "seed" in sig.parameters:
        params["seed"] = seed
    return cls(**params)
