"""Which images each proxy task trains on: one seeded order of the pool, shared by every task.

The paper compares tasks on > 95 % the same images (appendix 7.1): each task takes the first N usable images
of one shared order, so two unfiltered tasks of equal size get identical sets. A task with a filter (the depth
task drops images where two depth models disagree) passes over the images its filter rejects and takes the
next ones of the same order, so it differs from the others by exactly the images it rejected. Unreadable
images (``CorruptImageError``) are passed over for every task and counted; a set never shrinks silently,
and a pool too small for a task is an error.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgt.data.images import CorruptImageError
from sgt.io import atomic_write_json, read_json
from sgt.seeding import rng_for

logger = logging.getLogger(__name__)


class SubsetError(RuntimeError):
    """The pool cannot supply the requested subsets, or they overlap less than required."""


@dataclass(frozen=True, slots=True)
class TaskSubset:
    task: str
    shards: tuple[tuple[int, ...], ...]
    excluded: int  # pool images this task's filter rejected before its set was full

    @property
    def image_ids(self) -> tuple[int, ...]:
        return tuple(itertools.chain.from_iterable(self.shards))


@dataclass(frozen=True, slots=True)
class Selection:
    seed: int
    pool_size: int
    shard_size: int
    tasks: dict[str, TaskSubset]
    corrupt: tuple[int, ...]
    overlap: dict[str, float]  # "a|b" -> |A & B| / min(|A|, |B|)

    @property
    def min_overlap(self) -> float:
        return min(self.overlap.values(), default=1.0)


def shard_count(n: int, shard_size: int) -> int:
    """How many shards ``n`` images make (the DAG needs this before any image is read)."""
    if shard_size <= 0:
        raise ValueError(f"shard size must be positive, got {shard_size}")
    return math.ceil(n / shard_size)


def pool_order(pool: Iterable[int], seed: int, name: str = "pool") -> list[int]:
    """The shared order: a seeded permutation of the sorted pool (independent of listing order)."""
    ids = sorted(set(int(i) for i in pool))
    perm = rng_for(seed, "subset", name).permutation(len(ids))
    return [ids[k] for k in perm]


def pairwise_overlap(sets: Mapping[str, Collection[int]]) -> dict[str, float]:
    out = {}
    for a, b in itertools.combinations(sorted(sets), 2):
        denom = min(len(sets[a]), len(sets[b]))
        out[f"{a}|{b}"] = len(set(sets[a]) & set(sets[b])) / denom if denom else 1.0
    return out


def select(
    pool: Iterable[int],
    sizes: Mapping[str, int],
    *,
    seed: int,
    shard_size: int,
    readable: Callable[[int], object] | None = None,
    exclude: Mapping[str, Collection[int]] | None = None,
    min_overlap: float | None = None,
    pool_name: str = "pool",
) -> Selection:
    """Pick ``sizes[task]`` images per task from ``pool``.

    ``readable(image_id)`` (e.g. a dataset's ``load``) raises ``CorruptImageError`` for unusable images; it is
    called at most once per image. ``exclude[task]`` lists images the task's filter rejected.
    ``min_overlap`` fails the selection if any two tasks share less than that fraction.
    """
    exclude = exclude or {}
    unknown = set(exclude) - set(sizes)
    if unknown:
        raise KeyError(f"filters given for unknown task(s) {sorted(unknown)}; tasks: {sorted(sizes)}")
    order = pool_order(pool, seed, pool_name)
    verdict: dict[int, bool] = {}

    def usable(image_id: int) -> bool:
        if image_id not in verdict:
            try:
                if readable is not None:
                    readable(image_id)
                verdict[image_id] = True
            except CorruptImageError as err:
                logger.warning("skipping image %d: %s", image_id, err)
                verdict[image_id] = False
        return verdict[image_id]

    tasks: dict[str, TaskSubset] = {}
    for task in sorted(sizes):
        n, rejected = int(sizes[task]), set(exclude.get(task, ()))
        if n < 0:
            raise ValueError(f"task {task!r}: subset size must be non-negative, got {n}")
        chosen: list[int] = []
        passed_over = 0
        for image_id in order:
            if len(chosen) == n:
                break
            if image_id in rejected:
                passed_over += 1
            elif usable(image_id):
                chosen.append(image_id)
        if len(chosen) < n:
            n_corrupt = sum(not ok for ok in verdict.values())
            raise SubsetError(
                f"task {task!r} needs {n} images but the pool of {len(order)} has only {len(chosen)} usable "
                f"({n_corrupt} unreadable, {passed_over} rejected by its filter); add images to the pool "
                "(more SA-1B shards or another COCO split) or lower the task's image count"
            )
        shards = tuple(tuple(chosen[i : i + shard_size]) for i in range(0, n, shard_size))
        if len(shards) != shard_count(n, shard_size):  # pragma: no cover - arithmetic guard
            raise AssertionError("shard arithmetic")
        tasks[task] = TaskSubset(task, shards, passed_over)

    corrupt = tuple(sorted(i for i, ok in verdict.items() if not ok))
    overlap = pairwise_overlap({t: s.image_ids for t, s in tasks.items()})
    selection = Selection(seed, len(order), shard_size, tasks, corrupt, overlap)
    logger.info(
        "selected %s images for %d tasks from a pool of %d: %d unreadable skipped, min pairwise overlap %.4f",
        "/".join(str(sizes[t]) for t in sorted(sizes)),
        len(tasks),
        len(order),
        len(corrupt),
        selection.min_overlap,
    )
    if min_overlap is not None and selection.min_overlap < min_overlap:
        worst = min(overlap, key=overlap.__getitem__)
        raise SubsetError(
            f"tasks {worst.replace('|', ' and ')} share only {overlap[worst]:.2%} of their images, below the "
            f"required {min_overlap:.0%}: a filter rejects too many images; loosen it or lower "
            "data.subset.min_overlap"
        )
    return selection


def write_manifest(selection: Selection, path: str | Path) -> None:
    """The selection as JSON, with the measured overlap, for the target rules and the report."""
    atomic_write_json(
        path,
        {
            "seed": selection.seed,
            "pool_size": selection.pool_size,
            "shard_size": selection.shard_size,
            "corrupt": list(selection.corrupt),
            "overlap": selection.overlap,
            "min_pairwise_overlap": selection.min_overlap,
            "tasks": {
                t: {"n": len(s.image_ids), "excluded": s.excluded, "shards": [list(sh) for sh in s.shards]}
                for t, s in selection.tasks.items()
            },
        },
    )


def read_manifest(path: str | Path) -> Selection:
    data = read_json(path)
    try:
        tasks = {
            t: TaskSubset(t, tuple(tuple(int(i) for i in sh) for sh in v["shards"]), int(v["excluded"]))
            for t, v in data["tasks"].items()
        }
        return Selection(
            int(data["seed"]),
            int(data["pool_size"]),
            int(data["shard_size"]),
            tasks,
            tuple(int(i) for i in data["corrupt"]),
            {k: float(v) for k, v in data["overlap"].items()},
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a subset manifest ({err}); rerun the subset rule") from err


def shard_image_ids(manifest: str | Path, task: str, shard: int) -> list[int]:
    """The image ids of one task shard, as a target-synthesis job needs them."""
    selection = read_manifest(manifest)
    if task not in selection.tasks:
        raise KeyError(f"{manifest}: no task {task!r}; tasks: {sorted(selection.tasks)}")
    shards = selection.tasks[task].shards
    if not 0 <= shard < len(shards):
        raise IndexError(f"{manifest}: task {task!r} has shards 0..{len(shards) - 1}, not {shard}")
    return list(shards[shard])


def select_from_root(
    root: str | Path,
    split: str,
    sizes: Mapping[str, int],
    *,
    seed: int,
    shard_size: int,
    out: str | Path,
    min_overlap: float | None = None,
    source: str = "coco",
    options: Mapping[str, Any] | None = None,
) -> Selection:
    """Select every task's images from one split of a data root (any registered source) and write the
    manifest. Images are checked by decoding them alone, not their annotations."""
    from sgt.data.images import read_image
    from sgt.data.registry import open_dataset

    dataset = open_dataset(source, root, split, panoptic=False, **(options or {}))
    selection = select(
        dataset.image_ids(),
        sizes,
        seed=seed,
        shard_size=shard_size,
        readable=lambda image_id: read_image(dataset.image_path(image_id)),
        min_overlap=min_overlap,
        pool_name=split,
    )
    write_manifest(selection, out)
    return selection
