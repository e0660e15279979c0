"""The convolutional stem: a drop-in for SigLIP's patchify convolution that keeps the ViT's tokens."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sgt.models.conv_stem import ConvStem
from sgt.models.tiny_umm import TinyUMM, TinyUMMConfig, load_model, load_vit, save_model
from sgt.testing.tiny import SMALLEST

CONV = dataclasses.replace(SMALLEST, vit_stem="conv")


def test_the_stem_puts_out_the_patch_grid_the_patchify_convolution_does() -> None:
    stem = ConvStem(hidden=24, patch_size=8)
    out = stem(torch.rand(2, 3, 32, 32))
    assert out.shape == (2, 24, 4, 4)
    assert len([m for m in stem.convs if isinstance(m, torch.nn.Conv2d)]) == 3  # 32 -> 16 -> 8 -> 4
    with pytest.raises(ValueError, match="power-of-two"):
        ConvStem(hidden=24, patch_size=6)


def test_a_conv_stem_model_keeps_its_token_count_and_reads_local_detail() -> None:
    torch.manual_seed(0)
    model = TinyUMM(CONV)
    assert isinstance(model.vit.embeddings.patch_embedding, ConvStem)
    images = torch.rand(2, 3, CONV.image_size, CONV.image_size)
    tokens = model.vit_tokens(images)
    assert tokens.shape == (2, CONV.n_patches, CONV.lm_hidden)
    moved = images.clone()
    moved[:, :, 0, 0] = 1.0 - moved[:, :, 0, 0]  # one pixel of the first patch
    assert not torch.allclose(model.vit_features(moved)[:, 0], model.vit_features(images)[:, 0])


def test_a_conv_stem_model_round_trips_and_its_vit_loads_alone(tmp_path) -> None:
    torch.manual_seed(0)
    model = TinyUMM(CONV).eval()
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m").eval()
    images = torch.rand(2, 3, CONV.image_size, CONV.image_size)
    assert torch.equal(model.vit_features(images), again.vit_features(images))
    torch.manual_seed(1)
    fresh = TinyUMM(CONV).eval()
    load_vit(fresh, tmp_path / "m")
    assert torch.equal(fresh.vit_features(images), model.vit_features(images))
    with pytest.raises(RuntimeError, match="patch_embedding"):  # a patchify ViT cannot take these weights
        load_vit(TinyUMM(SMALLEST), tmp_path / "m")


def test_an_unknown_stem_is_named() -> None:
    with pytest.raises(ValueError, match=r"vit_stem 'resnet'; choose one of \['patch', 'conv'\]"):
        TinyUMMConfig.from_dict({"vit_stem": "resnet"})
