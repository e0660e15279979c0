"""Shards of (condition, target) pairs as parquet with PNG bytes, and the per-task manifest.

Parquet (one row per pair, PNG bytes in binary columns) keeps a shard one file that pandas, pyarrow and the
backend exporters read without unpacking, and its row metadata (params, hashes) is queryable.
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
from tqdm import tqdm

from sgt.data.coco import CocoDataset, CorruptImageError
from sgt.data.records import Image
from sgt.io import atomic_path, sha256_bytes
from sgt.seeding import rng_for
from sgt.targets.registry import resolve_task, task_params

logger = logging.getLogger(__name__)

SHARD_SCHEMA = pa.schema(
    [
        ("image_id", pa.int64()),
        ("source", pa.string()),
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


def encode_png(image: Image) -> bytes:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"a task must return uint8 HxWx3 images, got {image.dtype} {image.shape}")
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:  # pragma: no cover
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


@dataclass(frozen=True, slots=True)
class ShardStats:
    written: int
    skipped: dict[str, int]


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
) -> ShardStats:
    """Make the pairs of ``task_name`` for ``image_ids`` and write them as one parquet shard (atomically).

    Randomness for image ``i`` comes from (seed, task, i) alone, so shard boundaries never change a pair.
    """
    task = resolve_task(task_name, task_entry)
    params = task_params(task, task_entry)
    instructions = list((task_entry or {}).get("instructions") or [f"Generate the {task_name} map of the image."])
    dataset = CocoDataset(root, split, source=source)
    rows: dict[str, list[Any]] = {f.name: [] for f in SHARD_SCHEMA}
    skipped: Counter[str] = Counter()
    for image_id in tqdm(image_ids, desc=f"{task_name} pairs", disable=None):
        try:
            sample = dataset.load(int(image_id))
        except CorruptImageError as err:
            logger.warning("%s", err)
            skipped["corrupt image"] += 1
            continue
        rng = rng_for(seed, task_name, int(image_id))
        instruction = instructions[int(rng.integers(len(instructions)))]
        condition, target = task(sample, rng, **params)
        cond_png, target_png = encode_png(condition), encode_png(target)
        for key, value in (
            ("image_id", int(image_id)),
            ("source", source),
            ("task", task_name),
            ("level", task.level),
            ("instruction", instruction),
            ("params", _jsonable(params)),
            ("condition_sha256", sha256_bytes(cond_png)),
            ("target_sha256", sha256_bytes(target_png)),
            ("condition_png", cond_png),
            ("target_png", target_png),
        ):
            rows[key].append(value)
    skipped.update(dataset.skipped)
    table = pa.table(rows, schema=SHARD_SCHEMA)
    with atomic_path(out, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
    logger.info("%s: wrote %d pairs, skipped %s", out, table.num_rows, dict(skipped) or "none")
    return ShardStats(table.num_rows, dict(skipped))


def write_manifest(shards: Sequence[str | Path], out: str | Path) -> int:
    """One manifest row per pair (no image bytes), with the shard each pair lives in."""
    tables = []
    for shard in shards:
        t = pq.read_table(shard, columns=MANIFEST_COLUMNS)
        tables.append(t.append_column("shard", pa.array([Path(shard).name] * t.num_rows, pa.string())))
    table = pa.concat_tables(tables) if tables else pa.table({c: [] for c in [*MANIFEST_COLUMNS, "shard"]})
    with atomic_path(out, suffix=".parquet") as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return table.num_rows


def read_pairs(shard: str | Path) -> pa.Table:
    return pq.read_table(shard)
