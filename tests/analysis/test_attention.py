"""Attention shares on hand-made maps and on a tiny UMM whose attention is known to be uniform."""

from __future__ import annotations

import pytest
import torch

from sgt.analysis.attention import capture_attention, group_masses, key_mass, normalise
from sgt.analysis.prompt_attention import WORD_GROUPS, prompt_attention, prompt_token_groups
from sgt.analysis.visual_attention import visual_shares
from sgt.models.tiny_umm import TinyUMM
from sgt.testing.tiny import SMALLEST


def test_key_mass_on_one_hot_rows() -> None:
    attn = torch.zeros(2, 3, 4)  # heads x queries x keys
    attn[0, :, 0] = 1.0  # head 0: every query looks at key 0
    attn[1, 0, 1] = attn[1, 1, 2] = attn[1, 2, 3] = 1.0
    assert key_mass(attn, [0, 1, 2], [0]) == pytest.approx(0.5)
    assert key_mass(attn, [1, 2], [2, 3]) == pytest.approx(0.5)
    assert key_mass(attn, [0], [1]) == pytest.approx(0.5)
    masses = group_masses(attn, [0, 1, 2], {"a": [0], "b": [1, 2, 3]})
    assert masses == pytest.approx({"a": 0.5, "b": 0.5})
    assert normalise({"a": 0.1, "b": 0.3}) == pytest.approx({"a": 0.25, "b": 0.75})


def test_overlapping_groups_and_bad_shapes_are_refused() -> None:
    attn = torch.full((1, 2, 2), 0.5)
    with pytest.raises(ValueError, match="overlaps"):
        group_masses(attn, [0], {"a": [0, 1], "b": [1]})
    with pytest.raises(ValueError, match="heads x queries x keys"):
        key_mass(attn[None], [0], [0])
    with pytest.raises(ValueError, match="no attention"):
        normalise({"a": 0.0})


def _uniform_model() -> TinyUMM:
    """Zero query/key projections (both experts): every score is 0, so each query attends uniformly to what
    it may see."""
    torch.manual_seed(0)
    model = TinyUMM(SMALLEST).eval()
    with torch.no_grad():
        for layer in (*model.lm.layers, *model.gen_lm.layers):
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj):
                proj.weight.zero_()
                proj.bias.zero_()
    return model


def test_capture_restores_sdpa_and_leaves_outputs_unchanged() -> None:
    torch.manual_seed(1)
    model = TinyUMM(SMALLEST).eval()
    images = torch.rand(1, 3, SMALLEST.image_size, SMALLEST.image_size)
    with torch.no_grad():
        plain = model.understanding_loss(images, ["what color is the square ?"], ["red"])
        with capture_attention(model.lm) as layers:
            captured = model.understanding_loss(images, ["what color is the square ?"], ["red"])
            assert len(layers) == SMALLEST.lm_layers
            rows = layers[0][0].sum(-1)
            assert torch.allclose(rows, torch.ones_like(rows), atol=1e-5)
    assert model.lm.config._attn_implementation == "sdpa"
    assert float(captured) == pytest.approx(float(plain), abs=1e-5)


def test_visual_share_of_uniform_attention_is_exact() -> None:
    model = _uniform_model()
    question, answer = "how many squares are there ?", "2"
    n = SMALLEST.n_patches
    n_q = len(model.tokenizer.encode(question))
    n_a = len(model.tokenizer.encode(answer))
    length = n + 1 + n_q + n_a + 1  # image, bos, question, answer, eos
    # query at position j sees j + 1 keys (causal), n of them visual; queries skip bos and the final eos
    expected = sum(n / (j + 1) for j in range(n + 1, length - 1)) / (length - n - 2)
    images = torch.rand(2, 3, SMALLEST.image_size, SMALLEST.image_size)
    shares = visual_shares(model, images, [question, question], [answer, answer])
    assert shares.shape == (2, SMALLEST.lm_layers)
    assert shares == pytest.approx(expected, abs=1e-6)


def test_visual_share_of_trained_like_attention_differs_from_uniform() -> None:
    torch.manual_seed(0)  # sharp random queries; how far from uniform depends on the draw (0.03 here)
    model = TinyUMM(SMALLEST).eval()
    with torch.no_grad():
        for layer in model.lm.layers:
            layer.self_attn.q_proj.weight.mul_(40.0)
    images = torch.rand(1, 3, SMALLEST.image_size, SMALLEST.image_size)
    shares = visual_shares(model, images, ["is there a circle ?"], ["yes"])
    uniform = visual_shares(_uniform_model(), images, ["is there a circle ?"], ["yes"])
    assert abs(float(shares[0, 0]) - float(uniform[0, 0])) > 1e-3


def test_prompt_groups_follow_words() -> None:
    model = _uniform_model()
    groups = prompt_token_groups(model.tokenizer, "a photo of a red square left of a blue circle")
    assert groups == {
        "object": [6, 11],
        "position": [7],
        "colour": [5, 10],
        "other": [1, 2, 3, 4, 8, 9],
    }


def test_prompt_attention_of_uniform_attention_is_exact() -> None:
    model = _uniform_model()
    prompt = "a photo of a red square left of a blue circle"
    rows = prompt_attention(model, [prompt], seed=0, steps=4, timesteps=3)
    counts = {"object": 2, "position": 1, "colour": 2, "other": 6, "bos": 1, "noise": SMALLEST.n_patches}
    keys = sum(counts.values())
    assert {r["timestep"] for r in rows} == {0, 1, 2}
    for r in rows:
        assert r["mass"] == pytest.approx(counts[r["group"]] / keys, abs=1e-6)
        if r["group"] in WORD_GROUPS:
            assert r["share"] == pytest.approx(counts[r["group"]] / 11, abs=1e-6)
    with pytest.raises(ValueError, match="exceeds"):
        prompt_attention(model, [prompt], seed=0, steps=2, timesteps=3)
