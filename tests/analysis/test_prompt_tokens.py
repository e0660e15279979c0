"""Prompt tokens of a byte-level BPE (Qwen2's kind) are assigned to the word groups of Fig. 8b."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.analysis.cluster.prompt_tokens import token_word_groups
from sgt.analysis.prompt_attention import WORD_GROUPS, word_group
from sgt.models.preflight.tokenizer import build_stand_in_tokenizer

PROMPT = "a photo of a red square left of a blue circle"


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory):
    from transformers import Qwen2Tokenizer

    folder = build_stand_in_tokenizer(
        [PROMPT] * 50 + ["a photo"] * 50, tmp_path_factory.mktemp("bpe"), vocab_size=300
    )
    return Qwen2Tokenizer.from_pretrained(Path(folder))


def test_every_token_lands_in_its_words_group(tokenizer) -> None:
    words = {w: word_group(w) for w in PROMPT.split()}
    groups = token_word_groups(tokenizer, PROMPT, words, WORD_GROUPS, offset=1)
    ids = tokenizer.encode(PROMPT)
    assert sorted(p for g in groups.values() for p in g) == list(range(1, len(ids) + 1))
    decoded = {g: "".join(tokenizer.decode([ids[p - 1]]) for p in pos).split() for g, pos in groups.items()}
    assert decoded["colour"] == ["red", "blue"] and decoded["position"] == ["left"]
    assert decoded["object"] == ["square", "circle"]
    assert decoded["other"] == ["a", "photo", "of", "a", "of", "a"]


def test_a_word_without_a_group_is_named(tokenizer) -> None:
    with pytest.raises(ValueError, match=r"no group given for \['circle'\]"):
        token_word_groups(
            tokenizer, PROMPT, {w: "other" for w in PROMPT.split() if w != "circle"}, WORD_GROUPS
        )
