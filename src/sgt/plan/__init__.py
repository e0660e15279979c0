"""What the DAG plans, worked out once from the validated config and testable without Snakemake.

``workflow/rules/common.smk`` builds one :class:`Plan` (``prepare_config`` then ``Plan.from_config``) and its
rules read lists, wildcard patterns, input paths and resources from it. This package sits at the workflow
layer: it may import every ``sgt`` layer below it, and none of them imports it.
"""

from sgt.plan.config import keys_sorted, load_config, prepare_config
from sgt.plan.patterns import one_of
from sgt.plan.resources import STAGE_MIXES, Stage, grown, resources_for, threads_for
from sgt.plan.study import Plan, run_path

__all__ = [
    "STAGE_MIXES",
    "Plan",
    "Stage",
    "grown",
    "keys_sorted",
    "load_config",
    "one_of",
    "prepare_config",
    "resources_for",
    "run_path",
    "threads_for",
]
