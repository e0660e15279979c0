"""Which prompt tokens belong to which word group (object, position, colour, other) under a BPE tokenizer.

The tiny UMM's tokenizer splits on words; Qwen2's byte-level BPE glues the leading space to a word and may
split or merge word pieces, so tokens are mapped to words by the characters they decode to.
"""

from __future__ import annotations

import re
from typing import Any

from sgt.analysis.prompt_attention import WORD_GROUPS, word_group


def token_word_groups(tokenizer: Any, prompt: str, offset: int = 0) -> dict[str, list[int]]:
    """Word group -> positions (``offset`` + token index) of ``tokenizer.encode(prompt)``'s tokens.

    A token belongs to the word its first non-space character falls in; a token of spaces only is 'other'.
    """
    ids = list(tokenizer.encode(prompt))
    if tokenizer.decode(ids) != prompt:
        raise ValueError(f"prompt {prompt!r} does not decode back to itself; cannot map tokens to words")
    spans = [(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+", prompt)]
    groups: dict[str, list[int]] = {g: [] for g in WORD_GROUPS}
    start = 0
    for i in range(len(ids)):
        end = len(tokenizer.decode(ids[: i + 1]))
        text = prompt[start:end]
        first = start + (len(text) - len(text.lstrip())) if text.strip() else None
        word = next((w for s, e, w in spans if first is not None and s <= first < e), None)
        group = word_group(re.sub(r"[^\w]", "", word.lower())) if word else "other"
        groups[group].append(offset + i)
        start = end
    return groups
