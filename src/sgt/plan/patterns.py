"""Wildcard constraints built from lists of names."""

from __future__ import annotations

import re
from collections.abc import Iterable


def one_of(names: Iterable[object]) -> str:
    """A pattern matching exactly one of ``names`` (escaped); for none, one no path matches, so a rule for
    models or variants this config does not have never plans."""
    return "|".join(re.escape(str(n)) for n in names) or "^$"
