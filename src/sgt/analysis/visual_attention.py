"""Fig. 8a: the share of attention that the understanding path puts on visual tokens, per LM layer.

Definition. The understanding sequence is [image tokens][bos, question, answer, eos], with the reference
answer teacher-forced (as in training). Queries are the question and answer tokens (not bos, not the final
eos, which predicts nothing); keys are every position a query may attend to (causal). For each layer, the
share is the attention mass on the image-token keys, averaged over heads and query positions of a question,
then over questions. Rows of a softmax sum to 1, so 1 - share is the mass on text. Each layer's share
carries a 95% t-interval over the questions, so one seed already says how sure its mean is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from sgt.analysis.attention import capture_attention, key_mass

logger = logging.getLogger(__name__)


def visual_shares(
    model: Any, images: Any, questions: Sequence[str], answers: Sequence[str]
) -> npt.NDArray[np.float64]:
    """Per-question, per-layer visual share (questions x layers); ``images`` is N x 3 x S x S in [0, 1]."""
    import torch

    model.eval()
    n_img = model.cfg.n_patches
    rows = []
    with torch.no_grad(), capture_attention(model.lm) as layers:
        for i in tqdm(range(len(questions)), desc="visual attention", disable=None):
            model.understanding_loss(images[i : i + 1], [questions[i]], [answers[i]])
            length = layers[0].shape[-1]
            queries = range(n_img + 1, length - 1)
            if not queries:
                raise ValueError(f"question {i} ({questions[i]!r}) has no question or answer tokens")
            rows.append([key_mass(attn[0], queries, range(n_img)) for attn in layers])
    return np.asarray(rows, dtype=np.float64)


def visual_attention_rows(shares: npt.NDArray[np.float64]) -> list[dict[str, Any]]:
    """Tidy rows per layer: visual_share (mean over questions), visual_share_std, n_questions and
    visual_share_low/high, the 95% t-interval over the questions (their images) of this one checkpoint."""
    from sgt.intervals import t_interval

    rows = []
    for layer in range(shares.shape[1]):
        _, low, high, _ = t_interval(shares[:, layer].tolist())
        rows.append(
            {
                "layer": layer,
                "visual_share": round(float(shares[:, layer].mean()), 6),
                "visual_share_std": round(float(shares[:, layer].std()), 6),
                "n_questions": int(shares.shape[0]),
                "visual_share_low": round(low, 6),
                "visual_share_high": round(high, 6),
            }
        )
    return rows
