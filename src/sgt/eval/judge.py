"""One call to an OpenAI-compatible chat endpoint with images, shared by the VIEScore and DPG-Bench judges."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from PIL import Image


def data_url(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def chat(
    base_url: str, model: str, images: Sequence[Image.Image], text: str, api_key: str, timeout: float
) -> str:
    """The reply text to one user turn of images then text, at temperature 0."""
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
            reply = json.loads(resp.read().decode("utf-8"))
    except urllib.error.URLError as err:
        raise ConnectionError(f"judge endpoint {url} failed: {err}; check eval.judge.base_url") from err
    return str(reply["choices"][0]["message"]["content"])
