"""Safe extraction: hostile members are rejected before anything is written; reruns skip finished work."""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

import sgt.data.archive as archive_mod
from sgt.data.archive import UnsafeArchiveError, extract, list_members
from sgt.data.download import RetryPolicy, download
from sgt.data.sources import Source

FAST = RetryPolicy(retries=1, backoff_s=0.001, timeout_s=2.0)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(members: list[tuple[str, bytes | None, dict[str, object]]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data, attrs in members:
            ti = tarfile.TarInfo(name)
            for key, value in attrs.items():
                setattr(ti, key, value)
            if data is not None:
                ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


HOSTILE = {
    "zip_dotdot.zip": (lambda: _zip({"train2017/ok.jpg": b"x", "../evil": b"pwned"}), "'..'"),
    "zip_nested_dotdot.zip": (lambda: _zip({"annotations/../../evil": b"pwned"}), "'..'"),
    "tar_absolute.tar": (lambda: _tar([("sa_1.jpg", b"x", {}), ("/tmp/evil", b"pwned", {})]), "absolute"),
    "tar_symlink_out.tar": (
        lambda: _tar(
            [("sa_1.jpg", b"x", {}), ("link", None, {"type": tarfile.SYMTYPE, "linkname": "../../x"})]
        ),
        "symlink",
    ),
    "tar_symlink_abs.tar.gz": (
        lambda: _tar([("d/link", None, {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"})], "w:gz"),
        "symlink",
    ),
    "tar_hardlink_out.tar": (
        lambda: _tar([("hard", None, {"type": tarfile.LNKTYPE, "linkname": "../outside.txt"})]),
        "'..'",
    ),
    "tar_fifo.tar": (lambda: _tar([("pipe", None, {"type": tarfile.FIFOTYPE})]), "fifo"),
    "tar_device.tar": (lambda: _tar([("dev", None, {"type": tarfile.CHRTYPE})]), "device"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_archives_served_over_http_are_rejected(http_server, tmp_path, name):
    make, why = HOSTILE[name]
    url = http_server.serve(f"/{name}", make())
    downloads, root = tmp_path / "downloads", tmp_path / "box" / "root"
    archive = download(Source(name, url), downloads / name, policy=FAST)
    with pytest.raises(UnsafeArchiveError, match=why) as err:
        extract(archive, root)
    assert "member" in str(err.value)
    assert _files_under(tmp_path / "box") == []  # nothing written, inside or outside the target
    assert not (tmp_path / "evil").exists() and not (tmp_path / "box" / "evil").exists()


def test_symlink_chain_escaping_through_another_link_is_rejected(tmp_path):
    data = _tar(
        [
            ("a", None, {"type": tarfile.SYMTYPE, "linkname": "."}),
            ("b", None, {"type": tarfile.SYMTYPE, "linkname": "a/.."}),
        ]
    )
    (tmp_path / "chain.tar").write_bytes(data)
    with pytest.raises(UnsafeArchiveError, match="'b'"):
        extract(tmp_path / "chain.tar", tmp_path / "root")
    assert not (tmp_path / "root" / "b").exists()


def test_links_inside_the_tree_are_kept(tmp_path):
    data = _tar(
        [
            ("d/file.txt", b"hello", {}),
            ("d/alias", None, {"type": tarfile.SYMTYPE, "linkname": "file.txt"}),
            ("d/copy", None, {"type": tarfile.LNKTYPE, "linkname": "d/file.txt"}),
        ]
    )
    (tmp_path / "ok.tar").write_bytes(data)
    extract(tmp_path / "ok.tar", tmp_path / "root")
    d = tmp_path / "root" / "d"
    assert (d / "alias").is_symlink() and (d / "alias").read_text() == "hello"
    assert not (d / "copy").is_symlink() and (d / "copy").read_bytes() == b"hello"


def _coco_like(n: int) -> dict[str, bytes]:
    return {f"train2017/{i:012d}.jpg": os.urandom(100 + i) for i in range(1, n + 1)}


def test_extracts_zip_and_tgz_into_a_shared_root_and_reruns_are_free(tmp_path):
    images = _coco_like(5)
    (tmp_path / "train2017.zip").write_bytes(_zip(images))
    ann = _tar([("./annotations/instances_train2017.json", b"{}", {})], "w:gz")
    (tmp_path / "ann.tar.gz").write_bytes(ann)
    root = tmp_path / "coco"
    first = extract(tmp_path / "train2017.zip", root)
    extract(tmp_path / "ann.tar.gz", root)
    assert first.n_files == 5 and first.n_skipped == 0
    for name, data in images.items():
        assert (root / name).read_bytes() == data
    assert (root / "annotations" / "instances_train2017.json").read_bytes() == b"{}"
    record = json.loads(first.record.read_text())
    assert record["members"]["train2017/000000000001.jpg"]["size"] == 101
    assert not (root / ".extracting").exists()
    again = extract(tmp_path / "train2017.zip", root, recheck=True)
    assert again.n_skipped == 5 and again.n_bytes == 0
    # A damaged member is noticed by a recheck and rewritten.
    (root / "train2017/000000000002.jpg").write_bytes(b"damaged")
    fixed = extract(tmp_path / "train2017.zip", root)
    assert (root / "train2017/000000000002.jpg").read_bytes() == images["train2017/000000000002.jpg"]
    assert fixed.n_bytes == len(images["train2017/000000000002.jpg"])


def test_interrupted_extraction_resumes_and_skips_finished_members(tmp_path, monkeypatch):
    images = _coco_like(6)
    (tmp_path / "train2017.zip").write_bytes(_zip(images))
    root = tmp_path / "coco"
    real_write, calls = archive_mod._write_member, []

    def flaky(src, target):
        if len(calls) == 4:
            raise KeyboardInterrupt  # the job was killed
        calls.append(target)
        return real_write(src, target)

    monkeypatch.setattr(archive_mod, "_write_member", flaky)
    with pytest.raises(KeyboardInterrupt):
        extract(tmp_path / "train2017.zip", root)
    assert not (root / "train2017").exists()  # nothing under its final name yet
    monkeypatch.setattr(archive_mod, "_write_member", real_write)
    result = extract(tmp_path / "train2017.zip", root)
    assert result.n_skipped == 4 and result.n_files == 6
    assert {n: (root / n).read_bytes() for n in images} == images


def test_member_listing_normalizes_dot_prefixes(tmp_path):
    (tmp_path / "sa.tar").write_bytes(
        _tar([(".", None, {"type": tarfile.DIRTYPE}), ("./sa_1.jpg", b"x", {})])
    )
    assert [m.name for m in list_members(tmp_path / "sa.tar")] == ["sa_1.jpg"]
