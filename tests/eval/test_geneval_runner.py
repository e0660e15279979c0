from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sgt.eval.geneval.detectors import DETECTORS, Detector, build_detector, register_detector
from sgt.eval.geneval.runner import (
    evaluate_geneval_images,
    iter_geneval_images,
    read_geneval_metadata,
    summarize_results_file,
    summary_rows,
    write_geneval_outputs,
)

PROMPTS = [
    {"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"},
    {
        "tag": "colors",
        "include": [{"class": "dog", "count": 1, "color": "red"}],
        "prompt": "a photo of a red dog",
    },
]


def fake_generate(prompt: str, seed: int) -> np.ndarray:
    """A red square when the seed is even, nothing when odd."""
    img = np.zeros((32, 48, 3), np.uint8)
    if seed % 2 == 0:
        img[8:24, 8:24] = (255, 0, 0)
    return img


class SquareDetector:
    """Detects the red square as a red dog."""

    def detect(self, image):
        ys, xs = np.nonzero(image[..., 0] > 128)
        if len(xs) == 0:
            return []
        return [
            {"label": "dog", "score": 0.8, "box": [xs.min(), ys.min(), xs.max(), ys.max()], "color": "red"}
        ]


def test_layout_matches_geneval(tmp_path):
    out = write_geneval_outputs(PROMPTS, fake_generate, tmp_path / "gen", n_images=3, seeds=[0, 1, 2])
    assert sorted(p.name for p in out.iterdir()) == ["00000", "00001"]
    assert json.loads((out / "00001" / "metadata.jsonl").read_text()) == PROMPTS[1]
    assert sorted(p.name for p in (out / "00000" / "samples").iterdir()) == [
        "0000.png",
        "0001.png",
        "0002.png",
    ]
    img = np.asarray(Image.open(out / "00000" / "samples" / "0000.png"))
    assert img.shape == (32, 48, 3) and img[10, 10, 0] == 255
    assert len(iter_geneval_images(out)) == 6


def test_resume_keeps_complete_prompts(tmp_path):
    calls = []

    def gen(prompt, seed):
        calls.append((prompt, seed))
        return fake_generate(prompt, seed)

    write_geneval_outputs(PROMPTS, gen, tmp_path, n_images=2, seeds=[4, 5])
    assert calls == [("a photo of a dog", 4), ("a photo of a dog", 5), ("a photo of a red dog", 4)] + [
        ("a photo of a red dog", 5)
    ]
    write_geneval_outputs(PROMPTS, gen, tmp_path, n_images=2, seeds=[4, 5])
    assert len(calls) == 4


def test_bad_generate_output_and_seed_count(tmp_path):
    with pytest.raises(ValueError, match="one seed per image"):
        write_geneval_outputs(PROMPTS, fake_generate, tmp_path, n_images=2, seeds=[1])
    with pytest.raises(ValueError, match="uint8 HxWx3"):
        write_geneval_outputs(PROMPTS, lambda p, s: np.zeros((4, 4), np.float32), tmp_path, 1, [0])
    assert not (tmp_path / "00000").exists()  # the failed folder was not left behind


def test_evaluate_and_summarize(tmp_path):
    out = write_geneval_outputs(PROMPTS, fake_generate, tmp_path / "gen", n_images=2, seeds=[0, 1])
    results = evaluate_geneval_images(out, SquareDetector(), tmp_path / "results.jsonl")
    rows = [json.loads(x) for x in results.read_text().splitlines()]
    assert [r["correct"] for r in rows] == [True, False, True, False]
    s = summarize_results_file(results)
    assert s.per_tag == {"single_object": 0.5, "colors": 0.5} and s.overall == 0.5
    tidy = summary_rows(s, "bagel", "sgt")
    head = [r for r in tidy if r["headline"]]
    assert head[0]["value"] == 50.0 and "position" in head[0]["note"]


def test_read_metadata_validates(tmp_path):
    p = tmp_path / "evaluation_metadata.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in PROMPTS) + "\n")
    assert read_geneval_metadata(p) == PROMPTS
    p.write_text(json.dumps({"tag": "counting", "prompt": "x"}) + "\n")
    with pytest.raises(ValueError, match="include"):
        read_geneval_metadata(p)


def test_detector_registry():
    register_detector("test-square")(SquareDetector)
    det = build_detector("test-square")
    assert isinstance(det, Detector)
    with pytest.raises(KeyError, match="test-square"):
        build_detector("nope")
    with pytest.raises(ValueError, match="twice"):
        register_detector("test-square")(lambda: SquareDetector())
    del DETECTORS["test-square"]
