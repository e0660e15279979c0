"""Registry plumbing: pairs from two- or three-value tasks, effective parameters, config errors."""

from __future__ import annotations

import numpy as np
import pytest

from sgt.data.records import Sample
from sgt.seeding import rng_for
from sgt.targets import TASKS, resolve_task, task_params
from sgt.targets.instructions import DEFAULT_INSTRUCTIONS, instructions_for
from sgt.targets.registry import Pair, Task, effective_params


def test_every_paper_task_is_registered_with_its_level() -> None:
    levels = {name: task.level for name, task in TASKS.items()}
    expected = {
        "semantic": "high",
        "instance": "high",
        "panoptic": "high",
        "detection": "high",
        "inpainting": "mid",
        "edge": "low",
        "reconstruction": "low",
        "derain_dehaze": "low",
        "denoise_deblur_enhance": "low",
        "isr": "low",
        "mixed": "mixed",
    }
    assert {k: levels.get(k) for k in expected} == expected


def test_every_task_has_default_instructions() -> None:
    for name in TASKS:
        if name != "mixed":
            assert len(DEFAULT_INSTRUCTIONS[name]) >= 3, name


def test_instructions_override_and_validation() -> None:
    assert instructions_for("edge", {"instructions": ["Edges!"]}) == ("Edges!",)
    assert instructions_for("edge", {}) == DEFAULT_INSTRUCTIONS["edge"]
    with pytest.raises(ValueError, match="list of strings"):
        instructions_for("edge", {"instructions": "Edges!"})


def test_pair_normalises_two_and_three_values(samples: list[Sample]) -> None:
    two = TASKS["edge"].pair(samples[0], rng_for(0, "edge", 1))
    three = TASKS["isr"].pair(samples[0], rng_for(0, "isr", 1))
    assert isinstance(two, Pair) and two.drawn == {} and two.made_by is None
    assert set(three.drawn) == {"factor"}
    bad = Task("bad", "low", lambda s, r: s.image)
    with pytest.raises(TypeError, match="return"):
        bad.pair(samples[0], np.random.default_rng(0))


def test_effective_params_fill_defaults_and_reject_unknown_keys() -> None:
    task = resolve_task("isr")
    assert effective_params(task, {"factors": [2]}) == {"factors": [2], "down_interpolation": "area"}
    assert task_params(task, {"factors": [2], "instructions": ["x"]}) == {"factors": [2]}
    with pytest.raises(ValueError, match="unknown parameter"):
        task_params(task, {"factor": 2})
