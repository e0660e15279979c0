"""GEdit-Bench-EN scoring with VIEScore through an OpenAI-compatible chat endpoint, as Step1X-Edit does it.

Facts from stepfun-ai/Step1X-Edit ``GEdit-Bench/`` (``viescore/__init__.py``, ``viescore/utils.py``,
``test_gedit_score.py``, ``calculate_statistics.py``): the edited image is resized to the source size; the
semantic-consistency (SC) prompt sees source and edited image, the perceptual-quality (PQ) prompt only the
edited one; each reply holds a JSON ``{"score": [...]}`` (between ``||V^=^V||`` delimiters, or bare, or a bare
``[a, b]`` list); SC and PQ are the minimum of their score lists, overall = sqrt(SC * PQ) per item; a group's
score is the mean over its items, and the benchmark score the mean over the 11 groups.

The prompt texts are GEdit's own and are not copied here: ``load_viescore_prompts`` reads them from a local
copy of ``viescore/vie_prompts.py``. Upstream guesses a random score when a reply cannot be parsed twice; we
record NaN instead, so a broken judge shows up rather than adding noise.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from sgt.eval.judge.chat import Endpoint, MalformedReply

logger = logging.getLogger(__name__)

GROUPS: tuple[str, ...] = (
    "background_change",
    "color_alter",
    "material_alter",
    "motion_change",
    "ps_human",
    "style_change",
    "subject-add",
    "subject-remove",
    "subject-replace",
    "text_change",
    "tone_transfer",
)
DELIMITER = "||V^=^V||"
_SCORE_LIST = re.compile(r"^\[\d+, ?\d+\]$")


@dataclass(frozen=True, slots=True)
class VIEPrompts:
    sc: str  # contains "<instruction>"
    pq: str


def load_viescore_prompts(vie_prompts_py: str | os.PathLike[str]) -> VIEPrompts:
    """GEdit's task-'tie' prompts, joined as VIEScore does, from a local ``viescore/vie_prompts.py``."""
    path = Path(vie_prompts_py)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no vie_prompts.py; rerun rule checkout_gedit_bench (eval.gedit.upstream: Step1X-Edit)"
        )
    spec = importlib.util.spec_from_file_location("_gedit_vie_prompts", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path}: cannot be loaded as a Python module")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ctx = mod._context_no_delimit
    sc = "\n".join([ctx, mod._prompts_0shot_two_image_edit_rule, mod._prompts_0shot_tie_rule_SC])
    return VIEPrompts(sc=sc, pq="\n".join([ctx, mod._prompts_0shot_rule_PQ]))


def parse_scores(text: str) -> list[float] | None:
    """The ``score`` list of a VIEScore reply, or None when none can be found."""
    if text.count(DELIMITER) == 2:
        body = text[text.find(DELIMITER) + len(DELIMITER) : text.rfind(DELIMITER)]
    else:
        start, end = text.find("{"), text.rfind("}") + 1
        if start == -1 or end == 0:
            start, end = text.find("["), text.rfind("]") + 1
            if start != -1 and _SCORE_LIST.match(text[start:end]):
                return [float(v) for v in json.loads(text[start:end])]
            return None
        body = text[start:end]
    try:
        obj = json.loads(body.strip())
    except json.JSONDecodeError:
        return None
    scores = obj.get("score") if isinstance(obj, dict) else None
    if isinstance(scores, (int, float)):
        scores = [scores]
    if not isinstance(scores, list) or not scores:
        return None
    try:
        return [float(s) for s in scores]
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class GEditScore:
    sc: float
    pq: float
    overall: float


class VIEScoreClient:
    """Asks an OpenAI-compatible chat endpoint for VIEScore's SC and PQ ratings of one edit."""

    def __init__(
        self,
        base_url: str,
        model: str,
        prompts: VIEPrompts,
        api_key: str = "EMPTY",
        timeout: float = 120.0,
        max_tries: int = 2,
    ) -> None:
        self.endpoint = Endpoint(base_url, model, api_key, timeout, retries=0)
        self.prompts, self.max_tries = prompts, max_tries

    @classmethod
    def from_endpoint(cls, endpoint: Endpoint, prompts: VIEPrompts, max_tries: int = 2) -> VIEScoreClient:
        """A client on an ``eval.judge`` endpoint (its retries and backoff when the endpoint is down)."""
        client = cls(endpoint.base_url, endpoint.model, prompts, max_tries=max_tries)
        client.endpoint = endpoint
        return client

    def _rate(self, images: Sequence[Image.Image], text: str) -> list[float] | None:
        """The reply's score list; None after ``max_tries`` replies without one (JudgeUnavailable passes)."""
        for _ in range(self.max_tries):
            try:
                scores = parse_scores(self.endpoint.chat(images, text))
            except MalformedReply as err:
                logger.warning("%s", err)
                continue
            if scores is not None:
                return scores
        return None

    def score(self, source: Image.Image, edited: Image.Image, instruction: str) -> GEditScore:
        """SC, PQ and sqrt(SC * PQ) for one edit; NaN where the judge's reply cannot be parsed."""
        source = source.convert("RGB")
        edited = edited.convert("RGB").resize(source.size)
        sc = self._rate([source, edited], self.prompts.sc.replace("<instruction>", instruction))
        pq = self._rate([edited], self.prompts.pq)
        sc_v = min(sc) if sc else math.nan
        pq_v = min(pq) if pq else math.nan
        if sc is None or pq is None:
            logger.warning("unparseable judge reply for instruction %r; scored NaN", instruction)
        return GEditScore(sc_v, pq_v, math.sqrt(sc_v * pq_v))


def summarize_gedit(rows: Sequence[Mapping[str, Any]], language: str = "en") -> dict[str, dict[str, float]]:
    """Per-group mean SC/PQ/overall and their mean over groups, as ``calculate_statistics.py`` computes.

    ``rows`` carry group, instruction_language, sc, pq (overall is recomputed as sqrt(sc * pq)).
    """
    out: dict[str, dict[str, float]] = {}
    for group in GROUPS:
        sel = [r for r in rows if r["group"] == group and r["instruction_language"] == language]
        if not sel:
            raise ValueError(f"no GEdit-Bench {language} results for group {group!r}; score all 11 groups")
        sc = np.array([float(r["sc"]) for r in sel])
        pq = np.array([float(r["pq"]) for r in sel])
        out[group] = {
            "sc": float(sc.mean()),
            "pq": float(pq.mean()),
            "overall": float(np.sqrt(sc * pq).mean()),
        }
    out["average"] = {k: float(np.mean([out[g][k] for g in GROUPS])) for k in ("sc", "pq", "overall")}
    return out
