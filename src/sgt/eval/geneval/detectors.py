"""Pluggable object detectors for GenEval: the rules need labelled, scored, coloured pixel boxes, not a model.

A detector is any object with ``detect(image) -> list[{"label", "score", "box", "color"}]``; it returns every
detection it has (the GenEval rules apply the score thresholds). Detectors register a factory by name, so the
toy-world detector and the real Mask2Former + CLIP one are picked from config without if-chains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypedDict, runtime_checkable

import numpy as np
import numpy.typing as npt


class DetectionDict(TypedDict):
    label: str
    score: float
    box: list[float]  # [x1, y1, x2, y2] in pixels
    color: (
        str | None
    )  # one of sgt.eval.geneval.rules.COLORS, or None when the detector does not classify colour


@runtime_checkable
class Detector(Protocol):
    def detect(self, image: npt.NDArray[np.uint8]) -> list[DetectionDict]:
        """All detections in an HxWx3 uint8 RGB image, in pixel coordinates."""
        ...


DetectorFactory = Callable[..., Detector]
DETECTORS: dict[str, DetectorFactory] = {}
# Built-in detectors register when their module is imported; importing on demand keeps torch/transformers
# out of processes that never detect.
BUILTIN_MODULES = {
    "toyworld": "sgt.eval.geneval.toy_detector",
    "mask2former_clip": "sgt.eval.geneval.hf_detector",
}


def register_detector(name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Register a detector factory (a class or function taking config kwargs) under ``name``."""

    def deco(factory: DetectorFactory) -> DetectorFactory:
        if name in DETECTORS and DETECTORS[name] is not factory:
            raise ValueError(f"detector {name!r} registered twice")
        DETECTORS[name] = factory
        return factory

    return deco


def build_detector(name: str, **kwargs: Any) -> Detector:
    """The detector registered as ``name`` built with config ``kwargs``; unknown names list the known ones."""
    if name not in DETECTORS and name in BUILTIN_MODULES:
        import importlib

        importlib.import_module(BUILTIN_MODULES[name])
    if name not in DETECTORS:
        known = sorted(set(DETECTORS) | set(BUILTIN_MODULES))
        raise KeyError(f"unknown detector {name!r} in eval.geneval.detector; known: {known}")
    det = DETECTORS[name](**kwargs)
    if not isinstance(det, Detector):
        raise TypeError(f"detector {name!r} built {type(det).__name__}, which has no detect(image) method")
    return det
