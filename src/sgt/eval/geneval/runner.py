"""GenEval's file layout: prompts in, ``<outdir>/<index:05d>/{metadata.jsonl, samples/<k:04d>.png}`` out.

The layout is the one GenEval's generation script writes and ``evaluate_images.py`` walks, so images we
generate can also be scored by the upstream evaluator, and upstream-generated folders by ours.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image
from tqdm import tqdm

from sgt.eval.geneval.detectors import Detector
from sgt.eval.geneval.rules import (
    DEFAULT_OPTIONS,
    TAGS,
    GenEvalOptions,
    GenEvalSummary,
    result_record,
    summarize,
)
from sgt.io import atomic_dir, atomic_path

logger = logging.getLogger(__name__)

GenerateFn = Callable[[str, int], npt.NDArray[np.uint8]]
_SAMPLE_RE = re.compile(r"\d+\.png")


def read_geneval_metadata(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows of GenEval's ``evaluation_metadata.jsonl`` (one JSON object per line: tag, include, prompt)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"{p}: no GenEval metadata; get prompts/evaluation_metadata.jsonl from GenEval"
        )
    rows = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"tag", "include", "prompt"} - set(row)
        if missing:
            raise ValueError(f"{p}:{n}: GenEval metadata row lacks {sorted(missing)}")
        if row["tag"] not in TAGS:
            raise ValueError(f"{p}:{n}: unknown GenEval tag {row['tag']!r}; known: {TAGS}")
        rows.append(row)
    return rows


def _prompt_done(folder: Path, metadata: Mapping[str, Any], n_images: int) -> bool:
    meta_file = folder / "metadata.jsonl"
    if not meta_file.is_file():
        return False
    if json.loads(meta_file.read_text(encoding="utf-8")) != dict(metadata):
        return False
    return all((folder / "samples" / f"{k:04d}.png").is_file() for k in range(n_images))


def write_geneval_outputs(
    prompts: Sequence[Mapping[str, Any]],
    generate_fn: GenerateFn,
    outdir: str | os.PathLike[str],
    n_images: int,
    seeds: Sequence[int],
) -> Path:
    """Generate ``n_images`` per prompt; image ``k`` of every prompt uses ``seeds[k]``.

    Like GenEval's generator, each prompt restarts from the same seeds, so runs differ only by prompt.
    Each prompt folder appears atomically; complete folders with the same metadata are kept (resume).
    """
    if len(seeds) != n_images:
        raise ValueError(f"need one seed per image: n_images={n_images} but {len(seeds)} seeds")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    n_new = 0
    for index, metadata in enumerate(tqdm(prompts, desc="geneval prompts", disable=None)):
        folder = out / f"{index:05d}"
        if _prompt_done(folder, metadata, n_images):
            continue
        with atomic_dir(folder) as tmp:
            (tmp / "metadata.jsonl").write_text(json.dumps(dict(metadata)), encoding="utf-8")
            (tmp / "samples").mkdir()
            for k, seed in enumerate(seeds):
                image = np.asarray(generate_fn(str(metadata["prompt"]), int(seed)))
                if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                    raise ValueError(
                        f"generate_fn gave {image.dtype} {image.shape} for prompt {index}; need uint8 HxWx3"
                    )
                Image.fromarray(image).save(tmp / "samples" / f"{k:04d}.png")
        n_new += 1
    logger.info("GenEval outputs in %s: %d prompts, %d newly generated", out, len(prompts), n_new)
    return out


def iter_geneval_images(imagedir: str | os.PathLike[str]) -> list[tuple[Path, dict[str, Any]]]:
    """(image path, metadata) pairs in the folders ``evaluate_images.py`` would read, in sorted order."""
    root = Path(imagedir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no GenEval output folder; run write_geneval_outputs first")
    pairs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        metadata = json.loads((folder / "metadata.jsonl").read_text(encoding="utf-8"))
        samples = folder / "samples"
        for image in sorted(samples.iterdir() if samples.is_dir() else []):
            if image.is_file() and _SAMPLE_RE.fullmatch(image.name):
                pairs.append((image, metadata))
    return pairs


def evaluate_geneval_images(
    imagedir: str | os.PathLike[str],
    detector: Detector,
    outfile: str | os.PathLike[str],
    options: GenEvalOptions = DEFAULT_OPTIONS,
) -> Path:
    """Score every sample with ``detector`` under the rule ``options`` and write upstream-format
    ``results.jsonl``, a row per image."""
    pairs = iter_geneval_images(imagedir)
    if not pairs:
        raise ValueError(f"{imagedir}: no <index>/samples/<k>.png images found")
    rows = []
    for path, metadata in tqdm(pairs, desc="geneval images", disable=None):
        image = np.asarray(Image.open(path).convert("RGB"))
        detections = detector.detect(image)
        rows.append(result_record(str(path), metadata, detections, image.shape[0], image.shape[1], options))
    with atomic_path(outfile) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    s = summarize(rows)
    logger.info("GenEval %s: overall %.4f over %d images", imagedir, s.overall, s.n_images)
    return Path(outfile)


def summarize_results_file(path: str | os.PathLike[str]) -> GenEvalSummary:
    """``summary_scores.py`` on a ``results.jsonl`` (ours or upstream's)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no GenEval results; run evaluate_geneval_images first")
    rows = [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return summarize(rows)


def summary_rows(
    summary: GenEvalSummary, model: str, variant: str, benchmark: str = "GenEval"
) -> list[dict[str, Any]]:
    """Tidy rows (model, variant, benchmark, metric, value, headline, note, source); values in percent."""
    base = {"model": model, "variant": variant, "benchmark": benchmark, "note": "", "source": "results.jsonl"}
    rows = [base | {"metric": tag, "value": 100 * v, "headline": False} for tag, v in summary.per_tag.items()]
    missing = [t for t in TAGS if t not in summary.per_tag]
    note = f"tags missing: {', '.join(missing)}" if missing else ""
    rows.append(base | {"metric": "overall", "value": 100 * summary.overall, "headline": True, "note": note})
    return rows
