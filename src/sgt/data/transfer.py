"""One transfer attempt of a download: stream bytes from HTTP (resuming with ``Range``) or a local mirror
into a ``.part`` file while hashing them.

``sgt.data.download`` drives these attempts (retries, backoff, verification, the final rename); this module
only moves bytes and classifies failures: ``Retryable`` ones keep the ``.part`` file for the next attempt,
``DownloadError`` ones are permanent and name the URL and the fix.

A transfer is checked against the file's full size whenever the server states it: ``Content-Length``,
the total of ``Content-Range``, or, for a response that has neither (its body simply ends when the
connection closes, so an early close looks like the end of the file), a ``HEAD`` request's
``Content-Length`` and then a one-byte ``Range`` request's ``Content-Range``. Bytes are read as they arrive
(``read1``), so a stall mid-transfer keeps everything received before it in the ``.part`` file.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from tqdm import tqdm

from sgt.data.sources import Source

logger = logging.getLogger(__name__)

USER_AGENT = "sgt-pipeline/0.1 (+urllib)"
CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that could not complete; the message names the URL and the fix."""


class Retryable(Exception):
    """A transient failure worth another attempt (the ``.part`` file is kept)."""


# HTTPError is a URLError: fetch_http turns the permanent ones into DownloadError before they get here.
TRANSIENT = (Retryable, urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class Digests:
    """Running size, MD5 and SHA256 of the bytes written so far (one pass over each byte)."""

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


def catch_up(part: Path, digests: Digests) -> Digests:
    """Hash whatever ``part`` holds beyond what ``digests`` has seen (after a resume)."""
    size = part.stat().st_size if part.exists() else 0
    if size < digests.n:
        digests = Digests()
    if size > digests.n:
        with open(part, "rb") as fh:
            fh.seek(digests.n)
            while block := fh.read(CHUNK):
                digests.update(block)
    return digests


def local_path(url: str) -> Path | None:
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
    src: BinaryIO, part: Path, offset: int, total: int | None, digests: Digests, name: str, url: str
) -> int:
    """Append ``src`` to ``part`` from ``offset``; return the byte count reached, or raise on truncation.

    ``read1`` returns what has arrived (one socket read at most) instead of waiting for a full block, so a
    timeout loses nothing already received: ``read(CHUNK)`` dropped up to a whole block's bytes.
    """
    read = getattr(src, "read1", src.read)
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
                block = read(CHUNK)
            except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
                out.flush()
                raise Retryable(f"connection lost after {got} bytes ({err})") from err
            if not block:
                break
            out.write(block)
            digests.update(block)
            got += len(block)
            bar.update(len(block))
    if total is not None and got < total:
        raise Retryable(f"connection closed after {got} of {total} bytes (truncated transfer)")
    if total is not None and got > total:
        part.unlink(missing_ok=True)
        digests.reset()
        raise Retryable(f"server sent {got} bytes but announced {total}; restarting from zero")
    return got


def fetch_local(path: Path, part: Path, digests: Digests, name: str, url: str, hint: str) -> int:
    """Copy a local mirror's file into ``part`` (resuming); return its size, which the copy is checked by."""
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
        _stream(src, part, offset, total, digests, name, url)
    return total


def _headers(source: Source) -> dict[str, str]:
    return {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **dict(source.headers)}


def _retry_status(status: int) -> bool:
    return status in (408, 425, 429) or status >= 500


def probe_size(source: Source, timeout: float) -> int | None:
    """The file's full size as the server states it apart from a body: ``HEAD``'s ``Content-Length``, else
    the total in the ``Content-Range`` of a one-byte ``Range`` request. None when it states neither.

    A transient failure (timeout, dropped connection, 5xx) raises ``Retryable``: a probe that could not be
    asked must not pass for a server that states no size.
    """
    for method, extra in (("HEAD", {}), ("GET", {"Range": "bytes=0-0"})):
        request = urllib.request.Request(source.url, headers={**_headers(source), **extra}, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                if method == "GET" and response.status == 206:
                    total = _parse_content_range(response.headers.get("Content-Range"))[1]
                else:  # HEAD, or a GET whose Range was ignored: the length is the whole file's
                    total = int(length) if length and length.isdigit() else None
        except urllib.error.HTTPError as err:
            err.close()
            if _retry_status(err.code):
                raise Retryable(f"HTTP {err.code} {err.reason} asking for the size ({method})") from err
            total = None
            if err.code == 416:  # an empty file: no byte 0
                total = _parse_content_range(err.headers.get("Content-Range"))[1]
        except TRANSIENT as err:
            raise Retryable(f"asking for the size ({method}): {describe(err)}") from err
        if total is not None:
            logger.info("%s: %d bytes (from %s, as the response stated no length)", source.url, total, method)
            return total
    return None


def fetch_http(source: Source, part: Path, digests: Digests, timeout: float, hint: str) -> int | None:
    """One attempt: stream ``source`` into ``part`` (resuming with ``Range``).

    Returns the file's full size as the server stated it, which the transfer was checked against, or None
    when it stated none (see ``probe_size``): then only a size or checksum from elsewhere can tell a
    complete transfer from one cut short.
    """
    url = source.url
    offset = part.stat().st_size if part.exists() else 0
    headers = _headers(source)
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
            raise Retryable(f"HTTP 416 for a resume at byte {offset}; restarting from zero") from err
        if _retry_status(err.code):
            raise Retryable(f"HTTP {err.code} {err.reason}") from err
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}; {_http_fix(err.code, hint)}") from err
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if response.status == 206:
            start, total = _parse_content_range(response.headers.get("Content-Range"))
            if start != offset:
                part.unlink(missing_ok=True)
                digests.reset()
                raise Retryable(f"server resumed at byte {start}, not {offset}; restarting from zero")
            if total is None and length is not None:
                total = offset + length
        else:
            if offset:
                logger.warning("%s: server ignored the Range request; restarting from zero", url)
                part.unlink(missing_ok=True)
                digests.reset()
                offset = 0
            total = length
        if total is None:
            total = probe_size(source, timeout)
        _stream(response, part, offset, total, digests, source.name, url)
        return total


def describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return f"network error: {err.reason}"
    if isinstance(err, TimeoutError):
        return "timed out"
    return str(err) or type(err).__name__
