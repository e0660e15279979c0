"""The real GenEval detector end to end on tiny random Mask2Former and CLIP models saved as safetensors."""

from __future__ import annotations

import numpy as np
import pytest

from sgt.eval.geneval.detectors import build_detector
from sgt.eval.geneval.rules import COLORS, evaluate


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
