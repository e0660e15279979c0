"""Attention weights recomputed from a layer's own query and key states, for kernels that never return them.

Flash-attention (BAGEL's inference path, OmniGen2) gives outputs only. As in the paper's Fig. 12
pseudocode (``Q = q_proj(h)``, ``K = repeat_kv(k_cache)``, ``softmax(Q K^T / sqrt(d))``), a forward
pre-hook on each attention module rebuilds Q and K from the module's inputs and weights and keeps only what
the figures need: each key's attention averaged over heads and the chosen queries. The model's own
computation is untouched. ``qk`` (per backend) turns a module and its call's keyword arguments into
(queries of this call, every key they see, causal).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

QK = Callable[[Any, dict[str, Any]], tuple[torch.Tensor, torch.Tensor, bool]]


def key_profile(
    q: torch.Tensor, k: torch.Tensor, rows: torch.Tensor, *, causal: bool, chunk: int = 512
) -> torch.Tensor:
    """Attention each key receives, averaged over heads and query ``rows`` (a length-K float vector).

    ``q`` is (Lq, heads, d), ``k`` (Lk, kv_heads, d) after norms and rotary embedding; kv heads are shared
    by ``heads // kv_heads`` query heads (GQA). With ``causal``, query i sees keys up to Lk - Lq + i, as
    flash-attention aligns a shorter query block to the end of the keys.
    """
    if q.dim() != 3 or k.dim() != 3 or q.shape[-1] != k.shape[-1] or q.shape[1] % k.shape[1]:
        raise ValueError(f"query {tuple(q.shape)} and key {tuple(k.shape)} states do not pair up")
    if rows.numel() == 0:
        raise ValueError("no query rows selected")
    lq, lk = q.shape[0], k.shape[0]
    keys = k.float().repeat_interleave(q.shape[1] // k.shape[1], dim=1).transpose(0, 1)  # H x Lk x d
    scale = 1.0 / math.sqrt(q.shape[-1])
    total = torch.zeros(lk, dtype=torch.float64, device=q.device)
    for start in range(0, rows.numel(), chunk):
        sel = rows[start : start + chunk].to(q.device)
        scores = q[sel].float().transpose(0, 1) @ keys.transpose(-1, -2) * scale  # H x n x Lk
        if causal:
            limit = (lk - lq + sel).view(1, -1, 1)
            scores = scores.masked_fill(
                torch.arange(lk, device=q.device).view(1, 1, -1) > limit, float("-inf")
            )
        total += scores.softmax(-1).sum(dim=(0, 1), dtype=torch.float64)
    return (total / (q.shape[1] * rows.numel())).cpu()


class KeyProfileRecorder:
    """Forward pre-hooks on ``modules`` (one attention module per layer) that record key profiles.

    Set :attr:`rows` (query rows of the next call, or None to record nothing) before a forward pass; each
    hooked call appends (layer, profile) to :attr:`profiles`. Use as a context manager to remove the hooks.
    """

    def __init__(self, modules: Sequence[Any], qk: QK) -> None:
        self.rows: torch.Tensor | None = None
        self.profiles: list[tuple[int, torch.Tensor]] = []
        self.calls = [0] * len(modules)
        self._handles = [
            m.register_forward_pre_hook(self._hook(i, qk), with_kwargs=True) for i, m in enumerate(modules)
        ]

    def _hook(self, layer: int, qk: QK) -> Callable[..., None]:
        def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            if args:
                raise RuntimeError(
                    f"layer {layer}: attention called with positional arguments; expected keywords"
                )
            self.calls[layer] += 1
            if self.rows is None:
                return
            with torch.no_grad():
                q, k, causal = qk(module, kwargs)
                self.profiles.append((layer, key_profile(q, k, self.rows, causal=causal)))

        return hook

    def take(self, n_layers: int) -> list[torch.Tensor]:
        """The profiles of one forward pass, in layer order; clears them."""
        got = sorted(self.profiles, key=lambda p: p[0])
        self.profiles = []
        if [layer for layer, _ in got] != list(range(n_layers)):
            raise RuntimeError(
                f"expected one attention call per layer 0..{n_layers - 1}, saw layers {[x for x, _ in got]}"
            )
        return [p for _, p in got]

    def __enter__(self) -> KeyProfileRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
