"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), stdlib only.

The Snakemake report is a single-page app with no URL routes, and its HTML entries render in ``data:``
iframes that ``--dump-dom`` does not descend into; the protocol lets us call the app's own state functions
and read every frame's rendered DOM. The pipe needs no websocket client and no free port.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

logger = logging.getLogger(__name__)
BROWSERS: tuple[str, ...] = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "apt-get install -y chromium"


class BrowserError(RuntimeError):
    """Chromium is missing, exited, or answered a protocol call with an error."""


def find_browser() -> str:
    """The first Chromium-like binary on PATH."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(f"no headless browser found (tried {', '.join(BROWSERS)}); {INSTALL}")


class Chromium:
    """One headless Chromium with one page; ``call`` sends a protocol command to that page's session."""

    def __init__(self, size: tuple[int, int] = (1400, 1000), timeout: float = 60) -> None:
        self.timeout = timeout
        browser = find_browser()
        self._profile = tempfile.TemporaryDirectory(prefix="sgt-chromium-")
        self._log = open(Path(self._profile.name) / "stderr.log", "wb")  # noqa: SIM115 (closed in close())
        to_child, self._send_fd = os.pipe()
        self._recv_fd, from_child = os.pipe()

        def at_fds_3_and_4() -> None:  # Chromium reads commands on fd 3, writes answers on fd 4
            commands, answers = os.dup(to_child), os.dup(from_child)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
               f"--user-data-dir={self._profile.name}", f"--window-size={size[0]},{size[1]}",
               "about:blank"]  # fmt: skip
        self._proc = subprocess.Popen(
            cmd,
            preexec_fn=at_fds_3_and_4,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.session: str | None = None
        try:
            target = self.call("Target.createTarget", url="about:blank", session=False)["targetId"]
            attached = self.call("Target.attachToTarget", targetId=target, flatten=True, session=False)
            self.session = attached["sessionId"]
            self.call("Page.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1],
                      deviceScaleFactor=1, mobile=False)  # fmt: skip
        except BaseException:
            self.close()
            raise

    # --- the protocol ------------------------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._recv_fd], [], [], left)[0]:
                raise BrowserError(f"Chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self._recv_fd, 1 << 20)
            if not chunk:
                self._log.flush()
                err = (Path(self._profile.name) / "stderr.log").read_text(errors="replace")[-2000:]
                raise BrowserError(f"Chromium exited (code {self._proc.poll()}): {err}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, session: bool = True, **params: Any) -> dict[str, Any]:
        """Send ``method`` (to the page's session unless ``session`` is false) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self._send_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:  # events (no id) are not used: dropped
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})

    # --- pages ------------------------------------------------------------------------------------------

    def evaluate(self, expression: str, context: int | None = None) -> Any:
        """The value of a JavaScript expression in the page (or in execution context ``context``)."""
        params: dict[str, Any] = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if context is not None:
            params["contextId"] = context
        result = self.call("Runtime.evaluate", **params)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"JavaScript error in {expression[:80]!r}: {text}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, context: int | None = None) -> Any:
        """Poll ``expression`` until it is truthy; ``what`` names the wait in the timeout error."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression, context)
            except BrowserError:
                value = None
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError(f"timed out after {self.timeout:.0f} s waiting for {what}")

    def wait_for_value(self, probe: Callable[[], Any], what: str) -> Any:
        """Poll a Python callable (e.g. one that asks the protocol) until it returns something truthy."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(0.1)
        raise BrowserError(f"timed out after {self.timeout:.0f} s waiting for {what}")

    def open(self, page: str | Path) -> None:
        """Load a local file and wait until its document is complete."""
        path = Path(page).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        self.call("Page.navigate", url=path.as_uri())
        self.wait_for("document.readyState === 'complete'", f"{path} to load")

    def frames(self) -> list[dict[str, Any]]:
        """Every frame of the page, depth first: ``{"id", "url"}``."""
        out: list[dict[str, Any]] = []

        def walk(node: dict[str, Any]) -> None:
            out.append({"id": node["frame"]["id"], "url": node["frame"].get("url", "")})
            for child in node.get("childFrames", []):
                walk(child)

        walk(self.call("Page.getFrameTree")["frameTree"])
        return out

    def frame_context(self, frame_id: str) -> int:
        """An execution context in frame ``frame_id`` (an isolated world: it sees the DOM, not scripts)."""
        return self.call("Page.createIsolatedWorld", frameId=frame_id, worldName="sgt")["executionContextId"]

    def screenshot(self, png: str | Path) -> None:
        """The viewport as a PNG file."""
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(png).write_bytes(base64.b64decode(data))

    # --- lifetime ---------------------------------------------------------------------------------------

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                self.call("Browser.close", session=False)
                self._proc.wait(timeout=10)
        except (BrowserError, OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        finally:
            for fd in (self._send_fd, self._recv_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self._log.close()
            self._profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
