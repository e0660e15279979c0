"""Downloads that can be trusted with hundreds of gigabytes: resume, retry, verify, and never a partial file.

Bytes go to ``<dest>.part``; an interrupted transfer resumes from it with an HTTP ``Range`` request. Transient
failures (timeouts, dropped connections, 5xx, 408/429) are retried with exponential backoff; an attempt
that made progress resets the retry count. The finished file is checked against the known size and
MD5/SHA256, and against a sha256 manifest JSON (recorded on first download, checked on every later one),
and only then renamed to ``dest``. A checksum mismatch deletes the ``.part`` file: resuming would keep the bad
bytes. Standard library only (urllib); ``file://`` URLs and plain paths serve offline mirrors.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from tqdm import tqdm

from sgt.data.sources import Source
from sgt.io import atomic_write_json

logger = logging.getLogger(__name__)

USER_AGENT = "sgt-pipeline/0.1 (+urllib)"
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that could not complete; the message names the URL and the fix."""


class ChecksumError(DownloadError):
    """Downloaded or stored bytes that do not match the expected size or digest."""


class _Retryable(Exception):
    """A transient failure worth another attempt (the ``.part`` file is kept)."""


# HTTPError is a URLError: _fetch_http turns the permanent ones into DownloadError before they get here.
_TRANSIENT = (_Retryable, urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: ``retries`` attempts without progress, waits of ``backoff_s * 2**k`` capped."""

    retries: int = 8
    backoff_s: float = 2.0
    max_backoff_s: float = 120.0
    timeout_s: float = 60.0


class _Digests:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start over (also used when the ``.part`` file is discarded mid-attempt)."""
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256()
        self.n = 0

    def update(self, block: bytes) -> None:
        self.md5.update(block)
        self.sha256.update(block)
        self.n += len(block)


def _catch_up(part: Path, digests: _Digests) -> _Digests:
    """Hash whatever ``part`` holds beyond what ``digests`` has seen (after a resume)."""
    size = part.stat().st_size if part.exists() else 0
    if size < digests.n:
        digests = _Digests()
    if size > digests.n:
        with open(part, "rb") as fh:
            fh.seek(digests.n)
            while block := fh.read(CHUNK):
                digests.update(block)
    return digests


def file_digests(path: str | os.PathLike[str]) -> tuple[int, str, str]:
    """(size, md5, sha256) of a file in one pass."""
    d = _catch_up(Path(path), _Digests())
    return d.n, d.md5.hexdigest(), d.sha256.hexdigest()


# ---------------------------------------------------------------------------------------------- manifest


@contextlib.contextmanager
def _locked(manifest: Path) -> Iterator[None]:
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
    with _locked(manifest):
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


def _local_path(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(url2pathname(parts.path))
    if parts.scheme in ("", "local") or re.fullmatch(r"[A-Za-z]", parts.scheme):
        return Path(url)
    return None


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes a-b/N`` -> (a, N); ``bytes */N`` -> (None, N)."""
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) else None
    return start, (int(m.group(2)) if m.group(2) != "*" else None)


def _http_fix(status: int, hint: str) -> str:
    if status in (401, 403):
        why = (
            "access denied: the link may have expired (SA-1B CDN links expire after a few days: download a "
            "fresh links file from Meta) or the server needs a token (Hugging Face: set HF_TOKEN)"
        )
    elif status in (404, 410):
        why = "the file is not at this URL: fix the URL or point the base URL at a mirror"
    else:
        why = "the server refused the request"
    return why + (f" ({hint})" if hint else "")


def _stream(
    src: BinaryIO, part: Path, offset: int, total: int | None, digests: _Digests, name: str, url: str
) -> int:
    """Append ``src`` to ``part`` from ``offset``; return the byte count reached, or raise on truncation."""
    with (
        open(part, "ab" if offset else "wb") as out,
        tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=name, disable=None
        ) as bar,
    ):
        if out.tell() != offset:  # pragma: no cover - guarded by the caller's truncate
            raise RuntimeError(f"{part}: expected {offset} bytes before appending, found {out.tell()}")
        got = offset
        while True:
            try:
                block = src.read(CHUNK)
            except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
                out.flush()
                raise _Retryable(f"connection lost after {got} bytes ({err})") from err
            if not block:
                break
            out.write(block)
            digests.update(block)
            got += len(block)
            bar.update(len(block))
    if total is not None and got < total:
        raise _Retryable(f"connection closed after {got} of {total} bytes (truncated transfer)")
    if total is not None and got > total:
        part.unlink(missing_ok=True)
        digests.reset()
        raise _Retryable(f"server sent {got} bytes but announced {total}; restarting from zero")
    return got


def _fetch_local(path: Path, part: Path, digests: _Digests, name: str, url: str, hint: str) -> int:
    if not path.is_file():
        raise DownloadError(
            f"{url}: no such local file {path}; fix the path or mirror folder"
            + (f" ({hint})" if hint else "")
        )
    total = path.stat().st_size
    offset = part.stat().st_size if part.exists() else 0
    if offset > total:
        part.unlink()
        digests.reset()
        offset = 0
    with open(path, "rb") as src:
        src.seek(offset)
        return _stream(src, part, offset, total, digests, name, url)


def _fetch_http(source: Source, part: Path, digests: _Digests, timeout: float, hint: str) -> int:
    url = source.url
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **dict(source.headers)}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and offset:
            _, total = _parse_content_range(err.headers.get("Content-Range"))
            if total == offset:
                return offset  # the .part file already holds everything
            part.unlink(missing_ok=True)
            digests.reset()
            raise _Retryable(f"HTTP 416 for a resume at byte {offset}; restarting from zero") from err
        if err.code in (408, 425, 429) or err.code >= 500:
            raise _Retryable(f"HTTP {err.code} {err.reason}") from err
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}; {_http_fix(err.code, hint)}") from err
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if response.status == 206:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != offset:
                part.unlink(missing_ok=True)
                digests.reset()
                raise _Retryable(f"server resumed at byte {start}, not {offset}; restarting from zero")
            if total is None and length is not None:
                total = offset + length
        else:
            if offset:
                logger.warning("%s: server ignored the Range request; restarting from zero", url)
                part.unlink(missing_ok=True)
                digests.reset()
                offset = 0
            total = length
        return _stream(response, part, offset, total, digests, source.name, url)


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
    local = _local_path(source.url)
    digests, failures = _Digests(), 0
    while True:
        digests = _catch_up(part, digests)
        before = digests.n
        try:
            if local is not None:
                _fetch_local(local, part, digests, source.name, source.url, hint)
            else:
                _fetch_http(source, part, digests, policy.timeout_s, hint)
            break
        except _TRANSIENT as err:
            digests = _catch_up(part, digests) if part.exists() else _Digests()
            failures = 0 if digests.n > before else failures + 1
            kept = part.stat().st_size if part.exists() else 0
            if failures > policy.retries:
                raise DownloadError(
                    f"{source.url}: gave up after {failures} attempts without progress ({_describe(err)}). "
                    f"{part.name} ({kept} bytes) is kept and the next run resumes from it; check the network "
                    f"or proxy, or set a mirror URL" + (f" ({hint})" if hint else "")
                ) from err
            delay = min(policy.max_backoff_s, policy.backoff_s * 2 ** max(failures - 1, 0))
            logger.warning(
                "%s: %s; retrying in %.1f s (%d bytes kept)", source.url, _describe(err), delay, kept
            )
            sleep(delay)

    digests = _catch_up(part, digests)
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
        if manifest_path is not None:
            _record(manifest_path, source.name, size, sha256, source.url)
    except ChecksumError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    logger.info("downloaded %s (%d bytes, sha256 %s)", dest, size, sha256)
    return dest


def _free_bytes(path: Path) -> int:
    probe = path
    while not probe.exists():
        probe = probe.parent
    return shutil.disk_usage(probe).free


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"network error: {err.reason}"
    if isinstance(err, TimeoutError):
        return "timed out"
    return str(err) or type(err).__name__


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
    if recheck or (manifest is not None and not recorded):
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
    logger.info("%s already present (%d bytes)%s", dest, size, ", re-verified" if recheck else "")
    return dest


def download_all(sources: Iterable[Source], folder: str | os.PathLike[str], **kwargs: Any) -> list[Path]:
    """Download each source to ``folder/<source.name>`` in turn (same options as ``download``)."""
    folder = Path(folder)
    return [download(s, folder / s.name, **kwargs) for s in sources]
