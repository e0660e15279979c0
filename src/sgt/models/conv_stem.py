"""Early convolutions in place of SigLIP's patchify convolution: an option for the tiny UMM's ViT.

Why: BAGEL starts from a pretrained SigLIP that already tells shapes apart; the tiny UMM's ViT learns from
global labels on toy-world scenes and, with SigLIP's one 8x8 patchify convolution, learns shape slowly
(held-out shape presence 0.68 after 3000 steps, where a four-layer CNN on the same labels reaches 0.94 in
1500). Stride-2 3x3 convolutions before the transformer ("Early convolutions help transformers see better",
Xiao et al. 2021) reach 0.79 in the same 3000 steps. The transformer, its position embeddings and its 64
tokens stay SigLIP's. Off by default (``vit_stem: patch``): a base built on it read its condition less well
(edit and segmentation samples worse) and answered no better; docs/tiny-umm-log.md has the numbers.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn


class ConvStem(nn.Conv2d):
    """Stride-2 3x3 convolutions (GELU after each) down to the patch grid, then a 1x1 projection to
    ``hidden``: the same B x hidden x (S/p) x (S/p) output as the patchify convolution it replaces.

    It *is* that projection (a Conv2d subclass) because ``SiglipVisionEmbeddings`` reads
    ``patch_embedding.weight``'s dtype before calling it; the convolutions before it are ``self.convs``."""

    def __init__(self, hidden: int, patch_size: int, *, width: int = 32):
        if patch_size < 2 or patch_size & (patch_size - 1):
            raise ValueError(f"vit_stem conv needs a power-of-two patch_size >= 2, not {patch_size}")
        halvings = patch_size.bit_length() - 1
        channels = [3] + [min(hidden, width * 2**i) for i in range(halvings)]
        super().__init__(channels[-1], hidden, kernel_size=1)
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise(channels):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GELU()]
        self.convs = nn.Sequential(*layers)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return super().forward(self.convs(pixels))


VIT_STEMS = ("patch", "conv")


def check_stem(stem: str) -> None:
    """Fail naming the choices; the config checks this before any model is built."""
    if stem not in VIT_STEMS:
        raise ValueError(f"vit_stem {stem!r}; choose one of {list(VIT_STEMS)}")


def install_stem(vit: nn.Module, stem: str) -> None:
    """Give a ``SiglipVisionModel`` the named stem: ``patch`` keeps SigLIP's, ``conv`` puts a ConvStem in."""
    check_stem(stem)
    if stem == "conv":
        cfg = vit.config
        vit.embeddings.patch_embedding = ConvStem(cfg.hidden_size, cfg.patch_size)
