"""The real GenEval detector end to end on tiny random Mask2Former and CLIP models saved as safetensors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sgt.eval.detectors import build_detector
from sgt.eval.geneval import COLORS, evaluate


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    torch = pytest.importorskip("torch")
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

    root = tmp_path_factory.mktemp("hf")
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


def test_detector_end_to_end_schema(tiny_models):
    det = build_detector(
        "mask2former_clip",
        detector=str(tiny_models / "m2f"),
        clip=str(tiny_models / "clip"),
        color_min_score=0.0,
    )
    image = np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)
    dets = det.detect(image)
    assert dets, "random weights still give instance proposals"
    for d in dets:
        assert set(d) == {"label", "score", "box", "color"}
        assert d["label"] in {"dog", "cat"} and 0.0 <= d["score"] <= 1.0 and d["color"] in COLORS
        x1, y1, x2, y2 = d["box"]
        assert 0 <= x1 < x2 <= 56 and 0 <= y1 < y2 <= 40
    meta = {"tag": "colors", "include": [{"class": "dog", "count": 1, "color": "red"}], "prompt": "a red dog"}
    ok, reason = evaluate(meta, dets, 40, 56)  # the rules accept this detector's output
    assert isinstance(ok, bool) and isinstance(reason, str)


def test_pickle_weights_are_refused(tiny_models, tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file

    shutil.copytree(tiny_models / "m2f", tmp_path / "m2f")
    weights = tmp_path / "m2f" / "model.safetensors"
    torch.save(load_file(str(weights)), tmp_path / "m2f" / "pytorch_model.bin")
    weights.unlink()
    with pytest.raises(OSError):
        build_detector("mask2former_clip", detector=str(tmp_path / "m2f"), clip=str(tiny_models / "clip"))
