"""Mean and 95% t-interval over seeds: the paper reports seed means, we also say how sure they are."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from sgt.intervals import CONFIDENCE, t_interval


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
    return Estimate(*t_interval(values, confidence))
