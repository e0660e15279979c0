"""Stand-in for flash-attn (CUDA only) that computes: plain-torch ``flash_attn_varlen_func`` for CPU tests.

Used by sgt's cluster analyses only where the real package does not import (a CPU test or node); on a GPU
node the real kernel runs. Same contract as flash-attn 2: packed sequences split by ``cu_seqlens``,
grouped-query heads, ``causal`` aligned to the bottom right when a sequence has fewer queries than keys.
"""

import math

import torch

__version__ = "0.0.0+sgt-analysis-stand-in"


def flash_attn_varlen_func(
    q,
    k,
    v,
    cu_seqlens_q,
    cu_seqlens_k,
    max_seqlen_q=None,
    max_seqlen_k=None,
    dropout_p=0.0,
    softmax_scale=None,
    causal=False,
    **_ignored,
):
    scale = softmax_scale if softmax_scale is not None else 1.0 / math.sqrt(q.shape[-1])
    groups = q.shape[1] // k.shape[1]
    out = torch.empty_like(q)
    for i in range(len(cu_seqlens_q) - 1):
        qs, qe = int(cu_seqlens_q[i]), int(cu_seqlens_q[i + 1])
        ks, ke = int(cu_seqlens_k[i]), int(cu_seqlens_k[i + 1])
        qi = q[qs:qe].float().transpose(0, 1)
        ki = k[ks:ke].float().repeat_interleave(groups, dim=1).transpose(0, 1)
        vi = v[ks:ke].float().repeat_interleave(groups, dim=1).transpose(0, 1)
        scores = qi @ ki.transpose(-1, -2) * scale
        if causal:
            lq, lk = qe - qs, ke - ks
            allowed = torch.ones(lq, lk, dtype=torch.bool).tril(diagonal=lk - lq)
            scores = scores.masked_fill(~allowed, float("-inf"))
        out[qs:qe] = (scores.softmax(-1) @ vi).transpose(0, 1).to(q.dtype)
    return out
