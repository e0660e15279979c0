"""The toy world: byte-reproducible, COCO-format, exact ground truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from sgt.data.coco import CocoDataset
from sgt.data.toyworld import STUFF, THINGS, ToyWorldSpec, write_toyworld


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    spec = ToyWorldSpec(n_train=6, n_val=2, seed=11)
    a = _digest(write_toyworld(spec, tmp_path / "a"))
    b = _digest(write_toyworld(spec, tmp_path / "b"))
    assert a == b
    assert len(a) > 20
    c = _digest(write_toyworld(ToyWorldSpec(n_train=6, n_val=2, seed=12), tmp_path / "c"))
    assert a != c


def test_image_k_does_not_depend_on_how_many_are_made(tmp_path: Path) -> None:
    small = write_toyworld(ToyWorldSpec(n_train=3, n_val=1, seed=5), tmp_path / "small")
    large = write_toyworld(ToyWorldSpec(n_train=7, n_val=1, seed=5), tmp_path / "large")
    for name in ("000000000001.jpg", "000000000003.jpg"):
        assert (small / "train2017" / name).read_bytes() == (large / "train2017" / name).read_bytes()


def test_coco_layout_reads_with_pycocotools(toyworld_root: Path) -> None:
    for split in ("train2017", "val2017"):
        coco = COCO(str(toyworld_root / "annotations" / f"instances_{split}.json"))
        assert {c["id"] for c in coco.loadCats(coco.getCatIds())} == set(THINGS)
        anns = coco.loadAnns(coco.getAnnIds())
        assert anns, "every split has annotations"
        kinds = {type(a["segmentation"]).__name__ for a in anns}
        assert "list" in kinds  # polygons
        for ann in anns:
            mask = coco.annToMask(ann)
            assert mask.sum() == ann["area"]
            x, y, w, h = ann["bbox"]
            ys, xs = np.nonzero(mask)
            assert (xs.min(), ys.min()) == (x, y) and (xs.max() + 1 - x, ys.max() + 1 - y) == (w, h)
    all_train = json.loads((toyworld_root / "annotations" / "instances_train2017.json").read_text())
    crowd = [a for a in all_train["annotations"] if a["iscrowd"]]
    assert all(isinstance(a["segmentation"], dict) for a in crowd)  # crowds are RLE, as in COCO


def test_crowd_rle_appears_in_a_larger_world(tmp_path: Path) -> None:
    root = write_toyworld(ToyWorldSpec(n_train=30, n_val=1, seed=0, crowd_prob=0.5), tmp_path / "tw")
    coco = COCO(str(root / "annotations" / "instances_train2017.json"))
    crowd = [a for a in coco.loadAnns(coco.getAnnIds()) if a["iscrowd"]]
    assert crowd
    for ann in crowd:
        assert coco.annToMask(ann).sum() == ann["area"]


def test_panoptic_covers_every_pixel_once_and_matches_instances(toyworld_root: Path) -> None:
    ds = CocoDataset(toyworld_root, "train2017", source="toyworld")
    assert ds.has_panoptic
    for image_id in ds.image_ids()[:8]:
        sample = ds.load(image_id)
        cover = np.zeros(sample.image.shape[:2], int)
        for seg in sample.segments:
            cover += seg.mask
            assert seg.isthing == (seg.category_id in THINGS)
            assert seg.category_id in THINGS or seg.category_id in STUFF
        assert (cover == 1).all()
        things = [s for s in sample.segments if s.isthing and not s.iscrowd]
        plain = [i for i in sample.instances if not i.iscrowd]
        assert len(things) == len(plain)


def test_depth_is_exact_for_objects(toyworld_root: Path) -> None:
    scenes = json.loads((toyworld_root / "annotations" / "scenes_train2017.json").read_text())["scenes"]
    ds = CocoDataset(toyworld_root, "train2017")
    scene = next(s for s in scenes if s["objects"])
    sample = ds.load(scene["image_id"])
    assert sample.depth is not None and sample.depth.shape == sample.image.shape[:2]
    by_id = {i.ann_id: i for i in sample.instances}
    for obj in scene["objects"]:
        mask = by_id[obj["ann_id"]].mask
        # the polygon annotation may differ from the pixel mask at the boundary: use its interior
        interior = mask & np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1)
        if interior.any():
            assert np.allclose(sample.depth[interior], obj["depth"], atol=1e-3)
    assert float(sample.depth.max()) <= 60.0 and float(sample.depth.min()) > 0
