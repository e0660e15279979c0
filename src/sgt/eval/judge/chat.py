"""One call to an OpenAI-compatible chat endpoint with images, shared by the VIEScore and DPG-Bench judges.

Failures come in two kinds, because a run must treat them differently: ``JudgeUnavailable`` (connection
refused, timeout, HTTP error) says nothing about the item and is retried with backoff, then ends the job's
scoring; ``MalformedReply`` (a body that is not JSON, JSON without ``choices``) is the judge's answer to this
item, which then counts as unscored. The API key goes only into the request header, never into a message.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

logger = logging.getLogger(__name__)

NO_KEY = "EMPTY"  # what vLLM and most local OpenAI-compatible servers accept when they check no key


class JudgeUnavailable(ConnectionError):
    """The endpoint gave no answer (refused, timed out, HTTP error): nothing was learnt about the item."""


class MalformedReply(ValueError):
    """The endpoint answered, but not with a chat completion whose content can be read."""


def data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def reply_content(raw: bytes) -> str:
    """The first choice's message content of a chat-completion body; ``MalformedReply`` otherwise."""
    try:
        reply = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedReply(f"judge reply is not JSON: {raw[:80]!r}") from err
    try:
        content = reply["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError) as err:
        raise MalformedReply(f"judge reply has no choices[0].message.content: {str(reply)[:80]}") from err
    if not isinstance(content, str):
        raise MalformedReply(f"judge reply content is not text: {content!r:.80}")
    return content


def chat(
    base_url: str, model: str, images: Sequence[Image.Image], text: str, api_key: str, timeout: float
) -> str:
    """The reply text to one user turn of images then text, at temperature 0 (one try)."""
    url = f"{base_url.rstrip('/')}/chat/completions"
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": data_url(im)}} for im in images
    ]
    content.append({"type": "text", "text": text})
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": content}], "temperature": 0}
    ).encode("utf-8")
    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        raise JudgeUnavailable(
            f"judge endpoint {url} answered HTTP {err.code} {err.reason}; check eval.judge.base_url"
            + (" and the key in eval.judge.api_key_env" if err.code in (401, 403) else "")
        ) from err
    except urllib.error.URLError as err:
        raise JudgeUnavailable(
            f"judge endpoint {url} failed: {err.reason}; check eval.judge.base_url"
        ) from err
    except (TimeoutError, OSError, http.client.HTTPException) as err:  # a read timeout is not a URLError
        raise JudgeUnavailable(
            f"judge endpoint {url} failed: {err!r} (timeout {timeout} s); check eval.judge.base_url"
        ) from err
    return reply_content(raw)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An ``eval.judge`` endpoint with bounded retries: ``retries`` more tries after the first, waiting
    ``backoff_s``, then twice that, ..., when the endpoint gives no answer."""

    base_url: str
    model: str
    api_key: str = field(default=NO_KEY, repr=False)
    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 2.0

    def chat(self, images: Sequence[Image.Image], text: str) -> str:
        for attempt in range(self.retries + 1):
            try:
                return chat(self.base_url, self.model, images, text, self.api_key, self.timeout_s)
            except JudgeUnavailable as err:
                if attempt == self.retries:
                    raise JudgeUnavailable(f"{err} (after {self.retries + 1} tries)") from err
                wait = self.backoff_s * 2**attempt
                logger.warning("%s; try %d of %d in %.1f s", err, attempt + 2, self.retries + 1, wait)
                time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def endpoint_from_config(
    judge: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> Endpoint | None:
    """The generation judge of ``eval.judge``, or None when no endpoint is configured.

    The key is read from the environment variable ``api_key_env`` names (a local server needs none).
    """
    if not judge or not judge.get("base_url"):
        return None
    if not judge.get("model"):
        raise ValueError("eval.judge.model is not set: name the model the endpoint serves (e.g. gpt-4.1)")
    env = os.environ if environ is None else environ
    key_var = judge.get("api_key_env")
    key = env.get(key_var, "") if key_var else ""
    if key_var and not key:
        logger.warning("eval.judge.api_key_env: $%s is not set; calling the judge without a key", key_var)
    return Endpoint(
        base_url=str(judge["base_url"]),
        model=str(judge["model"]),
        api_key=key or NO_KEY,
        timeout_s=float(judge.get("timeout_s", 120.0)),
        retries=int(judge.get("retries", 3)),
        backoff_s=float(judge.get("backoff_s", 2.0)),
    )
