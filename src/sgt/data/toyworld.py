"""The toy world: procedurally composed scenes written in COCO 2017's exact layout, with exact ground truth.

Scenes stand on a ground plane seen by a pinhole camera: a stuff background (sky or wall above the horizon,
grass or floor below), and thing objects whose size and vertical position follow from their distance,
drawn far to near so nearer objects occlude farther ones. Every pixel's depth is known exactly. Image ``k``
of a split depends only on (seed, split, k), never on how many images are made.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pycocotools import mask as mask_utils
from tqdm import tqdm

from sgt.io import atomic_dir
from sgt.seeding import rng_for

logger = logging.getLogger(__name__)

# Thing categories differ in shape; ``square`` and ``rectangle`` are the visually confusable pair (Fig. 7).
THINGS: dict[int, str] = {1: "circle", 2: "square", 3: "rectangle", 4: "triangle", 5: "diamond"}
# Stuff categories use COCO-panoptic-like ids above the things.
STUFF: dict[int, str] = {101: "sky", 102: "wall", 103: "grass", 104: "floor"}
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40),
    "blue": (40, 70, 215),
    "yellow": (235, 205, 40),
    "purple": (140, 50, 180),
    "orange": (240, 135, 25),
    "pink": (240, 120, 185),
}
STUFF_COLORS: dict[int, tuple[int, int, int]] = {
    101: (150, 200, 240),
    102: (205, 190, 160),
    103: (70, 150, 60),
    104: (130, 95, 65),
}
# "pretrain": the tiny UMM's pretraining corpus (sgt.train.corpus); "probe": the held-out scenes of the Fig. 7
# linear probe (sgt.analysis.features); neither is ever written as a COCO split
SPLIT_ID_OFFSET = {"train2017": 0, "val2017": 500_000, "pretrain": 1_000_000, "probe": 1_500_000}
CAMERA_HEIGHT = 1.5  # metres
FAR_PLANE = 60.0  # depth of sky, metres
WALL_DEPTH = 14.0


@dataclass(frozen=True, slots=True)
class ToyWorldSpec:
    """What to generate: counts per split, image size and object count range."""

    n_train: int
    n_val: int
    seed: int = 0
    width: int = 160
    height: int = 120
    min_objects: int = 1
    max_objects: int = 4
    crowd_prob: float = 0.2
    jpeg_quality: int = 92


@dataclass(frozen=True, slots=True)
class _Object:
    category_id: int
    color: str
    depth: float
    mask: npt.NDArray[np.bool_]


def _shape_mask(kind: str, cx: float, cy: float, size: float, h: int, w: int) -> npt.NDArray[np.bool_]:
    canvas = np.zeros((h, w), np.uint8)
    r = size / 2
    if kind == "circle":
        cv2.circle(canvas, (round(cx), round(cy)), max(1, round(r)), 1, thickness=-1, lineType=cv2.LINE_8)
    else:
        if kind == "square":
            pts = [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
        elif kind == "rectangle":
            pts = [(cx - 1.6 * r, cy - 0.6 * r), (cx + 1.6 * r, cy - 0.6 * r)]
            pts += [(cx + 1.6 * r, cy + 0.6 * r), (cx - 1.6 * r, cy + 0.6 * r)]
        elif kind == "triangle":
            pts = [(cx, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
        elif kind == "diamond":
            pts = [(cx, cy - 1.2 * r), (cx + 0.8 * r, cy), (cx, cy + 1.2 * r), (cx - 0.8 * r, cy)]
        else:  # pragma: no cover - THINGS is closed
            raise ValueError(f"unknown toy-world shape {kind!r}")
        cv2.fillPoly(canvas, [np.round(np.array(pts)).astype(np.int32)], 1, lineType=cv2.LINE_8)
    return canvas.astype(bool)


def _background(
    rng: np.random.Generator, h: int, w: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.float32], float, float]:
    """Stuff layout, per-pixel stuff id and depth; returns (rgb float, stuff ids, depth, horizon, focal)."""
    horizon = float(rng.uniform(0.3, 0.55) * h)
    focal = float(w * 0.9)
    upper = 101 if rng.random() < 0.6 else 102
    lower = 103 if rng.random() < 0.5 else 104
    rows = np.arange(h, dtype=np.float32)[:, None] + 0.5
    below = rows > horizon
    with np.errstate(divide="ignore"):
        ground_depth = np.where(below, focal * CAMERA_HEIGHT / np.maximum(rows - horizon, 1e-3), FAR_PLANE)
    ground_depth = np.minimum(ground_depth, FAR_PLANE).astype(np.float32)
    upper_depth = FAR_PLANE if upper == 101 else WALL_DEPTH
    depth = np.where(below, ground_depth, upper_depth).repeat(w, axis=1).astype(np.float32)
    if upper == 102:  # the wall stands on the ground: ground beyond it is hidden
        depth = np.minimum(depth, WALL_DEPTH)
    stuff = np.where(below, lower, upper).repeat(w, axis=1).astype(np.int32)
    if upper == 102:
        stuff = np.where(depth >= WALL_DEPTH, 102, stuff).astype(np.int32)
    rgb = np.zeros((h, w, 3), np.float32)
    for sid, colour in STUFF_COLORS.items():
        rgb[stuff == sid] = colour
    shade = 1.0 - 0.25 * (rows / h)  # gentle vertical shading
    rgb *= shade[..., None]
    rgb += rng.normal(0.0, 6.0, size=rgb.shape).astype(np.float32)  # texture
    return rgb, stuff, depth, horizon, focal


def _place_objects(
    rng: np.random.Generator, spec: ToyWorldSpec, horizon: float, focal: float
) -> list[_Object]:
    h, w = spec.height, spec.width
    n = int(rng.integers(spec.min_objects, spec.max_objects + 1))
    objects = []
    for _ in range(n):
        cat = int(rng.choice(list(THINGS)))
        color = str(rng.choice(list(COLORS)))
        depth = float(rng.uniform(3.0, 10.0))
        size = focal * float(rng.uniform(1.0, 1.6)) / depth  # a 1-1.6 m object
        cx = float(rng.uniform(0.1, 0.9) * w)
        ground_y = horizon + focal * CAMERA_HEIGHT / depth
        cy = min(ground_y - size / 2, h - 2)
        mask = _shape_mask(THINGS[cat], cx, cy, size, h, w)
        if mask.sum() >= 12:
            objects.append(_Object(cat, color, depth, mask))
    return sorted(objects, key=lambda o: -o.depth)  # far to near


def _crowd(rng: np.random.Generator, spec: ToyWorldSpec, horizon: float, focal: float) -> _Object:
    """A cluster of small same-class blobs annotated once with iscrowd=1, as COCO does for crowds."""
    h, w = spec.height, spec.width
    depth = float(rng.uniform(9.0, 13.0))
    ground_y = horizon + focal * CAMERA_HEIGHT / depth
    cx = float(rng.uniform(0.2, 0.8) * w)
    mask = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(4, 8))):
        x = cx + float(rng.normal(0, 6))
        y = min(ground_y - 2 + float(rng.normal(0, 1.5)), h - 2)
        mask |= _shape_mask("circle", x, y, float(rng.uniform(2.5, 4.0)), h, w)
    return _Object(1, str(rng.choice(list(COLORS))), depth, mask)


def _polygons(mask: npt.NDArray[np.bool_]) -> list[list[float]]:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        if len(c) >= 3:
            polys.append([float(v) + 0.5 for v in c.reshape(-1)])  # pixel centres
    return polys


def _uncompressed_rle(mask: npt.NDArray[np.bool_]) -> dict[str, Any]:
    """COCO's uncompressed RLE (column-major run lengths, starting with zeros), as crowd annotations use."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    counts = np.diff(np.concatenate([[0], changes])).tolist()
    return {"counts": [int(c) for c in counts], "size": [int(mask.shape[0]), int(mask.shape[1])]}


def _unique_ids(rng: np.random.Generator, n: int) -> list[int]:
    """``n`` distinct panoptic segment ids in [1, 2^24), as COCO's RGB id encoding allows."""
    ids: list[int] = []
    while len(ids) < n:
        candidate = int(rng.integers(1, 1 << 24))
        if candidate not in ids:
            ids.append(candidate)
    return ids


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _caption(objects: list[tuple[str, str]], upper: str, lower: str) -> str:
    if not objects:
        return f"{lower} under {upper}"
    parts = [f"{_article(color)} {color} {shape}" for color, shape in objects]
    things = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{things} on {lower} under {upper}"


@dataclass(frozen=True, slots=True)
class _Rendered:
    jpeg: bytes
    panoptic_png: bytes
    depth_png: bytes
    instances: list[dict[str, Any]]
    segments: list[dict[str, Any]]
    caption: str
    objects: list[dict[str, Any]]
    stuff: tuple[str, str]  # (upper, lower)


def render_image(spec: ToyWorldSpec, split: str, index: int) -> _Rendered:
    """Render image ``index`` of ``split``: its JPEG, panoptic PNG, depth PNG and annotations."""
    rng = rng_for(spec.seed, "toyworld", split, index)
    h, w = spec.height, spec.width
    rgb, stuff, depth, horizon, focal = _background(rng, h, w)
    objects = _place_objects(rng, spec, horizon, focal)
    crowd = _crowd(rng, spec, horizon, focal) if rng.random() < spec.crowd_prob else None
    layers = sorted(objects + ([crowd] if crowd else []), key=lambda o: -o.depth)
    owner = np.full((h, w), -1, np.int32)  # which layer is visible at each pixel
    rows = (np.arange(h, dtype=np.float32)[:, None] + 0.5) / h
    for k, obj in enumerate(layers):
        visible = obj.mask & (obj.depth < depth)
        owner[visible] = k
        depth[visible] = obj.depth
        base = np.array(COLORS[obj.color], np.float32)
        shade = (1.05 - 0.2 * rows).repeat(w, axis=1)[visible]
        rgb[visible] = base[None, :] * shade[:, None] + rng.normal(0.0, 3.0, size=(int(visible.sum()), 3))
    image = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, spec.jpeg_quality])
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
        raise RuntimeError("JPEG encoding failed")

    ids = _unique_ids(rng, len(layers) + len(STUFF))
    image_id = SPLIT_ID_OFFSET[split] + index + 1
    pan = np.zeros((h, w), np.int64)
    instances, segments, described = [], [], []
    ann_base = image_id * 100
    for k, obj in enumerate(layers):
        visible = owner == k
        area = int(visible.sum())
        if area < 4:
            continue  # fully occluded: COCO annotates visible extent only
        is_crowd = obj is crowd
        if is_crowd:
            segm: Any = _uncompressed_rle(visible)
            rle = mask_utils.frPyObjects(segm, h, w)
        else:
            segm = _polygons(visible)
            if not segm:
                continue
            rle = mask_utils.merge(mask_utils.frPyObjects(segm, h, w))
        ann_area = float(mask_utils.area(rle))
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        if ann_area <= 0:
            continue
        instances.append(
            {
                "id": int(ann_base + k),
                "image_id": image_id,
                "category_id": obj.category_id,
                "segmentation": segm,
                "area": ann_area,
                "bbox": bbox,
                "iscrowd": int(is_crowd),
            }
        )
        seg_id = int(ids[k])
        pan[visible] = seg_id
        ys, xs = np.nonzero(visible)
        x0, y0 = int(xs.min()), int(ys.min())
        segments.append(
            {
                "id": seg_id,
                "category_id": obj.category_id,
                "iscrowd": int(is_crowd),
                "bbox": [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
                "area": area,
            }
        )
        if not is_crowd:
            cx, cy = float(xs.mean()), float(ys.mean())
            described.append(
                {
                    "ann_id": int(ann_base + k),
                    "category": THINGS[obj.category_id],
                    "color": obj.color,
                    "depth": round(obj.depth, 4),
                    "centroid": [round(cx, 2), round(cy, 2)],
                    "area": area,
                }
            )
    for j, sid in enumerate(sorted(STUFF)):
        region = (owner < 0) & (stuff == sid)
        area = int(region.sum())
        if area == 0:
            continue
        seg_id = int(ids[len(layers) + j])
        pan[region] = seg_id
        ys, xs = np.nonzero(region)
        x0, y0 = int(xs.min()), int(ys.min())
        segments.append(
            {
                "id": seg_id,
                "category_id": sid,
                "iscrowd": 0,
                "bbox": [x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
                "area": area,
            }
        )
    pan_rgb = np.stack([pan % 256, (pan // 256) % 256, pan // 65536], axis=-1).astype(np.uint8)
    ok1, pan_png = cv2.imencode(".png", pan_rgb[..., ::-1])
    depth_mm = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
    ok2, depth_png = cv2.imencode(".png", depth_mm)
    if not (ok1 and ok2):  # pragma: no cover
        raise RuntimeError("PNG encoding failed")
    upper = "sky" if (stuff == 101).any() else "wall"
    lower = "grass" if (stuff == 103).any() else "floor"
    near_first = sorted(described, key=lambda d: d["centroid"][0])
    caption = _caption([(d["color"], d["category"]) for d in near_first], upper, lower)
    return _Rendered(
        jpeg.tobytes(),
        pan_png.tobytes(),
        depth_png.tobytes(),
        instances,
        segments,
        caption,
        described,
        (upper, lower),
    )


def _categories() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    inst = [{"id": i, "name": n, "supercategory": "shape"} for i, n in THINGS.items()]
    pan = [{**c, "isthing": 1, "color": list(COLORS["red"])} for c in inst]
    pan += [
        {"id": i, "name": n, "supercategory": "background", "isthing": 0, "color": list(STUFF_COLORS[i])}
        for i, n in STUFF.items()
    ]
    return inst, pan


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def write_toyworld(spec: ToyWorldSpec, out: str | Path) -> Path:
    """Write the toy world to ``out`` in COCO 2017's layout; the folder appears whole or not at all."""
    out = Path(out)
    inst_cats, pan_cats = _categories()
    info = {"description": "sgt toy world", "version": "1.0", "year": 2017, "seed": spec.seed}
    licenses = [{"id": 1, "name": "CC0", "url": ""}]
    with atomic_dir(out) as tmp:
        ann_dir = tmp / "annotations"
        ann_dir.mkdir()
        for split, n in (("train2017", spec.n_train), ("val2017", spec.n_val)):
            img_dir, pan_dir, depth_dir = tmp / split, ann_dir / f"panoptic_{split}", tmp / "depth" / split
            for d in (img_dir, pan_dir, depth_dir):
                d.mkdir(parents=True)
            images, instances, panoptic, captions, scenes = [], [], [], [], []
            for index in tqdm(range(n), desc=f"toy world {split}", disable=None):
                r = render_image(spec, split, index)
                image_id = SPLIT_ID_OFFSET[split] + index + 1
                stem = f"{image_id:012d}"
                (img_dir / f"{stem}.jpg").write_bytes(r.jpeg)
                (pan_dir / f"{stem}.png").write_bytes(r.panoptic_png)
                (depth_dir / f"{stem}.png").write_bytes(r.depth_png)
                images.append(
                    {
                        "id": image_id,
                        "file_name": f"{stem}.jpg",
                        "height": spec.height,
                        "width": spec.width,
                        "license": 1,
                    }
                )
                instances.extend(r.instances)
                panoptic.append(
                    {"image_id": image_id, "file_name": f"{stem}.png", "segments_info": r.segments}
                )
                captions.append({"id": image_id, "image_id": image_id, "caption": r.caption})
                scenes.append(
                    {"image_id": image_id, "objects": r.objects, "upper": r.stuff[0], "lower": r.stuff[1]}
                )
            base = {"info": info, "licenses": licenses, "images": images}
            (ann_dir / f"instances_{split}.json").write_bytes(
                _dump({**base, "annotations": instances, "categories": inst_cats})
            )
            (ann_dir / f"panoptic_{split}.json").write_bytes(
                _dump({**base, "annotations": panoptic, "categories": pan_cats})
            )
            (ann_dir / f"captions_{split}.json").write_bytes(_dump({**base, "annotations": captions}))
            (ann_dir / f"scenes_{split}.json").write_bytes(_dump({"scenes": scenes}))
            logger.info("toy world %s: %d images, %d instance annotations", split, n, len(instances))
        (tmp / "depth" / "README.txt").write_text(
            "Exact per-pixel depth of the visible surface, uint16 PNG in millimetres.\n"
        )
    return out


def focal_length(width: int) -> float:
    """The toy camera's focal length in pixels (for metric-depth consumers)."""
    return width * 0.9


__all__ = ["COLORS", "STUFF", "THINGS", "ToyWorldSpec", "focal_length", "render_image", "write_toyworld"]
