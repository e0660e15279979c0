"""A stand-in for the Hugging Face Hub on 127.0.0.1: just what huggingface_hub 2.4 calls to list and fetch
a dataset repository (revision info, the tree API, ``resolve`` with HEAD/GET and Range requests)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


def git_oid(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()  # git's blob id


@dataclass
class StandInHub:
    repo: str
    base: str = ""
    refs: dict[str, str] = field(default_factory=dict)  # branch -> commit
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit -> path -> bytes
    lfs: bool = True  # serve files as LFS objects (sha256 in the listing and ETag) or as git blobs
    gated: bool = False  # refuse requests without an Authorization header, as a gated repo does
    drop_after: dict[str, int] = field(
        default_factory=dict
    )  # path -> send this many bytes, then hang up once
    corrupt: set[str] = field(default_factory=set)  # paths served with flipped bytes
    unavailable: int = 0  # answer this many requests with 503 first
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # (method, path, Range)

    def commit(self, sha: str, files: dict[str, bytes], *, branch: str = "main") -> None:
        self.trees[sha] = dict(files)
        self.refs[branch] = sha

    def gets(self, path: str) -> list[str | None]:
        """The Range headers of the GETs of one repository file."""
        return [r for m, p, r in self.requests if m == "GET" and p.endswith("/" + path)]


def _handler(hub: StandInHub) -> type[BaseHTTPRequestHandler]:
    api = f"/api/datasets/{hub.repo}/"
    resolve = f"/datasets/{hub.repo}/resolve/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _error(self, status: int, code: str) -> None:
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _json(self, obj: object) -> None:
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _commit(self, rev: str) -> str | None:
            return rev if rev in hub.trees else hub.refs.get(rev)

        def _route(self, method: str) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((method, path, self.headers.get("Range")))
            if hub.unavailable > 0:
                hub.unavailable -= 1
                return self._error(503, "")
            if hub.gated and not self.headers.get("Authorization"):
                return self._error(401, "GatedRepo")
            if path.startswith(api + "revision/"):
                commit = self._commit(path.removeprefix(api + "revision/"))
                return (
                    self._json({"id": hub.repo, "sha": commit})
                    if commit
                    else self._error(404, "RevisionNotFound")
                )
            if path.startswith(api + "tree/"):
                rev, _, folder = path.removeprefix(api + "tree/").partition("/")
                return self._tree(rev, folder)
            if path.startswith(resolve):
                rev, _, name = path.removeprefix(resolve).partition("/")
                return self._file(method, rev, name)
            return self._error(401, "RepoNotFound")

        def _tree(self, rev: str, folder: str) -> None:
            commit = self._commit(rev)
            if commit is None:
                return self._error(404, "RevisionNotFound")
            prefix = folder.rstrip("/") + "/" if folder else ""
            files = {p: d for p, d in hub.trees[commit].items() if p.startswith(prefix)}
            if not files:
                return self._error(404, "EntryNotFound")
            entries: list[dict[str, object]] = []
            for p, data in sorted(files.items()):
                entry = {"type": "file", "oid": git_oid(data), "size": len(data), "path": p}
                if hub.lfs:
                    entry["lfs"] = {
                        "oid": hashlib.sha256(data).hexdigest(),
                        "size": len(data),
                        "pointerSize": 134,
                    }
                entries.append(entry)
            dirs = {p.rsplit("/", 1)[0] for p in files if "/" in p.removeprefix(prefix)}
            entries += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in sorted(dirs)]
            return self._json(entries)

        def _file(self, method: str, rev: str, name: str) -> None:
            commit = self._commit(rev)
            if commit is None:
                return self._error(404, "RevisionNotFound")
            if name not in hub.trees[commit]:
                return self._error(404, "EntryNotFound")
            data = hub.trees[commit][name]
            etag = hashlib.sha256(data).hexdigest() if hub.lfs else git_oid(data)
            if name in hub.corrupt:
                data = bytes(255 - b for b in data)
            start = 0
            if self.headers.get("Range", "").startswith("bytes="):
                start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            body = data[start:]
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", commit)
            self.send_header("ETag", f'"{etag}"')
            if hub.lfs:
                self.send_header("X-Linked-Etag", f'"{etag}"')
                self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("Accept-Ranges", "bytes")
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method == "HEAD":
                return
            cut = hub.drop_after.pop(name, None)
            if cut is not None:
                self.wfile.write(body[:cut])
                self.close_connection = True
                return
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._route("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._route("HEAD")

    return Handler


@contextmanager
def serve(hub: StandInHub) -> Iterator[StandInHub]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    hub.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
