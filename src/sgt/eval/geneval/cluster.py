"""GenEval scores of the cluster models: one scoring job per run, over every generation seed's folder.

The images come from the models' own checkouts (rule ``generate_geneval``) in GenEval's layout; scoring is
``evaluate_geneval_images`` with the detector GenEval uses (Mask2Former + CLIP ViT-L/14 through
``transformers``, ``sgt.eval.geneval.hf_detector``) and the thresholds of ``evaluate_images.py``, both from
config ``eval.cluster_geneval.scoring``. The paper's GenEval numbers (Tables 3 and 7, Fig. 3b) are means over
12 generation seeds, so the tidy CSV holds those means; each seed's own score is kept as non-headline rows.
One job scores all seeds of a run so that the detector loads once (12 loads per run otherwise); each seed's
``results.jsonl`` is kept beside the CSV, and a requeued job reuses the ones that still match their folder.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sgt.eval.geneval.detectors import Detector, build_detector
from sgt.eval.geneval.rules import TAGS, GenEvalOptions, GenEvalSummary
from sgt.eval.geneval.runner import evaluate_geneval_images, iter_geneval_images, summarize_results_file
from sgt.scores import score_columns, write_tidy

logger = logging.getLogger(__name__)
BENCHMARK = "GenEval"  # config/paper_reference/benchmarks.yaml: the paper's GenEval column, relation "same"
KEY = "eval.cluster_geneval.scoring"
COLUMNS = tuple(score_columns("headline", "note"))  # as the VLMEvalKit runs write
OPTION_KEYS = ("threshold", "counting_threshold", "max_objects", "nms_threshold", "position_threshold")


def rule_options(cfg: Mapping[str, Any]) -> GenEvalOptions:
    """GenEval's rule thresholds from the scoring config (``evaluate_images.py``'s defaults where unset)."""
    return GenEvalOptions(**{k: cfg[k] for k in OPTION_KEYS if k in cfg})


def resolve_weights(value: str, key: str) -> str:
    """A local folder (absolute, ``./``/``../``/``~`` or existing) or a hub id ``org/name``.

    GPU nodes have no internet, so a local folder is the usual value there; a missing one is an error that
    names the config key instead of a hub lookup of a path.
    """
    expanded = os.path.expanduser(value)
    local = os.path.isabs(expanded) or value.startswith(("./", "../", "~")) or value.count("/") != 1
    if os.path.isdir(expanded):
        return expanded
    if local or os.path.exists(expanded):
        raise FileNotFoundError(
            f"{KEY}.{key} = {value!r}: no such model folder; download the weights on a node with internet "
            f"(huggingface-cli download <hub id> --local-dir <folder>) and set {KEY}.{key} to that folder"
        )
    return value


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        logger.warning("%s.device = auto found no GPU: scoring on the CPU is slow", KEY)
    return device


def _mask2former_clip_args(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The real detector: weights from config, colours for what can pass the lower threshold (as upstream)."""
    options = rule_options(cfg)
    return {
        "detector": resolve_weights(cfg["detector_weights"], "detector_weights"),
        "clip": resolve_weights(cfg["clip_weights"], "clip_weights"),
        "device": _device(cfg.get("device", "auto")),
        "label_map": dict(cfg.get("label_map") or {}),
        "color_min_score": min(options.threshold, options.counting_threshold),
        "max_per_class": options.max_objects,
    }


# detector name -> its keyword arguments from the scoring config; others get detector_args as they are
DETECTOR_ARGS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "mask2former_clip": _mask2former_clip_args,
}


def scoring_detector(cfg: Mapping[str, Any]) -> Detector:
    """The detector ``cfg['detector']`` names, built with its arguments from config."""
    name = cfg["detector"]
    builder = DETECTOR_ARGS.get(name)
    args = builder(cfg) if builder else {}
    args |= dict(cfg.get("detector_args") or {})
    try:
        return build_detector(name, **args)
    except OSError as err:  # transformers: no such hub id, no network, or weights that are not safetensors
        raise OSError(
            f"{KEY}: detector {name!r} could not load its weights ({err}); on a node without internet set "
            f"{KEY}.detector_weights and .clip_weights to local folders with safetensors weights"
        ) from err


def score_folder(
    imagedir: str | os.PathLike[str],
    results: str | os.PathLike[str],
    cfg: Mapping[str, Any],
    detector: Detector | None = None,
) -> Path:
    """One generated GenEval folder -> upstream-format ``results.jsonl``, with ``detector`` (a job scoring
    several folders passes the one it built) or the one ``cfg`` names."""
    return evaluate_geneval_images(imagedir, detector or scoring_detector(cfg), results, rule_options(cfg))


def _still_valid(results: Path, imagedir: str | os.PathLike[str]) -> bool:
    """A seed's ``results.jsonl`` from an earlier attempt of this job: reusable when it scores exactly the
    folder's images and is newer than every one of them (a regenerated folder is scored again)."""
    if not results.is_file():
        return False
    images = [path for path, _ in iter_geneval_images(imagedir)]
    if not images or results.stat().st_mtime < max(p.stat().st_mtime for p in images):
        return False
    try:
        scored = [json.loads(line)["filename"] for line in results.read_text(encoding="utf-8").splitlines()]
    except (ValueError, KeyError):
        return False
    return sorted(scored) == sorted(str(p) for p in images)


def score_run(
    folders: Mapping[int, str | os.PathLike[str]],
    scores_dir: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
    cfg: Mapping[str, Any],
    *,
    model: str,
    variant: str,
    seed: int,
) -> None:
    """The scoring job (rule score_geneval): each generation seed's folder -> ``<scores_dir>/gseed<g>/
    results.jsonl`` with one detector, then the tidy mean over the seeds at ``out_csv``."""
    detector: Detector | None = None
    results = {}
    for gseed, folder in sorted(folders.items()):
        path = Path(scores_dir) / f"gseed{gseed}" / "results.jsonl"
        if _still_valid(path, folder):
            logger.info("generation seed %d: %s already scores %s; kept", gseed, path, folder)
        else:
            detector = detector or scoring_detector(cfg)
            score_folder(folder, path, cfg, detector)
        results[gseed] = path
    average_seeds(results, out_csv, model=model, variant=variant, seed=seed)


def _summaries(results: Mapping[int, str | os.PathLike[str]]) -> dict[int, GenEvalSummary]:
    if not results:
        raise ValueError(f"no generation seeds to average; {KEY.rsplit('.', 1)[0]}.seeds is empty")
    out = {}
    for gseed, path in sorted(results.items()):
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"{path}: generation seed {gseed} has no GenEval results; rule score_geneval writes them "
                f"(its images: rule generate_geneval, gseed{gseed})"
            )
        out[gseed] = summarize_results_file(path)
    sizes = {g: (s.n_prompts, s.n_images) for g, s in out.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            f"generation seeds scored different prompt sets (seed: (prompts, images)) {sizes}; "
            "regenerate the incomplete folders before averaging"
        )
    return out


def seed_average_rows(
    results: Mapping[int, str | os.PathLike[str]], model: str, variant: str, seed: int
) -> list[dict[str, Any]]:
    """Tidy rows: per tag and overall the mean over generation seeds (percent; ``overall`` is the headline),
    then ``<metric>:gseed<g>`` rows with each seed's own score and ``overall:sd`` (not headline)."""
    summaries = _summaries(results)
    gseeds = list(summaries)
    per_seed: dict[str, list[float]] = {
        t: [] for t in TAGS if all(t in s.per_tag for s in summaries.values())
    }
    for s in summaries.values():
        for tag in per_seed:
            per_seed[tag].append(100 * s.per_tag[tag])
    per_seed["overall"] = [100 * s.overall for s in summaries.values()]
    overall = np.array(per_seed["overall"])
    sd = float(overall.std(ddof=1)) if len(overall) > 1 else math.nan
    missing = [t for t in TAGS if t not in per_seed]
    note = (
        f"mean of {len(gseeds)} generation seeds ({', '.join(map(str, gseeds))}); per-seed overall "
        f"{overall.min():.2f}-{overall.max():.2f}, sd "
        + ("n/a" if math.isnan(sd) else f"{sd:.2f}")
        + (f"; tags missing: {', '.join(missing)}" if missing else "")
    )
    base = {"model": model, "variant": variant, "seed": seed, "benchmark": BENCHMARK}
    rows = [
        base | {"metric": m, "value": round(float(np.mean(v)), 4), "headline": m == "overall", "note": ""}
        for m, v in per_seed.items()
    ]
    rows[-1]["note"] = note
    for m, values in per_seed.items():
        rows += [
            base | {"metric": f"{m}:gseed{g}", "value": round(v, 4), "headline": False, "note": ""}
            for g, v in zip(gseeds, values, strict=True)
        ]
    rows.append(base | {"metric": "overall:sd", "value": round(sd, 4), "headline": False, "note": ""})
    logger.info("GenEval %s/%s/seed%d: overall %.2f (%s)", model, variant, seed, float(overall.mean()), note)
    return rows


def average_seeds(
    results: Mapping[int, str | os.PathLike[str]],
    out_csv: str | os.PathLike[str],
    *,
    model: str,
    variant: str,
    seed: int,
) -> None:
    """The tidy CSV Tables 3 and 7 and Fig. 3b read, from one results.jsonl per generation seed.

    The columns of the VLMEvalKit runs' CSVs beside it, so the report reads both alike.
    """
    write_tidy(seed_average_rows(results, model, variant, seed), out_csv, columns=COLUMNS)
