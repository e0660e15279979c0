"""Judge-free scoring of VLMEvalKit-style TSV benchmarks, shared by our embedded benchmarks and the real path.

Answer extraction follows VLMEvalKit's exact-matching policy (no LLM judge): multiple-choice letters via
``vlmeval/utils/matching_util.py:can_infer`` (an option letter near the end of the reply, a "the answer is X"
phrase, or a unique option text), a reply it cannot map scoring as a miss ('Z'); yes/no via
``vlmeval/dataset/utils/yorn.py:YOrN_Extraction`` (exactly one of "yes"/"no" among the words); other answers
by VLMEvalKit's plain 'accuracy' rule (stripped, case-insensitive equality with any listed answer).
"""

from __future__ import annotations

import ast
import logging
import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

OPTION_LETTERS = tuple(string.ascii_uppercase)
_REJECTIONS = (
    "Sorry, I can't help with images of people yet.",
    "I can't process this file.",
    "I'm sorry, but without the image provided",
    "Cannot determine the answer",
)
_STRIP_CHARS = ".()[],:;!*#{}"
_VERBOSE_ANSWER = re.compile(r"(?i)(?:correct\s+)?answer\s+is\s+\**([ABCD])\**")
_PUNCT = [
    ";",
    "/",
    "[",
    "]",
    '"',
    "{",
    "}",
    "(",
    ")",
    "=",
    "+",
    "\\",
    "_",
    "-",
    ">",
    "<",
    "@",
    "`",
    ",",
    "?",
    "!",
]
_COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
_PERIOD_STRIP = re.compile(r"(?<!\d)\.(?!\d)")


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and v.strip() == "")


def process_punctuation(text: str) -> str:
    """VLMEvalKit's ``process_punctuation`` (from the VQA evaluation code), quirks included.

    Upstream passes ``re.UNICODE`` (32) positionally as the ``count`` of the period substitution, so at most
    32 free-standing periods are removed; we keep that so extraction matches it byte for byte.
    """
    out = text
    has_comma_number = _COMMA_STRIP.search(text) is not None
    for p in _PUNCT:
        if (p + " " in text or " " + p in text) or has_comma_number:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return _PERIOD_STRIP.sub("", out, count=32)


def extract_yes_no(prediction: str) -> str:
    """'Yes', 'No' or 'Unknown' (both or neither word present), as VLMEvalKit's POPE/MME/Hallusion scorers."""
    words = process_punctuation(str(prediction).lower()).split()
    if "yes" in words and "no" not in words:
        return "Yes"
    if "yes" not in words and "no" in words:
        return "No"
    return "Unknown"


def _infer_option(answer: str, choices: Mapping[str, str]) -> str | None:
    if "Failed to obtain answer via API" in answer:
        return None
    if any(err in answer for err in _REJECTIONS):
        return "Z"
    mod = answer
    for c in _STRIP_CHARS:
        mod = mod.replace(c, " ")
    splits = [x.strip() for x in mod.split()]
    count = sum(1 for c in choices if c in splits)
    if count == 1:
        for ch in choices:
            if ch in splits and splits.index(ch) > len(splits) - 5:
                return ch
    elif count == 0 and "Z" in splits:
        return "Z"
    m = _VERBOSE_ANSWER.search(answer or "")
    if m and m.group(1).upper() in choices:
        return m.group(1).upper()
    return None


def _infer_text(answer: str, choices: Mapping[str, str]) -> str | None:
    answer = answer.lower()
    if len(answer) > 2 * sum(len(str(v)) for v in choices.values()):
        return None
    cands = [k for k, v in choices.items() if str(v).lower() in answer]
    return cands[0] if len(cands) == 1 else None


def extract_choice(prediction: str, choices: Mapping[str, str]) -> str:
    """The option letter a reply picks, or 'Z' when exact matching cannot tell (scored wrong)."""
    pred = str(prediction)
    return _infer_option(pred, choices) or _infer_text(pred, choices) or "Z"


def row_choices(row: Mapping[str, Any]) -> dict[str, str]:
    """Option columns A, B, C, ... that are present and non-empty, in letter order."""
    return {ch: str(row[ch]) for ch in OPTION_LETTERS if ch in row and not _missing(row[ch])}


def _answers(answer: Any) -> list[str]:
    text = str(answer)
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return [text]
        if isinstance(parsed, list):
            return [str(a) for a in parsed]
    return [text]


def is_correct(row: Mapping[str, Any], prediction: str) -> bool:
    """Score one TSV row: multiple choice if it has options, yes/no if the answer is, else exact match."""
    if _missing(row.get("answer")):
        raise ValueError(f"row index={row.get('index')!r} has no answer; cannot score it")
    choices = row_choices(row)
    answer = str(row["answer"]).strip()
    if choices:
        return extract_choice(prediction, choices) == answer
    if answer.lower() in ("yes", "no"):
        return extract_yes_no(prediction).lower() == answer.lower()
    pred = str(prediction).strip().lower()
    return any(a.strip().lower() == pred for a in _answers(answer))


@dataclass(frozen=True, slots=True)
class CategoryAccuracy:
    """Accuracy in percent overall and per ``category`` value, with the row counts behind each."""

    overall: float
    per_category: dict[str, float]
    counts: dict[str, int]
    hits: dict[str, bool]  # by str(index)


def score_predictions(
    tsv_rows: Iterable[Mapping[str, Any]], predictions: Mapping[Any, str]
) -> CategoryAccuracy:
    """Per-category accuracy of ``predictions`` (keyed by the TSV ``index``) on VLMEvalKit-style rows."""
    preds = {str(k): v for k, v in predictions.items()}
    hits: dict[str, bool] = {}
    by_cat: dict[str, list[bool]] = {}
    missing = []
    for row in tsv_rows:
        idx = str(row["index"])
        if idx not in preds:
            missing.append(idx)
            continue
        ok = is_correct(row, preds[idx])
        hits[idx] = ok
        cat = row.get("category")
        by_cat.setdefault("" if _missing(cat) else str(cat), []).append(ok)
    if missing:
        raise ValueError(
            f"no prediction for {len(missing)} rows (first indices {missing[:5]}); rerun inference"
        )
    if not hits:
        raise ValueError("no rows to score")
    per_category = {c: 100.0 * sum(v) / len(v) for c, v in sorted(by_cat.items()) if c}
    counts = {c: len(v) for c, v in sorted(by_cat.items()) if c}
    overall = 100.0 * sum(hits.values()) / len(hits)
    logger.info("scored %d rows: %.2f%% overall", len(hits), overall)
    return CategoryAccuracy(overall=overall, per_category=per_category, counts=counts, hits=hits)
