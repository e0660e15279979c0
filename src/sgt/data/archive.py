"""Safe, resumable extraction of zip and tar(.gz) archives into a data root.

Every member is vetted before anything is written (``sgt.data.archive_members``: unsafe names and links,
duplicates, the ``data.extract`` caps), and the disk must hold the declared bytes plus
``data.extract.min_free_bytes``. Members are then written into ``<dest>/.extracting/<archive>/tree``:

- no write goes through a path a member created: folders are entered one at a time with ``O_NOFOLLOW``, so a
  member under a link is refused, and each file is streamed into a private ``tmp/`` folder beside the tree
  (which no member can name) with ``O_EXCL | O_NOFOLLOW``, then renamed into its folder;
- a member writes no more than its declared size, so the caps bound the disk used;
- links are resolved on disk, when made and again on the finished tree (tar members also pass Python's
  ``tarfile.data_filter``, PEP 706), then the tree is moved into ``dest``, whole top-level folders at once
  where ``dest`` does not have them yet.

A refused or damaged archive leaves nothing in ``.extracting/``. Anything else that stops a run (a kill, a
full disk) leaves the finished members and a progress log, so the next run skips them; temp files a hard
kill left are cleared. A finished run leaves ``<dest>/.extracted/<archive>.json`` with every member's size
and sha256, so a rerun checks sizes and returns at once (``recheck=True`` re-hashes). Several archives may
share one ``dest`` (COCO's images and both annotation zips all land in the COCO root).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tqdm import tqdm

from sgt.data.archive_members import (
    READ_ERRORS,
    RECORD_DIR,
    WORK_DIR,
    DamagedArchiveError,
    ExtractLimitError,
    ExtractLimits,
    Member,
    UnsafeArchiveError,
    clean_name,
    damaged,
    list_members,
    unsafe,
)
from sgt.io import atomic_write_json, read_json

__all__ = [
    "DamagedArchiveError",
    "ExtractLimitError",
    "ExtractLimits",
    "ExtractResult",
    "Member",
    "UnsafeArchiveError",
    "clean_name",
    "extract",
    "list_members",
]

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_REFUSED = (UnsafeArchiveError, ExtractLimitError, DamagedArchiveError)


@dataclass(frozen=True, slots=True)
class ExtractResult:
    record: Path
    n_files: int
    n_skipped: int
    n_bytes: int


class _Reader:
    """Opens members of either archive type for streaming, by position."""

    def __init__(self, archive: Path):
        self.archive = archive
        self.zip = zipfile.ZipFile(archive) if zipfile.is_zipfile(archive) else None
        self.tar = None if self.zip else tarfile.open(archive, "r:*")
        self.infos: list[zipfile.ZipInfo] | list[tarfile.TarInfo] = (
            self.zip.infolist() if self.zip is not None else self.tar.getmembers()  # type: ignore[union-attr]
        )

    def vet(self, m: Member, tree_real: str) -> None:
        """Python's own check of a tar member against the tree as it is on disk now (PEP 706)."""
        if self.tar is not None:
            try:
                tarfile.data_filter(self.infos[m.index], tree_real)  # type: ignore[arg-type]
            except tarfile.FilterError as err:
                raise unsafe(self.archive, m.name, f"is refused by tarfile's data filter ({err})") from err

    def open(self, m: Member) -> IO[bytes]:
        """The member's bytes; a hard link reads its source's."""
        info = self.infos[m.index]
        if self.zip is not None:
            return self.zip.open(info)  # type: ignore[arg-type]
        fh = self.tar.extractfile(info)  # type: ignore[union-attr, arg-type]
        if fh is None:  # pragma: no cover - only regular files and hard links reach here
            raise damaged(self.archive, f"cannot read member {m.name!r}")
        return fh

    def close(self) -> None:
        (self.zip or self.tar).close()  # type: ignore[union-attr]


def _inside(root_real: str, path: Path) -> bool:
    real = os.path.realpath(path)
    return real == root_real or real.startswith(root_real + os.sep)


def _open_dir(tree_fd: int, parts: Sequence[str], archive: Path, name: str) -> int:
    """The folder ``parts`` below the tree, made where missing and entered one level at a time without
    following a link: a link (or a file) on the way refuses member ``name``."""
    fd = os.dup(tree_fd)
    for part in parts:
        try:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o777, dir_fd=fd)
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError as err:
            if err.errno in (errno.ELOOP, errno.ENOTDIR):
                raise unsafe(
                    archive, name, f"would be written through {part!r}, a link or file on disk"
                ) from err
            raise
        finally:
            os.close(fd)
        fd = child
    return fd


def _write_member(src: IO[bytes], m: Member, archive: Path, parent_fd: int, tmp_fd: int) -> str:
    """Stream exactly ``m.size`` bytes into a new file in the private temp folder, then rename it into
    ``parent_fd``; returns the sha256. The temp file is removed on any failure."""
    base, tmp = m.name.rsplit("/", 1)[-1], f"{m.index}.part"
    h, left = hashlib.sha256(), m.size
    try:
        with open(os.open(tmp, _NEW_FILE, 0o666, dir_fd=tmp_fd), "wb") as out:
            try:
                while left > 0 and (block := src.read(min(CHUNK, left))):
                    h.update(block)
                    out.write(block)
                    left -= len(block)
                extra = bool(src.read(1))
            except READ_ERRORS as err:
                raise damaged(
                    archive, f"member {m.name!r} cannot be read ({type(err).__name__}: {err})"
                ) from err
        if left or extra:
            raise damaged(
                archive,
                f"member {m.name!r} holds {'more' if extra else 'fewer'} bytes than the "
                f"{m.size} its header says",
            )
        os.rename(tmp, base, src_dir_fd=tmp_fd, dst_dir_fd=parent_fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=tmp_fd)
        raise
    return h.hexdigest()


def _sha256(fd: int) -> str:
    h = hashlib.sha256()
    with open(fd, "rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _intact(prev: dict[str, object], path: str, recheck: bool, dir_fd: int | None = None) -> bool:
    """Whether a member written before (by an interrupted or finished run) is still at ``path`` (relative
    to ``dir_fd`` if given), as it was; never follows a link there."""
    try:
        st = os.stat(path, dir_fd=dir_fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return False
    if "link" in prev:
        return stat.S_ISLNK(st.st_mode) and os.readlink(path, dir_fd=dir_fd) == prev["link"]
    if not stat.S_ISREG(st.st_mode) or st.st_size != prev.get("size"):
        return False
    if not recheck:
        return True
    return _sha256(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)) == prev["sha256"]


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


def _free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _check_space(archive: Path, dest: Path, need: int, limits: ExtractLimits) -> None:
    free = _free_bytes(dest)
    if free - need < limits.min_free_bytes:
        raise ExtractLimitError(
            f"{archive}: needs {need / 1e9:.2f} GB in {dest}, which has {free / 1e9:.2f} GB free, and "
            f"extraction keeps data.extract.min_free_bytes = {limits.min_free_bytes} free; free space, move "
            "data.root to a bigger disk, or lower data.extract.min_free_bytes"
        )


def _discard(work: Path) -> None:
    """Forget a refused archive's work folder (rmtree never follows the links in it)."""
    shutil.rmtree(work, ignore_errors=True)
    with contextlib.suppress(OSError):
        work.parent.rmdir()  # only if no other archive is mid-extraction


def extract(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    recheck: bool = False,
    limits: ExtractLimits | None = None,
) -> ExtractResult:
    """Extract ``archive`` into ``dest`` safely within ``limits`` (``data.extract``; defaults if None);
    returns the record of what is there."""
    archive, dest = Path(archive), Path(dest)
    limits = limits or ExtractLimits()
    if not archive.is_file():
        raise FileNotFoundError(f"{archive}: archive not found; run its download rule first")
    previous = _previous(archive, dest)
    if previous and all(_intact(e, str(dest / n), recheck) for n, e in previous.items()):
        logger.info("%s: already extracted into %s (%d members)", archive.name, dest, len(previous))
        return ExtractResult(_record_path(archive, dest), len(previous), len(previous), 0)

    work = dest / WORK_DIR / archive.name
    try:
        members = list_members(archive, limits)  # raises before anything is written
    except _REFUSED:
        if work.is_dir():
            _discard(work)  # what an earlier run of an archive by that name left
        raise
    done = {**previous, **_read_progress(work / "progress.jsonl")}
    _check_space(archive, dest, sum(m.size for m in members if m.name not in done), limits)
    try:
        entries, n_skipped, n_bytes = _write_tree(archive, dest, work, members, done, recheck)
        tree_real = os.path.realpath(work / "tree")
        for name, entry in entries.items():
            if "link" in entry and not _inside(tree_real, work / "tree" / name):
                raise unsafe(
                    archive, name, f"is a symlink to {entry['link']!r}, which resolves outside the target"
                )
    except _REFUSED:
        _discard(work)
        raise
    _move_into(work / "tree", dest)
    try:
        _check_links_in(archive, dest, entries)
    except _REFUSED:
        _discard(work)
        raise
    record_path = _record_path(archive, dest)
    members_record = {name: {k: v for k, v in e.items() if k != "name"} for name, e in entries.items()}
    atomic_write_json(record_path, {"archive": _fingerprint(archive), "members": members_record})
    _discard(work)
    logger.info(
        "%s: extracted %d members into %s (%d skipped, %.1f MB written)",
        archive.name,
        len(entries),
        dest,
        n_skipped,
        n_bytes / 1e6,
    )
    return ExtractResult(record_path, len(entries), n_skipped, n_bytes)


def _write_tree(
    archive: Path,
    dest: Path,
    work: Path,
    members: list[Member],
    done: dict[str, dict[str, object]],
    recheck: bool,
) -> tuple[dict[str, dict[str, object]], int, int]:
    """Write every member not already intact into ``work/tree``; returns the entries, skipped count, bytes."""
    tree, tmp = work / "tree", work / "tmp"
    tree.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)  # temp files a hard kill left behind
    tmp.mkdir()
    tree_real = os.path.realpath(tree)
    tree_fd, tmp_fd = os.open(tree, _DIR_FLAGS), os.open(tmp, _DIR_FLAGS)
    reader = _Reader(archive)
    entries: dict[str, dict[str, object]] = {}
    n_skipped = n_bytes = 0
    try:
        with open(work / "progress.jsonl", "a", encoding="utf-8") as progress:
            for m in tqdm(members, desc=f"extract {archive.name}", unit="file", disable=None):
                parts = m.name.split("/")
                parent_fd = _open_dir(tree_fd, parts if m.kind == "dir" else parts[:-1], archive, m.name)
                try:
                    if m.kind == "dir":
                        continue
                    prev = done.get(m.name)
                    if prev is not None and (
                        _intact(prev, parts[-1], recheck, parent_fd)
                        or _intact(prev, str(dest / m.name), recheck)
                    ):
                        entries[m.name] = prev
                        n_skipped += 1
                        continue
                    reader.vet(m, tree_real)
                    entries[m.name] = _write_one(reader, m, archive, parent_fd, tmp_fd, tree_real, work)
                    n_bytes += m.size
                finally:
                    os.close(parent_fd)
                progress.write(json.dumps(entries[m.name]) + "\n")
                progress.flush()
    finally:
        reader.close()
        os.close(tree_fd)
        os.close(tmp_fd)
    return entries, n_skipped, n_bytes


def _write_one(
    reader: _Reader, m: Member, archive: Path, parent_fd: int, tmp_fd: int, tree_real: str, work: Path
) -> dict[str, object]:
    base = m.name.rsplit("/", 1)[-1]
    if m.kind == "symlink":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(base, dir_fd=parent_fd)  # a link an interrupted run made
        os.symlink(m.link or "", base, dir_fd=parent_fd)
        if not _inside(tree_real, Path(tree_real) / m.name):
            raise unsafe(
                archive, m.name, f"is a symlink to {m.link!r}, which resolves outside the target on disk"
            )
        return {"name": m.name, "link": m.link}
    try:
        with reader.open(m) as src:
            digest = _write_member(src, m, archive, parent_fd, tmp_fd)
    except OSError as err:
        if err.errno not in _DISK_FULL:
            raise
        raise OSError(
            err.errno,
            f"{archive}: writing member {m.name!r} failed ({err.strerror}); none of it is kept, and the "
            f"members written so far stay in {work}: the next run resumes from them. Free space "
            "(data.extract.min_free_bytes keeps a reserve) or lift the file size limit (ulimit -f)",
        ) from err
    return {"name": m.name, "size": m.size, "sha256": digest}


def _check_links_in(archive: Path, dest: Path, entries: dict[str, dict[str, object]]) -> None:
    """Links stay inside ``dest`` together with what other archives (or the user) put there; any that do not
    are removed. Their folders are real folders: ``_move_into`` only merges into those."""
    dest_real = os.path.realpath(dest)
    bad = [name for name, e in entries.items() if "link" in e and not _inside(dest_real, dest / name)]
    for name in bad:
        (dest / name).unlink()
    if bad:
        raise unsafe(
            archive, bad[0], f"is a symlink that resolves outside {dest} with what is there; removed"
        )


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
