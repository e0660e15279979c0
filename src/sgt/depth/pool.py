"""The depth filter's candidate pool: the shared subset first, then reserve images from the same order.

Every task trains on the first N usable images of one seeded order of the split (``sgt.data.subset``). The
depth filter must start from that same selection (so the depth task shares > 95 % of its images with the
others, appendix 7.1) and draw replacements from what follows it. The pool is therefore the shared subset
in its order, then the next ``n_reserve`` images of the order. Both depth estimators run on the whole pool
(sharded for GPU jobs), because a replacement must be judged like any other image. Reserve images are not
test-decoded here; an unreadable one gets no estimate and the filter records it as ``missing_estimate``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sgt.data.subset import pool_order, read_manifest
from sgt.io import atomic_write_json, read_json

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pool:
    split: str
    n_needed: int  # images the filtered task needs: the shared subset's size
    image_ids: tuple[int, ...]  # shared subset first, then reserve, in the shared order
    shards: tuple[tuple[int, ...], ...]  # estimation shards (trailing ones empty when the split is short)


def build_pool(
    root: str | Path,
    split: str,
    subset_manifest: str | Path,
    *,
    group: str,
    n_reserve: int,
    n_shards: int,
    shard_size: int,
    seed: int,
) -> Pool:
    """The pool of ``split``: ``group``'s images from ``subset_manifest``, then up to ``n_reserve`` more."""
    from sgt.data.coco import CocoDataset

    selection = read_manifest(subset_manifest)
    if group not in selection.tasks:
        raise KeyError(f"{subset_manifest}: no subset group {group!r}; rerun the subset rule")
    shared = list(selection.tasks[group].image_ids)
    order = pool_order(CocoDataset(root, split).image_ids(), seed, split)
    corrupt = set(selection.corrupt)
    scanned = len(shared) + len(corrupt)
    if [i for i in order[:scanned] if i not in corrupt] != shared:
        raise ValueError(
            f"{subset_manifest}: its {group!r} images are not the first usable ones of {split}'s seeded "
            f"order (seed {seed}); it was made from another root or seed: delete it and rerun"
        )
    reserve = order[scanned : scanned + n_reserve]
    if len(reserve) < n_reserve:
        logger.warning(
            "%s has %d images: the depth pool gets %d reserve images, not %d (depth.reserve_fraction)",
            split,
            len(order),
            len(reserve),
            n_reserve,
        )
    ids = shared + reserve
    if len(ids) > n_shards * shard_size:
        raise ValueError(f"{len(ids)} pool images do not fit {n_shards} shards of {shard_size}")
    shards = tuple(tuple(ids[k * shard_size : (k + 1) * shard_size]) for k in range(n_shards))
    return Pool(split, len(shared), tuple(ids), shards)


def write_pool(pool: Pool, out: str | Path) -> None:
    atomic_write_json(
        out,
        {
            "split": pool.split,
            "n_needed": pool.n_needed,
            "image_ids": list(pool.image_ids),
            "shards": [list(s) for s in pool.shards],
        },
    )
    logger.info(
        "%s: %d pool images (%d needed, %d reserve) in %d shards",
        out,
        len(pool.image_ids),
        pool.n_needed,
        len(pool.image_ids) - pool.n_needed,
        len(pool.shards),
    )


def read_pool(path: str | Path) -> Pool:
    data = read_json(path)
    try:
        return Pool(
            str(data["split"]),
            int(data["n_needed"]),
            tuple(int(i) for i in data["image_ids"]),
            tuple(tuple(int(i) for i in s) for s in data["shards"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path}: not a depth pool ({err}); rerun depth_pool") from err


def pool_shard_ids(path: str | Path, shard: int) -> list[int]:
    """The images of one estimation shard."""
    shards = read_pool(path).shards
    if not 0 <= shard < len(shards):
        raise IndexError(f"{path}: the depth pool has shards 0..{len(shards) - 1}, not {shard}")
    return list(shards[shard])
