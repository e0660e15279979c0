# Config validation and the plan (sgt.plan: every list, pattern and path, unit-tested without Snakemake), plus
# what must live on Snakemake's side: wildcard constraints, the rules' thin helpers and signature caching.
import os
from pathlib import Path

from sgt.plan import Plan, grown, one_of, prepare_config, run_path
from sgt.plan.study import GENEVAL_METADATA

REPO = Path(workflow.main_snakefile).parent

# validated against workflow/schemas/config.schema.yaml (defaults filled in), repo paths resolved, checked
prepare_config(config, REPO)
PLAN = Plan.from_config(config)
resources_for = PLAN.resources_for  # resources: **resources_for("eval")
threads_for = PLAN.threads_for  # threads: threads_for("eval")


def setting(path):
    """The config value at a slash path, as ``lookup(dpath=path, within=config)`` gives it.

    lookup walks the whole config on every call; with about a hundred calls at parse time that was a tenth
    of the paper study's dry run (benchmarks/dry_run.py). The validated config has every key it asks for.
    """
    node = config
    for key in path.split("/"):
        node = node[key]
    return node


wildcard_constraints:
    task=one_of(PLAN.tasks),
    model=one_of(PLAN.models),
    variant=one_of(PLAN.variants),
    shard=r"\d{3}",
    seed=r"\d+",
    stage="targets|eval_targets",
    bench=one_of(PLAN.benchmarks),
    split=one_of([PLAN.train_split, PLAN.eval_split]),
    estimator=one_of(PLAN.estimators),


def reference_dir(wildcards, input):
    """The folder of the published tables, taken from the rule's input (no hard-coded prefix)."""
    return os.path.dirname(input.reference[0])


def cache_function_signatures(rules):
    """Record each input, params and resources function's signature on it, once.

    Snakemake inspects a function's signature every time it calls it, for every job: a sixth of the paper
    study's dry run (benchmarks/dry_run.py). It reads a recorded one instead (``overwrite_function_params``).
    A bound method of the plan keeps it on its function (one plan per run), with the bound signature.
    """
    import inspect

    from snakemake.common import overwrite_function_params

    for spec in rules:
        values = [*spec.input, *spec.params, *(spec.resources or {}).values()]
        for value in values:
            func = getattr(getattr(value, "_file", value), "callable", None) or value
            if callable(func) and not isinstance(func, type):
                target = getattr(func, "__func__", func)
                overwrite_function_params(target, inspect.signature(func).parameters)
