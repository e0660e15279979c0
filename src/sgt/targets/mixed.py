"""The ``mixed`` proxy task (Table 6): each image goes to one member task, chosen from the image's own seed.

The paper splits 20k pairs equally among panoptic segmentation, reconstruction and edge detection. A seeded
per-image choice with equal weights gives that split in expectation (about 6,667 +- 67 each at 20k) while
keeping every pair independent of sharding and order. The pair records its member (``Pair.made_by``) and the
member's seed, so it can be remade with ``TASKS[member].pair(sample, default_rng(member_seed), **params)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sgt.data.records import Sample
from sgt.targets.registry import Pair, effective_params, register, resolve_task, task_params

DEFAULT_MEMBERS = ("panoptic", "reconstruction", "edge")


@register("mixed", level="mixed", needs=("instances", "panoptic"))
def mixed(
    sample: Sample,
    rng: np.random.Generator,
    *,
    members: Sequence[str] = DEFAULT_MEMBERS,
    weights: Sequence[float] | None = None,
    member_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> Pair:
    """Draw a member (by ``weights``, equal by default) and let it make the pair; ``member_params.<name>`` is
    that member's config entry (its parameters and optional ``instructions``)."""
    if not members:
        raise ValueError("targets.tasks.mixed.members: give at least one task name")
    if "mixed" in members:
        raise ValueError("targets.tasks.mixed.members: a mixed task cannot contain itself")
    p = np.full(len(members), 1.0 / len(members)) if weights is None else np.asarray(weights, float)
    if p.shape != (len(members),) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(
            f"targets.tasks.mixed.weights: need {len(members)} non-negative weights, got {weights}"
        )
    name = str(members[int(rng.choice(len(members), p=p / p.sum()))])
    entry = dict((member_params or {}).get(name) or {})
    task = resolve_task(name, entry)
    params = task_params(task, entry)
    member_seed = int(rng.integers(2**63))
    made = task.pair(sample, np.random.default_rng(member_seed), **params)
    drawn = {
        "member": name,
        "member_seed": member_seed,
        "member_params": effective_params(task, params),
        "member_drawn": dict(made.drawn),
    }
    return Pair(made.condition, made.target, drawn, made_by=name)
