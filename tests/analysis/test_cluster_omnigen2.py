"""The OmniGen2 mechanism analysis on CPU: a tiny random Qwen2.5-VL (its MLLM) saved as released, fine-tuned
weights joined in by the eval-folder code, loaded back and hooked by the extractor in the checkout.

Needs the OmniGen2 checkout (``SGT_OMNIGEN2_CHECKOUT``) and a Python with the transformers VLMEvalKit's env
pins (``SGT_OMNIGEN2_PYTHON``, 4.49: its Qwen2.5-VL processor needs no torchvision), default this one.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sgt.analysis.cluster.run import analyse_cluster_checkpoint
from sgt.analysis.figures import NOTE_COLUMNS
from sgt.analysis.prompt_attention import geneval_prompts
from sgt.analysis.run import COLUMNS
from sgt.models.backends.eval_folder import qwen25vl_eval_folder

CHECKOUT = os.environ.get("SGT_OMNIGEN2_CHECKOUT")
PYTHON = os.environ.get("SGT_OMNIGEN2_PYTHON", sys.executable)
pytestmark = pytest.mark.skipif(not CHECKOUT, reason="needs an OmniGen2 checkout (SGT_OMNIGEN2_CHECKOUT)")
QUESTION = "How many squares are in the image? Answer with a number."
CFG = {
    "classes": ["square", "rectangle"],
    "max_per_class": 8,
    "min_area": 20,
    "min_fill": 0.5,
    "dominance": 0.8,
    "crop_scale": 1.5,
    "pca_dim": 50,
    "perplexity": 30,
    "probe_folds": 3,
    "n_questions": 3,
    "n_prompts": 3,
    "timesteps": 2,
    "cluster": {
        "image_size": 56,
        "num_timesteps": 10,
        "timestep_shift": 3.0,
        "resolution": 64,
        "timeout_min": 10,
    },
}


def _benchmark(root: Path, out: Path) -> Path:
    images = sorted((root / "val2017").glob("*.jpg"))[:3]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["index", "image_path", "question", "answer", "category"])
        for i, img in enumerate(images):
            w.writerow([i, img, QUESTION, str(i), "count"])
    return out


def test_omnigen2_extractor_writes_figs_7_and_8a_and_says_why_not_8b(
    tmp_path: Path, toyworld_root: Path
) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(geneval_prompts(30, 0) * 10 + [QUESTION] * 20))
    base, ckpt = tmp_path / "Qwen2.5-VL-3B-Instruct", tmp_path / "run" / "checkpoint-2500"
    subprocess.run(
        [PYTHON, str(Path(__file__).parent / "omnigen2_tiny.py"), str(texts), str(base), str(ckpt)],
        check=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    model = tmp_path / "eval_model"
    qwen25vl_eval_folder(base, ckpt, model)
    outs = {k: tmp_path / "out" / f"{k}.csv" for k in [*COLUMNS, "notes"]}
    got = analyse_cluster_checkpoint(
        model,
        CHECKOUT,
        backend="omnigen2",
        data_root=toyworld_root,
        split="train2017",
        source="toyworld",
        benchmarks=[_benchmark(toyworld_root, tmp_path / "bench.tsv")],
        outputs=outs,
        ident={"model": "omnigen2", "variant": "sft_sgt", "seed": 0},
        cfg=CFG,
        seed=0,
        log=tmp_path / "probe.log",
        python=PYTHON,
    )
    assert len(got["hooked"]["attention"]) == 2 and got["hooked"]["vit"].startswith("visual.merger")
    assert not [m for m in got["sgt_modules"] if m.startswith(("sgt.data", "sgt.models"))], got["sgt_modules"]
    tsne, probe = pd.read_csv(outs["tsne"]), pd.read_csv(outs["probe"])
    assert probe.loc[0, "n_a"] + probe.loc[0, "n_b"] == len(tsne) >= 8
    # 56 px crops, which the image processor (min_pixels 56 x 56) keeps: (56 / 14)^2 patches x 32 channels
    assert probe.loc[0, "feature_dim"] == (56 // 14) ** 2 * 32
    visual = pd.read_csv(outs["visual_attention"])
    assert list(visual["layer"]) == [0, 1] and (visual["n_questions"] == 3).all()
    assert (visual["visual_share"] > 0).all() and (visual["visual_share"] < 1).all()
    prompt = pd.read_csv(outs["prompt_attention"])
    assert list(prompt.columns) == COLUMNS["prompt_attention"] and prompt.empty
    notes = pd.read_csv(outs["notes"])
    assert list(notes.columns) == NOTE_COLUMNS
    fig8b = notes[notes["figure"] == "fig8b"]["note"]
    assert fig8b.str.contains("diffusion transformer").any(), notes
