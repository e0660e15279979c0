"""One analysis job: Figs. 7, 8a and 8b's numbers for one trained tiny-UMM checkpoint, as tidy CSVs."""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sgt.io import atomic_path
from sgt.seeding import rng_for, torch_seed_for

logger = logging.getLogger(__name__)
IDENT = ["model", "variant", "seed"]
COLUMNS = {
    "tsne": [*IDENT, "image_id", "ann_id", "label", "x", "y"],
    "probe": [
        *IDENT,
        "class_a",
        "class_b",
        "n_a",
        "n_b",
        "feature_dim",
        "pca_dim",
        "perplexity",
        "folds",
        "probe_accuracy",
        "probe_accuracy_std",
        "chance",
        "probe_pca_dim",
        "probe_c",
        "probe_c_per_fold",
        "tsne_points",
        "crops_from",
    ],
    "visual_attention": [
        *IDENT,
        "layer",
        "visual_share",
        "visual_share_std",
        "n_questions",
        "visual_share_low",
        "visual_share_high",
    ],
    "prompt_attention": [
        *IDENT,
        "timestep",
        "layer",
        "group",
        "mass",
        "share",
        "n_prompts",
        "share_low",
        "share_high",
    ],
}
# probe.csv: n_a/n_b crops per class; folds, probe_accuracy (mean over outer folds) and its std over folds;
# chance (share of the larger class); probe_pca_dim (PCA dims the probe fitted on, < training samples);
# probe_c (median C the inner folds chose) and probe_c_per_fold; pca_dim/perplexity/tsne_points: the t-SNE
# picture's (it may draw a subsample, analysis.tsne_max_points); crops_from: which images gave the crops.
# visual_attention.csv / prompt_attention.csv: *_low/*_high are the 95% t-interval over questions/prompts.


def write_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], out: str | Path) -> None:
    with atomic_path(out, suffix=".csv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def tsne_subsample(labels: Any, max_points: int, seed: int) -> Any:
    """Indices (sorted) of at most ``max_points`` crops, the same share of each class; all when 0."""
    n = len(labels)
    if max_points <= 0 or n <= max_points:
        return np.arange(n)
    rng = rng_for(seed, "tsne-subsample")
    keep = []
    for cls in sorted(set(labels.tolist())):
        idx = np.flatnonzero(labels == cls)
        take = max(1, round(max_points * len(idx) / n))
        keep.append(rng.choice(idx, min(take, len(idx)), replace=False))
    return np.sort(np.concatenate(keep))


def separability_from_features(
    feats: Any,
    crops: Sequence[Any],
    classes: Sequence[str],
    cfg: Mapping[str, Any],
    seed: int,
    crops_from: str = "",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """t-SNE coordinates (one row per drawn crop) and the probe summary row, from one model's features
    (one row per crop, same order).

    The probe sees every crop; the t-SNE picture at most ``analysis.tsne_max_points`` of them.
    """
    from sgt.analysis.separability import MIN_POINTS, embed_tsne, probe_accuracy

    if len(feats) != len(crops):
        raise ValueError(f"{len(feats)} feature rows for {len(crops)} crops")
    labels = np.array([c.label for c in crops])
    probe = probe_accuracy(
        feats, labels, folds=int(cfg["probe_folds"]), pca_dim=int(cfg["pca_dim"]), seed=seed
    )
    summary = {
        "class_a": classes[0],
        "class_b": classes[1],
        "n_a": int((labels == classes[0]).sum()),
        "n_b": int((labels == classes[1]).sum()),
        "feature_dim": int(feats.shape[1]),
        "probe_accuracy": round(probe.accuracy, 6),
        "probe_accuracy_std": round(probe.accuracy_std, 6),
        "folds": probe.folds,
        "chance": round(probe.chance, 6),
        "probe_pca_dim": probe.pca_dim,
        "probe_c": probe.median_c,
        "probe_c_per_fold": ";".join(f"{c:g}" for c in probe.chosen_c),
        "crops_from": crops_from,
    }
    logger.info(
        "probe accuracy %.3f +- %.3f over %d folds (chance %.3f), n per class %s, PCA %d, C per fold %s",
        probe.accuracy,
        probe.accuracy_std,
        probe.folds,
        probe.chance,
        {classes[0]: summary["n_a"], classes[1]: summary["n_b"]},
        probe.pca_dim,
        summary["probe_c_per_fold"],
    )
    if len(crops) < MIN_POINTS:
        logger.warning("only %d crops of %s: no t-SNE embedding", len(crops), list(classes))
        return [], {**summary, "pca_dim": 0, "perplexity": 0, "tsne_points": 0}
    keep = tsne_subsample(labels, int(cfg.get("tsne_max_points", 0)), seed)
    emb = embed_tsne(feats[keep], pca_dim=int(cfg["pca_dim"]), perplexity=float(cfg["perplexity"]), seed=seed)
    points = [
        {"image_id": c.image_id, "ann_id": c.ann_id, "label": c.label, "x": round(x, 5), "y": round(y, 5)}
        for c, (x, y) in zip([crops[i] for i in keep], emb.coords.tolist(), strict=True)
    ]
    return points, {
        **summary,
        "pca_dim": emb.pca_dim,
        "perplexity": round(emb.perplexity, 4),
        "tsne_points": len(keep),
    }


def sample_questions(benchmarks: Sequence[str | Path], n: int, seed: int) -> list[dict[str, str]]:
    """``n`` questions drawn without replacement from all benchmark TSVs (fixed by ``seed``)."""
    from sgt.data.vqa import read_tsv

    items = [row for tsv in sorted(map(str, benchmarks)) for row in read_tsv(tsv)]
    if not items:
        raise ValueError(f"no questions in {list(benchmarks)}; rerun the embedded_benchmark rule")
    pick = rng_for(seed, "fig8a-questions").permutation(len(items))[:n]
    return [items[i] for i in sorted(pick)]


def analyse_checkpoint(
    model_dir: str | Path,
    *,
    data_root: str | Path,
    split: str,
    source: str,
    benchmarks: Sequence[str | Path],
    outputs: Mapping[str, str | Path],
    ident: Mapping[str, Any],
    cfg: Mapping[str, Any],
    sampling_steps: int,
    seed: int,
    threads: int = 1,
    scene_size: Mapping[str, Any] | None = None,
) -> None:
    """Write ``outputs['tsne' | 'probe' | 'visual_attention' | 'prompt_attention']`` for one checkpoint.

    ``scene_size``: data.toyworld (width, height) of the held-out probe scenes (toy world only).
    """
    import torch
    from threadpoolctl import threadpool_limits

    from sgt.analysis.features import CropSpec, crops_from, probe_crops, vit_features
    from sgt.analysis.prompt_attention import geneval_prompts, prompt_attention, summarise
    from sgt.analysis.visual_attention import visual_attention_rows, visual_shares
    from sgt.data.images import read_image
    from sgt.models.tiny_inputs import to_tensor
    from sgt.models.tiny_umm import load_model

    torch.set_num_threads(max(1, threads))
    # BLAS (PCA, the probe, t-SNE) to the job's cores too: OpenBLAS's default of every core spins against
    # the other jobs and made a 512 x 512 eigh 20x slower under `--cores 2` (threadpoolctl: scikit-learn's)
    threadpool_limits(max(1, threads))
    torch.manual_seed(torch_seed_for(seed, "analysis"))
    model = load_model(model_dir)
    ident = dict(ident)

    spec = CropSpec.from_config(dict(cfg))
    start = time.perf_counter()
    crops = probe_crops(cfg, data_root=data_root, split=split, source=source, scene_size=scene_size)
    logger.info("crops: %.1f s", time.perf_counter() - start)
    feats = vit_features(model, [c.image for c in crops])
    points, probe = separability_from_features(
        feats, crops, spec.classes, cfg, seed, crops_from(cfg, split, source, crops)
    )
    write_csv([{**ident, **p} for p in points], COLUMNS["tsne"], outputs["tsne"])
    write_csv([{**ident, **probe}], COLUMNS["probe"], outputs["probe"])
    logger.info("crops, features, probe and t-SNE (Fig. 7): %.1f s", time.perf_counter() - start)

    qs = sample_questions(benchmarks, int(cfg["n_questions"]), seed)
    images = to_tensor([read_image(q["image_path"]) for q in qs], model.cfg.image_size)
    shares = visual_shares(model, images, [q["question"] for q in qs], [q["answer"] for q in qs])
    rows = [{**ident, **r} for r in visual_attention_rows(shares)]
    write_csv(rows, COLUMNS["visual_attention"], outputs["visual_attention"])
    logger.info("visual share per layer: %s", [r["visual_share"] for r in rows])

    prompts = geneval_prompts(int(cfg["n_prompts"]), seed)
    logger.info("Fig. 8b prompts: %s", prompts)
    per_prompt = prompt_attention(
        model, prompts, seed=seed, steps=sampling_steps, timesteps=int(cfg["timesteps"])
    )
    rows = [{**ident, **r} for r in summarise(per_prompt)]
    logger.info("the whole analysis: %.1f s", time.perf_counter() - start)
    write_csv(rows, COLUMNS["prompt_attention"], outputs["prompt_attention"])
