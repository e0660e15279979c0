"""Embedded evaluation of a tiny-UMM checkpoint on held-out toy-world images.

Understanding: the embedded VLMEvalKit-style TSV benchmarks, answered by greedy decoding and scored by the
same exact-match rules as the real path (``sgt.eval.embedded.vqa_scoring``). Generation: on held-out
(condition, target) pairs, the flow loss with the true condition against shuffled conditions (does the model
read its condition at all?) and the pixel accuracy of sampled targets against the all-background baseline. All
results are tidy rows ``(model, variant, seed, benchmark, metric, value)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from sgt.data.vqa import read_tsv
from sgt.eval.embedded.vqa_scoring import score_predictions
from sgt.scores import write_tidy
from sgt.seeding import torch_seed_for

logger = logging.getLogger(__name__)


def understanding_rows(
    model: Any, benchmarks: Mapping[str, str | Path], ident: Mapping[str, Any], *, batch_size: int = 32
) -> list[dict[str, Any]]:
    from sgt.data.images import read_image
    from sgt.models.tiny_inputs import to_tensor

    model.eval()
    rows = []
    for bench, tsv in sorted(benchmarks.items()):
        items = read_tsv(tsv)
        preds: dict[str, str] = {}
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            images = to_tensor([read_image(r["image_path"]) for r in chunk], model.cfg.image_size)
            for r, answer in zip(chunk, model.answer(images, [r["question"] for r in chunk]), strict=True):
                preds[r["index"]] = answer
        acc = score_predictions(items, preds)
        rows.append({**ident, "benchmark": bench, "metric": "accuracy", "value": round(acc.overall, 4)})
        for cat, value in acc.per_category.items():
            rows.append({**ident, "benchmark": bench, "metric": f"accuracy:{cat}", "value": round(value, 4)})
        logger.info("%s: %.2f%% over %d questions", bench, acc.overall, len(items))
    return rows


def _nearest_palette(images: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """Per-pixel index of the nearest palette colour (B x 3 x S x S in [0,1] -> B x S x S)."""
    pix = images.permute(0, 2, 3, 1)[..., None, :]  # B S S 1 3
    return ((pix - palette) ** 2).sum(-1).argmin(-1)


def generation_rows(
    model: Any,
    task: str,
    pairs: Any,
    ident: Mapping[str, Any],
    *,
    seed: int,
    n_samples: int,
    steps: int,
) -> list[dict[str, Any]]:
    """Condition-use gap and sampled pixel accuracy on held-out pairs of ``task``."""
    model.eval()
    n = min(n_samples, len(pairs))
    targets = pairs.targets[:n]
    conds = pairs.conditions[:n]
    prompts = pairs.prompts[:n]
    with torch.no_grad():
        g = torch.Generator().manual_seed(torch_seed_for(seed, "eval-loss"))
        true_loss = float(model.generation_loss(targets, prompts, conds, g, t_shift=0.0))
        g = torch.Generator().manual_seed(torch_seed_for(seed, "eval-loss"))
        shuffled = conds[torch.roll(torch.arange(n), 1)]
        shuffled_loss = float(model.generation_loss(targets, prompts, shuffled, g, t_shift=0.0))
        g = torch.Generator().manual_seed(torch_seed_for(seed, "eval-sample"))
        samples = model.generate(prompts, conds, g, steps=steps)
    # Pixel accuracy against the target's own colours (its palette), so it works for any task whose
    # targets use a small set of colours (segmentation); for others it measures colour fidelity.
    flat = (targets.permute(0, 2, 3, 1).reshape(-1, 3) * 255).round().to(torch.int64)
    colours, counts = torch.unique(flat, dim=0, return_counts=True)
    palette = colours[counts.argsort(descending=True)[:64]].float() / 255.0
    truth = _nearest_palette(targets, palette)
    pred = _nearest_palette(samples, palette)
    background = torch.mode(truth.reshape(-1)).values
    pixel_acc = float((pred == truth).float().mean())
    baseline = float((truth == background).float().mean())
    fg = truth != background
    inter = ((pred == truth) & fg).sum().item()
    union = (fg | (pred != background)).sum().item()
    metrics = {
        "flow_loss_true": true_loss,
        "flow_loss_shuffled": shuffled_loss,
        "condition_gap": shuffled_loss / max(true_loss, 1e-8),
        "pixel_accuracy": pixel_acc,
        "pixel_accuracy_background_baseline": baseline,
        "foreground_iou": inter / max(union, 1),
        "mse": float(((samples - targets) ** 2).mean()),
    }
    logger.info("generation %s: %s", task, {k: round(v, 4) for k, v in metrics.items()})
    return [
        {**ident, "benchmark": f"gen_{task}", "metric": k, "value": round(float(v), 6)}
        for k, v in metrics.items()
    ]


def evaluate_checkpoint(
    model_dir: str | Path,
    benchmarks: Mapping[str, str | Path],
    gen_shards: Mapping[str, Sequence[str | Path]],
    out: str | Path,
    *,
    model_name: str,
    variant: str,
    seed: int,
    eval_cfg: Mapping[str, Any],
    threads: int,
) -> None:
    from sgt.models.tiny_inputs import load_pairs
    from sgt.models.tiny_umm import load_model

    torch.set_num_threads(max(1, threads))
    torch.manual_seed(torch_seed_for(seed, "eval"))
    model = load_model(model_dir)
    ident = {"model": model_name, "variant": variant, "seed": seed}
    rows = understanding_rows(model, benchmarks, ident, batch_size=int(eval_cfg.get("batch_size", 32)))
    rows += edit_probe_rows(model, benchmarks, ident, eval_cfg, seed=seed)
    for task, shards in sorted(gen_shards.items()):
        pairs = load_pairs(task, shards, model.cfg.image_size, nearest_targets=True)
        rows += generation_rows(
            model,
            task,
            pairs,
            ident,
            seed=seed,
            n_samples=int(eval_cfg.get("generation_samples", 32)),
            steps=int(eval_cfg.get("sampling_steps", 20)),
        )
    write_tidy(rows, out)


def edit_probe_rows(
    model: Any,
    benchmarks: Mapping[str, str | Path],
    ident: Mapping[str, Any],
    eval_cfg: Mapping[str, Any],
    *,
    seed: int,
) -> list[dict[str, Any]]:
    """Generation checks on the base model's generic edits, over the held-out images the benchmarks use."""
    from sgt.data.images import read_image
    from sgt.models.tiny_inputs import edit_pairs, to_tensor

    edits = list(eval_cfg.get("edit_probes", []))
    if not edits:
        return []
    n = int(eval_cfg.get("generation_samples", 32))
    paths = sorted({r["image_path"] for tsv in benchmarks.values() for r in read_tsv(tsv)})[:n]
    images = to_tensor([read_image(p) for p in paths], model.cfg.image_size)
    rows = []
    for edit in edits:
        rows += generation_rows(
            model,
            f"edit_{edit}",
            edit_pairs(images, [edit]),
            ident,
            seed=seed,
            n_samples=n,
            steps=int(eval_cfg.get("sampling_steps", 20)),
        )
    return rows


def majority_rows(benchmarks: Mapping[str, str | Path], ident: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The majority-answer baseline: each question answered with its category's most common answer.

    A model must beat this to show it reads the image rather than the question's answer prior.
    """
    from collections import Counter

    rows = []
    for bench, tsv in sorted(benchmarks.items()):
        items = read_tsv(tsv)
        common = {}
        for cat in {r["category"] for r in items}:
            common[cat] = Counter(r["answer"] for r in items if r["category"] == cat).most_common(1)[0][0]
        acc = score_predictions(items, {r["index"]: common[r["category"]] for r in items})
        rows.append({**ident, "benchmark": bench, "metric": "accuracy", "value": round(acc.overall, 4)})
        for cat, value in acc.per_category.items():
            rows.append({**ident, "benchmark": bench, "metric": f"accuracy:{cat}", "value": round(value, 4)})
    return rows
