"""One loader for COCO 2017 layouts (real COCO and the toy world): images, instances, panoptic, depth.

Malformed annotations (polygons with fewer than 3 points, RLEs that do not decode, boxes outside the image,
unknown category ids, a second annotation with an id already used) are skipped and counted in
``CocoDataset.skipped``, never raised: one bad annotation must not sink a 20k-image job. Each one is logged
with its image and annotation id, and ``CocoDataset.skipped.where`` lists them.
"""

from __future__ import annotations

import json
import logging
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pycocotools import mask as mask_utils

from sgt.data.images import decode_bgr, read_image, read_image_bytes
from sgt.data.records import Category, Instance, LazyMask, Sample, Segment, SkipCounter
from sgt.data.rle import check_rle

logger = logging.getLogger(__name__)


class LayoutError(FileNotFoundError):
    """A data root that does not have COCO 2017's layout."""


def check_layout(root: str | Path, split: str, *, panoptic: bool = False) -> None:
    """Raise ``LayoutError`` naming the first missing piece of a COCO 2017 layout under ``root``."""
    root = Path(root)
    needed = [root / split, root / "annotations" / f"instances_{split}.json"]
    if panoptic:
        needed += [
            root / "annotations" / f"panoptic_{split}.json",
            root / "annotations" / f"panoptic_{split}",
        ]
    for path in needed:
        if not path.exists():
            raise LayoutError(
                f"{path} is missing: {root} does not have the COCO 2017 layout for {split!r} "
                f"(expected {split}/, annotations/instances_{split}.json"
                + (
                    f", annotations/panoptic_{split}.json and annotations/panoptic_{split}/"
                    if panoptic
                    else ""
                )
                + "); point data.coco.root at a complete copy or let the download rules fetch it"
            )


def panoptic_id_map(bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint32]:
    """Segment id per pixel of a panoptic PNG decoded by OpenCV (BGR): ``R + 256 G + 65536 B`` (panopticapi's
    ``rgb2id``), computed by laying the bytes out as R, G, B, 0 and reading them as one little-endian uint32:
    one pass instead of three int64 casts, products and sums."""
    rgba = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)
    rgba[..., 3] = 0
    return rgba.view("<u4")[..., 0]


def _rle_mask(rle: dict[str, Any]) -> npt.NDArray[np.bool_]:
    """pycocotools decodes to a fresh Fortran-order uint8 array of 0/1: viewing it as bool is exact and
    copy-free (astype(bool) made the same Fortran-order values with one more pass over the image)."""
    return mask_utils.decode(rle).view(np.bool_)


def _id_mask(ids: npt.NDArray[np.uint32], segment_id: int) -> npt.NDArray[np.bool_]:
    if not 0 <= segment_id < 1 << 24:  # no RGB colour encodes it
        return np.zeros(ids.shape, np.bool_)
    return ids == np.uint32(segment_id)


class CocoDataset:
    """Lazy access to one split of a COCO-2017-layout root; ``load(image_id)`` returns a ``Sample``."""

    def __init__(self, root: str | Path, split: str, *, source: str = "coco", panoptic: bool | None = None):
        self.root = Path(root)
        self.split = split
        self.source = source
        pan_json = self.root / "annotations" / f"panoptic_{split}.json"
        self.has_panoptic = pan_json.is_file() if panoptic is None else panoptic
        check_layout(self.root, split, panoptic=self.has_panoptic)
        self.skipped = SkipCounter()

    @property
    def _file(self) -> str:
        """The instances file, as skipped annotations are logged."""
        return str(self.root / "annotations" / f"instances_{self.split}.json")

    @cached_property
    def _instances(self) -> dict[str, Any]:
        path = Path(self._file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: malformed JSON ({err}); re-extract the annotations archive") from err
        for key in ("images", "annotations", "categories"):
            if key not in data:
                raise ValueError(f"{path}: no {key!r} list; is this a COCO instances file?")
        return data

    @cached_property
    def _images(self) -> dict[int, dict[str, Any]]:
        return {int(im["id"]): im for im in self._instances["images"]}

    @cached_property
    def _anns_by_image(self) -> dict[int, list[tuple[dict[str, Any], str | None]]]:
        """Each image's annotations in file order, with the reason to skip one whose id is missing or was
        taken by an earlier annotation (the first one keeps it), or None."""
        by_image: dict[int, list[tuple[dict[str, Any], str | None]]] = {i: [] for i in self._images}
        seen: set[int] = set()
        for ann in self._instances["annotations"]:
            ann_id = ann.get("id")
            problem = None
            if isinstance(ann_id, bool) or not isinstance(ann_id, int):
                problem = "missing annotation id"
            elif ann_id in seen:
                problem = "duplicate annotation id"
            else:
                seen.add(ann_id)
            by_image.setdefault(int(ann["image_id"]), []).append((ann, problem))
        return by_image

    @cached_property
    def categories(self) -> dict[int, Category]:
        cats = {
            int(c["id"]): Category(int(c["id"]), c["name"], c.get("supercategory", ""), True)
            for c in self._instances["categories"]
        }
        if self.has_panoptic:
            for c in self._panoptic["categories"]:
                cats[int(c["id"])] = Category(
                    int(c["id"]), c["name"], c.get("supercategory", ""), bool(c.get("isthing", 1))
                )
        return cats

    @cached_property
    def _panoptic(self) -> dict[str, Any]:
        path = self.root / "annotations" / f"panoptic_{self.split}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data["by_image"] = {int(a["image_id"]): a for a in data["annotations"]}
        return data

    @cached_property
    def _captions(self) -> dict[int, str]:
        path = self.root / "annotations" / f"captions_{self.split}.json"
        if not path.is_file():
            return {}
        caps: dict[int, str] = {}
        for a in json.loads(path.read_text(encoding="utf-8"))["annotations"]:
            caps.setdefault(int(a["image_id"]), a["caption"].strip())
        return caps

    def image_ids(self) -> list[int]:
        return sorted(self._images)

    def image_path(self, image_id: int) -> Path:
        """Where image ``image_id`` lives, from its ``file_name`` (no decoding)."""
        return self.root / self.split / self._images[image_id]["file_name"]

    def caption(self, image_id: int) -> str:
        """The image's first caption, or "" (read from captions_<split>.json without decoding the image)."""
        return self._captions.get(image_id, "")

    def _instance(self, ann: dict[str, Any], image_id: int, h: int, w: int) -> Instance | None:
        def skip(reason: str, n: int = 1, detail: str = "") -> None:
            self.skipped.skip(reason, image_id, ann.get("id"), source=self._file, n=n, detail=detail)

        cat = int(ann.get("category_id", -1))
        if cat not in self.categories:
            skip("unknown category id")
            return None
        segm = ann.get("segmentation")
        if isinstance(segm, list):
            polys = [p for p in segm if isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0]
            if len(polys) < len(segm):
                skip("polygon with fewer than 3 points", n=len(segm) - len(polys))
            if not polys:
                return None
            rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
        elif isinstance(segm, dict) and "counts" in segm and "size" in segm:
            if list(segm["size"]) != [h, w]:
                skip("RLE size differs from image size")
                return None
            try:
                rle = mask_utils.frPyObjects(segm, h, w) if isinstance(segm["counts"], list) else segm
                check_rle(rle)  # pycocotools would refuse it only when a task decodes the mask
            except (TypeError, ValueError, OverflowError) as err:
                skip("invalid RLE", detail=str(err))
                return None
        else:
            skip("missing or unreadable segmentation")
            return None
        bbox = ann.get("bbox", [])
        if len(bbox) != 4 or bbox[2] <= 0 or bbox[3] <= 0 or bbox[0] >= w or bbox[1] >= h:
            skip("bbox outside the image")
            return None
        if bbox[0] < 0 or bbox[1] < 0 or bbox[0] + bbox[2] > w + 1 or bbox[1] + bbox[3] > h + 1:
            skip("bbox outside the image")
            return None
        return Instance(
            ann_id=int(ann["id"]),
            category_id=cat,
            bbox=(float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])),
            area=float(ann["area"]) if "area" in ann else float(mask_utils.area(rle)),
            iscrowd=bool(ann.get("iscrowd", 0)),
            mask_source=LazyMask(partial(_rle_mask, rle), rle),
        )

    def _segments(self, image_id: int, h: int, w: int) -> tuple[Segment, ...]:
        entry = self._panoptic["by_image"].get(image_id)
        if entry is None:
            return ()
        png = self.root / "annotations" / f"panoptic_{self.split}" / entry["file_name"]
        ids = panoptic_id_map(decode_bgr(read_image_bytes(png), str(png)))
        if ids.shape != (h, w):
            self.skipped["panoptic PNG size differs from image size"] += 1
            return ()
        segments = []
        for info in entry["segments_info"]:
            cat = int(info["category_id"])
            if cat not in self.categories:
                self.skipped["unknown category id"] += 1
                continue
            segments.append(
                Segment(
                    id=int(info["id"]),
                    category_id=cat,
                    isthing=self.categories[cat].isthing,
                    iscrowd=bool(info.get("iscrowd", 0)),
                    mask_source=LazyMask(partial(_id_mask, ids, int(info["id"]))),
                )
            )
        return tuple(segments)

    def _depth(self, file_name: str) -> npt.NDArray[np.float32] | None:
        path = self.root / "depth" / self.split / (Path(file_name).stem + ".png")
        if not path.is_file():
            return None
        mm = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        return None if mm is None else (mm.astype(np.float32) / 1000.0)

    def load(self, image_id: int) -> Sample:
        """Decode one image with its annotations; raises ``CorruptImageError`` for an unreadable image."""
        if image_id not in self._images:
            raise KeyError(f"image id {image_id} is not in {self.split} of {self.root}")
        meta = self._images[image_id]
        image = read_image(self.image_path(image_id))
        h, w = image.shape[:2]
        instances = []
        for ann, problem in self._anns_by_image.get(image_id, []):
            if problem is not None:
                self.skipped.skip(problem, image_id, ann.get("id"), source=self._file)
            elif inst := self._instance(ann, image_id, h, w):
                instances.append(inst)
        return Sample(
            image_id=image_id,
            file_name=meta["file_name"],
            source=self.source,
            image=image,
            instances=tuple(instances),
            segments=self._segments(image_id, h, w) if self.has_panoptic else (),
            categories=self.categories,
            depth=self._depth(meta["file_name"]),
            caption=self.caption(image_id),
        )
