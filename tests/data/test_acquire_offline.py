"""The whole acquisition path on fake archives in the real layouts: no network beyond 127.0.0.1."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sgt.data.archive import extract
from sgt.data.coco import CocoDataset, LayoutError
from sgt.data.download import RetryPolicy, download, download_all
from sgt.data.roots import unpack_coco_panoptic, validate_coco_root, validate_sa1b_root
from sgt.data.sa1b import SA1BDataset, write_sample
from sgt.data.sources import COCO_2017, coco_sources, read_sa1b_links
from sgt.data.subset import pool_order, select, write_manifest
from sgt.data.toyworld import ToyWorldSpec, write_toyworld

FAST = RetryPolicy(retries=2, backoff_s=0.001, timeout_s=5.0)
SPLITS = ("train2017", "val2017")


def _zip_tree(base: Path, names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name in names:
            zf.write(base / name, name)
    return buf.getvalue()


def _rel(root: Path, folder: str) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / folder).rglob("*") if p.is_file())


def coco_mirror(toy: Path) -> dict[str, bytes]:
    """The four COCO 2017 archives, laid out as upstream ships them, built from a toy world."""
    ann = toy / "annotations"
    nested = {s: _zip_tree(ann, _rel(ann, f"panoptic_{s}")) for s in SPLITS}
    pan = io.BytesIO()
    with zipfile.ZipFile(pan, "w") as zf:
        for s in SPLITS:
            zf.write(ann / f"panoptic_{s}.json", f"annotations/panoptic_{s}.json")
            zf.writestr(f"annotations/panoptic_{s}.zip", nested[s])
    return {
        "zips/train2017.zip": _zip_tree(toy, _rel(toy, "train2017")),
        "zips/val2017.zip": _zip_tree(toy, _rel(toy, "val2017")),
        "annotations/annotations_trainval2017.zip": _zip_tree(
            toy, [f"annotations/{k}_{s}.json" for k in ("instances", "captions") for s in SPLITS]
        ),
        "annotations/panoptic_annotations_trainval2017.zip": pan.getvalue(),
    }


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    return write_toyworld(
        ToyWorldSpec(n_train=6, n_val=3, seed=1, width=64, height=48), tmp_path_factory.mktemp("toy") / "toy"
    )


def test_coco_download_extract_validate_subset_over_local_http(http_server, toy, tmp_path):
    for path, data in coco_mirror(toy).items():
        http_server.serve(f"/coco/{path}", data, drop_after=len(data) // 2, drops=1)
    no_pins = {k: {"md5": None, "size": None} for k in COCO_2017}  # the fakes are not the real archives
    sources = coco_sources(no_pins, base_url=http_server.base + "/coco")
    assert sources["train2017"].url == http_server.base + "/coco/zips/train2017.zip"
    manifest = tmp_path / "checksums" / "coco2017.sha256.json"
    archives = download_all(sources.values(), tmp_path / "downloads", manifest=manifest, policy=FAST)
    assert sum(r is not None for _, r in http_server.requests) == 4  # each resumed once by Range

    root = tmp_path / "coco"
    for archive in archives:
        extract(archive, root)
    unpack_coco_panoptic(root, SPLITS)
    summary = validate_coco_root(root, SPLITS)
    assert summary["splits"]["train2017"] == {"images": 6, "image_files": 6, "panoptic_pngs": 6}

    ds = CocoDataset(root, "train2017")
    reference = CocoDataset(toy, "train2017")
    first = ds.image_ids()[0]
    assert ds.load(first).segments and len(ds.load(first).instances) == len(reference.load(first).instances)

    # One corrupt JPEG in the pool: skipped and replaced, the sets keep their size.
    bad = pool_order(ds.image_ids(), 0)[1]
    (root / "train2017" / f"{bad:012d}.jpg").write_bytes(b"\xff\xd8 truncated")
    sel = select(
        ds.image_ids(), {"panoptic": 4, "edge": 4}, seed=0, shard_size=3, readable=ds.load, min_overlap=0.95
    )
    assert sel.corrupt == (bad,) and all(len(t.image_ids) == 4 for t in sel.tasks.values())
    write_manifest(sel, tmp_path / "subset.json")

    # A rerun is free: files are present, records match, nothing is fetched again.
    n_requests = len(http_server.requests)
    download_all(sources.values(), tmp_path / "downloads", manifest=manifest, policy=FAST)
    rewritten = {a.name: extract(a, root).n_bytes for a in archives}  # only the damaged image is restored
    assert rewritten == {a.name: 0 for a in archives} | {
        "train2017.zip": (toy / "train2017" / f"{bad:012d}.jpg").stat().st_size
    }
    assert len(http_server.requests) == n_requests


def test_offline_root_from_file_urls_and_validation_errors(toy, tmp_path):
    mirror = tmp_path / "mirror"
    for path, data in coco_mirror(toy).items():
        (mirror / path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / path).write_bytes(data)
    sources = coco_sources({k: {"md5": None, "size": None} for k in COCO_2017}, base_url=mirror.as_uri())
    root = tmp_path / "coco"
    for src in sources.values():
        extract(download(src, tmp_path / "dl" / src.name), root)
    unpack_coco_panoptic(root, SPLITS)
    assert validate_coco_root(root, ["val2017"])["splits"]["val2017"]["images"] == 3
    next((root / "val2017").iterdir()).unlink()
    with pytest.raises(LayoutError, match="1 of 3 listed images are missing"):
        validate_coco_root(root, ["val2017"])
    with pytest.raises(LayoutError, match="val2017 is missing"):
        validate_coco_root(tmp_path / "mirror", ["val2017"])


def test_sa1b_links_file_download_extract_load(tmp_path):
    rng = np.random.default_rng(0)
    shards = tmp_path / "meta"
    lines = ["file_name\tcdn_link"]
    for shard in range(3):
        folder = tmp_path / "make" / f"{shard}"
        for k in range(2):
            image = rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)
            mask = np.zeros((32, 40), bool)
            mask[2 : 10 + k, 3:20] = True
            write_sample(folder, shard * 10 + k + 1, image, [mask, ~mask])
        shards.mkdir(exist_ok=True)
        with tarfile.open(shards / f"sa_{shard:06d}.tar", "w") as tf:
            for p in sorted(folder.iterdir()):
                tf.add(p, f"./{p.name}")
        lines.append(f"sa_{shard:06d}.tar\t{(shards / f'sa_{shard:06d}.tar').as_uri()}")
    lines.append("sa_images_ids.txt\t" + (shards / "ids.txt").as_uri())
    links = tmp_path / "links.txt"
    links.write_text("\n".join(lines) + "\n")

    sources = read_sa1b_links(links, n_shards=2)
    assert [s.name for s in sources] == ["sa_000000.tar", "sa_000001.tar"]
    root = tmp_path / "sa1b"
    for src in sources:
        extract(download(src, tmp_path / "dl" / src.name), root / Path(src.name).stem)
    assert validate_sa1b_root(root, min_images=4)["images"] == 4
    ds = SA1BDataset(root)
    assert ds.image_ids() == [1, 2, 11, 12]
    sample = ds.load(12)
    assert [int(i.mask.sum()) for i in sample.instances] == [9 * 17, 32 * 40 - 9 * 17]
    with pytest.raises(ValueError, match="lists 3 tar files"):
        read_sa1b_links(links, n_shards=4)
    links.write_text("sa_000000.tar\thttps://x\n")  # the header line is optional
    assert [s.url for s in read_sa1b_links(links)] == ["https://x"]
    links.write_text("file_name\tcdn_link\nsa_000000.tar https://x\n")
    with pytest.raises(ValueError, match=r"links.txt:2: expected 'file_name<TAB>url'.*data.sa1b.links_file"):
        read_sa1b_links(links)
