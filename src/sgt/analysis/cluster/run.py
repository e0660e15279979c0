"""One cluster analysis job: inputs chosen as the tiny analysis chooses them, measured in the checkout.

Crops (Fig. 7), benchmark questions (Fig. 8a) and GenEval-style prompts (Fig. 8b) are picked by the same
functions and seeds as :func:`sgt.analysis.run.analyse_checkpoint`; crops are resized to one square size
so every crop gives the same number of ViT tokens. The backend's extractor runs in its checkout with the
preflight's stand-ins (flash_attn: a computing one, used only where the real kernel does not import);
probe, t-SNE and shares are sgt.analysis's own.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sgt.analysis.cluster import FIGURES, extractor_for
from sgt.analysis.figures import NOTE_COLUMNS

logger = logging.getLogger(__name__)
STAND_INS = {"flash_attn": Path(__file__).parent / "stand_ins" / "flash_attn"}


def square(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` (H x W x 3 uint8) resized to ``size`` x ``size`` (bicubic)."""
    from PIL import Image

    return np.asarray(Image.fromarray(np.asarray(image, np.uint8)).resize((size, size), Image.BICUBIC))


def analyse_cluster_checkpoint(
    eval_model: str | Path,
    checkout: str | Path,
    *,
    backend: str,
    data_root: str | Path,
    split: str,
    source: str,
    benchmarks: Sequence[str | Path],
    outputs: Mapping[str, str | Path],
    ident: Mapping[str, Any],
    cfg: Mapping[str, Any],
    seed: int,
    threads: int = 1,
    log: str | Path | None = None,
    python: str | None = None,
    scene_size: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the four analysis CSVs and ``outputs['notes']`` for one tuned cluster checkpoint.

    ``scene_size``: data.toyworld (width, height) of the held-out probe scenes (toy world only).
    """
    import sys

    from threadpoolctl import threadpool_limits

    from sgt.analysis.cluster.questions import annotation_questions
    from sgt.analysis.features import CropSpec, crops_from, probe_crops
    from sgt.analysis.prompt_attention import KEY_GROUPS, WORD_GROUPS, geneval_prompts, summarise, word_group
    from sgt.analysis.run import COLUMNS, sample_questions, separability_from_features, write_csv
    from sgt.analysis.visual_attention import visual_attention_rows
    from sgt.data.images import read_image
    from sgt.models.preflight.common import run_probe

    extractor = extractor_for(backend)
    cluster, ident = cfg["cluster"], dict(ident)
    spec = CropSpec.from_config(dict(cfg))
    crops = probe_crops(cfg, data_root=data_root, split=split, source=source, scene_size=scene_size)
    qs = (  # the tiny analysis's questions where the split has embedded benchmarks, else annotation counts
        sample_questions(benchmarks, int(cfg["n_questions"]), seed)
        if benchmarks
        else annotation_questions(data_root, split, int(cfg["n_questions"]), seed, source=source)
    )
    prompts = geneval_prompts(int(cfg["n_prompts"]), seed)
    size = int(cluster["image_size"])
    with tempfile.TemporaryDirectory(prefix="sgt-analysis-") as tmp:
        inputs = {
            "crops": np.stack([square(c.image, size) for c in crops])
            if crops
            else np.zeros((0, size, size, 3), np.uint8)
        }
        inputs |= {f"question_image_{i}": read_image(q["image_path"]) for i, q in enumerate(qs)}
        np.savez(Path(tmp) / "inputs.npz", **inputs)
        request = {
            "model": str(Path(eval_model).absolute()),
            "inputs": str(Path(tmp) / "inputs.npz"),
            "arrays": str(Path(tmp) / "arrays.npz"),
            "questions": [{"question": q["question"], "answer": q["answer"]} for q in qs],
            "prompts": [{"text": p, "words": {w: word_group(w.lower()) for w in p.split()}} for p in prompts],
            "groups": {"word": list(WORD_GROUPS), "key": list(KEY_GROUPS)},
            "seed": seed,
            "threads": threads,
            "generation": {k: cluster[k] for k in ("num_timesteps", "timestep_shift", "resolution")}
            | {"timesteps": int(cfg["timesteps"])},
        }
        (Path(tmp) / "request.json").write_text(json.dumps(request), encoding="utf-8")
        got, stand_ins = run_probe(
            extractor.module,
            ["--request", str(Path(tmp) / "request.json")],
            checkout=Path(checkout),
            python=python or sys.executable,
            log=log,
            timeout_s=int(cluster["timeout_min"]) * 60,
            stand_ins=STAND_INS,
        )
        with np.load(request["arrays"]) as arrays:
            features, visual = arrays["features"], arrays["visual"]
    logger.info("%s hooks: %s; stand-ins: %s", backend, got["hooked"], stand_ins or "none")

    where = crops_from(cfg, split, source, crops)
    with threadpool_limits(max(1, threads)):  # as the tiny job: BLAS on the job's cores only
        points, probe = separability_from_features(features, crops, spec.classes, cfg, seed, where)
    write_csv([{**ident, **p} for p in points], COLUMNS["tsne"], outputs["tsne"])
    write_csv([{**ident, **probe}], COLUMNS["probe"], outputs["probe"])
    write_csv(
        [{**ident, **r} for r in visual_attention_rows(visual)],
        COLUMNS["visual_attention"],
        outputs["visual_attention"],
    )
    write_csv(
        [{**ident, **r} for r in summarise(got["prompt_rows"])],
        COLUMNS["prompt_attention"],
        outputs["prompt_attention"],
    )
    notes = [
        {**ident, "figure": f, "note": extractor.unavailable[f]}
        for f in FIGURES
        if f in extractor.unavailable
    ]
    if stand_ins:
        notes += [
            {
                **ident,
                "figure": f,
                "note": f"measured with stand-ins for {', '.join(stand_ins)} (not a real run)",
            }
            for f in FIGURES
        ]
    write_csv(notes, NOTE_COLUMNS, outputs["notes"])
    return got
