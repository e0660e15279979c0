"""The mixed task: a seeded per-image choice among panoptic, reconstruction and edge, recorded, remakeable."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from sgt.data.records import Sample
from sgt.seeding import rng_for
from sgt.targets import TASKS


def test_members_split_equally_and_are_recorded(samples: list[Sample]) -> None:
    sample = samples[0]
    made: Counter[str] = Counter()
    for image_id in range(300):
        pair = TASKS["mixed"].pair(sample, rng_for(0, "mixed", image_id))
        assert pair.made_by == pair.drawn["member"] in ("panoptic", "reconstruction", "edge")
        made[pair.made_by] += 1
    assert all(75 <= made[m] <= 125 for m in ("panoptic", "reconstruction", "edge")), made


def test_a_mixed_pair_is_remade_by_its_member(samples: list[Sample]) -> None:
    for sample in samples[:6]:
        pair = TASKS["mixed"].pair(sample, rng_for(3, "mixed", sample.image_id))
        member = TASKS[pair.made_by]
        again = member.pair(
            sample, np.random.default_rng(pair.drawn["member_seed"]), **pair.drawn["member_params"]
        )
        assert np.array_equal(again.condition, pair.condition) and np.array_equal(again.target, pair.target)
        assert dict(again.drawn) == pair.drawn["member_drawn"]


def test_weights_and_member_params(samples: list[Sample]) -> None:
    for image_id in range(20):
        pair = TASKS["mixed"].pair(
            samples[0],
            rng_for(0, "mixed", image_id),
            members=["edge", "isr"],
            weights=[0.0, 1.0],
            member_params={"isr": {"factors": [4]}},
        )
        assert pair.made_by == "isr" and pair.drawn["member_drawn"] == {"factor": 4}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"members": []}, "at least one"), ({"members": ["mixed"]}, "itself"), ({"weights": [1, 1]}, "weights")],
)
def test_bad_mixed_config_is_an_error(samples: list[Sample], kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TASKS["mixed"](samples[0], rng_for(0, "mixed", 1), **kwargs)
