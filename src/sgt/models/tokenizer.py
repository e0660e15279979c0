"""A word tokenizer with a character fallback for the small built-in UMM.

The toy world's prompts, questions and answers use a few dozen words; one token per word keeps sequences
(and answer decoding) several times shorter than characters would, which is most of the cost on a CPU.
Words outside the vocabulary are spelled in characters and closed by an end-of-word token, so any text
round-trips up to spacing around punctuation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SPECIALS = ("<pad>", "<bos>", "<eos>", "</w>")
WORDS = (
    "0 1 2 3 4 5 6 7 8 9 a an the and or of on in under to by its is are there what which how many this that "
    "yes no left right above below closer farther near far color colour colors every pixel class image photo "
    "red blue yellow purple orange pink green white black brown gray grey "
    "circle circles square squares rectangle rectangles triangle triangles diamond diamonds object objects "
    "sky wall grass floor shape shapes "
    "generate draw make show map maps segmentation semantic instance panoptic segment edge edges depth "
    "reconstruct reconstruction same copy mirror flip image's boxes box detect detection restore clean "
    "remove noise blur rain haze light low super resolution sharpen inpaint fill missing regions of "
    ". , ? ! : ; ( ) / -"
).split()
CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.,?!'-:;/()"
_SPLIT = re.compile(r"[a-z0-9']+|[^a-z0-9'\s]")
_NO_SPACE_BEFORE = set(".,?!:;)")


class WordTokenizer:
    """Lower-cases text; ids 0..3 are pad, bos, eos and end-of-spelled-word."""

    pad_id, bos_id, eos_id, eow_id = 0, 1, 2, 3

    def __init__(self) -> None:
        words = list(dict.fromkeys(WORDS))
        self.vocab = [*SPECIALS, *words, *(f"#{c}" for c in CHARS)]
        self._word_id = {w: i + len(SPECIALS) for i, w in enumerate(words)}
        self._char_id = {c: i + len(SPECIALS) + len(words) for i, c in enumerate(CHARS)}
        self._first_char = len(SPECIALS) + len(words)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in _SPLIT.findall(text.lower()):
            if piece in self._word_id:
                ids.append(self._word_id[piece])
            elif len(piece) == 1 and piece in self._char_id:
                ids.append(self._char_id[piece])
            else:
                ids.extend(self._char_id[c] for c in piece if c in self._char_id)
                ids.append(self.eow_id)
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        pieces: list[str] = []
        spelled = ""
        for i in ids:
            if i == self.eos_id:
                break
            if i == self.eow_id:
                if spelled:
                    pieces.append(spelled)
                spelled = ""
            elif i >= self._first_char:
                spelled += self.vocab[i][1:]
            elif i >= len(SPECIALS):
                if spelled:
                    pieces.append(spelled)
                    spelled = ""
                pieces.append(self.vocab[i])
        if spelled:
            pieces.append(spelled)
        text = ""
        for piece in pieces:
            text += piece if (not text or piece in _NO_SPACE_BEFORE) else " " + piece
        return text
