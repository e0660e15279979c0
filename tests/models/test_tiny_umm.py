"""The tiny UMM's two paths produce the right shapes, and the generation path sees its condition."""

from __future__ import annotations

import torch

from sgt.models.tiny_umm import TinyUMM, patchify, unpatchify
from sgt.testing.tiny import SMALLEST

CFG = SMALLEST


def test_patchify_round_trip() -> None:
    x = torch.rand(2, 3, 16, 16)
    assert torch.equal(unpatchify(patchify(x, 8), 8, 16), x)


def test_understanding_and_generation_paths() -> None:
    torch.manual_seed(0)
    model = TinyUMM(CFG)
    images = torch.rand(3, 3, 16, 16)
    loss = model.understanding_loss(images, ["q one?", "q?", "a longer question?"], ["yes", "2", "red"])
    assert loss.ndim == 0 and torch.isfinite(loss)
    answers = model.answer(images, ["q?"] * 3, max_new_tokens=3)
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    g = torch.Generator().manual_seed(0)
    gen_loss = model.generation_loss(images, ["draw.", "draw it."] + ["x"], images, g)
    assert torch.isfinite(gen_loss)
    out = model.generate(["draw."] * 3, images, g, steps=2)
    assert out.shape == (3, 3, 16, 16) and out.min() >= 0 and out.max() <= 1


def test_generation_output_depends_on_the_condition() -> None:
    torch.manual_seed(0)
    model = TinyUMM(CFG)
    torch.nn.init.normal_(model.gen_out.weight, std=0.1)  # zero-initialised head would hide the dependence
    x_t = torch.randn(2, CFG.n_patches, CFG.patch_dim)
    t = torch.full((2,), 0.5)
    cond_a = model.vit_tokens(torch.zeros(2, 3, 16, 16))
    cond_b = model.vit_tokens(torch.ones(2, 3, 16, 16))
    va = model.velocity(x_t, t, ["p", "p"], cond_a)
    vb = model.velocity(x_t, t, ["p", "p"], cond_b)
    assert not torch.allclose(va, vb)
    # and padding: the same prompt in a batch with a longer prompt gives the same prediction
    single = model.velocity(x_t[:1], t[:1], ["p"], cond_a[:1])
    padded = model.velocity(x_t, t, ["p", "a much longer prompt"], cond_a)
    assert torch.allclose(single[0], padded[0], atol=2e-3)  # masked keys: summation order only
