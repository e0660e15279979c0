"""Which prompt tokens belong to which word group (object, position, colour, other) under a BPE tokenizer.

The tiny UMM's tokenizer splits on words; Qwen2's byte-level BPE glues the leading space to a word and may
split or merge word pieces, so tokens are mapped to words by the characters they decode to. Imports
nothing beyond the standard library: it runs in the upstream checkout's environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any


def token_word_groups(
    tokenizer: Any, prompt: str, words: Mapping[str, str], groups: Sequence[str], offset: int = 0
) -> dict[str, list[int]]:
    """Group -> positions (``offset`` + token index) of ``tokenizer.encode(prompt)``'s tokens.

    ``words`` maps each space-separated word of ``prompt`` to its group. A token belongs to the word its
    first non-space character falls in; a token of spaces only goes to the last group ('other').
    """
    ids = list(tokenizer.encode(prompt))
    if tokenizer.decode(ids) != prompt:
        raise ValueError(f"prompt {prompt!r} does not decode back to itself; cannot map tokens to words")
    spans = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", prompt)]
    unknown = sorted({w for _, _, w in spans} - set(words))
    if unknown:
        raise ValueError(f"prompt {prompt!r}: no group given for {unknown}")
    out: dict[str, list[int]] = {g: [] for g in groups}
    start = 0
    for i in range(len(ids)):
        end = len(tokenizer.decode(ids[: i + 1]))
        text = prompt[start:end]
        first = start + len(text) - len(text.lstrip()) if text.strip() else None
        word = next((w for s, e, w in spans if first is not None and s <= first < e), None)
        out[words[word] if word else groups[-1]].append(offset + i)
        start = end
    return out
