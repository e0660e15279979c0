"""The loader's fast decoding equals the straightforward one: pycocotools ``annToMask`` for polygons, RLE and
crowd RLE, and panopticapi's ``rgb2id`` on a PIL-decoded PNG for panoptic segments."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from pycocotools import mask as mask_utils

from sgt.data.coco import CocoDataset, panoptic_id_map

H, W = 37, 53  # odd sizes: row/column-order mistakes cannot cancel out


def _blob(rng: np.random.Generator) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    cx, cy = int(rng.integers(8, W - 8)), int(rng.integers(8, H - 8))
    cv2.ellipse(mask, (cx, cy), (int(rng.integers(3, 8)), int(rng.integers(3, 8))), 0, 0, 360, 1, -1)
    return mask


def _uncompressed(mask: np.ndarray) -> dict:
    """COCO's uncompressed RLE: alternating run lengths in column-major order, starting with a 0-run."""
    runs, value, n = [], 0, 0
    for v in mask.flatten(order="F").tolist():
        if v == value:
            n += 1
        else:
            runs.append(n)
            value, n = v, 1
    return {"size": [H, W], "counts": [*runs, n]}


def _annotations(rng: np.random.Generator) -> list[dict]:
    blob_a, blob_b, blob_c = _blob(rng), _blob(rng), _blob(rng)
    rle_c = mask_utils.encode(np.asfortranarray(blob_c))
    rle_c["counts"] = rle_c["counts"].decode("ascii")  # compressed RLE as COCO JSON stores it
    poly = [[5.0, 4.0, 30.5, 6.0, 22.0, 25.5, 7.5, 20.0], [35.0, 10.0, 50.0, 12.0, 44.0, 30.0]]
    rle_a, rle_b = _uncompressed(blob_a), _uncompressed(blob_b)
    return [
        {"id": 1, "category_id": 1, "segmentation": poly, "iscrowd": 0, "bbox": [5, 4, 45, 26], "area": 1.0},
        {"id": 2, "category_id": 2, "segmentation": rle_a, "iscrowd": 0, "bbox": [1, 1, 9, 9]},
        {"id": 3, "category_id": 1, "segmentation": rle_b, "iscrowd": 1, "bbox": [2, 2, 9, 9]},
        {"id": 4, "category_id": 2, "segmentation": rle_c, "iscrowd": 1, "bbox": [3, 3, 9, 9], "area": 7},
    ]


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    (tmp_path / "train2017").mkdir()
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "train2017" / "1.png"), image)
    ann_dir = tmp_path / "annotations"
    (ann_dir / "panoptic_train2017").mkdir(parents=True)
    anns = [{**a, "image_id": 1} for a in _annotations(rng)]
    cats = [{"id": 1, "name": "a", "isthing": 1}, {"id": 2, "name": "b", "isthing": 0}]
    info = {"images": [{"id": 1, "file_name": "1.png", "height": H, "width": W}], "categories": cats}
    (ann_dir / "instances_train2017.json").write_text(json.dumps({**info, "annotations": anns}))
    # ids that use all three channels (R + 256 G + 65536 B), one absent from the PNG, one never drawn
    seg_ids = [1, 300, 70000, 16777215, 5000]
    label = rng.integers(0, 4, (H, W))
    ids = np.array(seg_ids[:4], np.int64)[label]
    rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="PNG")
    (ann_dir / "panoptic_train2017" / "1.png").write_bytes(buf.getvalue())
    segs = [{"id": s, "category_id": 1 + k % 2, "iscrowd": 0} for k, s in enumerate(seg_ids)]
    pan = {**info, "annotations": [{"image_id": 1, "file_name": "1.png", "segments_info": segs}]}
    (ann_dir / "panoptic_train2017.json").write_text(json.dumps(pan))
    return tmp_path


def test_instance_masks_equal_ann_to_mask(root: Path) -> None:
    from pycocotools.coco import COCO

    coco = COCO(str(root / "annotations" / "instances_train2017.json"))
    sample = CocoDataset(root, "train2017").load(1)
    assert [i.ann_id for i in sample.instances] == [1, 2, 3, 4]
    for inst in sample.instances:
        ann = coco.anns[inst.ann_id]
        expected = coco.annToMask(ann).astype(bool)
        assert inst.mask.dtype == np.bool_
        assert np.array_equal(inst.mask, expected), ann["segmentation"]
        assert inst.mask.any() and not inst.mask.all()
        assert inst.area == float(ann.get("area", expected.sum()))
        assert inst.iscrowd == bool(ann["iscrowd"])


def test_panoptic_segments_equal_rgb2id(root: Path) -> None:
    sample = CocoDataset(root, "train2017").load(1)
    rgb = np.asarray(PILImage.open(root / "annotations" / "panoptic_train2017" / "1.png")).astype(np.int64)
    ids = rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]  # panopticapi's rgb2id
    assert [s.id for s in sample.segments] == [1, 300, 70000, 16777215, 5000]
    for seg in sample.segments:
        assert seg.mask.shape == (H, W)
        assert np.array_equal(seg.mask, ids == seg.id)
    assert not sample.segments[-1].mask.any()  # listed but not drawn: an empty mask, as before
    assert np.stack([s.mask for s in sample.segments]).sum(0).max() == 1


def test_panoptic_id_map_all_colours() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    rgb[0, 0], rgb[0, 1] = (255, 255, 255), (0, 0, 0)
    ids = panoptic_id_map(np.ascontiguousarray(rgb[..., ::-1]))
    wide = rgb.astype(np.int64)
    assert np.array_equal(ids, wide[..., 0] + 256 * wide[..., 1] + 65536 * wide[..., 2])
    assert ids[0, 0] == (1 << 24) - 1 and ids[0, 1] == 0


def test_panoptic_png_of_another_size_is_skipped(root: Path) -> None:
    png = root / "annotations" / "panoptic_train2017" / "1.png"
    png.write_bytes(cv2.imencode(".png", np.zeros((H + 1, W, 3), np.uint8))[1].tobytes())
    dataset = CocoDataset(root, "train2017")
    assert dataset.load(1).segments == ()
    assert dataset.skipped["panoptic PNG size differs from image size"] == 1
