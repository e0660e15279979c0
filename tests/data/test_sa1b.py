"""SA-1B loader: RLE masks from a generated SA-1B JSON decode to the right pixels and segments."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from sgt.data.images import CorruptImageError
from sgt.data.sa1b import OBJECT, SA1BDataset, load_sample, write_sample


def _scene() -> tuple[np.ndarray, list[np.ndarray]]:
    h, w = 48, 64
    image = np.zeros((h, w, 3), np.uint8)
    image[..., 0] = np.arange(w, dtype=np.uint8)[None, :] * 3
    whole = np.zeros((h, w), bool)
    whole[4:44, 6:58] = True  # 40 x 52 = 2080
    part = np.zeros((h, w), bool)
    part[10:20, 10:30] = True  # 200, inside ``whole``
    yy, xx = np.mgrid[:h, :w]
    blob = (yy - 30) ** 2 + (xx - 45) ** 2 <= 36  # a disc overlapping ``whole``
    return image, [whole, part, blob]


def test_rle_masks_decode_to_the_written_pixels(tmp_path):
    image, masks = _scene()
    jpg, js = write_sample(tmp_path, 7, image, masks)
    raw = json.loads(js.read_text())
    assert raw["image"] == {"image_id": 7, "width": 64, "height": 48, "file_name": "sa_7.jpg"}
    assert all(isinstance(a["segmentation"]["counts"], str) for a in raw["annotations"])  # compressed RLE

    sample = load_sample(js)
    assert sample.image_id == 7 and sample.source == "sa1b" and sample.image.shape == (48, 64, 3)
    assert [int(i.mask.sum()) for i in sample.instances] == [2080, 200, int(masks[2].sum())]
    assert [i.area for i in sample.instances] == [2080.0, 200.0, float(masks[2].sum())]
    for inst, mask in zip(sample.instances, masks, strict=True):
        assert np.array_equal(inst.mask, mask)
        assert inst.category_id == OBJECT.id and not inst.iscrowd
    assert sample.instances[0].bbox == (6.0, 4.0, 52.0, 40.0)
    assert sample.categories == {1: OBJECT} and OBJECT.name == "object"


def test_segments_keep_small_parts_on_top_of_wholes(tmp_path):
    image, masks = _scene()
    _, js = write_sample(tmp_path, 8, image, masks)
    sample = load_sample(js)
    by_id = {s.id: s for s in sample.segments}
    whole, part, blob = (by_id[a.ann_id] for a in sample.instances)
    assert int(part.mask.sum()) == 200
    assert int(blob.mask.sum()) == int(masks[2].sum())  # smaller than the whole: fully visible
    assert int(whole.mask.sum()) == 2080 - 200 - int((masks[2] & masks[0]).sum())
    stacked = np.stack([s.mask for s in sample.segments]).sum(0)
    assert stacked.max() == 1  # no pixel in two segments
    assert [s.id for s in sample.segments][0] == whole.id  # ordered by area, largest first


def test_bad_masks_are_skipped_and_bad_files_raise_corrupt(tmp_path):
    image, masks = _scene()
    _, js = write_sample(tmp_path, 9, image, masks)
    raw = json.loads(js.read_text())
    wrong = mask_utils.encode(np.asfortranarray(np.ones((10, 10), np.uint8)))
    raw["annotations"].append(
        {"id": 1, "segmentation": {"size": [10, 10], "counts": wrong["counts"].decode()}}
    )
    js.write_text(json.dumps(raw))
    assert len(load_sample(js).instances) == 3

    (tmp_path / "sa_9.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(CorruptImageError, match="sa_9.jpg"):
        load_sample(js)
    js.write_text("{truncated")
    with pytest.raises(CorruptImageError, match="sa_9.json"):
        load_sample(js)


def test_dataset_indexes_extracted_shards(tmp_path):
    image, masks = _scene()
    write_sample(tmp_path / "sa_000000", 3, image, masks[:1])
    write_sample(tmp_path / "sa_000001", 12, image, masks[1:])
    (tmp_path / "sa_000001" / "sa_99.json").write_text("{}")  # no image beside it: not indexed
    ds = SA1BDataset(tmp_path)
    assert ds.image_ids() == [3, 12]
    assert len(ds.load(12).instances) == 2
    with pytest.raises(KeyError, match="99"):
        ds.load(99)


def test_bad_rle_and_duplicate_ids_are_skipped_and_counted_with_their_ids(tmp_path, caplog):
    """Issue #21 findings 5 and 8 on SA-1B: one unreadable RLE failed the image's whole shard, and an id used
    twice gave two instances."""
    image, masks = _scene()
    _, js = write_sample(tmp_path, 11, image, masks)
    raw = json.loads(js.read_text())
    first, second, third = raw["annotations"]
    raw["annotations"].append(dict(first))  # the same id twice
    js.write_text(json.dumps(raw))
    ds = SA1BDataset(tmp_path)
    assert [i.ann_id for i in ds.load(11).instances] == [first["id"], second["id"], third["id"]]
    assert ds.skipped == {"duplicate annotation id": 1}

    second["segmentation"]["counts"] = "!!corrupt"
    js.write_text(json.dumps(raw))
    ds = SA1BDataset(tmp_path)
    with caplog.at_level("WARNING"):
        sample = ds.load(11)
    assert [i.ann_id for i in sample.instances] == [first["id"], third["id"]]
    assert ds.skipped == {"invalid RLE": 1, "duplicate annotation id": 1}
    assert [(s.reason, s.image_id, s.ann_id) for s in ds.skipped.where] == [
        ("invalid RLE", 11, second["id"]),
        ("duplicate annotation id", 11, first["id"]),
    ]
    assert f"sa_11.json: image 11 annotation {second['id']}: invalid RLE" in caplog.text
