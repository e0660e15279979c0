"""Judging what BAGEL's own loaders made of our export (the probe's JSON), and the packed-batch size.

BAGEL packs samples by tokens: a rank's batch closes once it holds ``expected_num_tokens``. The number of
samples per optimizer step therefore follows from the real tokens per sample (condition dropout removes
images, COCO images are resized to 512-1024 px), which only the loaders can tell.
:func:`derive_tokens_per_sample` turns one probe pass into the ``tokens_per_sample`` that gives the recipe's
batch; a second pass checks it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sgt.models.preflight.common import Finding, within

EDIT, VQA = "unified_edit", "vlm_sft"
BATCH_TOLERANCE = 0.05  # samples per optimizer step against the recipe's global batch
PACKER = "data/dataset_base.py (PackedDataset.__iter__)"


def samples_per_batch(stats: Mapping[str, Any]) -> float:
    """Mean samples in one rank's packed batch."""
    batches = stats["batches"]
    return sum(b["samples"] for b in batches) / len(batches)


def tokens_per_sample(stats: Mapping[str, Any]) -> float:
    """Mean packed tokens of one sample, as upstream's packer counted them."""
    batches = stats["batches"]
    return sum(b["tokens"] for b in batches) / sum(b["samples"] for b in batches)


def effective_global_batch(stats: Mapping[str, Any]) -> float:
    """Samples per optimizer step over all ranks: what Table 8's global batch is about."""
    return samples_per_batch(stats) * stats["world_size"] * stats["gradient_accumulation_steps"]


def derive_tokens_per_sample(stats: Mapping[str, Any], samples_per_rank: float) -> int:
    """The ``tokens_per_sample`` whose ``expected_num_tokens`` packs ``samples_per_rank`` samples a batch.

    A batch closes on the sample that crosses the threshold, so it holds ``E / t + c`` samples for mean
    tokens ``t``; ``c`` (the overshoot, plus the mandatory samples) is measured from this pass.
    """
    t = tokens_per_sample(stats)
    overshoot = samples_per_batch(stats) - stats["expected_num_tokens"] / t
    expected = max(1.0, (samples_per_rank - overshoot) * t)
    return max(1, math.ceil(expected / samples_per_rank))


def recipe_shares(mix: Mapping[str, float]) -> dict[str, float]:
    """Per-group sample shares the recipe asks for (VQA against all generation tasks together)."""
    vqa = float(mix.get("vqa", 0))
    gen = sum(float(w) for k, w in mix.items() if k != "vqa")
    total = vqa + gen
    return {name: share / total for name, share in ((VQA, vqa), (EDIT, gen)) if share > 0}


def _share_finding(stats: Mapping[str, Any], shares: Mapping[str, float]) -> Finding:
    counts: dict[str, int] = {}
    for batch in stats["batches"]:
        for name, n in batch["groups"].items():
            counts[name] = counts.get(name, 0) + n
    total = sum(counts.values())
    parts, ok = [], True
    for name, want in shares.items():
        got = counts.get(name, 0) / total if total else 0.0
        tolerance = max(0.05, 3 * math.sqrt(want * (1 - want) / max(total, 1)))
        ok &= abs(got - want) <= tolerance
        parts.append(f"{name} {got:.3f} against {want:.3f} (±{tolerance:.3f})")
    return Finding(
        "group mix within tolerance of the recipe", ok, f"{total} samples: " + "; ".join(parts), PACKER
    )


def bagel_findings(stats: Mapping[str, Any], mix: Mapping[str, float], global_batch: int) -> list[Finding]:
    """Every invariant of the BAGEL preflight, judged on one probe pass."""
    counts = stats["counts"]
    problems = "; ".join(stats.get("problems", [])[:3])
    findings = []
    edits = counts.get("edit_samples", 0)
    if EDIT in stats["groups"]:
        good = counts.get("edit_loss_is_target", 0)
        lost = counts.get("edit_without_loss_image", 0) + counts.get("loss_images_without_edit_sample", 0)
        findings.append(
            Finding(
                "loss image is the pair's target",
                edits > 0 and good == edits and lost == 0,
                f"{good} of {edits} edit samples" + (f"; {problems}" if problems and good != edits else ""),
                "data/interleave_datasets/edit_dataset.py (parse_row), data/dataset_base.py (pack_sequence)",
            )
        )
    vqa = counts.get("vqa_samples", 0)
    if VQA in stats["groups"]:
        good = counts.get("vqa_labels_answer_only", 0)
        instructions = counts.get("edit_with_ce_labels", 0)
        findings.append(
            Finding(
                "VQA labels cover only the answer",
                vqa > 0 and good == vqa and instructions == 0,
                f"{good} of {vqa} VQA samples; {instructions} edit samples with CE labels"
                + (f"; {problems}" if problems and good != vqa else ""),
                "data/vlm_dataset.py (change_format)",
            )
        )
    findings.append(_share_finding(stats, recipe_shares(mix)))
    effective = effective_global_batch(stats)
    split = (
        f"{samples_per_batch(stats):.2f} samples per rank batch x {stats['world_size']} ranks x "
        f"{stats['gradient_accumulation_steps']} accumulation steps"
    )
    expected = stats["expected_num_tokens"]
    packing = f"{tokens_per_sample(stats):.0f} tokens per sample at expected_num_tokens {expected}"
    findings.append(
        Finding(
            "samples per optimizer step equal the recipe's global batch",
            within(effective, global_batch, BATCH_TOLERANCE),
            f"{effective:.1f} against {global_batch} (±{BATCH_TOLERANCE:.0%}): {split}; {packing}",
            f"train/pretrain_unified_navit.py (expected_num_tokens), {PACKER}",
        )
    )
    problem = stats.get("entry_problem")
    findings.append(
        Finding(
            "the entry script runs this checkout's trainer",
            problem is None,
            problem
            or ("compiled without the CE assert (generation only)" if stats.get("no_ce") else "compiled"),
            "train/pretrain_unified_navit.py (the training loop's CE branch)",
        )
    )
    mismatches = stats["flag_mismatches"]
    findings.append(
        Finding(
            "every launch flag survives upstream's argument parser",
            not mismatches,
            f"{stats['flags_checked'] - len(mismatches)} of {stats['flags_checked']} flags"
            + (f"; differ: {mismatches}" if mismatches else ""),
            "train/pretrain_unified_navit.py (ModelArguments, DataArguments, TrainingArguments)",
        )
    )
    skipped, too_long = sum(stats["skipped"].values()), sum(stats["too_long"].values())
    findings.append(
        Finding(
            "no record is skipped",
            skipped == 0 and too_long == 0,
            f"{sum(stats['read'].values())} records read {stats['read']}: {skipped} skipped by the readers, "
            f"{too_long} longer than max_num_tokens_per_sample",
            "data/interleave_datasets/interleave_t2i_dataset.py, data/vlm_dataset.py, " + PACKER,
        )
    )
    return findings


def figures(stats: Mapping[str, Any], passes: int, tokens: int) -> dict[str, Any]:
    """What the report records of the final pass."""
    groups: dict[str, int] = {}
    for batch in stats["batches"]:
        for name, n in batch["groups"].items():
            groups[name] = groups.get(name, 0) + n
    total = sum(groups.values())
    return {
        "batches": len(stats["batches"]),
        "samples_per_rank_batch": round(samples_per_batch(stats), 3),
        "effective_global_batch": round(effective_global_batch(stats), 2),
        "tokens_per_sample_measured": round(tokens_per_sample(stats), 1),
        "expected_num_tokens": stats["expected_num_tokens"],
        "group_shares": {k: round(v / total, 4) for k, v in groups.items()},
        "tasks": stats.get("tasks", {}),
        "calibration_passes": passes,
        "launch_options": {"tokens_per_sample": tokens},
    }
