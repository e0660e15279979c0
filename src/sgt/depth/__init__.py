"""Depth estimation and the depth-consistency filter (appendix 7.1); importing registers the estimators.

Pipeline: ``estimate_shard`` per (estimator, shard) -> npz stores (``store``) -> ``filter_depth``
(kept/discarded table, replacements) -> the ``depth`` task reads the kept Depth Anything V2 map
via ``attach_depth``.
"""

from importlib import import_module
from typing import Any

from sgt.depth import groundtruth, hf  # noqa: F401  (registration side effects)
from sgt.depth.registry import ESTIMATORS, DepthEstimator, make_estimator, register_estimator

# The rest loads on first use: the workflow checks the depth config while it plans, and importing the filter
# and the estimator loop (pyarrow, tqdm) cost a twentieth of the paper study's dry run.
_LAZY = {
    "Comparison": "align",
    "compare_maps": "align",
    "fit_scale_shift": "align",
    "estimate_shard": "estimate",
    "FilterSummary": "filter",
    "PoolExhaustedError": "filter",
    "filter_depth": "filter",
    "kept_ids": "filter",
    "DepthStore": "store",
    "StoreWriter": "store",
    "attach_depth": "store",
    "build_tiny_random": "tiny",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"sgt.depth.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'sgt.depth' has no attribute {name!r}")


__all__ = [
    "ESTIMATORS",
    "Comparison",
    "DepthEstimator",
    "DepthStore",
    "FilterSummary",
    "PoolExhaustedError",
    "StoreWriter",
    "attach_depth",
    "build_tiny_random",
    "compare_maps",
    "estimate_shard",
    "filter_depth",
    "fit_scale_shift",
    "kept_ids",
    "make_estimator",
    "register_estimator",
]
