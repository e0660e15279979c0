"""Shards of (condition, target) pairs as parquet with PNG bytes, and the per-task manifest.

Parquet (one row per pair, PNG bytes in binary columns) keeps a shard one file that pandas, pyarrow and the
backend exporters read without unpacking, and its row metadata (params, hashes) is queryable.

Row columns: ``proxy_task`` is the configured task (the shard's), ``task``/``level`` the task that really made
the pair (they differ only for ``mixed``), and ``params`` is JSON of the parameters the recipe ran with
(config over defaults) plus ``drawn``, the random values it drew for this pair.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sgt.data.records import Image, SkippedAnnotation
from sgt.data.registry import open_dataset
from sgt.data.samples import readable_samples
from sgt.io import atomic_path, read_parquet, sha256_bytes
from sgt.seeding import rng_for
from sgt.targets.instructions import instructions_for
from sgt.targets.registry import effective_params, resolve_task, task_params

logger = logging.getLogger(__name__)

SHARD_SCHEMA = pa.schema(
    [
        ("image_id", pa.int64()),
        ("source", pa.string()),
        ("proxy_task", pa.string()),
        ("task", pa.string()),
        ("level", pa.string()),
        ("instruction", pa.string()),
        ("params", pa.string()),
        ("condition_sha256", pa.string()),
        ("target_sha256", pa.string()),
        ("condition_png", pa.binary()),
        ("target_png", pa.binary()),
    ]
)
MANIFEST_COLUMNS = [f.name for f in SHARD_SCHEMA if not f.name.endswith("_png")]
# zlib level 1: 2-3x faster than level 3-6 for a few percent more bytes (benchmarks/synth.py); fixed here, not
# left to OpenCV's default, so the bytes (and their hashes) do not change with the OpenCV version's default.
PNG_COMPRESSION = 1


def encode_png(image: Image, level: int = PNG_COMPRESSION) -> bytes:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"a task must return uint8 HxWx3 images, got {image.dtype} {image.shape}")
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)  # same pixels as image[..., ::-1], 5x faster
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, level])
    if not ok:  # pragma: no cover
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


@dataclass(frozen=True, slots=True)
class ShardStats:
    written: int
    skipped: dict[str, int]  # reason -> count (corrupt images and malformed annotations)
    skipped_annotations: tuple[SkippedAnnotation, ...] = ()  # which: image and annotation id of each


def _jsonable(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=float)


def build_shard(
    root: str | Path,
    split: str,
    image_ids: Sequence[int],
    task_name: str,
    task_entry: Mapping[str, Any] | None,
    seed: int,
    out: str | Path,
    *,
    source: str = "coco",
    options: Mapping[str, Any] | None = None,
    depth_estimates: Sequence[str | Path] = (),
) -> ShardStats:
    """Make the pairs of ``task_name`` for ``image_ids`` and write them as one parquet shard (atomically).

    Randomness for image ``i`` comes from (seed, task, i) alone, so shard boundaries never change a pair: the
    recipe gets ``rng_for(seed, task, i)`` and the instruction is drawn from ``rng_for(seed, task, i,
    "instruction")``. Malformed annotations are skipped by the loader and counted in ``ShardStats.skipped``;
    ``ShardStats.skipped_annotations`` names each one's image and annotation id.
    ``source`` names the registered data source (``sgt.data.registry``) and ``options`` its extra keywords.
    ``depth_estimates`` (shards of one estimator, ``sgt.depth.store``) replace each sample's depth with its
    estimate: the ``depth`` and ``derain_dehaze`` tasks then read Depth Anything V2, not the data set's depth.
    """
    from sgt.depth.store import DepthStore, attach_depth

    task = resolve_task(task_name, task_entry)
    params = task_params(task, task_entry)
    base_params = effective_params(task, params)
    member_entries = dict((task_entry or {}).get("member_params") or {})
    panoptic = None if "panoptic" in task.needs else False  # skip decoding panoptic PNGs nobody reads
    dataset = open_dataset(source, root, split, panoptic=panoptic, **(options or {}))
    rows: dict[str, list[Any]] = {f.name: [] for f in SHARD_SCHEMA}
    skipped: Counter[str] = Counter()
    store = DepthStore(depth_estimates) if depth_estimates else None
    for image_id, sample in readable_samples(dataset, image_ids, skipped, f"{task_name} pairs"):
        if store is not None:
            sample = attach_depth(sample, store)
        pair = task.pair(sample, rng_for(seed, task_name, int(image_id)), **params)
        made_by = pair.made_by or task_name
        made_level = (
            task.level if made_by == task_name else resolve_task(made_by, member_entries.get(made_by)).level
        )
        entry = task_entry if made_by == task_name else member_entries.get(made_by)
        texts = instructions_for(made_by, entry)
        instruction = texts[int(rng_for(seed, task_name, int(image_id), "instruction").integers(len(texts)))]
        cond_png = encode_png(pair.condition)
        target_png = cond_png if pair.target is pair.condition else encode_png(pair.target)
        for key, value in (
            ("image_id", int(image_id)),
            ("source", source),
            ("proxy_task", task_name),
            ("task", made_by),
            ("level", made_level),
            ("instruction", instruction),
            ("params", _jsonable({**base_params, "drawn": dict(pair.drawn)})),
            ("condition_sha256", sha256_bytes(cond_png)),
            ("target_sha256", sha256_bytes(target_png)),
            ("condition_png", cond_png),
            ("target_png", target_png),
        ):
            rows[key].append(value)
    if store is not None:
        store.close()
    skipped.update(dataset.skipped)
    table = pa.table(rows, schema=SHARD_SCHEMA)
    with atomic_path(out, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
    logger.info("%s: wrote %d pairs, skipped %s", out, table.num_rows, dict(skipped) or "none")
    where = tuple(getattr(dataset.skipped, "where", ()))
    return ShardStats(table.num_rows, dict(sorted(skipped.items())), where)


def write_manifest(shards: Sequence[str | Path], out: str | Path) -> int:
    """One manifest row per pair (no image bytes), sorted by image id.

    It names no shard file, so the same seed gives a byte-identical manifest however the images were sharded;
    find a pair's bytes by its ``image_id`` in the task's shards.
    """
    tables = [read_parquet(shard, columns=MANIFEST_COLUMNS) for shard in shards]
    schema = pa.schema([SHARD_SCHEMA.field(c) for c in MANIFEST_COLUMNS])
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    table = table.sort_by([("image_id", "ascending"), ("proxy_task", "ascending")])
    with atomic_path(out, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return table.num_rows


def write_first_pairs(shards: Sequence[str | Path], n: int, out: str | Path) -> int:
    """The first ``n`` pairs of ``shards`` (shard then row order) as one shard at ``out``, atomically.

    Shards hold the task's images in the subset's seeded pool order, so the first ``n`` are a random sample,
    and the samples of two sizes are nested: the data-size sweep (Fig. 5b) grows one data set.
    """
    tables, have = [], 0
    for shard in shards:
        if have >= n:
            break
        table = read_parquet(shard)
        tables.append(table.slice(0, n - have))
        have += tables[-1].num_rows
    if have < n:
        raise ValueError(
            f"asked for the first {n} pairs but the shards hold {have} ({[str(s) for s in shards]}): "
            "lower study.variants.<v>.pairs or raise targets.n_per_task"
        )
    with atomic_path(out, suffix=".parquet") as tmp:
        pq.write_table(pa.concat_tables(tables), tmp, compression="zstd")
    return have


def read_pairs(shard: str | Path) -> pa.Table:
    return read_parquet(shard)
