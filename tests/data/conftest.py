"""A misbehaving-on-request HTTP server on 127.0.0.1 for the download tests."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

_FLIP = bytes(range(255, -1, -1))


@dataclass
class Behaviour:
    """How the server answers one path; counters are per server and count down per request."""

    status: int | None = None  # answer with this error status instead of the file
    drop_after: int | None = None  # send this many body bytes, then close the connection ...
    drops: int = 0  # ... on this many requests
    corrupt: bool = False  # flip the bytes (same length): a wrong checksum
    ignore_range: bool = False  # always answer 200 with the whole file
    stall_s: float = 0.0  # sleep before answering (timeouts) ...
    stalls: int = 0
    stall_after: int | None = None  # ... or after this many body bytes, mid-transfer
    no_length: bool = False  # no Content-Length: the body ends when the connection closes (HTTP/1.0)
    head: str = "full"  # HEAD answer: "full" (with Content-Length), "bare" (without), "none" (405)


@dataclass
class FakeServer:
    base: str
    files: dict[str, bytes] = field(default_factory=dict)
    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def serve(self, path: str, data: bytes, **behaviour: object) -> str:
        self.files[path] = data
        self.behaviour[path] = Behaviour(**behaviour)  # type: ignore[arg-type]
        return self.base + path


def _handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            server.requests.append((f"HEAD {path}", None))
            b = server.behaviour.get(path, Behaviour())
            if path not in server.files or b.status is not None or b.head == "none":
                self.send_error(405 if b.head == "none" else b.status or 404)
                return
            self.send_response(200)
            if b.head == "full":
                self.send_header("Content-Length", str(len(server.files[path])))
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            server.requests.append((path, self.headers.get("Range")))
            b = server.behaviour.get(path, Behaviour())
            if b.stalls > 0 and b.stall_after is None:
                b.stalls -= 1
                time.sleep(b.stall_s)
            if path not in server.files or b.status is not None:
                self.send_error(b.status or 404)
                return
            data = server.files[path]
            if b.corrupt:
                data = data.translate(_FLIP)
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
            ranged = m is not None and not b.ignore_range
            start = int(m.group(1)) if ranged else 0
            if ranged and start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(int(m.group(2)), len(data) - 1) if ranged and m.group(2) else len(data) - 1
            body = data[start : end + 1]
            partial = ranged and (start > 0 or end < len(data) - 1)
            self.send_response(206 if partial else 200)
            if partial:
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            if b.no_length:
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if b.drops > 0 and b.drop_after is not None and len(body) > b.drop_after:
                b.drops -= 1
                body = body[: b.drop_after]
                self.close_connection = True
            try:
                if b.stall_after is not None and b.stalls > 0:
                    b.stalls -= 1
                    self.wfile.write(body[: b.stall_after])
                    self.wfile.flush()
                    time.sleep(b.stall_s)
                    body = body[b.stall_after :]
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                self.close_connection = True

    return Handler


@pytest.fixture
def http_server() -> Iterator[FakeServer]:
    fake = FakeServer(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
