"""The BAGEL mechanism analysis end to end on CPU: a tiny random BAGEL built by the checkout's own classes,
saved in the eval-folder layout, loaded back and hooked by the extractor, then the analysis CSVs.

Needs a BAGEL checkout (``SGT_BAGEL_CHECKOUT``, the pinned ByteDance-Seed/Bagel), as the GenEval test does,
and a Python whose transformers is the checkout's pin (``SGT_BAGEL_PYTHON``; BAGEL's Qwen2 code does not
run under transformers 5), default this interpreter.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from sgt.analysis.cluster.run import NOTE_COLUMNS, analyse_cluster_checkpoint
from sgt.analysis.prompt_attention import KEY_GROUPS, geneval_prompts
from sgt.analysis.run import COLUMNS
from sgt.analysis.separability import probe_accuracy
from sgt.models.backends.eval_folder import bagel_eval_folder
from sgt.models.preflight.tokenizer import build_stand_in_tokenizer

CHECKOUT = os.environ.get("SGT_BAGEL_CHECKOUT")
PYTHON = os.environ.get("SGT_BAGEL_PYTHON", sys.executable)
needs_checkout = pytest.mark.skipif(not CHECKOUT, reason="needs a Bagel checkout (SGT_BAGEL_CHECKOUT)")
LLM_LAYERS = 2
LLM = {
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": LLM_LAYERS,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 4200,
    "max_position_embeddings": 4096,
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-6,
    "hidden_act": "silu",
}
# SigLIP as BAGEL's vit_config.json spells it; num_hidden_layers is one more than used (app.py drops one)
VIT = {
    "model_type": "siglip_vision_model",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 3,
    "num_attention_heads": 2,
    "num_channels": 3,
    "image_size": 980,
    "patch_size": 14,
    "hidden_act": "gelu_pytorch_tanh",
    "layer_norm_eps": 1e-6,
}
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


def _checkout_env() -> dict[str, str]:
    """The checkout, our package, then stand-ins for what a CPU node lacks (flash_attn: the computing one)."""
    src = Path(__file__).resolve().parents[2] / "src"
    stand_ins = [Path(src, "sgt/analysis/cluster/stand_ins"), Path(src, "sgt/models/preflight/stand_ins")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([CHECKOUT, str(src), *map(str, stand_ins)])}


def _eval_folder(tmp: Path, texts: list[str]) -> Path:
    """Base folder (configs, stand-in tokenizer) + a run checkpoint, joined as rule vlmeval_model does."""
    base = tmp / "BAGEL-7B-MoT"
    build_stand_in_tokenizer(texts, base, vocab_size=4000)
    (base / "llm_config.json").write_text(json.dumps(LLM))
    (base / "vit_config.json").write_text(json.dumps(VIT))
    # the eval folder requires the VAE file; the analyses decode no image and never read it
    save_file({"unused": torch.zeros(1)}, str(base / "ae.safetensors"))
    ckpt = tmp / "run" / "checkpoints" / "0000010"
    subprocess.run(
        [PYTHON, str(Path(__file__).parent / "bagel_tiny.py"), str(base), str(ckpt), "0"],
        cwd=CHECKOUT,
        env=_checkout_env(),
        check=True,
    )
    out = tmp / "eval_model"
    bagel_eval_folder(base, ckpt, out)
    return out


def _benchmark(root: Path, out: Path) -> Path:
    images = sorted((root / "val2017").glob("*.jpg"))[:3]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["index", "image_path", "question", "answer", "category"])
        for i, img in enumerate(images):
            w.writerow([i, img, "how many squares are there ?", str(i), "count"])
    return out


@needs_checkout
def test_bagel_extractor_writes_the_analysis_tables(tmp_path: Path, toyworld_root: Path) -> None:
    texts = geneval_prompts(30, 0) * 20 + ["how many squares are there ?"] * 20
    model = _eval_folder(tmp_path, texts)
    outs = {k: tmp_path / "out" / f"{k}.csv" for k in [*COLUMNS, "notes"]}
    got = analyse_cluster_checkpoint(
        model,
        CHECKOUT,
        backend="bagel",
        data_root=toyworld_root,
        split="train2017",
        source="toyworld",
        benchmarks=[_benchmark(toyworld_root, tmp_path / "bench.tsv")],
        outputs=outs,
        ident={"model": "bagel", "variant": "sft_sgt", "seed": 0},
        cfg=CFG,
        seed=0,
        log=tmp_path / "probe.log",
        python=PYTHON,
    )
    # hooks saw every LLM layer: per question 3 cache updates (image, question, answer), per prompt 1 + steps
    hooked = got["hooked"]
    assert hooked["attention"] == [f"language_model.model.layers.{i}.self_attn" for i in range(LLM_LAYERS)]
    # (and the Fig. 7 passes run the LLM once per batch of crops)
    calls = set(hooked["attention_calls"])
    assert len(calls) == 1 and calls.pop() > 3 * 3 + 3 * (1 + 2)
    assert got["load"]["parameters"] > 0 and got["flash_attn"].endswith("sgt-analysis-stand-in")
    assert not [m for m in got["sgt_modules"] if m.startswith(("sgt.data", "sgt.models"))], got["sgt_modules"]

    tsne, probe = pd.read_csv(outs["tsne"]), pd.read_csv(outs["probe"])
    assert list(tsne.columns) == COLUMNS["tsne"] and list(probe.columns) == COLUMNS["probe"]
    assert probe.loc[0, "n_a"] + probe.loc[0, "n_b"] == len(tsne) >= 8
    # SigLIP tokens of a 56 px crop, which BAGEL's ImageTransform(980, 224, 14) scales up to 224 px:
    # (224 / 14)^2 patches x 32 channels
    assert probe.loc[0, "feature_dim"] == (224 // 14) ** 2 * 32
    visual = pd.read_csv(outs["visual_attention"])
    assert list(visual.columns) == COLUMNS["visual_attention"]
    assert list(visual["layer"]) == list(range(LLM_LAYERS)) and (visual["n_questions"] == 3).all()
    assert visual["visual_share"].between(0, 1).all() and (visual["visual_share"] > 0).all()
    prompt = pd.read_csv(outs["prompt_attention"])
    assert list(prompt.columns) == COLUMNS["prompt_attention"]
    assert len(prompt) == 2 * LLM_LAYERS * len(KEY_GROUPS) and (prompt["n_prompts"] == 3).all()
    # every key is bos, a prompt word, the eos marker, an image marker or a noise token: masses <= 1
    per_step = prompt.groupby(["timestep", "layer"])["mass"].sum()
    assert ((per_step > 0.5) & (per_step <= 1 + 1e-4)).all()
    words = prompt[prompt["group"].isin(["object", "position", "colour", "other"])]
    assert np.allclose(words.groupby(["timestep", "layer"])["share"].sum(), 1.0, atol=1e-4)
    notes = pd.read_csv(outs["notes"])
    assert (
        list(notes.columns) == NOTE_COLUMNS and notes["note"].str.contains("stand-ins for flash_attn").all()
    )


@needs_checkout
def test_hooked_qk_reproduce_the_kernels_attention(tmp_path: Path) -> None:
    """The recomputed Q/K give the attention the model's own kernel call receives, in both MoT modes."""
    model = _eval_folder(tmp_path, geneval_prompts(30, 0) * 20)
    out = tmp_path / "check.json"
    subprocess.run(
        [PYTHON, str(Path(__file__).parent / "bagel_qk_check.py"), str(model), str(out)],
        cwd=CHECKOUT,
        env=_checkout_env(),
        check=True,
    )
    report = json.loads(out.read_text())
    for mode in ("und", "gen"):
        assert report[mode]["layers"] == report[mode]["reference_calls"] == LLM_LAYERS, report
        assert report[mode]["max_abs_diff"] < 1e-4, report  # the same bf16 states (leaving out k_norm: 2e-3)
    # gen keys: [bos, 3 words, eos] + [start, (64 / 16)^2 latent tokens, end]; und: image + ViT tokens + text
    assert report["gen"]["keys"] >= 5 + 18 and report["und"]["keys"] > (224 // 14) ** 2


def test_probe_on_shuffled_labels_is_at_chance() -> None:
    """The probe the cluster job uses can fail: labels unrelated to the features give chance accuracy."""
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(200, 64)).astype(np.float32)
    labels = np.array(["a", "b"] * 100)
    feats[labels == "a", :4] += 3.0  # separable by construction
    assert probe_accuracy(feats, labels, folds=5, seed=0).accuracy > 0.95
    shuffled = rng.permutation(labels)
    assert abs(probe_accuracy(feats, shuffled, folds=5, seed=0).accuracy - 0.5) < 0.15
