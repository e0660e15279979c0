"""Mean and 95% t-interval over seeds: the paper reports seed means, we also say how sure they are."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Estimate:
    """Mean of ``n`` values with a two-sided t-interval; ``low``/``high`` are NaN when n < 2."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and not math.isnan(self.low)

    def excludes_zero(self) -> bool:
        return self.has_interval and (self.low > 0 or self.high < 0)

    def text(self, digits: int = 2, signed: bool = True) -> str:
        """``+1.23 [+0.40, +2.06], n=3`` or ``+1.23 (n=1, no interval)``."""
        f = f"{{:{'+' if signed else ''}.{digits}f}}"
        if math.isnan(self.mean):
            return "n/a"
        if not self.has_interval:
            return f"{f.format(self.mean)} (n={self.n}, no interval)"
        return f"{f.format(self.mean)} [{f.format(self.low)}, {f.format(self.high)}], n={self.n}"


def estimate(values: Iterable[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean and Student-t interval of the finite ``values`` (NaNs dropped)."""
    from scipy import stats

    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = int(x.size)
    if n == 0:
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1) * x.std(ddof=1) / math.sqrt(n))
    return Estimate(mean, mean - half, mean + half, n)
