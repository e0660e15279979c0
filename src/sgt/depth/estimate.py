"""The ``depth_estimate`` rule's job: run one estimator over one shard of images and store the maps."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sgt.data.coco import CocoDataset
from sgt.data.images import CorruptImageError
from sgt.data.records import Sample
from sgt.depth.registry import make_estimator
from sgt.depth.store import StoreWriter

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EstimateStats:
    written: int
    skipped: dict[str, int]
    space: str


def estimate_shard(
    estimator_name: str,
    estimator_cfg: Mapping[str, Any] | None,
    coco_root: str | Path,
    split: str,
    image_ids: Sequence[int],
    out: str | Path,
    *,
    seed: int = 0,
    source: str = "coco",
) -> EstimateStats:
    """Estimate depth for ``image_ids`` of ``split`` and write the shard ``out`` (see ``sgt.depth.store``)."""
    estimator = make_estimator(estimator_name, estimator_cfg, seed=seed)
    dataset = CocoDataset(coco_root, split, source=source)
    skipped: Counter[str] = Counter()
    batch: list[Sample] = []
    space = ""
    with StoreWriter(out, space="pending", estimator=estimator_name) as writer:

        def flush() -> None:
            for sample, values in zip(batch, estimator.estimate(batch), strict=True):
                writer.add(sample.image_id, values)
            batch.clear()

        for image_id in tqdm(image_ids, desc=f"{estimator_name} depth", disable=None):
            try:
                sample = dataset.load(int(image_id))
            except CorruptImageError as err:
                logger.warning("%s", err)
                skipped["corrupt image"] += 1
                continue
            batch.append(sample)
            if len(batch) >= estimator.batch_size:
                flush()
        if batch:
            flush()
        space = writer.space = estimator.space  # known once a model is loaded (a metric checkpoint is depth)
    logger.info(
        "%s: %d maps (%s) from %s, skipped %s",
        out,
        len(writer.ids),
        space,
        estimator_name,
        dict(skipped) or "none",
    )
    return EstimateStats(len(writer.ids), dict(skipped), space)
