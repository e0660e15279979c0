"""The ``depth`` config section: estimator entries to constructor arguments, and the checks run at start.

An entry ``depth.estimators.<name>`` is ``{kind: <registered estimator>, ...its options}``; ``tiny: true``
makes the workflow build a tiny random-weight checkpoint of that kind locally (``depth_models``) and point
``model`` at it, so the Hugging Face code path runs on a CPU without downloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OUR_KEYS = frozenset({"kind", "tiny"})


def tiny_model_dir(name: str) -> str:
    """Where ``depth_models`` saves estimator ``name``'s tiny checkpoint (relative to the workdir)."""
    return f"results/depth/models/{name}"


def estimator_args(name: str, entry: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(kind, constructor options)`` of entry ``depth.estimators.<name>``."""
    options = {k: v for k, v in entry.items() if k not in OUR_KEYS}
    if entry.get("tiny"):
        if "model" in options:
            raise ValueError(f"depth.estimators.{name}: give either 'model' or 'tiny: true', not both")
        options["model"] = tiny_model_dir(name)
    return str(entry["kind"]), options


def check_depth_config(depth: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` naming the key when the depth section is inconsistent."""
    from sgt.depth.registry import make_estimator
    from sgt.depth.tiny import KINDS

    estimators = depth["estimators"]
    for key in ("target", "reference"):
        if depth[key] not in estimators:
            raise ValueError(
                f"depth.{key}: {depth[key]!r} is not in depth.estimators ({', '.join(sorted(estimators))})"
            )
    if depth["target"] == depth["reference"]:
        raise ValueError("depth.target and depth.reference name the same estimator: nothing to compare")
    for name in depth["also_estimate"]:
        if name not in estimators:
            raise ValueError(f"depth.also_estimate: {name!r} is not in depth.estimators")
    for name, entry in estimators.items():
        if entry.get("tiny") and entry["kind"] not in KINDS:
            raise ValueError(f"depth.estimators.{name}.tiny: only {', '.join(KINDS)} have tiny models")
        kind, options = estimator_args(name, entry)
        try:
            make_estimator(kind, options)
        except KeyError as err:
            raise ValueError(f"depth.estimators.{name}.kind: {err.args[0]}") from None
        except ValueError as err:
            raise ValueError(f"depth.estimators.{name}: {err}") from None
