"""Fig. 7's inputs: crops of held-out images dominated by one of two confusable classes, and their ViT tokens.

The paper compares whole images of grand vs upright pianos. Toy-world images hold up to four objects of
mixed classes, so a whole image has no single label; instead each clearly visible instance of either class
(area, fill of its box, and dominance over other objects in the window are all thresholds in config) is
cropped in a square window around its box and resized to the model's input size. Every crop then shows one
object of one class on background, as the paper's images do. ViT tokens are flattened, since SigLIP has no
class token (paper Sec. 7.5).

On the toy world the eval split is too small for a probe that tells models apart (96 images gave 33 squares
and 16 rectangles: every model scored 1.0 +- 0.0 in steps of 0.1 per fold). ``heldout_crops`` therefore
renders fresh scenes of their own split (``probe``, own seed), as the pretraining corpus does, and crops them
by the same rules. On COCO the crops come from the eval split (val2017).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from sgt.data.records import Image, Instance, LazyMask, Sample

logger = logging.getLogger(__name__)
PROBE_SPLIT = "probe"  # the held-out scenes' split name (sgt.data.toyworld.SPLIT_ID_OFFSET)


@dataclass(frozen=True, slots=True)
class CropSpec:
    """Which instances make a crop: class names, per-class cap and the visibility thresholds."""

    classes: tuple[str, str]
    max_per_class: int = 64
    min_area: int = 40  # visible pixels in the original image
    min_fill: float = 0.6  # visible pixels / box area: drops heavily occluded objects
    dominance: float = 0.8  # own pixels / all object pixels in the window
    scale: float = 1.5  # window side / longer box side

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> CropSpec:
        classes = tuple(cfg["classes"])
        if len(classes) != 2 or classes[0] == classes[1]:
            raise ValueError(f"analysis.classes: need two different class names, got {list(classes)}")
        return cls(
            classes=(str(classes[0]), str(classes[1])),
            max_per_class=int(cfg["max_per_class"]),
            min_area=int(cfg["min_area"]),
            min_fill=float(cfg["min_fill"]),
            dominance=float(cfg["dominance"]),
            scale=float(cfg["crop_scale"]),
        )


@dataclass(frozen=True, slots=True)
class Crop:
    image_id: int
    ann_id: int
    label: str
    image: Image = field(repr=False)


def crop_window(bbox: Sequence[float], scale: float, height: int, width: int) -> tuple[int, int, int]:
    """Square window (x0, y0, side) around ``bbox`` (COCO x, y, w, h), shifted to stay inside the image."""
    x, y, w, h = bbox
    side = int(round(min(max(max(w, h) * scale, 8.0), height, width)))
    x0 = int(round(x + w / 2 - side / 2))
    y0 = int(round(y + h / 2 - side / 2))
    return min(max(x0, 0), width - side), min(max(y0, 0), height - side), side


def _crop_of(sample: Sample, inst: Instance, spec: CropSpec) -> Image | None:
    """The instance's crop, or None when it is too small, occluded or shares its window with others."""
    visible = int(inst.mask.sum())
    _, _, bw, bh = inst.bbox
    if inst.iscrowd or visible < spec.min_area or visible / max(bw * bh, 1.0) < spec.min_fill:
        return None
    x0, y0, side = crop_window(inst.bbox, spec.scale, sample.height, sample.width)
    window = (slice(y0, y0 + side), slice(x0, x0 + side))
    own = int(inst.mask[window].sum())
    others = np.zeros((side, side), bool)
    for other in sample.instances:
        if other.ann_id != inst.ann_id:
            others |= other.mask[window]
    others &= ~inst.mask[window]
    if own / max(own + int(others.sum()), 1) < spec.dominance:
        return None
    return np.ascontiguousarray(sample.image[window])


def _collect(samples: Iterable[Sample], spec: CropSpec, wanted: Mapping[int, str], where: str) -> list[Crop]:
    """Crops of both classes in sample order, at most ``max_per_class`` each; stops when both are full."""
    counts = dict.fromkeys(spec.classes, 0)
    crops: list[Crop] = []
    for sample in samples:
        for inst in sample.instances:
            label = wanted.get(inst.category_id)
            if label is None or counts[label] >= spec.max_per_class:
                continue
            image = _crop_of(sample, inst, spec)
            if image is not None:
                crops.append(Crop(sample.image_id, inst.ann_id, label, image))
                counts[label] += 1
        if min(counts.values()) >= spec.max_per_class:
            break
    logger.info("confusable crops from %s: %s", where, counts)
    return crops


def confusable_crops(root: str | Path, split: str, spec: CropSpec, *, source: str = "toyworld") -> list[Crop]:
    """Crops of both classes from ``split``, in image-id order, at most ``max_per_class`` each."""
    from sgt.data.coco import CocoDataset

    ds = CocoDataset(root, split, source=source, panoptic=False)
    wanted = _wanted({c.name: c.id for c in ds.categories.values()}, spec, f"{root}/{split}")
    samples = (ds.load(i) for i in tqdm(ds.image_ids(), desc="confusable crops", disable=None))
    return _collect(samples, spec, wanted, f"{root}/{split}")


def _wanted(by_name: Mapping[str, int], spec: CropSpec, where: str) -> dict[int, str]:
    missing = [c for c in spec.classes if c not in by_name]
    if missing:
        raise ValueError(
            f"analysis.classes: {missing} not among the categories of {where} "
            f"({', '.join(sorted(by_name))}); pick two of those"
        )
    return {by_name[c]: c for c in spec.classes}


def _rendered_samples(n: int, *, seed: int, width: int, height: int) -> Iterator[Sample]:
    """Toy-world scenes 0..n-1 of the ``probe`` split, decoded in memory (never written to disk)."""
    from pycocotools import mask as mask_utils

    from sgt.data.coco import _rle_mask
    from sgt.data.images import decode_image
    from sgt.data.toyworld import SPLIT_ID_OFFSET, ToyWorldSpec, render_image

    spec = ToyWorldSpec(n_train=0, n_val=0, seed=seed, width=width, height=height)
    for index in tqdm(range(n), desc="held-out probe scenes", disable=None):
        r = render_image(spec, PROBE_SPLIT, index)
        image = decode_image(r.jpeg, f"probe scene {index}")
        instances = []
        for ann in r.instances:
            segm = ann["segmentation"]
            rle = mask_utils.frPyObjects(segm, height, width)
            rle = mask_utils.merge(rle) if isinstance(rle, list) else rle
            instances.append(
                Instance(
                    ann_id=int(ann["id"]),
                    category_id=int(ann["category_id"]),
                    bbox=tuple(float(v) for v in ann["bbox"]),  # type: ignore[arg-type]
                    area=float(ann["area"]),
                    iscrowd=bool(ann["iscrowd"]),
                    mask_source=LazyMask(partial(_rle_mask, rle), rle),
                )
            )
        yield Sample(
            SPLIT_ID_OFFSET[PROBE_SPLIT] + index + 1, f"probe:{index}", "toyworld", image, tuple(instances)
        )


def heldout_crops(spec: CropSpec, n_images: int, *, seed: int, width: int, height: int) -> list[Crop]:
    """Crops from up to ``n_images`` fresh toy-world scenes of the ``probe`` split (seeded by ``seed``),
    disjoint from train, val and the pretraining corpus by split name; same rules as ``confusable_crops``."""
    from sgt.data.toyworld import THINGS

    wanted = _wanted({name: cid for cid, name in THINGS.items()}, spec, "the toy world")
    samples = _rendered_samples(n_images, seed=seed, width=width, height=height)
    return _collect(samples, spec, wanted, f"{n_images} held-out '{PROBE_SPLIT}' scenes (seed {seed})")


def probe_crops(
    cfg: Mapping[str, Any],
    *,
    data_root: str | Path,
    split: str,
    source: str,
    scene_size: Mapping[str, Any] | None = None,
) -> list[Crop]:
    """Fig. 7's crops: fresh held-out scenes on the toy world (``analysis.probe_images`` > 0), else the
    eval split's images (COCO val2017 on a cluster). ``scene_size``: data.toyworld (width, height)."""
    spec = CropSpec.from_config(dict(cfg))
    n_images = int(cfg.get("probe_images", 0))
    if source == "toyworld" and n_images > 0:
        if scene_size is None:
            raise ValueError(
                "analysis.probe_images > 0 on the toy world needs data.toyworld's width and height"
            )
        return heldout_crops(
            spec,
            n_images,
            seed=int(cfg["probe_seed"]),
            width=int(scene_size["width"]),
            height=int(scene_size["height"]),
        )
    return confusable_crops(data_root, split, spec, source=source)


def crops_from(cfg: Mapping[str, Any], split: str, source: str, crops: Sequence[Crop] = ()) -> str:
    """Which images ``probe_crops`` cropped, as probe.csv's ``crops_from`` says it: for held-out scenes, how
    many were rendered before both classes were full (the last crop's scene)."""
    from sgt.data.toyworld import SPLIT_ID_OFFSET

    n_images = int(cfg.get("probe_images", 0))
    if source == "toyworld" and n_images > 0:
        used = (
            max((c.image_id for c in crops), default=SPLIT_ID_OFFSET[PROBE_SPLIT])
            - SPLIT_ID_OFFSET[PROBE_SPLIT]
        )
        return f"{used} of at most {n_images} held-out {PROBE_SPLIT} scenes (seed {cfg['probe_seed']})"
    return f"{source} {split}"


def vit_features(model: Any, images: Sequence[Image], *, batch_size: int = 64) -> npt.NDArray[np.float32]:
    """Flattened raw ViT tokens (N x n_patches*vit_hidden) of images resized to the model's input size."""
    import torch

    from sgt.models.tiny_inputs import to_tensor

    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = to_tensor(images[start : start + batch_size], model.cfg.image_size)
            out.append(model.vit_features(batch).flatten(1).numpy())
    if not out:
        return np.zeros((0, model.cfg.n_patches * model.cfg.vit_hidden), np.float32)
    return np.concatenate(out).astype(np.float32)
