"""The smallest tiny-UMM configuration: for tests that need a real model, not a useful one."""

from __future__ import annotations

from sgt.models.tiny_umm import TinyUMMConfig

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
