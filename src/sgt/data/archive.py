"""Safe, resumable extraction of zip and tar(.gz) archives into a data root.

Every member is checked before anything is written: absolute paths, ``..`` components, links that point
outside the target, device files, fifos and sockets raise ``UnsafeArchiveError`` naming the member.
Members are written into ``<dest>/.extracting/<archive>/tree`` (each through its own temp file) and
moved into ``dest`` at the end, whole top-level folders at once where ``dest`` does not have them yet.
A progress log there lets an interrupted run skip members it already wrote; a finished run leaves
``<dest>/.extracted/<archive>.json`` with every member's size and sha256, so a rerun checks sizes and
returns at once (``recheck=True`` re-hashes). Several archives may share one ``dest`` (COCO's images and
both annotation zips all land in the COCO root).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from tqdm import tqdm

from sgt.io import atomic_write_json, read_json

logger = logging.getLogger(__name__)

RECORD_DIR = ".extracted"
WORK_DIR = ".extracting"
CHUNK = 1 << 20
Kind = Literal["file", "dir", "symlink", "hardlink"]


class UnsafeArchiveError(ValueError):
    """An archive member that would write outside the target or create a special file."""


@dataclass(frozen=True, slots=True)
class Member:
    """One validated archive member: ``name`` is a clean relative POSIX path."""

    name: str
    kind: Kind
    size: int
    link: str | None = None  # symlink target (relative to the member's folder) or hardlink source name
    index: int = -1  # position in the archive, so repeated names still read their own bytes


@dataclass(frozen=True, slots=True)
class ExtractResult:
    record: Path
    n_files: int
    n_skipped: int
    n_bytes: int


def _unsafe(archive: Path, name: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"{archive}: member {name!r} {why}; refusing to extract anything from it. Delete the archive and "
        "download it again from a trusted source"
    )


def clean_name(archive: Path, name: str) -> str:
    """The member's relative POSIX path without ``.`` parts; raises on absolute paths and ``..``."""
    raw = name.replace("\\", "/")
    if "\x00" in raw:
        raise _unsafe(archive, name, "has a NUL byte in its name")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw):
        raise _unsafe(archive, name, "has an absolute path")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _unsafe(archive, name, "has a '..' path component")
    if parts and parts[0] in (RECORD_DIR, WORK_DIR):
        raise _unsafe(archive, name, f"would overwrite the extraction records in {parts[0]}/")
    return "/".join(parts)


def _symlink_inside(name: str, target: str) -> bool:
    if not target or target.startswith("/") or re.match(r"^[A-Za-z]:", target):
        return False
    resolved = os.path.normpath(os.path.join(str(PurePosixPath(name).parent), target))
    return resolved != ".." and not resolved.startswith("../") and not os.path.isabs(resolved)


def list_members(archive: str | os.PathLike[str]) -> list[Member]:
    """Read and validate every member; nothing is written."""
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        return _zip_members(archive)
    try:
        with tarfile.open(archive, "r:*") as tf:
            infos = tf.getmembers()
    except tarfile.TarError as err:
        raise ValueError(f"{archive}: not a readable zip or tar archive ({err}); download it again") from err
    return _validate(archive, [_tar_member(archive, ti, i) for i, ti in enumerate(infos)])


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
    raise _unsafe(archive, ti.name, f"is {kind}")


def _zip_members(archive: Path) -> list[Member]:
    members = []
    with zipfile.ZipFile(archive) as zf:
        for i, info in enumerate(zf.infolist()):
            name = clean_name(archive, info.filename)
            mode = info.external_attr >> 16 if info.create_system == 3 else 0
            if info.is_dir() or stat.S_ISDIR(mode):
                members.append(Member(name, "dir", 0, index=i))
            elif stat.S_ISLNK(mode):
                members.append(Member(name, "symlink", 0, zf.read(info).decode("utf-8", "replace"), i))
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # 0: no type bits recorded
                raise _unsafe(archive, info.filename, "is a device file, fifo or socket")
            else:
                members.append(Member(name, "file", info.file_size, index=i))
    return _validate(archive, members)


def _validate(archive: Path, members: list[Member]) -> list[Member]:
    seen_files: set[str] = set()
    out = []
    for m in members:
        if not m.name:
            if m.kind == "dir":
                continue  # the archive's own root ("./")
            raise _unsafe(archive, m.name, "has an empty name")
        if m.kind == "symlink" and not _symlink_inside(m.name, m.link or ""):
            raise _unsafe(archive, m.name, f"is a symlink to {m.link!r}, outside the target")
        if m.kind == "hardlink":
            source = clean_name(archive, m.link or "")
            if source not in seen_files:
                raise _unsafe(archive, m.name, f"is a hard link to {m.link!r}, not an earlier file in it")
            m = Member(m.name, "hardlink", 0, source, m.index)
        if m.kind == "file":
            seen_files.add(m.name)
        out.append(m)
    return out


# ---------------------------------------------------------------------------------------------- extraction


class _Reader:
    """Opens members of either archive type for streaming, by position."""

    def __init__(self, archive: Path):
        self.archive = archive
        self.zip = zipfile.ZipFile(archive) if zipfile.is_zipfile(archive) else None
        self.tar = None if self.zip else tarfile.open(archive, "r:*")
        self.infos: list[zipfile.ZipInfo] | list[tarfile.TarInfo] = (
            self.zip.infolist() if self.zip is not None else self.tar.getmembers()  # type: ignore[union-attr]
        )

    def open(self, m: Member) -> IO[bytes]:
        info = self.infos[m.index]
        if self.zip is not None:
            return self.zip.open(info)  # type: ignore[arg-type]
        fh = self.tar.extractfile(info)  # type: ignore[union-attr, arg-type]
        if fh is None:  # pragma: no cover - only regular files reach here
            raise ValueError(f"{self.archive}: cannot read member {m.name!r}")
        return fh

    def close(self) -> None:
        (self.zip or self.tar).close()  # type: ignore[union-attr]


def _inside(root_real: str, path: Path) -> bool:
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real + os.sep)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _write_member(src: IO[bytes], target: Path) -> str:
    """Stream to a temp file beside ``target`` and rename it (never follows a symlink at ``target``)."""
    tmp = target.with_name(f".{target.name}.part")
    h = hashlib.sha256()
    with open(tmp, "wb") as out:
        while block := src.read(CHUNK):
            h.update(block)
            out.write(block)
    os.replace(tmp, target)
    return h.hexdigest()


def _read_progress(path: Path) -> dict[str, dict[str, object]]:
    done: dict[str, dict[str, object]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
            done[row["name"]] = row
    return done


def _record_path(archive: Path, dest: Path) -> Path:
    return dest / RECORD_DIR / f"{archive.name}.json"


def _fingerprint(archive: Path) -> dict[str, int]:
    st = archive.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _previous(archive: Path, dest: Path) -> dict[str, dict[str, object]]:
    """Members recorded by an earlier finished extraction of this very archive file (else empty)."""
    record_path = _record_path(archive, dest)
    if not record_path.is_file():
        return {}
    record = read_json(record_path)
    if record.get("archive") != _fingerprint(archive):
        return {}  # the archive was replaced: its members must be written again
    return {name: {"name": name, **info} for name, info in record["members"].items()}


def extract(
    archive: str | os.PathLike[str], dest: str | os.PathLike[str], *, recheck: bool = False
) -> ExtractResult:
    """Extract ``archive`` into ``dest`` safely; returns the record of what is there."""
    archive, dest = Path(archive), Path(dest)
    if not archive.is_file():
        raise FileNotFoundError(f"{archive}: archive not found; run its download rule first")
    previous = _previous(archive, dest)
    if previous and all(_still_there(e, None, dest / n, recheck) for n, e in previous.items()):
        logger.info("%s: already extracted into %s (%d members)", archive.name, dest, len(previous))
        return ExtractResult(_record_path(archive, dest), len(previous), len(previous), 0)

    members = list_members(archive)  # raises before anything is written
    work = dest / WORK_DIR / archive.name
    tree = work / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    tree_real = os.path.realpath(tree)
    progress_path = work / "progress.jsonl"
    done = {**previous, **_read_progress(progress_path)}
    reader = _Reader(archive)
    entries: dict[str, dict[str, object]] = {}
    n_skipped = n_bytes = 0
    try:
        with open(progress_path, "a", encoding="utf-8") as progress:
            for m in tqdm(members, desc=f"extract {archive.name}", unit="file", disable=None):
                target = tree / m.name
                if m.kind == "dir":
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                if not _inside(tree_real, target.parent):
                    raise _unsafe(archive, m.name, "would be written through a symlink leading outside")
                prev = done.get(m.name)
                if prev is not None and _still_there(prev, target, dest / m.name, recheck):
                    entries[m.name] = prev
                    n_skipped += 1
                    continue
                if m.kind == "symlink":
                    target.unlink(missing_ok=True)
                    os.symlink(m.link or "", target)
                    entry: dict[str, object] = {"name": m.name, "link": m.link}
                elif m.kind == "hardlink":  # a copy of the earlier member: never a link on disk
                    with open(tree / (m.link or ""), "rb") as src:
                        digest = _write_member(src, target)
                    entry = {"name": m.name, "size": target.stat().st_size, "sha256": digest}
                else:
                    with reader.open(m) as src:
                        digest = _write_member(src, target)
                    size = target.stat().st_size
                    if size != m.size:
                        raise ValueError(
                            f"{archive}: member {m.name!r} gave {size} bytes, header says {m.size}; "
                            "the archive is damaged: delete it and download it again"
                        )
                    entry = {"name": m.name, "size": size, "sha256": digest}
                    n_bytes += size
                entries[m.name] = entry
                progress.write(json.dumps(entry) + "\n")
                progress.flush()
    finally:
        reader.close()
    for name, entry in entries.items():
        if "link" in entry and not _inside(tree_real, tree / name):
            raise _unsafe(archive, name, "is a symlink that resolves outside the target through other links")
    _move_into(tree, dest)
    record_path = _record_path(archive, dest)
    members_record = {name: {k: v for k, v in e.items() if k != "name"} for name, e in entries.items()}
    atomic_write_json(record_path, {"archive": _fingerprint(archive), "members": members_record})
    shutil.rmtree(work, ignore_errors=True)
    with contextlib.suppress(OSError):
        (dest / WORK_DIR).rmdir()  # only if no other archive is mid-extraction
    logger.info(
        "%s: extracted %d members into %s (%d skipped, %.1f MB written)",
        archive.name,
        len(entries),
        dest,
        n_skipped,
        n_bytes / 1e6,
    )
    return ExtractResult(record_path, len(entries), n_skipped, n_bytes)


def _still_there(prev: dict[str, object], tmp: Path | None, final: Path, recheck: bool) -> bool:
    """Whether a member written before (by an interrupted or finished run) is intact, in the work tree
    or already moved to its final place."""
    for path in (tmp, final):
        if path is None:
            continue
        if "link" in prev:
            if path.is_symlink() and os.readlink(path) == prev["link"]:
                return True
        elif path.is_file() and not path.is_symlink() and path.stat().st_size == prev.get("size"):
            if not recheck or _sha256(path) == prev.get("sha256"):
                return True
    return False


def _move_into(tree: Path, dest: Path) -> None:
    """Rename the work tree into ``dest``: whole folders where ``dest`` lacks them, else file by file."""
    for entry in sorted(tree.iterdir()):
        final = dest / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if final.is_dir() and not final.is_symlink():
                _move_into(entry, final)
                continue
            if final.exists() or final.is_symlink():
                raise FileExistsError(
                    f"{final} is a file but the archive has a folder there; remove it, rerun"
                )
        elif final.is_dir() and not final.is_symlink():
            raise IsADirectoryError(f"{final} is a folder but the archive has a file there; remove it, rerun")
        os.replace(entry, final)
