"""Pairs per second per core for every proxy task at COCO resolution, beside the floor and a naive baseline.

    PYTHONPATH=src python benchmarks/synth.py [--images 24] [--repeats 3] [--out bench.json]

One process, OpenCV pinned to one thread, toy-world images at 640x480 (COCO's typical size) with up to 8
objects. Time is process CPU time (per core, and far less sensitive to busy neighbours than wall time).
Each method runs over the same images; repeats are interleaved across methods and the best repeat counts.

End to end (what one pair costs):
- task:   what ``build_shard`` does per pair: load (JPEG + annotations + panoptic PNG when the task reads it +
          depth), the recipe, PNG-encode condition and target.
- floor:  JPEG decode + PNG encode of the image twice (a pair is two PNGs): no recipe can do less.
- naive_<task> (segmentation): JPEG decode, the naive render below, then the same two PNG encodes.
Annotations to colour image only (no image decode, no PNG encode; the part the naive loop replaces):
- naive_<task>_render: what a user would write. instance: pycocotools ``annToMask`` per annotation in a
          Python loop, each mask coloured by boolean indexing (a random colour per instance); panoptic:
          panopticapi's ``rgb2id`` on the panoptic PNG, then ``ids == id`` per segment coloured the same
          way; semantic: that same per-segment loop with category colours, since our semantic target has
          the stuff classes only the panoptic PNG holds (checked equal to ours before timing).
- <task>_work: ours, same span: the loader's annotation decoding (instance masks, panoptic PNG) + the recipe.
- <task>_render: the recipe alone on an already loaded ``Sample``.
The end-to-end ratio to naive cannot exceed (naive end to end) / (floor-like shared part): both sides decode
the JPEG and PNG-encode the same photo as the condition, and that encode dominates a pair.

Targets: every task within 2x of the floor; segmentation at least 3x faster than the naive loop.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from sgt.data.coco import CocoDataset
from sgt.data.images import decode_image
from sgt.data.records import Sample
from sgt.data.toyworld import ToyWorldSpec, write_toyworld
from sgt.seeding import rng_for
from sgt.targets import TASKS, detection, inpaint, mixed, restore  # noqa: F401  (registers these tasks)
from sgt.targets.palette import category_color, instance_colors
from sgt.targets.shards import encode_png

logger = logging.getLogger("benchmarks.synth")
SEGMENTATION = ("semantic", "instance", "panoptic")


def _time(fn: Callable[[int], object], ids: list[int]) -> float:
    start = time.process_time()
    for image_id in ids:
        fn(image_id)
    return time.process_time() - start


def _task_fn(root: Path, name: str) -> Callable[[int], object]:
    task = TASKS[name]
    dataset = CocoDataset(root, "train2017", panoptic=None if "panoptic" in task.needs else False)

    def run(image_id: int) -> object:
        pair = task.pair(dataset.load(image_id), rng_for(0, name, image_id))
        cond = encode_png(pair.condition)
        return cond if pair.target is pair.condition else encode_png(pair.target)

    return run


def _floor_fn(root: Path, files: dict[int, str]) -> Callable[[int], object]:
    def run(image_id: int) -> object:
        image = decode_image((root / "train2017" / files[image_id]).read_bytes(), files[image_id])
        encode_png(image)
        return encode_png(image)

    return run


def _naive_renders(root: Path) -> dict[str, Callable[[int], np.ndarray]]:
    """What a user would write per segmentation task, each mask coloured by boolean indexing: instance,
    pycocotools ``annToMask`` per annotation; panoptic, panopticapi's ``rgb2id`` then one ``ids == id`` mask
    per segment; semantic, the same per-segment loop with category colours (our semantic target has the
    stuff classes, which only the panoptic PNG holds; ``annToMask`` per annotation without one). Same
    colours as our recipes (``main`` checks the semantic targets are equal); no shared work with them."""
    import json

    from pycocotools.coco import COCO

    coco = COCO(str(root / "annotations" / "instances_train2017.json"))
    pan = json.loads((root / "annotations" / "panoptic_train2017.json").read_text(encoding="utf-8"))
    pan_by_image = {a["image_id"]: a for a in pan["annotations"]}
    isthing = {c["id"]: c.get("isthing", 1) for c in pan["categories"]}
    stuff = [category_color(c) for c, t in isthing.items() if not t]

    def blank(image_id: int) -> np.ndarray:
        meta = coco.imgs[image_id]
        return np.zeros((meta["height"], meta["width"], 3), np.uint8)

    def panoptic_ids(image_id: int) -> np.ndarray:
        png = root / "annotations" / "panoptic_train2017" / pan_by_image[image_id]["file_name"]
        rgb = decode_image(png.read_bytes(), str(png)).astype(np.int32)
        return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]  # panopticapi's rgb2id

    def semantic(image_id: int) -> np.ndarray:
        if image_id not in pan_by_image:  # things only: annToMask per annotation
            target = blank(image_id)
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=[image_id])):
                target[coco.annToMask(ann) == 1] = category_color(ann["category_id"])
            return target
        ids = panoptic_ids(image_id)  # things and stuff, as our semantic target has them
        target = np.zeros((*ids.shape, 3), np.uint8)
        for seg in pan_by_image[image_id]["segments_info"]:
            target[ids == seg["id"]] = category_color(seg["category_id"])
        return target

    def instance(image_id: int) -> np.ndarray:
        target = blank(image_id)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        for ann, color in zip(anns, instance_colors(len(anns), rng_for(0, "naive", image_id)), strict=True):
            target[coco.annToMask(ann) == 1] = color
        return target

    def panoptic(image_id: int) -> np.ndarray:
        ids = panoptic_ids(image_id)
        target = np.zeros((*ids.shape, 3), np.uint8)
        segs = pan_by_image[image_id]["segments_info"]
        colors = iter(instance_colors(len(segs), rng_for(0, "naive", image_id), exclude=stuff))
        for seg in segs:
            thing = isthing[seg["category_id"]]
            target[ids == seg["id"]] = next(colors) if thing else category_color(seg["category_id"])
        return target

    return {"semantic": semantic, "instance": instance, "panoptic": panoptic}


def _naive_fn(
    root: Path, files: dict[int, str], render: Callable[[int], np.ndarray]
) -> Callable[[int], object]:
    """End to end like a task: JPEG decode, the naive render, the same two PNG encodes."""

    def run(image_id: int) -> object:
        image = decode_image((root / "train2017" / files[image_id]).read_bytes(), files[image_id])
        encode_png(image)
        return encode_png(render(image_id))

    return run


def _render_fn(root: Path, name: str) -> Callable[[int], object]:
    task = TASKS[name]
    dataset = CocoDataset(root, "train2017")
    samples = {}

    def run(image_id: int) -> object:
        if image_id not in samples:
            samples[image_id] = dataset.load(image_id)
        return task.pair(samples[image_id], rng_for(0, name, image_id))

    return run


def _work_fn(root: Path, name: str) -> Callable[[int], object]:
    """Annotations to colour image, as the naive render measures it: our annotation decoding (instances and
    panoptic PNG) and the recipe, without the image decode and PNG encodes both sides share.
    ``load`` always decodes the image, so the image is decoded once beforehand, outside the timing."""
    task = TASKS[name]
    dataset = CocoDataset(root, "train2017", panoptic=None if "panoptic" in task.needs else False)
    images = {i: dataset.load(i).image for i in dataset.image_ids()}

    def run(image_id: int) -> object:
        image = images[image_id]
        h, w = image.shape[:2]
        anns = dataset._anns_by_image.get(image_id, [])  # noqa: SLF001  (the loader's own steps)
        kept = [ann for ann, problem in anns if problem is None]
        instances = tuple(inst for ann in kept if (inst := dataset._instance(ann, image_id, h, w)))  # noqa: SLF001
        segments = dataset._segments(image_id, h, w) if dataset.has_panoptic else ()  # noqa: SLF001
        sample = Sample(image_id, "", "coco", image, instances, segments, dataset.categories)
        return task.pair(sample, rng_for(0, name, image_id))

    return run


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--root", type=Path, help="reuse a 640x480 toy world here (made if missing)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cv2.setNumThreads(1)
    root = args.root or Path(tempfile.mkdtemp(prefix="synth-bench-")) / "toyworld"
    if not (root / "annotations").is_dir():
        logger.info("writing %d toy-world images at 640x480 to %s", args.images, root)
        write_toyworld(ToyWorldSpec(n_train=args.images, n_val=1, width=640, height=480, max_objects=8), root)
    dataset = CocoDataset(root, "train2017")
    ids = dataset.image_ids()[: args.images]
    files = {i: f"{i:012d}.jpg" for i in ids}
    naive_renders = _naive_renders(root)
    methods: dict[str, Callable[[int], object]] = {"floor": _floor_fn(root, files)}
    methods.update({name: _task_fn(root, name) for name in sorted(TASKS)})
    methods.update({f"naive_{n}": _naive_fn(root, files, naive_renders[n]) for n in SEGMENTATION})
    methods.update({f"naive_{n}_render": naive_renders[n] for n in SEGMENTATION})
    methods.update({f"{name}_render": _render_fn(root, name) for name in SEGMENTATION})
    methods.update({f"{name}_work": _work_fn(root, name) for name in SEGMENTATION})
    for name in SEGMENTATION:  # samples decoded once, outside the timing
        for image_id in ids:
            methods[f"{name}_render"](image_id)
    for fn in methods.values():  # warm caches (annotation JSON, palettes) outside the timing
        fn(ids[0])
    for image_id in ids:  # the baseline must make the target ours makes, or the ratio means nothing
        ours = methods["semantic_render"](image_id)
        if not np.array_equal(naive_renders["semantic"](image_id), ours.target):  # type: ignore[attr-defined]
            raise AssertionError(f"naive semantic target differs from ours on image {image_id}")
    best = {name: float("inf") for name in methods}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            best[name] = min(best[name], _time(fn, ids))
    rate = {name: len(ids) / seconds for name, seconds in best.items()}
    results = {}
    for name in methods:
        r = {"pairs_per_s": round(rate[name], 2), "ms_per_pair": round(1000 / rate[name], 2)}
        task = name.removesuffix("_render").removesuffix("_work")
        if name.endswith(("_render", "_work")):
            if not name.startswith("naive_"):
                r["x_faster_than_naive"] = round(rate[name] / rate[f"naive_{task}_render"], 2)
        else:
            r["x_floor_time"] = round(rate["floor"] / rate[name], 2)
            if name in SEGMENTATION:
                r["x_faster_than_naive"] = round(rate[name] / rate[f"naive_{name}"], 2)
        results[name] = r
    print(f"{'method':<24}{'pairs/s/core':>14}{'ms/pair':>10}{'x floor':>9}{'vs naive':>10}")
    for name, r in results.items():
        vs = f"{r['x_faster_than_naive']:.2f}x" if "x_faster_than_naive" in r else ""
        floor = f"{r['x_floor_time']:.2f}" if "x_floor_time" in r else ""
        print(f"{name:<24}{r['pairs_per_s']:>14.1f}{r['ms_per_pair']:>10.1f}{floor:>9}{vs:>10}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"images": len(ids), "results": results}, indent=1, sort_keys=True) + "\n"
        )
    return results


if __name__ == "__main__":
    main()
