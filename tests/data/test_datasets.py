"""The data-source registry: every source opens behind one interface; SA-1B splits and shard selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.data.coco import LayoutError
from sgt.data.registry import SOURCES, open_dataset, source_options, validate_root
from sgt.data.sa1b import SA1BDataset, held_out
from sgt.data.sources import sa1b_shard_sources
from sgt.data.toyworld import ToyWorldSpec, write_toyworld
from sgt.testing.sa1b import sa1b_from_toyworld

SPLIT = {"eval_split": "val2017", "eval_fraction": 0.25}


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Path:
    spec = ToyWorldSpec(n_train=12, n_val=2, seed=2, width=64, height=48)
    return write_toyworld(spec, tmp_path_factory.mktemp("toy") / "toy")


@pytest.fixture(scope="module")
def sa1b_root(toy, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sa1b")
    sa1b_from_toyworld(toy, root, per_shard=5)
    return root


def test_every_source_opens_behind_one_interface(toy, sa1b_root):
    assert set(SOURCES) == {"toyworld", "coco", "sa1b"}
    for source, root, options in (("toyworld", toy, {}), ("coco", toy, {}), ("sa1b", sa1b_root, SPLIT)):
        ds = open_dataset(source, root, "train2017", **options)
        first = ds.image_ids()[0]
        sample = ds.load(first)
        assert ds.source == sample.source == source
        assert ds.image_path(first).is_file() and isinstance(ds.caption(first), str)
        assert sample.class_agnostic == (source == "sa1b")
    with pytest.raises(KeyError, match=r"unknown data source 'laion' \(data.source\)"):
        open_dataset("laion", toy, "train2017")


def test_sa1b_splits_are_disjoint_seed_free_and_cover_the_pool(sa1b_root):
    everything = SA1BDataset(sa1b_root).image_ids()
    train = open_dataset("sa1b", sa1b_root, "train2017", **SPLIT).image_ids()
    held = open_dataset("sa1b", sa1b_root, "val2017", **SPLIT).image_ids()
    assert len(everything) == 12 and sorted(train + held) == everything and not set(train) & set(held)
    assert held == [i for i in everything if held_out(i, 0.25)] and 0 < len(held) < 6
    # a shard folder removed: the images left keep their split
    config = {"source": "sa1b", "eval_split": "val2017", "sa1b": {"eval_fraction": 0.25}}
    assert source_options(config) == SPLIT
    summary = validate_root("sa1b", sa1b_root, ["train2017", "val2017"], **SPLIT)
    assert summary["images"] == 12
    assert summary["splits"] == {"train2017": {"images": len(train)}, "val2017": {"images": len(held)}}
    with pytest.raises(LayoutError, match="split 'val2017' has no images.*data.sa1b.eval_fraction"):
        validate_root("sa1b", sa1b_root, ["val2017"], eval_split="val2017", eval_fraction=0.0)
    with pytest.raises(LayoutError, match="SA-1B root not found"):
        validate_root("sa1b", sa1b_root / "nope", ["train2017"], **SPLIT)


def test_unfinished_extractions_and_records_are_not_indexed(sa1b_root, tmp_path):
    shard = next(iter(sorted(sa1b_root.iterdir())))
    hidden = tmp_path / "root" / ".extracting" / "x"
    hidden.mkdir(parents=True)
    for p in shard.iterdir():
        (hidden / p.name).write_bytes(p.read_bytes())
    with pytest.raises(FileNotFoundError, match="no sa_<id>.json"):
        SA1BDataset(tmp_path / "root").image_ids()


def _links(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "links.txt"
    path.write_text("file_name\tcdn_link\n" + body)
    return path


def test_shard_selection_checksums_and_clear_errors(tmp_path):
    lines = "".join(f"sa_{k:06d}.tar\thttps://cdn.example/sa_{k:06d}.tar?oe=1\n" for k in range(4))
    links = _links(tmp_path, lines + "sa_images_ids.txt\thttps://cdn.example/ids\n")
    sha = "ab" * 32
    cfg = {
        "links_file": str(links),
        "n_shards": 2,
        "first_shard": 1,
        "checksums": {"sa_000002.tar": {"sha256": sha}},
    }
    shards = sa1b_shard_sources(cfg)
    assert list(shards) == ["sa_000001", "sa_000002"]
    assert shards["sa_000002"].sha256 == sha and shards["sa_000001"].sha256 is None

    with pytest.raises(ValueError, match="data.sa1b.links_file is not set"):
        sa1b_shard_sources({"links_file": None})
    with pytest.raises(
        FileNotFoundError, match=r"nope.txt: SA-1B links file not found \(data.sa1b.links_file\)"
    ):
        sa1b_shard_sources({"links_file": str(tmp_path / "nope.txt")})
    with pytest.raises(ValueError, match=r"data.sa1b.checksums: \['sa_000009.tar'\] are not listed"):
        sa1b_shard_sources({**cfg, "checksums": {"sa_000009.tar": {"sha256": sha}}})
    with pytest.raises(ValueError, match="data.sa1b.checksums.sa_000001.tar: .*sha256 'XYZ'"):
        sa1b_shard_sources({**cfg, "checksums": {"sa_000001.tar": {"sha256": "XYZ"}}})
    with pytest.raises(ValueError, match="lower data.sa1b.n_shards"):
        sa1b_shard_sources({**cfg, "n_shards": 4})
    bad = _links(tmp_path, "sa_000000.tar\thttps://cdn/a\nsa_000001.tar  https://cdn/b\n")
    with pytest.raises(ValueError, match=r"links.txt:3: expected 'file_name<TAB>url'.*segment-anything"):
        sa1b_shard_sources({"links_file": str(bad)})
