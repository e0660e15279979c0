"""Safe extraction: hostile members are rejected before anything is written; reruns skip finished work."""

from __future__ import annotations

import io
import json
import os
import stat
import tarfile
import warnings
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

    def flaky(src, member, *args):
        if len(calls) == 4:
            raise KeyboardInterrupt  # the job was killed
        calls.append(member)
        return real_write(src, member, *args)

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


def _link(name: str, target: str) -> tuple[str, None, dict[str, object]]:
    return (name, None, {"type": tarfile.SYMTYPE, "linkname": target})


# The extraction tree, <root>/.extracting/<archive>/tree, is four levels below tmp_path.
UP4 = "a/a/a/a/../../../.."


def _zip_links(members: list[tuple[str, bytes | None, dict[str, object]]]) -> bytes:
    """The same members as a zip: a link is a Unix-mode entry whose data is its target (as Info-ZIP does)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, attrs in members:
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            if attrs.get("type") == tarfile.SYMTYPE:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                data = str(attrs["linkname"]).encode()
            else:
                info.external_attr = (stat.S_IFREG | 0o644) << 16
            zf.writestr(info, data or b"")
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["tar", "zip"])
@pytest.mark.parametrize("victim", ["pwned.txt", "secret.txt"])
def test_a_link_named_like_a_temp_file_writes_nothing_outside(tmp_path, victim, kind):
    """#21 finding 1: 'a -> .' makes 'a/a/a/a/../../../..' four levels up on disk, while its text normalizes
    inside; '.x.part' was the temp file 'x' is written through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("keep me")
    members = [_link("a", "."), _link(".x.part", f"{UP4}/outside/{victim}"), ("x", b"pwned", {})]
    archive = tmp_path / f"a.{kind}"
    archive.write_bytes(_tar(members) if kind == "tar" else _zip_links(members))
    root = tmp_path / "root"
    with pytest.raises(UnsafeArchiveError, match=r"\.x\.part"):
        extract(archive, root)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert secret.read_text() == "keep me"
    assert _files_under(root) == []  # no record, no '.extracting' leftovers, no 'x' link
    assert not (root / "x").is_symlink()


def test_no_member_is_written_through_a_folder_link(tmp_path):
    """A link to a folder, then a file under it: refused before a byte is written, whatever the link says."""
    outside = tmp_path / "outside"
    outside.mkdir()
    data = _tar([_link("a", "."), _link("d", f"{UP4}/outside"), ("d/pwned.txt", b"pwned", {})])
    (tmp_path / "d.tar").write_bytes(data)
    with pytest.raises(UnsafeArchiveError, match="d/pwned.txt"):
        extract(tmp_path / "d.tar", tmp_path / "root")
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "root").exists()


def test_links_are_checked_on_the_finished_tree_not_in_archive_order(tmp_path):
    """'b -> c/..' is inside while 'c' is missing; 'c -> .' then makes 'b' the tree's parent."""
    data = _tar([_link("b", "c/.."), _link("c", "."), ("ok.txt", b"ok", {})])
    (tmp_path / "late.tar").write_bytes(data)
    root = tmp_path / "root"
    with pytest.raises(UnsafeArchiveError, match="'b'"):
        extract(tmp_path / "late.tar", root)
    assert _files_under(root) == []


def test_links_are_checked_again_in_the_shared_root(tmp_path):
    """Each archive's links stay inside its own tree, but one archive's 'p/q -> ..' turns another's
    'p/L -> q/../../x' (lexically inside while 'q' is missing) into a link out of the shared root."""
    root = tmp_path / "root"
    (tmp_path / "one.tar").write_bytes(_tar([_link("p/q", "..")]))
    (tmp_path / "two.tar").write_bytes(_tar([("p/ok.txt", b"ok", {}), _link("p/L", "q/../../x")]))
    extract(tmp_path / "one.tar", root)
    with pytest.raises(UnsafeArchiveError, match="'p/L'"):
        extract(tmp_path / "two.tar", root)
    assert not (root / "p" / "L").is_symlink()
    assert not (root / ".extracted" / "two.tar.json").exists() and not (root / ".extracting").exists()


def _zip_dup(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w") as zf:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate we want
        for i, name in enumerate(names):
            zf.writestr(name, f"v{i}".encode())
    return buf.getvalue()


DUPLICATES = {
    "dup_file.tar": lambda: _tar([("d/x", b"v1", {}), ("d/x", b"v2", {})]),
    "dup_file.zip": lambda: _zip_dup(["d/x", "d/x"]),
    "dup_link.tar": lambda: _tar([("d/x", b"v1", {}), _link("d/x", "y")]),
    "file_then_folder.tar": lambda: _tar([("d/x", b"v1", {}), ("d/x/y", b"v2", {})]),
    "file_then_folder.zip": lambda: _zip_dup(["d/x", "d/x/y"]),
    "folder_then_file.zip": lambda: _zip_dup(["d/x/y", "d/x"]),
}


@pytest.mark.parametrize("name", sorted(DUPLICATES))
def test_duplicate_member_names_are_refused_for_tar_and_zip(tmp_path, name):
    (tmp_path / name).write_bytes(DUPLICATES[name]())
    with pytest.raises(UnsafeArchiveError, match="'d/x"):
        extract(tmp_path / name, tmp_path / "root")
    assert not (tmp_path / "root").exists()


def test_repeated_folder_entries_are_fine(tmp_path):
    folder = {"type": tarfile.DIRTYPE}
    data = _tar([("d", None, folder), ("d/x", b"v1", {}), ("./d/", None, folder)])
    (tmp_path / "dirs.tar").write_bytes(data)
    assert extract(tmp_path / "dirs.tar", tmp_path / "root").n_files == 1
    assert (tmp_path / "root" / "d" / "x").read_bytes() == b"v1"
