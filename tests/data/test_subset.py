"""Subset selection: seeded, shared across tasks, filters replace from the same order, never shrinks."""

from __future__ import annotations

import logging

import pytest

from sgt.data.images import CorruptImageError
from sgt.data.subset import (
    SubsetError,
    pool_order,
    read_manifest,
    select,
    shard_count,
    shard_image_ids,
    write_manifest,
)

POOL = list(range(1000, 1400))


def test_same_seed_same_sets_and_unfiltered_tasks_are_identical():
    sizes = {"edge": 100, "panoptic": 100, "depth": 100}
    a = select(POOL, sizes, seed=3, shard_size=32)
    b = select(reversed(POOL), sizes, seed=3, shard_size=32)  # listing order does not matter
    assert a == b
    assert a.tasks["edge"].image_ids == a.tasks["panoptic"].image_ids
    assert a.min_overlap == 1.0
    assert [len(s) for s in a.tasks["edge"].shards] == [32, 32, 32, 4] and shard_count(100, 32) == 4
    c = select(POOL, sizes, seed=4, shard_size=32)
    assert c.tasks["edge"].image_ids != a.tasks["edge"].image_ids
    assert set(a.tasks["edge"].image_ids) <= set(POOL)


def test_filtered_task_draws_replacements_from_the_shared_order():
    order = pool_order(POOL, 0)
    rejected = set(order[:200:50])  # the depth filter drops 4 of the first 200
    sel = select(POOL, {"depth": 200, "edge": 200}, seed=0, shard_size=50, exclude={"depth": rejected})
    depth, edge = sel.tasks["depth"].image_ids, sel.tasks["edge"].image_ids
    assert edge == tuple(order[:200])
    assert len(depth) == 200 and not rejected & set(depth)
    assert depth == tuple(i for i in order[:204] if i not in rejected)  # the next four replace them
    assert sel.overlap["depth|edge"] == pytest.approx(196 / 200) and sel.min_overlap > 0.95
    assert sel.tasks["depth"].excluded == 4
    with pytest.raises(SubsetError, match="depth and edge share only 98.00%"):
        select(
            POOL,
            {"depth": 200, "edge": 200},
            seed=0,
            shard_size=50,
            exclude={"depth": rejected},
            min_overlap=0.99,
        )


def test_corrupt_images_are_skipped_counted_and_replaced(caplog):
    order = pool_order(POOL, 1)
    bad = {order[2], order[7]}
    calls: list[int] = []

    def readable(image_id: int) -> None:
        calls.append(image_id)
        if image_id in bad:
            raise CorruptImageError(f"{image_id}.jpg: cannot decode image")

    with caplog.at_level(logging.INFO, logger="sgt.data.subset"):
        sel = select(POOL, {"a": 10, "b": 5}, seed=1, shard_size=4, readable=readable)
    assert sel.tasks["a"].image_ids == tuple(i for i in order[:12] if i not in bad)
    assert sel.corrupt == tuple(sorted(bad))
    assert len(calls) == len(set(calls)) == 12  # each image checked once, for all tasks
    assert "2 unreadable skipped" in caplog.text


def test_pool_running_dry_fails_clearly():
    def readable(image_id: int) -> None:
        if image_id % 2:
            raise CorruptImageError("bad")

    with pytest.raises(SubsetError, match=r"needs 300 images .* only 200 usable \(200 unreadable"):
        select(POOL, {"edge": 300}, seed=0, shard_size=10, readable=readable)


def test_other_errors_are_not_mistaken_for_corrupt_images():
    def readable(image_id: int) -> None:
        raise PermissionError("no access")

    with pytest.raises(PermissionError):
        select(POOL, {"edge": 3}, seed=0, shard_size=10, readable=readable)


def test_manifest_round_trip(tmp_path):
    sel = select(
        POOL, {"edge": 70, "seg": 70}, seed=5, shard_size=32, exclude={"seg": {pool_order(POOL, 5)[0]}}
    )
    write_manifest(sel, tmp_path / "subset.json")
    assert read_manifest(tmp_path / "subset.json") == sel
    assert shard_image_ids(tmp_path / "subset.json", "seg", 2) == list(sel.tasks["seg"].shards[2])
    with pytest.raises(IndexError, match="0..2"):
        shard_image_ids(tmp_path / "subset.json", "seg", 3)
