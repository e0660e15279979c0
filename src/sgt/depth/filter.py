"""The depth-consistency filter: keep images whose two estimates agree, replace the rest from the pool.

The first ``n_needed`` pool images are the selection every task shares. Each is compared (``compare_maps``);
a discarded one is replaced by a seeded random draw from the rest of the ordered pool, itself compared
before it is kept, until ``n_needed`` images are kept. Draws never repeat and never return a discarded
image, so the kept set stays close to the shared selection (the paper keeps task overlap above 95%).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from sgt.depth.align import ABOVE_THRESHOLD, MISSING, OK, Comparison, compare_maps
from sgt.depth.store import DepthStore
from sgt.io import atomic_path, read_parquet
from sgt.seeding import rng_for

logger = logging.getLogger(__name__)

TABLE_SCHEMA = pa.schema(
    [
        ("image_id", pa.int64()),
        ("pool_rank", pa.int64()),
        ("role", pa.string()),  # "initial" (one of the first n_needed) or "replacement"
        ("kept", pa.bool_()),
        ("discrepancy", pa.float64()),  # AbsRel after alignment; inf when not comparable
        ("scale", pa.float64()),
        ("shift", pa.float64()),
        ("valid_fraction", pa.float64()),
        ("reason", pa.string()),
    ]
)


class PoolExhaustedError(RuntimeError):
    """Too many discards: the pool has no undrawn image left to replace them."""


@dataclass(frozen=True, slots=True)
class FilterSummary:
    n_needed: int
    n_kept: int
    n_evaluated: int
    n_discarded: int
    n_replacements: int
    overlap: float  # fraction of kept images that are in the shared initial selection
    threshold: float
    reasons: dict[str, int]


def judge(
    target: DepthStore,
    reference: DepthStore,
    image_id: int,
    threshold: float,
    *,
    max_depth: float | None = 80.0,
    min_valid_fraction: float = 0.1,
) -> tuple[bool, Comparison]:
    """Compare one image's two estimates; kept only when comparable and within ``threshold``."""
    if image_id not in target or image_id not in reference:
        return False, Comparison(float("inf"), float("nan"), float("nan"), 0.0, MISSING)
    c = compare_maps(
        target[image_id],
        reference[image_id],
        a_space=target.space,
        b_space=reference.space,
        max_depth=max_depth,
        min_valid_fraction=min_valid_fraction,
    )
    if c.reason == OK and c.discrepancy > threshold:
        c = Comparison(c.discrepancy, c.scale, c.shift, c.valid_fraction, ABOVE_THRESHOLD)
    return c.reason == OK, c


def filter_depth(
    target_estimates: Sequence[str | Path],
    reference_estimates: Sequence[str | Path],
    pool_ids: Sequence[int],
    n_needed: int,
    threshold: float,
    seed: int,
    out: str | Path,
    *,
    max_depth: float | None = 80.0,
    min_valid_fraction: float = 0.1,
) -> FilterSummary:
    """Write the kept/discarded table (parquet, ``TABLE_SCHEMA``) for ``n_needed`` images of ``pool_ids``.

    ``target_estimates`` are the target estimator's shards (Depth Anything V2), ``reference_estimates`` the
    reference's (DepthPro). Raises ``PoolExhaustedError`` when the pool cannot supply enough consistent
    images.
    """
    pool = [int(i) for i in pool_ids]
    if len(set(pool)) != len(pool):
        dup = sorted(i for i, n in Counter(pool).items() if n > 1)[:5]
        raise ValueError(f"pool_ids has duplicates (e.g. {dup}); the pool must list each image once")
    if not 0 < n_needed <= len(pool):
        raise ValueError(f"n_needed={n_needed} must be in 1..{len(pool)} (the pool size)")
    rank = {image_id: r for r, image_id in enumerate(pool)}
    reserve = [pool[n_needed + j] for j in rng_for(seed, "depth_filter").permutation(len(pool) - n_needed)]
    rows: dict[str, list[object]] = {f.name: [] for f in TABLE_SCHEMA}
    n_kept = 0

    def record(image_id: int, role: str, kept: bool, c: Comparison) -> None:
        for key, value in (
            ("image_id", image_id),
            ("pool_rank", rank[image_id]),
            ("role", role),
            ("kept", kept),
        ):
            rows[key].append(value)
        for key, value in asdict(c).items():
            rows[key].append(value)

    with DepthStore(target_estimates) as target, DepthStore(reference_estimates) as reference:
        kw = {"max_depth": max_depth, "min_valid_fraction": min_valid_fraction}
        for image_id in tqdm(pool[:n_needed], desc="depth filter", disable=None):
            kept, c = judge(target, reference, image_id, threshold, **kw)
            record(image_id, "initial", kept, c)
            n_kept += kept
        draws = iter(reserve)
        while n_kept < n_needed:
            image_id = next(draws, None)
            if image_id is None:
                raise PoolExhaustedError(
                    f"depth filter: kept {n_kept} of {n_needed} after trying all {len(pool)} pool images "
                    f"(threshold {threshold}); enlarge the pool (depth.reserve_fraction) "
                    "or raise depth.threshold"
                )
            kept, c = judge(target, reference, image_id, threshold, **kw)
            record(image_id, "replacement", kept, c)
            n_kept += kept
    table = pa.table(rows, schema=TABLE_SCHEMA)
    with atomic_path(out, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)
    kept_mask = np.asarray(rows["kept"], bool)
    roles = np.asarray(rows["role"])
    summary = FilterSummary(
        n_needed=n_needed,
        n_kept=int(kept_mask.sum()),
        n_evaluated=len(kept_mask),
        n_discarded=int((~kept_mask).sum()),
        n_replacements=int((kept_mask & (roles == "replacement")).sum()),
        overlap=float((kept_mask & (roles == "initial")).sum() / n_needed),
        threshold=float(threshold),
        reasons=dict(Counter(str(r) for r in rows["reason"])),
    )
    logger.info("%s: %s", out, summary)
    return summary


def read_filter_table(path: str | Path) -> pa.Table:
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no depth-filter table; run depth_filter first")
    return read_parquet(path)


def kept_ids(path: str | Path) -> list[int]:
    """Kept image ids in pool order: the image list of the ``depth`` task's shards."""
    t = read_filter_table(path).to_pandas()
    return [int(i) for i in t.loc[t["kept"]].sort_values("pool_rank")["image_id"]]


def filter_pool(
    pool: str | Path,
    target_estimates: Sequence[str | Path],
    reference_estimates: Sequence[str | Path],
    threshold: float,
    seed: int,
    out: str | Path,
    *,
    max_depth: float | None = 80.0,
    min_valid_fraction: float = 0.1,
) -> FilterSummary:
    """``filter_depth`` over a depth pool file (``sgt.depth.pool``): keep its ``n_needed`` images."""
    from sgt.depth.pool import read_pool

    p = read_pool(pool)
    return filter_depth(
        target_estimates,
        reference_estimates,
        p.image_ids,
        p.n_needed,
        threshold,
        seed,
        out,
        max_depth=max_depth,
        min_valid_fraction=min_valid_fraction,
    )


def task_shard_ids(
    subset_manifest: str | Path, group: str, shard: int, depth_filter: str | Path | None = None
) -> list[int]:
    """One target shard's images: the shared subset's, or for a depth-filtered task the kept images.

    Kept images are taken in pool order and cut into the subset's shard size, so the depth task has the
    same shards as every other task, each image of the shared selection replaced where it was discarded.
    """
    from sgt.data.subset import read_manifest, shard_image_ids

    if depth_filter is None:
        return shard_image_ids(subset_manifest, group, shard)
    size = read_manifest(subset_manifest).shard_size
    kept = kept_ids(depth_filter)
    ids = kept[shard * size : (shard + 1) * size]
    if not ids:
        raise IndexError(f"{depth_filter}: {len(kept)} kept images leave shard {shard} (of {size}) empty")
    return ids
