"""Turning extracted archives into usable data roots, and checking a root before any job relies on it.

COCO's panoptic archive holds ``annotations/panoptic_{split}.json`` plus the PNGs in a nested
``annotations/panoptic_{split}.zip``; ``unpack_coco_panoptic`` extracts those (safely) beside it. The
``validate_*`` functions are what an offline user runs on a copy they already have: they reuse
``sgt.data.coco.check_layout`` and count what is there, so an incomplete copy fails before any GPU job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sgt.data.archive import ExtractLimits, extract
from sgt.data.coco import LayoutError, check_layout

logger = logging.getLogger(__name__)

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def unpack_coco_panoptic(
    root: str | Path, splits: Sequence[str], *, limits: ExtractLimits | None = None
) -> list[Path]:
    """Extract ``annotations/panoptic_{split}.zip`` into ``annotations/``, within ``limits``
    (``data.extract``); returns the extraction records."""
    ann = Path(root) / "annotations"
    records = []
    for split in splits:
        nested = ann / f"panoptic_{split}.zip"
        if not nested.is_file():
            if (ann / f"panoptic_{split}").is_dir():
                continue  # an offline copy that is already unpacked
            raise LayoutError(
                f"{nested} is missing: extract panoptic_annotations_trainval2017.zip into {root} first"
            )
        records.append(extract(nested, ann, limits=limits).record)
    return records


def validate_coco_root(root: str | Path, splits: Sequence[str], *, panoptic: bool = True) -> dict[str, Any]:
    """Check a COCO 2017 layout for ``splits``; return counts per split; ``LayoutError`` names any gap.

    Every image the instances file lists must exist (a half-extracted image zip is caught here).
    """
    root = Path(root)
    summary: dict[str, Any] = {"root": str(root), "splits": {}}
    for split in splits:
        check_layout(root, split, panoptic=panoptic)
        inst_path = root / "annotations" / f"instances_{split}.json"
        try:
            listed = [im["file_name"] for im in json.loads(inst_path.read_text(encoding="utf-8"))["images"]]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise LayoutError(
                f"{inst_path}: not a COCO instances file ({err}); re-extract the annotations"
            ) from err
        present = {p.name for p in (root / split).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES}
        missing = [f for f in listed if f not in present]
        if missing:
            raise LayoutError(
                f"{root / split}: {len(missing)} of {len(listed)} listed images are missing "
                f"(first: {missing[0]}); re-extract the image archive or point data.coco.root at a "
                "complete copy"
            )
        info: dict[str, Any] = {"images": len(listed), "image_files": len(present)}
        if panoptic:
            pngs = list((root / "annotations" / f"panoptic_{split}").glob("*.png"))
            if not pngs:
                raise LayoutError(
                    f"{root / 'annotations' / f'panoptic_{split}'} has no PNGs; run unpack_coco_panoptic "
                    "(the PNGs ship in a nested zip)"
                )
            info["panoptic_pngs"] = len(pngs)
        summary["splits"][split] = info
        logger.info("%s %s: %d images", root, split, len(listed))
    return summary


def validate_sa1b_root(
    root: str | Path,
    *,
    min_images: int = 1,
    splits: Sequence[str] = (),
    eval_split: str = "val2017",
    eval_fraction: float = 0.05,
) -> dict[str, Any]:
    """Count SA-1B image/annotation pairs under ``root`` (and per split); fail if fewer than ``min_images``
    in all or none in a split."""
    from sgt.data.sa1b import SA1BDataset, held_out

    root = Path(root)
    if not root.is_dir():
        raise LayoutError(
            f"{root}: SA-1B root not found; extract the shards there (data.sa1b.download: true) or point "
            "data.root at an extracted copy"
        )
    try:
        all_ids = SA1BDataset(root, eval_fraction=eval_fraction).image_ids()
    except FileNotFoundError:
        all_ids = []
    pairs = len(all_ids)
    if pairs < min_images:
        raise LayoutError(
            f"{root}: {pairs} SA-1B image/JSON pairs, need at least {min_images}; download more shards "
            "(data.sa1b.n_shards) or check the extraction"
        )
    summary: dict[str, Any] = {"root": str(root), "images": pairs, "splits": {}}
    for split in splits:
        ids = [i for i in all_ids if held_out(i, eval_fraction) == (split == eval_split)]
        if not ids:
            raise LayoutError(
                f"{root}: split {split!r} has no images ({pairs} in all, eval_fraction {eval_fraction}); "
                "download more shards (data.sa1b.n_shards) or change data.sa1b.eval_fraction"
            )
        summary["splits"][split] = {"images": len(ids)}
        logger.info("%s %s: %d SA-1B images", root, split, len(ids))
    return summary
