"""How a mix of sources becomes the samples of each batch: exact over the run, not per batch.

Rounding the mix in every batch makes a batch of 8 unable to tell 1:3 (2:6) from 1:4 (1.6:6.4, also 2:6):
issue #27 found two Fig. 5a ratio points that trained on the same samples. Instead the run is one stream of
samples in which, after every sample and so after every step, each source's count is within one sample of
its share (the composition of a batch varies from step to step, e.g. 1:4 at batch 8 gives 2, 1, 2, 1, 2 VQA
samples). The stream depends on the mix and the batch size only, so step ``s`` of a resumed run has the
composition of step ``s`` of an uninterrupted one. No torch here: planning (``sgt.config``) uses it too.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from fractions import Fraction


def _integer_weights(mix: Mapping[str, float]) -> dict[str, int]:
    """The positive weights as integers in the same exact ratio (sorted by name)."""
    if any(isinstance(w, bool) or w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"mix weights must be non-negative with a positive sum, got {dict(mix)}")
    exact = {k: Fraction(w) for k, w in sorted(mix.items()) if w > 0}
    scale = math.lcm(*(f.denominator for f in exact.values()))
    ints = {k: int(f * scale) for k, f in exact.items()}
    g = math.gcd(*ints.values())
    return {k: v // g for k, v in ints.items()}


def sample_stream(mix: Mapping[str, float]) -> Iterator[str]:
    """The source of every sample of the run, in order (Tijdeman's chairman assignment).

    With ``K`` sources of shares ``p_k``, after ``n`` samples every source has been drawn ``c_k`` times with
    ``|c_k - p_k n| <= 1 - 1/(2K - 2)`` (R. Tijdeman, The chairman assignment problem, Discrete Math. 32,
    1980): each next sample goes to the source whose next sample is due first, among those not ahead.
    A smooth weighted round robin (the BAGEL export's ``schedule``) meets the bound for a few sources
    but not for many uneven ones (1.42 samples behind for 18). Ties go to the first name in sorted order.
    """
    weights = _integer_weights(mix)
    names = list(weights)
    if len(names) == 1:
        while True:
            yield names[0]
    total = sum(weights.values())
    d = 2 * len(names) - 2  # delta = 1/d
    counts = dict.fromkeys(names, 0)
    due = dict.fromkeys(names, d - 1)  # (c_k + 1) d - 1
    n = 0
    while True:
        n += 1
        best: str | None = None
        for k in names:
            # eligible: p_k n - c_k >= delta, i.e. taking sample n leaves it at most 1 - delta ahead
            if (weights[k] * n - counts[k] * total) * d < total:
                continue
            # due first: the smallest (c_k + 1 - delta) / p_k, i.e. ((c_k + 1) d - 1) / w_k, compared
            # without division
            if best is None or due[k] * weights[best] < due[best] * weights[k]:
                best = k
        if best is None:  # Tijdeman's theorem rules this out
            raise AssertionError(f"no source eligible at sample {n} of mix {dict(mix)}")
        counts[best] += 1
        due[best] += d
        yield best


def mix_schedule(mix: Mapping[str, float], batch_size: int, steps: int) -> list[dict[str, int]]:
    """Samples per source in each of the first ``steps`` batches (sources in sorted order, none at 0).

    The stream is cut into batches of ``batch_size``: after every step each source's cumulative count is
    within one sample of its share of the samples so far (strictly less than one; see ``sample_stream``).
    The schedule's first ``s`` steps do not depend on ``steps``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    stream = sample_stream(mix)
    out: list[dict[str, int]] = []
    for _ in range(steps):
        batch: dict[str, int] = {}
        for _ in range(batch_size):
            k = next(stream)
            batch[k] = batch.get(k, 0) + 1
        out.append(dict(sorted(batch.items())))
    return out


def batch_composition(mix: Mapping[str, float], batch_size: int, step: int = 0) -> dict[str, int]:
    """Samples per source in batch ``step`` (0-based) of a run on ``mix``: a pure function of the three."""
    if step < 0:
        raise ValueError(f"step must be non-negative, got {step}")
    return mix_schedule(mix, batch_size, step + 1)[step]
