"""The smallest tiny-UMM configuration: for tests that need a real model, not a useful one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sgt.models.tiny_umm import TinyUMMConfig

if TYPE_CHECKING:
    from sgt.models.tiny_inputs import PairSet, VQASet
    from sgt.models.tiny_umm import TinyUMM

SMALLEST = TinyUMMConfig(
    image_size=16,
    patch_size=8,
    vit_hidden=16,
    vit_layers=1,
    vit_heads=2,
    lm_hidden=32,
    lm_layers=1,
    lm_heads=2,
    lm_kv_heads=1,
)


def smallest_model(seed: int = 0) -> TinyUMM:
    """A ``SMALLEST`` tiny UMM with weights drawn from ``seed``."""
    import torch

    from sgt.models.tiny_umm import TinyUMM

    torch.manual_seed(seed)
    return TinyUMM(SMALLEST)


def toy_sources() -> dict[str, VQASet | PairSet]:
    """Six random 16x16 images as VQA and as a mirror 'semantic' task: a two-source mix for loop tests."""
    import torch

    from sgt.models.tiny_inputs import PairSet, VQASet

    g = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 16, 16, generator=g)
    return {
        "vqa": VQASet(images, ["how many circles are there?"] * 6, ["1", "2", "0", "1", "3", "2"]),
        "semantic": PairSet("semantic", images, images.flip(3), ["segment."] * 6),
    }
