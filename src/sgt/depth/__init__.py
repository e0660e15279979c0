"""Depth estimation and the depth-consistency filter (appendix 7.1); importing registers the estimators.

Pipeline: ``estimate_shard`` per (estimator, shard) -> npz stores (``store``) -> ``filter_depth``
(kept/discarded table, replacements) -> the ``depth`` task reads the kept Depth Anything V2 map
via ``attach_depth``.
"""

from sgt.depth import groundtruth, hf  # noqa: F401  (registration side effects)
from sgt.depth.align import Comparison, compare_maps, fit_scale_shift
from sgt.depth.estimate import estimate_shard
from sgt.depth.filter import FilterSummary, PoolExhaustedError, filter_depth, kept_ids
from sgt.depth.registry import ESTIMATORS, DepthEstimator, make_estimator, register_estimator
from sgt.depth.store import DepthStore, StoreWriter, attach_depth
from sgt.depth.tiny import build_tiny_random

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
