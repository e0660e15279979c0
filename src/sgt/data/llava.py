"""LLaVA-OneVision SFT shards (parquet: id, image{bytes}, conversations[{from, value}]) to our VQA JSONL.

Each human/gpt turn pair becomes one record ``{"image", "question", "answer"}`` (the format
``sgt.data.vqa.read_jsonl`` reads for every model); the ``<image>`` placeholder is removed
because every backend inserts the image itself. Text-only rows are skipped and counted.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pyarrow.parquet as pq

from sgt.data.coco import CorruptImageError, decode_image
from sgt.io import atomic_path, sha256_bytes

logger = logging.getLogger(__name__)


def _turns(conversations: Sequence[dict]) -> list[tuple[str, str]]:
    pairs, question = [], None
    for turn in conversations or []:
        role, text = turn.get("from"), str(turn.get("value", ""))
        if role == "human":
            question = text.replace("<image>", "").strip()
        elif role == "gpt" and question is not None:
            pairs.append((question, text.strip()))
            question = None
    return pairs


def convert_llava(shards: Sequence[str | Path], out_jsonl: str | Path, image_dir: str | Path) -> Counter[str]:
    """Write one JSONL of VQA records and the images they point at (named by content hash)."""
    image_dir = Path(image_dir)
    image_dir.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    with atomic_path(out_jsonl, suffix=".jsonl") as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for shard in shards:
            table = pq.read_table(shard, columns=["id", "image", "conversations"])
            for row in table.to_pylist():
                image = row.get("image") or {}
                data = image.get("bytes") if isinstance(image, dict) else None
                if not data:
                    counts["text-only rows skipped"] += 1
                    continue
                try:
                    decode_image(data, f"{shard}:{row.get('id')}")
                except CorruptImageError as err:
                    logger.warning("%s", err)
                    counts["corrupt images skipped"] += 1
                    continue
                path = image_dir / f"{sha256_bytes(data)[:32]}.img"
                if not path.exists():
                    path.write_bytes(data)
                for q, a in _turns(row.get("conversations")):
                    fh.write(json.dumps({"image": str(path.resolve()), "question": q, "answer": a}) + "\n")
                    counts["records"] += 1
    logger.info("LLaVA-OneVision: %s", dict(counts))
    return counts
