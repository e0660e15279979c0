"""An archive's member list, read and vetted before anything is written: names, links, duplicates and caps.

A member is refused (``UnsafeArchiveError``, naming it) for an absolute path, a ``..`` component, a link
whose text leads outside, a device file, fifo or socket, a name that appears twice (folders may repeat), and
a name under another member that is a file or a link: nothing is ever written through a link an archive
made. Declared sizes are added up as the list is read, so a decompression bomb stops at the header that
crosses ``data.extract.max_total_bytes`` or ``max_ratio`` (``ExtractLimitError``), before a byte is written;
a tar.gz is not even decompressed past it. Members can write no more than they declare (``sgt.data.archive``
stops there), so the cap bounds the disk used.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

RECORD_DIR = ".extracted"
WORK_DIR = ".extracting"
MAX_LINK_BYTES = 4096  # a zip stores a link's target as its data: read no more than a path can be
RATIO_GRACE_BYTES = (
    64 << 20
)  # max_ratio applies once an archive expands past this (tiny archives compress oddly)
Kind = Literal["file", "dir", "symlink", "hardlink"]
_WORD = {"file": "file", "dir": "folder", "symlink": "symlink", "hardlink": "hard link"}
READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile)


class UnsafeArchiveError(ValueError):
    """An archive member that would write outside the target, through a link, twice, or a special file."""


class ExtractLimitError(ValueError):
    """An archive over ``data.extract``'s caps (a possible decompression bomb), or a disk too full for it."""


class DamagedArchiveError(ValueError):
    """An archive that cannot be read to the end, or whose member data disagrees with its headers."""


@dataclass(frozen=True, slots=True)
class ExtractLimits:
    """``data.extract``: caps against decompression bombs and full disks. The defaults fit COCO 2017
    (train2017.zip: 19 GB of JPEGs, ratio about 1; the annotation zips: about 5) and SA-1B (11 GB shards)."""

    max_total_bytes: int = 50_000_000_000
    max_ratio: float = 100
    min_free_bytes: int = 1_000_000_000

    def __post_init__(self) -> None:
        if self.max_total_bytes < 0 or self.max_ratio <= 0 or self.min_free_bytes < 0:
            raise ValueError(f"data.extract: caps must be positive, got {self}")


@dataclass(frozen=True, slots=True)
class Member:
    """One vetted archive member: ``name`` is a clean relative POSIX path."""

    name: str
    kind: Kind
    size: int  # bytes it writes: a hard link is written as a copy of its source
    link: str | None = None  # symlink target (relative to the member's folder) or hardlink source name
    index: int = -1  # position in the archive


def unsafe(archive: Path, name: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"{archive}: member {name!r} {why}; refusing to extract anything from it. Delete the archive and "
        "download it again from a trusted source"
    )


def damaged(archive: Path, why: str) -> DamagedArchiveError:
    return DamagedArchiveError(
        f"{archive}: {why}; the archive is damaged or truncated: delete it and download it again"
    )


def clean_name(archive: Path, name: str) -> str:
    """The member's relative POSIX path without ``.`` parts; raises on absolute paths and ``..``."""
    raw = name.replace("\\", "/")
    if "\x00" in raw:
        raise unsafe(archive, name, "has a NUL byte in its name")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise unsafe(archive, name, "has an absolute path")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise unsafe(archive, name, "has a '..' path component")
    if parts and parts[0] in (RECORD_DIR, WORK_DIR):
        raise unsafe(archive, name, f"would overwrite the extraction records in {parts[0]}/")
    return "/".join(parts)


def _symlink_inside(name: str, target: str) -> bool:
    """A first look at the link's text; ``sgt.data.archive`` checks where it resolves on disk."""
    if not target or target.startswith("/") or re.match(r"^[A-Za-z]:", target):
        return False
    resolved = os.path.normpath(os.path.join(str(PurePosixPath(name).parent), target))
    return resolved != ".." and not resolved.startswith("../") and not os.path.isabs(resolved)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


class _Vetter:
    """Takes members in archive order; refuses a bad one as soon as it is seen."""

    def __init__(self, archive: Path, limits: ExtractLimits):
        self.archive, self.limits = archive, limits
        self.packed = max(archive.stat().st_size, 1)
        self.kinds: dict[str, str] = {}  # every name seen, plus the folders deeper names imply
        self.file_sizes: dict[str, int] = {}  # regular files, the only hard link sources
        self.members: list[Member] = []
        self.total = 0

    def add(self, m: Member) -> None:
        if not m.name:
            if m.kind == "dir":
                return  # the archive's own root ("./")
            raise unsafe(self.archive, m.name, "has an empty name")
        parts = m.name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            kind = self.kinds.setdefault(parent, "dir")
            if kind != "dir":
                why = f"lies under {parent!r}, which the archive makes a {_WORD[kind]}"
                raise unsafe(self.archive, m.name, why)
        before = self.kinds.get(m.name)
        if before == "dir" == m.kind:
            return  # a folder listed again
        if before is not None:
            both = f"is both a {_WORD[before]} and a {_WORD[m.kind]}"
            again = "appears twice in the archive" if before == m.kind else both
            raise unsafe(self.archive, m.name, f"{again} (only folders may repeat)")
        if m.kind == "symlink" and not _symlink_inside(m.name, m.link or ""):
            raise unsafe(self.archive, m.name, f"is a symlink to {m.link!r}, outside the target")
        if m.kind == "hardlink":
            source = clean_name(self.archive, m.link or "")
            if source not in self.file_sizes:
                raise unsafe(self.archive, m.name, f"is a hard link to {m.link!r}, not an earlier file in it")
            m = Member(m.name, "hardlink", self.file_sizes[source], source, m.index)
        self.kinds[m.name] = m.kind
        if m.kind == "file":
            self.file_sizes[m.name] = m.size
        self.members.append(m)
        self._count(m)

    def _count(self, m: Member) -> None:
        self.total += m.size
        cap = self.limits.max_total_bytes
        bomb = "refusing it as a possible decompression bomb before writing anything"
        if self.total > cap:
            raise ExtractLimitError(
                f"{self.archive}: expands to more than {_mb(cap)} by member {m.name!r} ({_mb(self.total)} so "
                f"far), over data.extract.max_total_bytes = {cap}; {bomb}. If the archive is trusted, raise "
                "data.extract.max_total_bytes"
            )
        ratio = self.total / self.packed
        if self.total > RATIO_GRACE_BYTES and ratio > self.limits.max_ratio:
            raise ExtractLimitError(
                f"{self.archive}: expands {ratio:,.0f}-fold ({_mb(self.total)} from {_mb(self.packed)} by "
                f"member {m.name!r}), over data.extract.max_ratio = {self.limits.max_ratio}; {bomb}. If the "
                "archive is trusted, raise data.extract.max_ratio"
            )


def list_members(archive: str | os.PathLike[str], limits: ExtractLimits | None = None) -> list[Member]:
    """Read and vet every member against ``limits`` (defaults if None); nothing is written."""
    archive = Path(archive)
    vetter = _Vetter(archive, limits or ExtractLimits())
    try:
        if zipfile.is_zipfile(archive):
            _zip_members(archive, vetter)
        else:
            with tarfile.open(archive, "r:*") as tf:
                for i, ti in enumerate(tf):  # lazily: a bomb stops at the header that crosses a cap
                    vetter.add(_tar_member(archive, ti, i))
    except tarfile.ReadError as err:
        if not vetter.members:
            raise ValueError(
                f"{archive}: not a readable zip or tar archive ({err}); download it again"
            ) from err
        raise damaged(archive, f"cannot read past member {vetter.members[-1].name!r} ({err})") from err
    except READ_ERRORS as err:
        raise damaged(archive, f"cannot read its member list ({type(err).__name__}: {err})") from err
    return vetter.members


def _tar_member(archive: Path, ti: tarfile.TarInfo, index: int) -> Member:
    name = clean_name(archive, ti.name)
    if ti.isdir():
        return Member(name, "dir", 0, index=index)
    if ti.issym():
        return Member(name, "symlink", 0, ti.linkname, index)
    if ti.islnk():
        return Member(name, "hardlink", 0, ti.linkname, index)
    if ti.isfile():
        return Member(name, "file", ti.size, index=index)
    kind = "a device file" if ti.ischr() or ti.isblk() else "a fifo" if ti.isfifo() else "a special file"
    raise unsafe(archive, ti.name, f"is {kind}")


def _zip_members(archive: Path, vetter: _Vetter) -> None:
    with zipfile.ZipFile(archive) as zf:
        for i, info in enumerate(zf.infolist()):  # the central directory: nothing is decompressed
            name = clean_name(archive, info.filename)
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            if info.flag_bits & 0x1:
                raise unsafe(archive, info.filename, "is encrypted")
            if info.is_dir() or stat.S_ISDIR(mode):
                vetter.add(Member(name, "dir", 0, index=i))
            elif stat.S_ISLNK(mode):
                if info.file_size > MAX_LINK_BYTES:
                    raise unsafe(archive, info.filename, f"is a symlink with a {info.file_size}-byte target")
                vetter.add(Member(name, "symlink", 0, zf.read(info).decode("utf-8", "replace"), i))
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: no type bits recorded
                raise unsafe(archive, info.filename, "is a device file, fifo or socket")
            else:
                vetter.add(Member(name, "file", info.file_size, index=i))
