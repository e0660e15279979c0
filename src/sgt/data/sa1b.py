"""SA-1B images with their SAM masks, as the same ``Sample`` record the COCO loader returns.

Each image ``sa_<id>.jpg`` has a ``sa_<id>.json``: ``{"image": {image_id, width, height, file_name},
"annotations": [{id, segmentation: {size: [h, w], counts: <compressed RLE>}, area, bbox, predicted_iou,
stability_score, point_coords, crop_box}]}``. Masks are decoded with pycocotools.

SA-1B has no splits. ``SA1BDataset(root, split, eval_split=..., eval_fraction=f)`` holds out the images whose
id hashes (crc32, independent of the seed and of which shards were downloaded) below ``f``: they form
``eval_split``; every other split name gets the rest. So adding shards never moves an image between splits.

SAM masks have no classes, so every mask gets category 1, ``"object"``, the sample is marked
``class_agnostic``, and the masks overlap: SAM returns wholes, parts and sub-parts of the same thing. How
target synthesis treats them (``sgt.targets.high``, ``sgt.targets.detection``):

- Panoptic: ``Sample.segments`` are the masks painted largest first, so every pixel belongs to the smallest
  mask covering it (parts stay visible on top of wholes); masks left with no visible pixel are dropped and
  pixels no mask covers stay unlabeled (black). Every segment is a thing, so each gets a random distinct
  colour drawn per image, as COCO things do.
- Semantic: a per-class colouring would paint every mask the same colour, so a class-agnostic semantic
  target colours the same segments by their rank in area: the largest segment always gets the first colour
  of a fixed palette, the second largest the second, and so on (deterministic, unlike panoptic's per-image
  random colours; the paper's "class-agnostic segmentation" proxy).
- Instance: one colour per SAM mask (``Sample.instances``, overlapping), larger masks painted first.
- Detection: each mask's ``bbox``, labelled ``object``, in that one category's colour.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pycocotools import mask as mask_utils

from sgt.data.images import CorruptImageError, read_image
from sgt.data.records import Category, Image, Instance, Mask, Sample, Segment, SkipCounter
from sgt.data.rle import check_rle
from sgt.io import atomic_write_bytes, atomic_write_json

logger = logging.getLogger(__name__)

OBJECT = Category(id=1, name="object", supercategory="object", isthing=True)
CATEGORIES: dict[int, Category] = {OBJECT.id: OBJECT}
_NAME = re.compile(r"^sa_(\d+)\.json$")


def _decode(segm: Any, h: int, w: int) -> tuple[Mask | None, str, str]:
    """(the mask, "", "") or (None, why it cannot be used, detail): SA-1B's way of skipping annotations."""
    if not isinstance(segm, dict) or "counts" not in segm:
        return None, "missing or unreadable segmentation", ""
    if segm.get("size") != [h, w]:
        return None, "RLE size differs from image size", ""
    counts = segm["counts"]
    try:
        rle = {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
        if isinstance(counts, list):
            rle = mask_utils.frPyObjects(rle, h, w)
        check_rle(rle)  # pycocotools' own refusal names no file, image or annotation
        mask = mask_utils.decode(rle).astype(bool)
    except (TypeError, ValueError, OverflowError) as err:
        return None, "invalid RLE", str(err)
    if not mask.any():
        return None, "empty mask", ""
    return mask, "", ""


def segments_from_masks(ids: Sequence[int], masks: Sequence[Mask]) -> tuple[Segment, ...]:
    """Non-overlapping segments: paint largest first so each pixel goes to the smallest covering mask."""
    if not masks:
        return ()
    owner = np.full(masks[0].shape, -1, np.int32)
    order = sorted(range(len(masks)), key=lambda k: (-int(masks[k].sum()), ids[k]))
    for k in order:
        owner[masks[k]] = k
    return tuple(
        Segment(id=int(ids[k]), category_id=OBJECT.id, isthing=True, iscrowd=False, mask_source=owner == k)
        for k in order
        if (owner == k).any()
    )


def load_sample(
    json_path: str | Path,
    image_path: str | Path | None = None,
    *,
    source: str = "sa1b",
    skipped: SkipCounter | None = None,
) -> Sample:
    """Load one SA-1B image and its masks; ``CorruptImageError`` if the image or its JSON is unreadable.

    Masks that cannot be used (a missing, wrongly sized, unreadable or empty RLE, an id already used in the
    file) are skipped and counted in ``skipped`` with the image and annotation id.
    """
    skipped = SkipCounter() if skipped is None else skipped
    json_path = Path(json_path)
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
        info, anns = meta["image"], meta["annotations"]
        image_id, file_name = int(info["image_id"]), str(info["file_name"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise CorruptImageError(
            f"{json_path}: unreadable SA-1B annotation file ({err}); it is skipped"
        ) from err
    image = read_image(Path(image_path) if image_path else json_path.with_name(file_name))
    h, w = image.shape[:2]
    if (int(info.get("height", h)), int(info.get("width", w))) != (h, w):
        raise CorruptImageError(
            f"{json_path}: image is {h}x{w} but the JSON says "
            f"{info.get('height')}x{info.get('width')}; it is skipped"
        )
    instances = []
    seen: set[int] = set()
    for ann in anns:
        ann_id = ann.get("id") if isinstance(ann, dict) else None
        if isinstance(ann_id, bool) or not isinstance(ann_id, int):
            skipped.skip("missing annotation id", image_id, ann_id, source=str(json_path))
            continue
        if ann_id in seen:
            skipped.skip("duplicate annotation id", image_id, ann_id, source=str(json_path))
            continue
        seen.add(ann_id)
        mask, reason, detail = _decode(ann.get("segmentation"), h, w)
        if mask is None:
            skipped.skip(reason, image_id, ann_id, source=str(json_path), detail=detail)
            continue
        ys, xs = np.nonzero(mask)
        bbox = ann.get("bbox") or [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        instances.append(
            Instance(
                ann_id=ann_id,
                category_id=OBJECT.id,
                bbox=(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])),
                area=float(ann.get("area", mask.sum())),
                iscrowd=False,
                mask_source=mask,
            )
        )
    segments = segments_from_masks([i.ann_id for i in instances], [i.mask for i in instances])
    return Sample(
        image_id=image_id,
        file_name=file_name,
        source=source,
        image=image,
        instances=tuple(instances),
        segments=segments,
        categories=dict(CATEGORIES),
        class_agnostic=True,
    )


def held_out(image_id: int, eval_fraction: float) -> bool:
    """Whether ``image_id`` belongs to the held-out (eval) part: a seed-free hash, stable across shards."""
    return zlib.crc32(f"sa1b:{image_id}".encode()) < eval_fraction * 2**32


class SA1BDataset:
    """Every ``sa_<id>.json`` under ``root`` (extracted shards, any depth); the COCO loader's interface.

    ``split=None`` is every image; ``split == eval_split`` the held-out ``eval_fraction``; any other split
    name the rest (see the module docstring).
    """

    def __init__(
        self,
        root: str | Path,
        split: str | None = None,
        *,
        eval_split: str = "val2017",
        eval_fraction: float = 0.05,
        source: str = "sa1b",
    ):
        self.root = Path(root)
        self.split = split
        self.source = source
        self.skipped = SkipCounter()
        if not 0.0 <= eval_fraction < 1.0:
            raise ValueError(f"data.sa1b.eval_fraction must be in [0, 1), got {eval_fraction}")
        self._keep = None if split is None else (split == eval_split, eval_fraction)
        if not self.root.is_dir():
            raise FileNotFoundError(
                f"{self.root}: SA-1B root not found; extract the shards there (data.sa1b.download: true) or "
                "point data.root at an extracted copy"
            )

    @cached_property
    def _index(self) -> dict[int, Path]:
        index: dict[int, Path] = {}
        for path in sorted(self.root.rglob("sa_*.json")):
            if any(part.startswith(".") for part in path.relative_to(self.root).parts):
                continue  # extraction records and unfinished extractions
            m = _NAME.match(path.name)
            if not (m and path.with_suffix(".jpg").is_file()):
                continue
            image_id = int(m.group(1))
            if self._keep is None or held_out(image_id, self._keep[1]) == self._keep[0]:
                index[image_id] = path
        if not index:
            raise FileNotFoundError(
                f"{self.root}: no sa_<id>.json with a sa_<id>.jpg beside it"
                + (f" in split {self.split!r}" if self.split else "")
                + "; extract more shards (data.sa1b.n_shards) or adjust data.sa1b.eval_fraction"
            )
        return index

    @property
    def categories(self) -> dict[int, Category]:
        return dict(CATEGORIES)

    def image_ids(self) -> list[int]:
        return sorted(self._index)

    def image_path(self, image_id: int) -> Path:
        """Where image ``image_id`` lives (no decoding)."""
        return self._path(image_id).with_suffix(".jpg")

    def caption(self, image_id: int) -> str:
        """SA-1B ships no captions."""
        return ""

    def _path(self, image_id: int) -> Path:
        if image_id not in self._index:
            raise KeyError(f"SA-1B image id {image_id} is not in split {self.split!r} under {self.root}")
        return self._index[image_id]

    def load(self, image_id: int) -> Sample:
        path = self._path(image_id)
        return load_sample(path, path.with_suffix(".jpg"), source=self.source, skipped=self.skipped)


def write_sample(
    folder: str | Path,
    image_id: int,
    image: Image,
    masks: Sequence[npt.NDArray[np.bool_]],
    *,
    jpeg_quality: int = 95,
    predicted_iou: Sequence[float] | None = None,
    stability_score: Sequence[float] | None = None,
) -> tuple[Path, Path]:
    """Write ``sa_<id>.jpg`` and ``sa_<id>.json`` in SA-1B's format (for tests and the toy world)."""
    folder = Path(folder)
    h, w = image.shape[:2]
    ok, jpeg = cv2.imencode(
        ".jpg", np.ascontiguousarray(image[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
    )
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
        raise RuntimeError("JPEG encoding failed")
    anns = []
    for k, mask in enumerate(masks):
        if mask.shape != (h, w):
            raise ValueError(
                f"mask {k} is {mask.shape}, image is {(h, w)}: SA-1B masks have the image's size"
            )
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        ys, xs = np.nonzero(mask)
        anns.append(
            {
                "id": image_id * 1000 + k,
                "segmentation": {"size": [h, w], "counts": rle["counts"].decode("ascii")},
                "area": int(mask_utils.area(rle)),
                "bbox": [float(v) for v in mask_utils.toBbox(rle)],
                "predicted_iou": float(predicted_iou[k]) if predicted_iou is not None else 1.0,
                "stability_score": float(stability_score[k]) if stability_score is not None else 1.0,
                "point_coords": [[float(xs.mean()), float(ys.mean())]] if len(xs) else [[0.0, 0.0]],
                "crop_box": [0.0, 0.0, float(w), float(h)],
            }
        )
    stem = f"sa_{image_id}"
    info = {"image_id": image_id, "width": w, "height": h, "file_name": f"{stem}.jpg"}
    jpg, js = folder / f"{stem}.jpg", folder / f"{stem}.json"
    atomic_write_bytes(jpg, jpeg.tobytes())
    atomic_write_json(js, {"image": info, "annotations": anns})
    return jpg, js
