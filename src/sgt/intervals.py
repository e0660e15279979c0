"""Mean and two-sided Student-t interval of a sample: one formula for the analyses (over images or prompts
within a seed) and the report (over seeds), so both layers say the same thing by "95% interval"."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

CONFIDENCE = 0.95


def t_interval(
    values: Iterable[float | None], confidence: float = CONFIDENCE
) -> tuple[float, float, float, int]:
    """(mean, low, high, n) of the finite ``values`` (None and NaN dropped); low/high are NaN when n < 2."""
    from scipy import stats

    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half, n
