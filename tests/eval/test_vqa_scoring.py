"""Extraction cases follow VLMEvalKit's can_infer / YOrN_Extraction behaviour under exact matching."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sgt.eval.embedded.vqa_scoring import (
    extract_choice,
    extract_yes_no,
    is_correct,
    process_punctuation,
    score_predictions,
)

CH = {"A": "a dog", "B": "a cat", "C": "a red car", "D": "a bus"}


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        ("B", "B"),
        ("(C)", "C"),
        ("The answer is (B).", "B"),
        ("Answer: D", "D"),
        ("**A**", "A"),
        # two letters present: ambiguous as an option, and too long for text matching
        ("A or B, I think it could be either of these two options honestly, hard to say", "Z"),
        # a lone letter early in a long reply is not taken ...
        ("B is shown because the animal sitting next to the sofa has whiskers and pointy ears", "Z"),
        # ... unless a "the answer is X" phrase names it
        ("The correct answer is **C** since the vehicle in the picture is red and has four wheels", "C"),
        ("a red car", "C"),  # unique option text
        ("a", "Z"),  # "a" is inside every option text, no letter "A"
        ("Cannot determine the answer from the image", "Z"),
        ("Z", "Z"),
    ],
)
def test_extract_choice(pred, expected):
    assert extract_choice(pred, CH) == expected


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        ("Yes", "Yes"),
        ("yes, there is a dog.", "Yes"),
        ("No.", "No"),
        ("There is no dog in the image", "No"),
        ("yes and no", "Unknown"),
        ("Not sure", "Unknown"),
        ("YES!", "Yes"),
    ],
)
def test_extract_yes_no(pred, expected):
    assert extract_yes_no(pred) == expected


def test_process_punctuation_rules():
    assert process_punctuation("a-b") == "a b"  # no spaced hyphen: replaced by a space
    assert process_punctuation("a - b") == "a  b"  # spaced: removed
    assert process_punctuation("hi, it costs 1,000.") == "hi it costs 1000."  # period after a digit stays
    assert process_punctuation("3.5 m.") == "3.5 m"


def test_is_correct_kinds():
    mcq = {"index": 1, "question": "q", "answer": "C", "A": "x", "B": "y", "C": "z", "D": math.nan}
    assert is_correct(mcq, "C. z")
    assert not is_correct(mcq, "D")  # D is not an option of this row
    pope = {"index": 2, "question": "Is there a dog?", "answer": "Yes"}
    assert is_correct(pope, "Yes, there is.")
    assert not is_correct(pope, "I cannot tell")
    free = {"index": 3, "question": "city?", "answer": "['Paris', 'paris, france']"}
    assert is_correct(free, " paris ") and is_correct(free, "Paris, France") and not is_correct(free, "Lyon")
    with pytest.raises(ValueError, match="no answer"):
        is_correct({"index": 4, "answer": ""}, "x")


def test_score_predictions_per_category():
    rows = pd.DataFrame(
        {
            "index": [0, 1, 2, 3, 4],
            "question": ["q"] * 5,
            "answer": ["A", "B", "Yes", "No", "No"],
            "category": ["count", "count", "existence", "existence", "existence"],
            "A": ["1", "1", None, None, None],
            "B": ["2", "2", None, None, None],
            "image_path": [f"img/{i}.png" for i in range(5)],
        }
    ).to_dict("records")
    preds = {0: "A", 1: "A", "2": "yes", 3: "no", 4: "Yes"}
    res = score_predictions(rows, preds)
    assert res.per_category == {"count": 50.0, "existence": pytest.approx(100 * 2 / 3)}
    assert res.counts == {"count": 2, "existence": 3}
    assert res.overall == pytest.approx(60.0)
    assert res.hits == {"0": True, "1": False, "2": True, "3": True, "4": False}
    with pytest.raises(ValueError, match="no prediction for 1 rows"):
        score_predictions(rows, {k: v for k, v in preds.items() if k != 4})
