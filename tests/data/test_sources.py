"""Default sources and their config overrides; links and file lists are parsed strictly."""

from __future__ import annotations

import pytest

from sgt.data.sources import (
    COCO_2017,
    Source,
    coco_sources,
    hf_file_url,
    llava_onevision_sources,
    read_file_list,
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


def test_llava_file_list_and_token_header(tmp_path, monkeypatch):
    listing = tmp_path / "files.tsv"
    sha = "a" * 64
    listing.write_text(
        f"# shards of the SFT recipe\nvision_flan(filtered)/train-00000-of-00050.parquet\t{sha}\t123\n"
    )
    rows = read_file_list(listing)
    assert rows == [("vision_flan(filtered)/train-00000-of-00050.parquet", sha, 123)]
    monkeypatch.setenv("SGT_TEST_TOKEN", "secret")
    (src,) = llava_onevision_sources(rows, token_env="SGT_TEST_TOKEN")
    assert src.url == hf_file_url("lmms-lab/LLaVA-OneVision-Data", rows[0][0])
    assert src.url.endswith("/resolve/main/vision_flan(filtered)/train-00000-of-00050.parquet")
    assert src.sha256 == sha and src.size == 123 and dict(src.headers)["Authorization"] == "Bearer secret"
    assert "secret" not in repr(src)
    (other,) = llava_onevision_sources(["https://elsewhere.org/x/y.parquet"], token_env="SGT_TEST_TOKEN")
    assert other.headers == () and other.name == "x/y.parquet"  # the token never leaves the Hub
    with pytest.raises(ValueError, match="empty"):
        llava_onevision_sources([])
