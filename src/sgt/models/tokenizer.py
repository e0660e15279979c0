"""A character tokenizer for the small built-in UMM: the toy world's prompts need no subword vocabulary."""

from __future__ import annotations

from collections.abc import Sequence

SPECIALS = ("<pad>", "<bos>", "<eos>")
CHARS = " abcdefghijklmnopqrstuvwxyz0123456789.,?!'-:;/()"


class CharTokenizer:
    """Lower-cases text and maps unknown characters to a space; ids 0..2 are pad, bos, eos."""

    pad_id, bos_id, eos_id = 0, 1, 2

    def __init__(self, chars: str = CHARS):
        self.chars = chars
        self._to_id = {c: i + len(SPECIALS) for i, c in enumerate(chars)}
        self._space = self._to_id[" "]

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self._to_id.get(c, self._space) for c in text.lower()]

    def decode(self, ids: Sequence[int]) -> str:
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if i >= len(SPECIALS):
                out.append(self.chars[i - len(SPECIALS)])
        return "".join(out)
