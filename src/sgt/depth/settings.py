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


def pool_capacity_problem(config: Mapping[str, Any]) -> str | None:
    """Why the depth filter cannot keep ``n_per_task`` images, when the config fixes the pool; else None.

    On the toy world everything that decides the pool is in the config: the split's size, the reserve, and
    which maps the ``ground_truth_noise`` estimators corrupt (a seeded draw per image id). A corrupted map
    of either estimator fails the filter (a few pass: study.yaml's first run kept 361 where this counts
    357), so about the pool's uncorrupted images are kept. Found while
    planning, not 33 minutes into a run (issue 27). On real data the filter's own error names the same keys.
    """
    import math

    from sgt.depth.corrupt import corruption_for

    depth, targets = config["depth"], config["targets"]
    if config["data"]["source"] != "toyworld" or not set(depth["filtered_tasks"]) & set(targets["tasks"]):
        return None
    toy = config["data"]["toyworld"]
    from sgt.data.toyworld import SPLIT_ID_OFFSET

    splits = {
        config["data"]["train_split"]: (
            toy["n_train"],
            targets["n_per_task"],
            "targets.n_per_task",
            "n_train",
        ),
    }
    if set(depth["filtered_tasks"]) & set(config["eval"]["generation_tasks"]):  # eval pairs are made too
        splits[config["data"]["eval_split"]] = (toy["n_val"], targets["eval_n"], "targets.eval_n", "n_val")
    corrupting = {
        name: float(depth["estimators"][name].get("corrupt_fraction", 0.0))
        for name in (depth["target"], depth["reference"])
        if depth["estimators"][name]["kind"] == "ground_truth_noise"
    }
    corrupting = {name: f for name, f in corrupting.items() if f > 0}
    for split, (n_images, needed, needed_key, size_key) in splits.items():
        pool = min(n_images, needed + math.ceil(needed * depth["reserve_fraction"]))
        ids = [SPLIT_ID_OFFSET.get(split, 0) + i + 1 for i in range(n_images)]
        bad = {
            i for i in ids for f in corrupting.values() if corruption_for(config["seed"], i, f) is not None
        }
        most = pool - max(0, len(bad) - (n_images - pool))
        if most < needed:
            fractions = ", ".join(
                f"depth.estimators.{n}.corrupt_fraction={f:g}" for n, f in corrupting.items()
            )
            return (
                f"depth filter on {split}: about {most} of the {pool} pool images can pass ({fractions} "
                f"corrupts {len(bad)} of data.toyworld.{size_key}={n_images}; pool = {needed_key} {needed} + "
                f"depth.reserve_fraction={depth['reserve_fraction']:g} reserve, capped by the split), below "
                f"{needed_key}={needed}: lower the corrupt_fraction or {needed_key}, or raise "
                f"data.toyworld.{size_key}"
            )
    return None
