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


def test_a_cached_prefix_predicts_what_the_full_pass_predicts_at_every_step() -> None:
    """Sampling encodes [condition, prompt] once; every later step must see exactly that prefix again."""
    torch.manual_seed(0)
    model = TinyUMM(CFG).eval()
    torch.nn.init.normal_(model.gen_out.weight, std=0.1)
    cond = model.vit_tokens(torch.rand(2, 3, 16, 16))
    prompts = ["p", "a longer prompt"]
    prefix = model.encode_prefix(prompts, cond)
    with torch.no_grad():
        for step in range(3):
            x_t = torch.randn(2, CFG.n_patches, CFG.patch_dim)
            t = torch.full((2,), 1.0 - step / 3)
            full = model.velocity(x_t, t, prompts, cond)
            cached = model.velocity(x_t, t, prompts, cond, prefix=prefix)
            assert torch.allclose(full, cached, atol=1e-5)
            assert prefix.cache.get_seq_length() == prefix.valid.shape[1]  # the noise keys were dropped


def test_the_experts_split_the_tokens_and_generation_still_trains_the_understanding_side() -> None:
    """Mixture of transformers: answers never pass the generation expert, while the flow loss reaches the
    understanding expert and the ViT through the prefix's keys and values (what generative tuning acts on)."""
    torch.manual_seed(0)
    model = TinyUMM(CFG)
    torch.nn.init.normal_(model.gen_out.weight, std=0.1)
    images = torch.rand(2, 3, 16, 16)
    model.understanding_loss(images, ["q?", "q?"], ["yes", "no"]).backward()
    assert all(p.grad is None for p in model.gen_lm.parameters())
    model.zero_grad(set_to_none=True)
    g = torch.Generator().manual_seed(0)
    model.generation_loss(images, ["draw.", "draw."], images, g).backward()
    for name, part in (("gen_lm", model.gen_lm), ("lm", model.lm.layers[0]), ("vit", model.vit)):
        grads = [p.grad for p in part.parameters() if p.grad is not None]
        assert grads and any(float(gr.abs().sum()) > 0 for gr in grads), name
