from __future__ import annotations

from sgt.models.tokenizer import WordTokenizer


def test_known_words_are_one_token_and_text_round_trips() -> None:
    tok = WordTokenizer()
    ids = tok.encode("How many circles are there?")
    assert len(ids) == 6  # five words and the question mark
    assert tok.decode(ids) == "how many circles are there?"
    assert tok.decode(tok.encode("red circle")) == "red circle"


def test_unknown_words_are_spelled_and_round_trip() -> None:
    tok = WordTokenizer()
    text = "a zebra, 42 giraffes and the xylophone."
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode([*tok.encode("yes"), tok.eos_id, *tok.encode("no")]) == "yes"
    assert max(tok.encode("anything at all?")) < tok.vocab_size
