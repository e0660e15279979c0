"""Reading attention weights out of the tiny UMM's Qwen2 LM, and the share arithmetic on them.

The model runs with SDPA, which never materialises attention weights. ``capture_attention`` switches the LM
to eager attention for the duration of a block and records each decoder layer's weights with forward hooks,
so the model code needs no analysis hook and training is untouched. The share functions are plain tensor
arithmetic, kept separate so they can be checked on hand-made attention maps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import torch


@contextlib.contextmanager
def capture_attention(lm: Any) -> Iterator[list[torch.Tensor]]:
    """Record every decoder layer's attention weights (B x heads x queries x keys) during the block.

    The yielded list is cleared and refilled on each forward pass: after one forward it holds one tensor
    per layer, in layer order. The LM's attention implementation is restored on exit.
    """
    previous = lm.config._attn_implementation
    captured: list[torch.Tensor] = []

    def hook(_module: Any, _args: Any, output: Any) -> None:
        weights = output[1]
        if weights is None:
            raise RuntimeError("attention weights were not returned; the LM did not run with eager attention")
        captured.append(weights.detach())

    def reset(_module: Any, _args: Any) -> None:
        captured.clear()

    lm.set_attn_implementation("eager")
    handles = [lm.register_forward_pre_hook(reset)]
    handles += [layer.self_attn.register_forward_hook(hook) for layer in lm.layers]
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()
        lm.set_attn_implementation(previous)


def key_mass(attn: torch.Tensor, queries: Sequence[int], keys: Sequence[int]) -> float:
    """Attention mass that ``queries`` put on ``keys`` in one layer's map (heads x queries x keys).

    Averaged over heads and query positions; each softmax row sums to 1, so this is a share in [0, 1].
    """
    if attn.dim() != 3:
        raise ValueError(
            f"expected one sample's attention (heads x queries x keys), got shape {tuple(attn.shape)}"
        )
    if not queries:
        raise ValueError("no query positions given")
    rows = attn[:, list(queries), :]
    return float(rows[..., list(keys)].sum(-1).mean()) if keys else 0.0


def group_masses(
    attn: torch.Tensor, queries: Sequence[int], groups: Mapping[str, Sequence[int]]
) -> dict[str, float]:
    """``key_mass`` for each named group of key positions (groups must not overlap)."""
    seen: set[int] = set()
    for name, keys in groups.items():
        overlap = seen & set(keys)
        if overlap:
            raise ValueError(f"key group {name!r} overlaps another group at positions {sorted(overlap)}")
        seen |= set(keys)
    return {name: key_mass(attn, queries, keys) for name, keys in groups.items()}


def normalise(masses: Mapping[str, float]) -> dict[str, float]:
    """Masses rescaled to sum to 1 (each group's share of the attention the groups receive together)."""
    total = sum(masses.values())
    if total <= 0:
        raise ValueError(f"the groups receive no attention at all ({dict(masses)}); cannot normalise")
    return {name: m / total for name, m in masses.items()}
