"""Stand-in of ``vlmeval.smp``: only ``load``, which run.py uses to read ``--config``."""

from __future__ import annotations

import json
from typing import Any


def load(f: str, fmt: str | None = None) -> Any:
    """The JSON reader of upstream's ``load`` (it also reads pkl, tsv, xlsx, ...; --config is JSON)."""
    if (fmt or f.rsplit(".", 1)[-1]) != "json":
        raise ValueError(f"stand-in load reads JSON only, not {f}")
    with open(f, encoding="utf-8") as fh:
        return json.load(fh)
