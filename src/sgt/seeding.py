"""Randomness derived from names, never from order: results do not depend on sharding or workers."""

from __future__ import annotations

import zlib

import numpy as np


def _key(part: int | str) -> int:
    if isinstance(part, str):
        return zlib.crc32(part.encode("utf-8"))
    if part < 0:
        raise ValueError(f"seed parts must be non-negative, got {part}")
    return int(part)


def rng_for(*parts: int | str) -> np.random.Generator:
    """A generator seeded from (global seed, task name, image id, ...); ``hash()`` is salted per process."""
    return np.random.default_rng(np.random.SeedSequence([_key(p) for p in parts]))


def torch_seed_for(*parts: int | str) -> int:
    return int(np.random.SeedSequence([_key(p) for p in parts]).generate_state(1, dtype=np.uint32)[0])
