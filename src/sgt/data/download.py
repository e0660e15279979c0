"""Downloads that can be trusted with hundreds of gigabytes: resume, retry, verify, and never a partial file.

Bytes go to ``<dest>.part``; an interrupted transfer resumes from it with an HTTP ``Range`` request. Transient
failures (timeouts, dropped connections, 5xx, 408/429) are retried with exponential backoff; an attempt
that made progress resets the retry count. The finished file is checked against the known size and
MD5/SHA256, and against a sha256 manifest JSON (recorded on first download, checked on every later one),
and only then renamed to ``dest``. A checksum mismatch deletes the ``.part`` file: resuming would keep the bad
bytes. Standard library only (urllib); ``file://`` URLs and plain paths serve offline mirrors. The
byte transfer itself (one attempt, HTTP or local) lives in ``sgt.data.transfer``.

A download is *verified* when something other than the bytes themselves says what they must be: the size
the server states (``Content-Length``, ``Content-Range``, ``HEAD``; see ``sgt.data.transfer``), a size or
checksum from config, or the manifest's record. A server that states no size and closes the connection early
sends what looks like a complete file, so an unverified download is used (archives are checked again when
extracted) but never becomes the manifest's reference: the WARNING names the file, ``<dest>.unverified.json``
records what arrived, and later runs keep it out of the manifest until a configured size or checksum
verifies it.

The default ``RetryPolicy`` gives up on a server that never answers within 90 s (5 attempts of 15 s and
waits of 1+2+4+8 s); an attempt that made progress resets the count, so a slow but moving download goes on.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sgt.data.sources import Source
from sgt.data.transfer import (
    TRANSIENT,
    Digests,
    DownloadError,
    catch_up,
    describe,
    fetch_http,
    fetch_local,
    local_path,
)
from sgt.io import atomic_write_json

__all__ = [
    "ChecksumError",
    "DownloadError",
    "RetryPolicy",
    "download",
    "download_all",
    "file_digests",
    "locked",
    "manifest_entry",
    "unverified_marker",
]

logger = logging.getLogger(__name__)


class ChecksumError(DownloadError):
    """Downloaded or stored bytes that do not match the expected size or digest."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: ``retries`` attempts without progress, waits of ``backoff_s * 2**k`` capped.

    The defaults (the schema's ``data.retry``) give up on a silent server within 90 s, not 15 min.
    """

    retries: int = 4
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    timeout_s: float = 15.0


def file_digests(path: str | os.PathLike[str]) -> tuple[int, str, str]:
    """(size, md5, sha256) of a file in one pass."""
    d = catch_up(Path(path), Digests())
    return d.n, d.md5.hexdigest(), d.sha256.hexdigest()


# ---------------------------------------------------------------------------------------------- manifest


@contextlib.contextmanager
def locked(manifest: Path) -> Iterator[None]:
    """Serialize read-modify-write of a manifest shared by parallel download jobs."""
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.with_name(manifest.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _read_manifest(manifest: Path) -> dict[str, dict[str, Any]]:
    if not manifest.is_file():
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{manifest}: not valid JSON ({err}); restore it from version control") from err
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        raise ValueError(f"{manifest}: expected {{'files': {{name: {{sha256, size}}}}}}; restore it")
    return files


def manifest_entry(manifest: str | os.PathLike[str] | None, name: str) -> dict[str, Any] | None:
    """The recorded {sha256, size, url} of ``name``, or None."""
    return _read_manifest(Path(manifest)).get(name) if manifest else None


def _record(manifest: Path, name: str, size: int, sha256: str, url: str) -> None:
    with locked(manifest):
        files = _read_manifest(manifest)
        old = files.get(name)
        if old is not None:
            _compare(name, url, size, sha256, old.get("size"), old.get("sha256"), f"manifest {manifest}")
            return
        files[name] = {"sha256": sha256, "size": size, "url": url}
        atomic_write_json(manifest, {"files": files})
    logger.info("recorded %s (sha256 %s, %d bytes) in %s", name, sha256, size, manifest)


def _compare(
    name: str,
    url: str,
    size: int,
    sha256: str,
    want_size: int | None,
    want_sha256: str | None,
    where: str,
    md5: str | None = None,
    want_md5: str | None = None,
) -> None:
    problems = []
    if want_size is not None and size != want_size:
        problems.append(f"size {size} bytes, expected {want_size}")
    if want_md5 and md5 and md5 != want_md5:
        problems.append(f"md5 {md5}, expected {want_md5}")
    if want_sha256 and sha256 != want_sha256:
        problems.append(f"sha256 {sha256}, expected {want_sha256}")
    if problems:
        raise ChecksumError(
            f"{name} from {url} does not match {where}: {'; '.join(problems)}. The bytes were discarded. "
            "If the download was corrupted, rerun; if upstream changed the file on purpose, update the "
            "expected value (config) or delete its manifest entry."
        )


# ---------------------------------------------------------------------------------------------- transfer


def download(
    source: Source | str,
    dest: str | os.PathLike[str],
    *,
    manifest: str | os.PathLike[str] | None = None,
    policy: RetryPolicy = RetryPolicy(),
    recheck: bool = False,
    hint: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> Path:
    """Fetch ``source`` to ``dest`` (resuming ``dest.part``), verify it, and return ``dest``.

    An existing ``dest`` is accepted if its size matches (``recheck=True`` also re-hashes it). ``manifest``
    is a JSON file shared by downloads: the first download of a name records its sha256 and size, and later
    ones must match. ``hint`` (e.g. the config key of the URL) is added to error messages.
    """
    if isinstance(source, str):
        source = Source(Path(urlsplit(source).path).name or "download", source)
    dest = Path(dest)
    manifest_path = Path(manifest) if manifest else None
    recorded = manifest_entry(manifest_path, source.name) or {}
    want_size = source.size if source.size is not None else recorded.get("size")

    if dest.exists():
        return _check_existing(source, dest, manifest_path, recorded, want_size, recheck)

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if want_size is not None and part.exists() and part.stat().st_size > want_size:
        logger.warning("%s is larger than the expected %d bytes; starting over", part, want_size)
        part.unlink()
    if want_size is not None:
        need = want_size - (part.stat().st_size if part.exists() else 0)
        if need > _free_bytes(dest.parent):
            raise DownloadError(
                f"{source.url}: needs {need / 1e9:.1f} GB more but {dest.parent} has "
                f"{_free_bytes(dest.parent) / 1e9:.1f} GB free; free space or move the download folder"
            )
    local = local_path(source.url)
    digests, failures, stated = Digests(), 0, None
    while True:
        digests = catch_up(part, digests)
        before = digests.n
        try:
            if local is not None:
                stated = fetch_local(local, part, digests, source.name, source.url, hint)
            else:
                stated = fetch_http(source, part, digests, policy.timeout_s, hint)
            break
        except TRANSIENT as err:
            digests = catch_up(part, digests) if part.exists() else Digests()
            failures = 0 if digests.n > before else failures + 1
            kept = part.stat().st_size if part.exists() else 0
            if failures > policy.retries:
                raise DownloadError(
                    f"{source.url}: gave up after {failures} attempts without progress ({describe(err)}). "
                    f"{part.name} ({kept} bytes) is kept and the next run resumes from it; check the network "
                    f"or proxy, or set a mirror URL" + (f" ({hint})" if hint else "") + "; to wait longer "
                    "for a slow server, raise data.retry.timeout_s (seconds per attempt) or "
                    "data.retry.retries"
                ) from err
            delay = min(policy.max_backoff_s, policy.backoff_s * 2 ** max(failures - 1, 0))
            logger.warning(
                "%s: %s; retrying in %.1f s (%d bytes kept)", source.url, describe(err), delay, kept
            )
            sleep(delay)

    digests = catch_up(part, digests)
    size, md5, sha256 = digests.n, digests.md5.hexdigest(), digests.sha256.hexdigest()
    try:
        _compare(
            source.name,
            source.url,
            size,
            sha256,
            source.size,
            source.sha256,
            "the expected values",
            md5,
            source.md5,
        )
        verified = stated is not None or _checkable(source) or bool(recorded)
        if manifest_path is not None and verified:
            _record(manifest_path, source.name, size, sha256, source.url)
    except ChecksumError:
        part.unlink(missing_ok=True)
        raise
    marker = unverified_marker(dest)
    if verified:
        marker.unlink(missing_ok=True)  # left by an earlier, unverified copy
    else:
        atomic_write_json(marker, {"url": source.url, "size": size, "sha256": sha256})
        logger.warning(
            "%s: %s (%d bytes, sha256 %s) could not be verified: the server stated no size (no "
            "Content-Length, and neither HEAD nor a Range request gave one) and no size or checksum is "
            "known, so a connection that closed early would look the same. It is used, but its sha256 is "
            "not recorded%s; %s marks it. To verify it, set its size or sha256 in config (%s) and rerun.",
            source.url,
            dest,
            size,
            sha256,
            f" in {manifest_path}" if manifest_path else "",
            marker.name,
            _CHECKSUM_KEYS,
        )
    os.replace(part, dest)
    logger.info("downloaded %s (%d bytes, sha256 %s)", dest, size, sha256)
    return dest


_CHECKSUM_KEYS = "data.sa1b.checksums for SA-1B shards, data.coco.archives for COCO"


def unverified_marker(dest: str | os.PathLike[str]) -> Path:
    """``<dest>.unverified.json``: beside a download that nothing could verify (what arrived, from where)."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".unverified.json")


def _checkable(source: Source) -> bool:
    """Whether config states what the file must be (a size or a checksum)."""
    return source.size is not None or bool(source.md5) or bool(source.sha256)


def _free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _check_existing(
    source: Source,
    dest: Path,
    manifest: Path | None,
    recorded: dict[str, Any],
    want_size: int | None,
    recheck: bool,
) -> Path:
    size = dest.stat().st_size
    fix = f"{dest} does not match: delete it and rerun to download it again"
    if want_size is not None and size != want_size:
        raise ChecksumError(f"{fix} (size {size} bytes, expected {want_size})")
    marker = unverified_marker(dest)
    unverified = marker.exists()
    if unverified and not (_checkable(source) or recorded):
        logger.warning(
            "%s was downloaded without a size or checksum to verify it (%s); it is used but not recorded%s. "
            "Set its size or sha256 in config (%s) to verify it.",
            dest,
            marker.name,
            f" in {manifest}" if manifest else "",
            _CHECKSUM_KEYS,
        )
        return dest
    if recheck or unverified or (manifest is not None and not recorded):
        n, md5, sha256 = file_digests(dest)
        try:
            want_sha256 = source.sha256 or recorded.get("sha256")
            _compare(
                source.name,
                source.url,
                n,
                sha256,
                want_size,
                want_sha256,
                "the expected values",
                md5,
                source.md5,
            )
        except ChecksumError as err:
            raise ChecksumError(f"{fix}: {err}") from err
        if manifest is not None:
            _record(manifest, source.name, n, sha256, source.url)
        if unverified:
            marker.unlink()
            logger.info("%s is now verified against the configured size or checksum", dest)
    logger.info("%s already present (%d bytes)%s", dest, size, ", re-verified" if recheck else "")
    return dest


def download_all(sources: Iterable[Source], folder: str | os.PathLike[str], **kwargs: Any) -> list[Path]:
    """Download each source to ``folder/<source.name>`` in turn (same options as ``download``)."""
    folder = Path(folder)
    return [download(s, folder / s.name, **kwargs) for s in sources]
