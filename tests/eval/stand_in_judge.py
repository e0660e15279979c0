"""A stand-in judge: a local OpenAI-compatible chat endpoint on 127.0.0.1 (http.server in a thread) that
answers VIEScore and DPG-Bench prompts with fixed replies, or fails in a chosen way. Not a model."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# VIEScore SC replies by instruction (min of the list is the SC score); PQ is always [9, 9]
SC_REPLIES = {
    "make it blue": '||V^=^V||{"score": [8, 6], "reasoning": "ok"}||V^=^V||',
    "make it red": '{"score": [4, 9], "reasoning": "ok"}',
    "paint it like van gogh": "[8, 10]",
    "garbage": "I would rather not rate this.",
}
PQ_REPLY = '{"score": [9, 9], "reasoning": "sharp"}'


@dataclass
class StandInJudge:
    """Mode: good, http500, slow (sleeps ``delay`` s), not_json, no_choices, no_score."""

    mode: str = "good"
    delay: float = 1.0
    requests: list[dict] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    url: str = ""

    def content(self, text: str, n_images: int) -> str:
        if self.mode == "no_score":
            return "It looks fine to me."
        if "Answer yes or no." in text:  # DPG-Bench VQA
            if "dog left" in text:
                return "Yes, it is."
            if "dog" in text:
                return "No."
            return "yes" if "cat" in text or "bird" in text else "Maybe."
        if n_images == 2:  # VIEScore SC: source and edit
            return next((r for k, r in SC_REPLIES.items() if text.endswith(k)), "no idea")
        return PQ_REPLY


def _handler(judge: StandInJudge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            judge.requests.append(body)
            judge.auth.append(self.headers.get("Authorization", ""))
            content = body["messages"][0]["content"]
            text = content[-1]["text"]
            n_images = sum(c["type"] == "image_url" for c in content)
            if judge.mode == "slow":
                time.sleep(judge.delay)
            if judge.mode == "http500":
                self.send_error(500, "stand-in judge: internal error")
                return
            if judge.mode == "not_json":
                data = b"<html>Bad gateway</html>"
            elif judge.mode == "no_choices":
                data = json.dumps({"error": {"message": "overloaded"}}).encode()
            else:
                reply = judge.content(text, n_images)
                data = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": reply}}]}
                ).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out first
                pass

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(mode: str = "good", delay: float = 1.0) -> Iterator[StandInJudge]:
    judge = StandInJudge(mode, delay)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(judge))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    judge.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield judge
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback URL where nothing listens (connection refused): the endpoint is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
