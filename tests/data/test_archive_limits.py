"""Decompression bombs, full disks and killed jobs: refused with a clear error, leaving nothing behind.

The bombs expand to over 1 GiB but cost about a megabyte and a second to build: the same compressed block of
64 MiB of zeros is repeated (a gzip stream may hold many members; deflate blocks ended by a full flush may be
concatenated), so no GiB is ever held in memory or written to disk.
"""

from __future__ import annotations

import functools
import gzip
import io
import random
import resource
import struct
import tarfile
import time
import zlib
from pathlib import Path

import pytest
import yaml

import sgt.data.archive as archive_mod
from sgt.data.archive import DamagedArchiveError, ExtractLimitError, ExtractLimits, extract

REPO = Path(__file__).resolve().parents[2]
MiB = 1 << 20
BLOCK = 64 * MiB
BOMB = 17 * BLOCK  # 1088 MiB
LOW = ExtractLimits(max_total_bytes=32 * MiB, max_ratio=1e9, min_free_bytes=0)  # the cap, and only the cap


@functools.cache
def _gzip_block() -> bytes:
    return gzip.compress(bytes(BLOCK), 9)


@functools.cache
def _deflate_block() -> tuple[bytes, bytes]:
    """A raw deflate block of BLOCK zeros ending on a byte boundary, and the empty final block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(bytes(BLOCK)) + c.flush(zlib.Z_FULL_FLUSH), zlib.compressobj(
        9, zlib.DEFLATED, -15
    ).flush()


@functools.cache
def _zeros_crc(n_blocks: int) -> int:
    zeros, crc = bytes(BLOCK), 0
    for _ in range(n_blocks):
        crc = zlib.crc32(zeros, crc)
    return crc


def tar_gz_bomb(path: Path, sizes: list[int]) -> Path:
    """A tar.gz of zero-filled members of ``sizes`` (multiples of 64 MiB)."""
    with open(path, "wb") as out:
        for i, size in enumerate(sizes):
            ti = tarfile.TarInfo(f"bomb/{i:03d}.bin")
            ti.size = size
            out.write(gzip.compress(ti.tobuf(tarfile.GNU_FORMAT)))
            out.write(_gzip_block() * (size // BLOCK))
        out.write(gzip.compress(bytes(1024)))  # end of archive
    return path


def zip_bomb(path: Path, sizes: list[int], *, claim: int | None = None) -> Path:
    """A deflated zip of zero-filled members; ``claim`` makes the headers understate each member's size (and
    give the CRC of that many zeros)."""
    block, end = _deflate_block()
    central = b""
    with open(path, "wb") as out:
        for i, size in enumerate(sizes):
            name = f"bomb/{i:03d}.bin".encode()
            n = size // BLOCK
            usize = size if claim is None else claim
            crc = _zeros_crc(n) if claim is None else zlib.crc32(bytes(claim))
            csize, offset = n * len(block) + len(end), out.tell()
            head = (crc, csize, usize, len(name))
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, *head, 0) + name)
            out.write(block * n + end)
            central += struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, *head, 0, 0, 0, 0, 0, offset
            )
            central += name
        start = out.tell()
        out.write(central)
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(sizes), len(sizes), len(central), start, 0))
    return path


BOMBS = {"tar.gz": tar_gz_bomb, "zip": zip_bomb}


def _bytes_under(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _refuse(archive: Path, root: Path, limits: ExtractLimits | None, match: str) -> float:
    t0 = time.perf_counter()
    with pytest.raises(ExtractLimitError, match=match) as err:
        extract(archive, root, limits=limits)
    elapsed = time.perf_counter() - t0
    assert str(archive) in str(err.value)
    assert not (root / ".extracting").exists() and not (root / ".extracted").exists()
    return elapsed


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_over_1_gib_is_refused_by_the_total_cap(tmp_path, kind):
    """#21 finding 2, with data.extract.max_total_bytes set low: refused at once, not after writing."""
    archive = BOMBS[kind](tmp_path / f"bomb.{kind}", [BOMB])
    assert archive.stat().st_size < 2 * MiB
    elapsed = _refuse(archive, tmp_path / "root", LOW, r"data\.extract\.max_total_bytes")
    assert elapsed < 30
    assert _bytes_under(tmp_path) < 64 * MiB
    size = archive.stat().st_size / 1e6
    print(f"{kind} bomb of {BOMB / MiB:.0f} MiB in {size:.2f} MB refused in {elapsed:.2f} s")


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_is_refused_by_the_default_ratio_cap(tmp_path, kind):
    archive = BOMBS[kind](tmp_path / f"bomb.{kind}", [BOMB])
    assert _refuse(archive, tmp_path / "root", None, r"data\.extract\.max_ratio") < 30
    assert _bytes_under(tmp_path) < 64 * MiB


def test_many_small_members_add_up_to_the_cap(tmp_path):
    """No member is over the cap; their sum is, and the listing stops there (members 5-16 are never read)."""
    archive = tar_gz_bomb(tmp_path / "many.tar.gz", [BLOCK] * 17)
    limits = ExtractLimits(max_total_bytes=4 * BLOCK, max_ratio=1e9, min_free_bytes=0)
    assert _refuse(archive, tmp_path / "root", limits, r"bomb/004\.bin") < 30
    assert _bytes_under(tmp_path) < 64 * MiB


def test_a_zip_that_understates_its_sizes_writes_no_more_than_it_claims(tmp_path):
    """The cap is on declared sizes: no member writes past its declared size, whatever its stream holds."""
    archive = zip_bomb(tmp_path / "liar.zip", [BOMB], claim=4 * MiB)
    extract(archive, tmp_path / "root", limits=LOW)
    assert (tmp_path / "root" / "bomb" / "000.bin").stat().st_size == 4 * MiB
    assert _bytes_under(tmp_path / "root") < 5 * MiB


def test_not_enough_free_space_is_refused_before_writing(tmp_path, monkeypatch):
    archive = tar_gz_bomb(tmp_path / "big.tar.gz", [BLOCK])
    monkeypatch.setattr(archive_mod, "_free_bytes", lambda path: 100 * MiB)
    limits = ExtractLimits(min_free_bytes=50 * MiB)
    _refuse(archive, tmp_path / "root", limits, r"data\.extract\.min_free_bytes")
    assert _bytes_under(tmp_path / "root") == 0


def _tar_of_zeros(path: Path, sizes: dict[str, int]) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, size in sizes.items():
            ti = tarfile.TarInfo(name)
            ti.size = size
            tf.addfile(ti, io.BytesIO(bytes(size)))
    return path


def test_a_file_size_limit_gives_a_clear_error_and_no_temp_file_then_resumes(tmp_path):
    """ulimit -f stops the second member (EFBIG): the error names archive and member, the temp file is gone,
    the first member is kept and the next run writes only the second."""
    archive = _tar_of_zeros(tmp_path / "sa_000000.tar", {"a.bin": MiB, "b.bin": 6 * MiB})
    root = tmp_path / "root"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4 * MiB, hard))
    try:
        with pytest.raises(OSError, match=r"sa_000000\.tar.*'b\.bin'") as err:
            extract(archive, root)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert "resumes" in str(err.value)
    work = root / ".extracting" / archive.name
    assert sorted(p.name for p in work.rglob("*") if p.is_file()) == ["a.bin", "progress.jsonl"]
    again = extract(archive, root)
    assert again.n_skipped == 1 and again.n_bytes == 6 * MiB
    assert not (root / ".extracting").exists()


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_a_truncated_archive_is_refused_naming_it_and_writes_nothing(tmp_path, mode):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name in ("a.bin", "b.bin"):
            ti = tarfile.TarInfo(name)
            ti.size = 100_000
            tf.addfile(ti, io.BytesIO(random.randbytes(ti.size)))
    archive = tmp_path / ("cut.tar" if mode == "w" else "cut.tar.gz")
    archive.write_bytes(buf.getvalue()[:150_000])  # a download cut inside b.bin
    with pytest.raises(DamagedArchiveError, match=r"cut\.tar.*download it again"):
        extract(archive, tmp_path / "root")
    assert not (tmp_path / "root").exists()


def test_temp_files_left_by_a_hard_kill_are_cleared_on_the_next_run(tmp_path):
    archive = _tar_of_zeros(tmp_path / "sa_000001.tar", {"a.bin": 10, "b.bin": 20})
    root = tmp_path / "root"
    stale = root / ".extracting" / archive.name / "tmp"
    stale.mkdir(parents=True)
    (stale / "0.part").write_bytes(b"")  # what SIGKILL leaves mid-member
    extract(archive, root)
    assert sorted(p.name for p in root.iterdir()) == [".extracted", "a.bin", "b.bin"]


def test_schema_defaults_are_the_library_defaults():
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    keys = schema["properties"]["data"]["properties"]["extract"]["properties"]
    assert {k: v["default"] for k, v in keys.items()} == {
        k: getattr(ExtractLimits(), k) for k in ExtractLimits.__slots__
    }
    # COCO's train2017.zip (~19 GB of JPEGs) and an SA-1B shard (~11 GB) pass the defaults.
    assert ExtractLimits().max_total_bytes >= 2 * 19 * 10**9
