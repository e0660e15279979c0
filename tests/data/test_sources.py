"""Default sources and their config overrides; SA-1B links are parsed strictly."""

from __future__ import annotations

import pytest

from sgt.data.sources import (
    COCO_2017,
    Source,
    coco_sources,
    read_sa1b_links,
)


def test_coco_defaults_are_the_official_urls_and_overridable():
    assert COCO_2017["train2017"].url == "http://images.cocodataset.org/zips/train2017.zip"
    assert COCO_2017["panoptic_annotations"].name == "panoptic_annotations_trainval2017.zip"
    srcs = coco_sources(
        {"val2017": {"url": "file:///m/val.zip", "md5": None}}, base_url="https://mirror/coco/"
    )
    assert srcs["val2017"].url == "file:///m/val.zip" and srcs["val2017"].md5 is None
    assert srcs["annotations"].url == "https://mirror/coco/annotations/annotations_trainval2017.zip"
    assert srcs["annotations"].md5 == COCO_2017["annotations"].md5
    with pytest.raises(KeyError, match="unknown archive"):
        coco_sources({"train2014": {}})
    with pytest.raises(KeyError, match="allowed"):
        coco_sources({"train2017": {"sha1": "x"}})


def test_source_rejects_unsafe_names_and_bad_digests():
    for name in ("../x.zip", "/abs.zip", "a/../b", "a\\b"):
        with pytest.raises(ValueError, match="path"):
            Source(name, "http://h/x")
    with pytest.raises(ValueError, match="md5"):
        Source("x.zip", "http://h/x", md5="ABC")


def test_sa1b_links_reject_nested_or_repeated_names(tmp_path):
    links = tmp_path / "links.txt"
    links.write_text(
        "file_name\tcdn_link\nsa_000000.tar\thttps://cdn/a?oe=1\n../sa_000001.tar\thttps://cdn/b\n"
    )
    with pytest.raises(ValueError, match=":3: file name"):
        read_sa1b_links(links)
    links.write_text("file_name\tcdn_link\nsa_000000.tar\thttps://cdn/a\nsa_000001.tar\thttps://cdn/b\n")
    assert [s.name for s in read_sa1b_links(links, n_shards=1, first=1)] == ["sa_000001.tar"]
    with pytest.raises(FileNotFoundError, match="segment-anything-downloads"):
        read_sa1b_links(tmp_path / "nope.txt")
