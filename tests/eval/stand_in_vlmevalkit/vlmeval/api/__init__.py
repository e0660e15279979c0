"""Stand-in of ``vlmeval.api``: run.py looks a config class up here before ``vlmeval.vlm``."""

from __future__ import annotations

from typing import Any


class GPT4V:
    """An API model; never built by our adapter, present so the lookup order has two namespaces."""

    def __init__(self, model: str = "gpt-4o", retry: int = 5, **kwargs: Any) -> None:
        raise RuntimeError("stand-in GPT4V would call an API")
