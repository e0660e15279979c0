"""An embedded GenEval prompt set: GenEval's six tags and metadata format over the toy world's vocabulary.

Rows follow upstream ``prompts/create_prompts.py``: ``single_object`` once per class, then ``n_per_tag``
draws of ``two_object``, ``counting`` (2-4, with the ``exclude`` clause at count + 1), ``colors``,
``position`` (the first include clause is the reference object, the second carries ``[relation, 0]``)
and ``color_attr`` (two distinct classes and colours), de-duplicated in order, with GenEval's prompt
wording. Classes and colours are the toy world's, so every prompt can be drawn and checked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sgt.data.toyworld import COLORS, THINGS
from sgt.eval.geneval.rules import RELATIONS
from sgt.io import atomic_write_text
from sgt.seeding import rng_for

CLASSES: tuple[str, ...] = tuple(THINGS.values())
TOY_COLORS: tuple[str, ...] = tuple(COLORS)
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _plural(name: str) -> str:
    return f"{name}es" if name.endswith("s") else f"{name}s"


def _pick(rng: np.random.Generator, items: Sequence[str], k: int) -> list[str]:
    return [items[int(i)] for i in rng.choice(len(items), size=k, replace=False)]


def _two_object(rng: np.random.Generator) -> dict[str, Any]:
    a, b = _pick(rng, CLASSES, 2)
    include = [{"class": a, "count": 1}, {"class": b, "count": 1}]
    return {"tag": "two_object", "include": include, "prompt": f"a photo of {_article(a)} and {_article(b)}"}


def _counting(rng: np.random.Generator, max_count: int = 4) -> dict[str, Any]:
    (a,) = _pick(rng, CLASSES, 1)
    n = int(rng.integers(2, max_count, endpoint=True))
    return {
        "tag": "counting",
        "include": [{"class": a, "count": n}],
        "exclude": [{"class": a, "count": n + 1}],
        "prompt": f"a photo of {NUMBERS[n]} {_plural(a)}",
    }


def _colors(rng: np.random.Generator) -> dict[str, Any]:
    (a,) = _pick(rng, CLASSES, 1)
    (c,) = _pick(rng, TOY_COLORS, 1)
    include = [{"class": a, "count": 1, "color": c}]
    return {"tag": "colors", "include": include, "prompt": f"a photo of {_article(c)} {a}"}


def _position(rng: np.random.Generator) -> dict[str, Any]:
    a, b = _pick(rng, CLASSES, 2)
    (rel,) = _pick(rng, RELATIONS, 1)
    include = [{"class": b, "count": 1}, {"class": a, "count": 1, "position": [rel, 0]}]
    return {"tag": "position", "include": include, "prompt": f"a photo of {_article(a)} {rel} {_article(b)}"}


def _color_attr(rng: np.random.Generator) -> dict[str, Any]:
    a, b = _pick(rng, CLASSES, 2)
    ca, cb = _pick(rng, TOY_COLORS, 2)
    include = [{"class": a, "count": 1, "color": ca}, {"class": b, "count": 1, "color": cb}]
    prompt = f"a photo of {_article(ca)} {a} and {_article(cb)} {b}"
    return {"tag": "color_attr", "include": include, "prompt": prompt}


DRAWS: dict[str, Callable[[np.random.Generator], dict[str, Any]]] = {
    "two_object": _two_object,
    "counting": _counting,
    "colors": _colors,
    "position": _position,
    "color_attr": _color_attr,
}


def toyworld_geneval_prompts(n_per_tag: int, seed: int) -> list[dict[str, Any]]:
    """GenEval metadata rows for the toy world: every class once, then ``n_per_tag`` draws per tag."""
    if n_per_tag < 0:
        raise ValueError(f"eval.geneval.n_per_tag must be >= 0, got {n_per_tag}")
    rng = rng_for(seed, "geneval-prompts")
    rows = [
        {"tag": "single_object", "include": [{"class": c, "count": 1}], "prompt": f"a photo of {_article(c)}"}
        for c in _pick(rng, CLASSES, len(CLASSES))
    ]
    for draw in DRAWS.values():
        rows.extend(draw(rng) for _ in range(n_per_tag))
    unique, seen = [], set()
    for row in rows:
        key = json.dumps(row, sort_keys=True)
        if key not in seen:
            unique.append(row)
            seen.add(key)
    return unique


def write_geneval_prompts(rows: Sequence[dict[str, Any]], out: str | os.PathLike[str]) -> None:
    """``evaluation_metadata.jsonl``: one JSON object per line, as GenEval's runner reads it."""
    atomic_write_text(out, "".join(json.dumps(r) + "\n" for r in rows))
