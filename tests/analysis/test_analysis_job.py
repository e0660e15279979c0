"""The analysis and figures jobs end to end on the smallest tiny UMM: what the two rule scripts run."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import torch

from sgt.analysis.figures import make_figures
from sgt.analysis.run import COLUMNS, analyse_checkpoint
from sgt.models.tiny_umm import TinyUMM, save_model
from sgt.testing.tiny import SMALLEST

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
    "n_prompts": 4,
    "timesteps": 2,
}


def _benchmark(root: Path, out: Path) -> Path:
    images = sorted((root / "val2017").glob("*.jpg"))[:3]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["index", "image_path", "question", "answer", "category"])
        for i, img in enumerate(images):
            w.writerow([i, img, "how many squares are there ?", str(i), "count"])
    return out


def _run(tmp: Path, toyworld_root: Path, variant: str, model_dir: Path, bench: Path) -> dict[str, Path]:
    outs = {k: tmp / "analysis" / variant / f"{k}.csv" for k in COLUMNS}
    analyse_checkpoint(
        model_dir,
        data_root=toyworld_root,
        split="train2017",
        source="toyworld",
        benchmarks=[bench],
        outputs=outs,
        ident={"model": "tiny", "variant": variant, "seed": 0},
        cfg=CFG,
        sampling_steps=3,
        seed=0,
    )
    return outs


def test_analysis_and_figures_jobs(tmp_path: Path, toyworld_root: Path) -> None:
    dirs = {}
    for variant, scale in (("base", 1.0), ("sft_semantic", 3.0)):
        torch.manual_seed(0)
        model = TinyUMM(SMALLEST)
        with torch.no_grad():
            for layer in model.lm.layers:
                layer.self_attn.q_proj.weight.mul_(scale)
        dirs[variant] = tmp_path / "models" / variant
        save_model(model, dirs[variant])
    bench = _benchmark(toyworld_root, tmp_path / "bench.tsv")
    runs = {v: _run(tmp_path, toyworld_root, v, d, bench) for v, d in dirs.items()}

    probe = pd.read_csv(runs["base"]["probe"])
    assert list(probe.columns) == COLUMNS["probe"]
    assert probe.loc[0, "n_a"] + probe.loc[0, "n_b"] == len(pd.read_csv(runs["base"]["tsne"]))
    visual = pd.read_csv(runs["base"]["visual_attention"])
    assert list(visual["layer"]) == list(range(SMALLEST.lm_layers))
    assert visual["visual_share"].between(0, 1).all() and (visual["n_questions"] == 3).all()
    assert (visual["visual_share_low"] <= visual["visual_share"]).all()
    assert (visual["visual_share"] <= visual["visual_share_high"]).all()
    prompt = pd.read_csv(runs["sft_semantic"]["prompt_attention"])
    per_step = prompt.groupby(["timestep", "layer"])["mass"].sum()
    assert per_step.to_numpy() == pytest.approx(1.0, abs=1e-4)  # all key groups: softmax rows
    words = prompt[prompt["group"].isin(["object", "position", "colour", "other"])]
    assert words.groupby(["timestep", "layer"])["share"].sum().to_numpy() == pytest.approx(1.0)
    assert (words["share_low"] <= words["share"]).all() and (words["share"] <= words["share_high"]).all()
    assert prompt.loc[~prompt.index.isin(words.index), "share_low"].isna().all()  # bos, noise: no share

    first = (runs["base"]["probe"].read_bytes(), runs["base"]["prompt_attention"].read_bytes())
    _run(tmp_path, toyworld_root, "base", dirs["base"], bench)
    assert first == (runs["base"]["probe"].read_bytes(), runs["base"]["prompt_attention"].read_bytes())

    fig_dir = tmp_path / "figures"
    outputs = {k: fig_dir / f"{k}.csv" for k in ("probe", "visual_attention", "prompt_attention")}
    for fig in ("fig7", "fig8a", "fig8b"):
        outputs |= {f"{fig}_png": fig_dir / f"{fig}.png", f"{fig}_pdf": fig_dir / f"{fig}.pdf"}
    inputs = {k: [runs[v][k] for v in ("base", "sft_semantic")] for k in COLUMNS}
    labels = {"base": "Base", "sft_semantic": "SFT+Semantic"}
    make_figures(inputs, outputs, compare=["base", "sft_semantic"], labels=labels)
    for path in outputs.values():
        assert path.stat().st_size > 0, path
    assert outputs["fig7_png"].read_bytes()[:4] == b"\x89PNG"
    assert outputs["fig8b_pdf"].read_bytes()[:4] == b"%PDF"
    before = outputs["fig8a_pdf"].read_bytes()
    make_figures(inputs, outputs, compare=["base", "sft_semantic"], labels=labels)
    assert outputs["fig8a_pdf"].read_bytes() == before
    assert set(pd.read_csv(outputs["probe"])["variant"]) == {"base", "sft_semantic"}
