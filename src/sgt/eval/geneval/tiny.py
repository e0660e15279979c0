"""Embedded GenEval job: a tiny-UMM checkpoint draws the toy prompt set; a detector and the rules score it.

Images go through GenEval's own layout (``sgt.eval.geneval.runner``) so the folder could be scored by the
upstream evaluator too; the summary becomes tidy rows ``gen_geneval/<tag>`` and ``gen_geneval/overall``
(percent), which the generation table picks up as it does every ``gen_*`` benchmark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sgt.eval.geneval.detectors import build_detector
from sgt.eval.geneval.runner import (
    GenerateFn,
    evaluate_geneval_images,
    read_geneval_metadata,
    summarize_results_file,
    summary_rows,
    write_geneval_outputs,
)
from sgt.scores import score_columns, write_tidy
from sgt.seeding import torch_seed_for

logger = logging.getLogger(__name__)
BENCHMARK = "gen_geneval"


def tiny_text_to_image(model: Any, steps: int) -> GenerateFn:
    """(prompt, seed) -> uint8 image from the tiny UMM's text-to-image path (no condition image)."""
    import torch

    def generate(prompt: str, seed: int) -> npt.NDArray[np.uint8]:
        g = torch.Generator().manual_seed(torch_seed_for(seed, "geneval"))
        with torch.no_grad():
            image = model.generate([prompt], None, g, steps=steps)[0]
        return (image.permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)

    return generate


def run_geneval(
    model_dir: str | Path,
    metadata: str | Path,
    imagedir: str | Path,
    results: str | Path,
    out_csv: str | Path,
    *,
    model_name: str,
    variant: str,
    seed: int,
    cfg: Mapping[str, Any],
    scene_aspect: float | None,
    threads: int = 1,
) -> None:
    """Generate ``len(cfg['seeds'])`` images per prompt, score them, write results.jsonl and tidy rows."""
    import torch

    from sgt.eval.geneval import toy_detector  # noqa: F401  (registers the "toyworld" detector)
    from sgt.models.tiny_umm import load_model

    torch.set_num_threads(max(1, threads))
    model = load_model(model_dir).eval()
    seeds: Sequence[int] = list(cfg["seeds"])
    prompts = read_geneval_metadata(metadata)
    generate = tiny_text_to_image(model, int(cfg["sampling_steps"]))
    write_geneval_outputs(prompts, generate, imagedir, n_images=len(seeds), seeds=seeds)
    args = dict(cfg.get("detector_args", {}))
    if cfg["detector"] == "toyworld" and scene_aspect is not None:
        args.setdefault("scene_aspect", scene_aspect)
    detector = build_detector(cfg["detector"], **args)
    evaluate_geneval_images(imagedir, detector, results)
    rows = summary_rows(summarize_results_file(results), model_name, variant, benchmark=BENCHMARK)
    # headline: ``overall`` is GenEval's number in the paper tables (Table 3's GenEval column)
    rows = [{**r, "seed": seed, "value": round(float(r["value"]), 4)} for r in rows]
    write_tidy(rows, out_csv, columns=score_columns("headline"))
