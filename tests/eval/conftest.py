"""Fixtures shared by the GenEval detector tests (hf_detector, the cluster scoring job)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Random-weight Mask2Former (tiny Swin, labels dog/cat) and CLIP saved as safetensors with processors."""
    pytest.importorskip("torch")
    return build_tiny_models(tmp_path_factory.mktemp("hf"))


def build_tiny_models(root):
    """The tiny models under ``root`` (``m2f``, ``clip``); the CPU rehearsal scores GenEval with them too."""
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
        Mask2FormerConfig,
        Mask2FormerForUniversalSegmentation,
        Mask2FormerImageProcessor,
        SwinConfig,
    )

    root.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    swin = SwinConfig(
        image_size=64,
        patch_size=4,
        embed_dim=16,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 1, 1],
        window_size=2,
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )
    cfg = Mask2FormerConfig(
        backbone_config=swin,
        feature_size=32,
        mask_feature_size=32,
        hidden_dim=32,
        encoder_feedforward_dim=32,
        dim_feedforward=32,
        encoder_layers=1,
        decoder_layers=2,
        num_attention_heads=2,
        num_queries=6,
        common_stride=4,
        id2label={0: "dog", 1: "cat"},
        label2id={"dog": 0, "cat": 1},
    )
    Mask2FormerForUniversalSegmentation(cfg).save_pretrained(root / "m2f", safe_serialization=True)
    Mask2FormerImageProcessor(size={"height": 64, "width": 64}, num_labels=2).save_pretrained(root / "m2f")
    # a character-level CLIP tokenizer: every character is a token, no merges
    chars = "abcdefghijklmnopqrstuvwxyz-"
    vocab = ["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)]
    (root / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (root / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(root / "vocab.json"), str(root / "merges.txt"))
    clip_cfg = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "bos_token_id": 0,
            "eos_token_id": 1,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 32,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=8,
    )
    CLIPModel(clip_cfg).save_pretrained(root / "clip", safe_serialization=True)
    image_proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=image_proc, tokenizer=tok).save_pretrained(root / "clip")
    return root
