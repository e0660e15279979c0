"""GenEval's per-image rules and summary, reproduced from djghosh13/geneval so scores compare with the paper.

Upstream (``evaluation/evaluate_images.py``) runs Mask2Former, keeps per class the detections scoring above
0.3 (0.9 for ``counting`` prompts), at most 16 per class, then checks the prompt's ``include`` clauses (AND:
count, CLIP-classified colour of the top-``count`` objects, relative position to an earlier clause's objects)
and ``exclude`` clauses (OR: fail when ``count`` or more are present). ``summary_scores.py`` averages
correctness per tag and the overall score is the mean of the tag means. Here the detector is pluggable
(``sgt.eval.geneval.detectors``) and already attaches each detection's colour, so this module is pure rules.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# evaluate_images.py defaults (its --options threshold, counting_threshold, max_objects, max_overlap,
# position_threshold).
THRESHOLD = 0.3
COUNTING_THRESHOLD = 0.9
MAX_OBJECTS = 16
NMS_THRESHOLD = 1.0  # 1.0 switches the overlap filter off, as upstream does by default
POSITION_THRESHOLD = 0.1
COLORS: tuple[str, ...] = (
    "red",
    "orange",
    "yellow",
    "green",
    "blue",
    "purple",
    "pink",
    "brown",
    "black",
    "white",
)
TAGS: tuple[str, ...] = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
RELATIONS: tuple[str, ...] = ("left of", "right of", "above", "below")


@dataclass(frozen=True, slots=True)
class GenEvalOptions:
    """evaluate_images.py's ``--options`` (defaults: its own); eval.cluster_geneval.scoring sets them."""

    threshold: float = THRESHOLD
    counting_threshold: float = COUNTING_THRESHOLD
    max_objects: int = MAX_OBJECTS
    nms_threshold: float = NMS_THRESHOLD
    position_threshold: float = POSITION_THRESHOLD

    def __post_init__(self) -> None:
        for name in ("threshold", "counting_threshold", "nms_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"GenEval option {name}={value} must be within [0, 1]")
        if self.max_objects < 1:
            raise ValueError(f"GenEval option max_objects={self.max_objects} must be at least 1")
        if self.position_threshold < 0:
            raise ValueError(f"GenEval option position_threshold={self.position_threshold} must be >= 0")


DEFAULT_OPTIONS = GenEvalOptions()


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected object in pixel coordinates; ``color`` is one of COLORS or None if not classified."""

    label: str
    score: float
    box: tuple[float, float, float, float]
    color: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Detection:
        try:
            box = tuple(float(v) for v in d["box"])
            det = cls(str(d["label"]), float(d["score"]), box, d.get("color"))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f"detection {dict(d)!r}: needs label, score, box [x1, y1, x2, y2], color ({err})"
            ) from err
        if len(det.box) != 4 or not all(math.isfinite(v) for v in det.box) or not math.isfinite(det.score):
            raise ValueError(f"detection {dict(d)!r}: box must be 4 finite numbers and score finite")
        if det.color is not None and det.color not in COLORS:
            raise ValueError(f"detection {dict(d)!r}: color must be one of {COLORS} or None")
        return det


def compute_iou(box_a: Sequence[float], box_b: Sequence[float]) -> float:
    """IoU with upstream's inclusive-pixel convention (+1 on widths and heights)."""

    def area(b: Sequence[float]) -> float:
        return max(b[2] - b[0] + 1, 0) * max(b[3] - b[1] + 1, 0)

    inter = area(
        (max(box_a[0], box_b[0]), max(box_a[1], box_b[1]), min(box_a[2], box_b[2]), min(box_a[3], box_b[3]))
    )
    union = area(box_a) + area(box_b) - inter
    return inter / union if union else 0.0


def relative_position(
    box_a: Sequence[float], box_b: Sequence[float], position_threshold: float = POSITION_THRESHOLD
) -> list[str]:
    """Relations of A to B: centre offset shrunk by 0.1 (``position_threshold``) x (summed box sizes) per
    axis, then its direction.

    A relation holds when the shrunk offset's component along it exceeds half the length of the raw offset,
    so a diagonal placement can be both "left of" and "above"; overlapping boxes have no relation.
    """
    boxes = np.array([box_a[:4], box_b[:4]], dtype=np.float64).reshape(2, 2, 2)
    center_a, center_b = boxes.mean(axis=-2)
    dim_a, dim_b = np.abs(np.diff(boxes, axis=-2))[..., 0, :]
    offset = center_a - center_b
    revised = np.maximum(np.abs(offset) - position_threshold * (dim_a + dim_b), 0) * np.sign(offset)
    if np.all(np.abs(revised) < 1e-3):
        return []
    dx, dy = revised / np.linalg.norm(offset)
    relations = []
    if dx < -0.5:
        relations.append("left of")
    if dx > 0.5:
        relations.append("right of")
    if dy < -0.5:
        relations.append("above")
    if dy > 0.5:
        relations.append("below")
    return relations


def keep_detections(
    detections: Iterable[Detection], tag: str, options: GenEvalOptions = DEFAULT_OPTIONS
) -> dict[str, list[Detection]]:
    """Upstream's per-class filter: score > threshold, best first, at most max_objects, overlap cut."""
    threshold = options.counting_threshold if tag == "counting" else options.threshold
    nms = options.nms_threshold
    by_class: dict[str, list[Detection]] = {}
    for det in detections:
        by_class.setdefault(det.label, []).append(det)
    kept: dict[str, list[Detection]] = {}
    for label, dets in by_class.items():
        scores = np.array([d.score for d in dets])
        ordering = np.argsort(scores)[::-1]  # same call as upstream, so ties resolve the same way
        ordering = ordering[scores[ordering] > threshold][: options.max_objects].tolist()
        chosen: list[Detection] = []
        while ordering:
            best = ordering.pop(0)
            chosen.append(dets[best])
            ordering = [i for i in ordering if nms == 1 or compute_iou(dets[best].box, dets[i].box) < nms]
        if chosen:
            kept[label] = chosen
    return kept


def _check_boxes(detections: Sequence[Detection], height: int, width: int) -> None:
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got height={height} width={width}")
    for det in detections:
        x1, y1, x2, y2 = det.box
        if x2 < x1 or y2 < y1 or x1 < -1 or y1 < -1 or x2 > width + 1 or y2 > height + 1:
            raise ValueError(
                f"detection {det.label!r} box {det.box} is not an [x1, y1, x2, y2] pixel box inside a "
                f"{width}x{height} image; the detector must return pixel coordinates of this image"
            )


def _validate_metadata(metadata: Mapping[str, Any]) -> None:
    if "tag" not in metadata:
        raise ValueError(
            f"GenEval metadata {dict(metadata)!r} has no 'tag'; use evaluation_metadata.jsonl rows"
        )
    for key in ("include", "exclude"):
        for req in metadata.get(key, []):
            if "class" not in req or "count" not in req:
                raise ValueError(f"GenEval metadata {key} clause {req!r} needs 'class' and 'count'")
    for i, req in enumerate(metadata.get("include", [])):
        if "color" in req and req["color"] not in COLORS:
            raise ValueError(f"GenEval metadata colour {req['color']!r} is not one of {COLORS}")
        if "position" in req:
            rel, target = req["position"]
            if rel not in RELATIONS:
                raise ValueError(f"GenEval metadata relation {rel!r} is not one of {RELATIONS}")
            if not 0 <= int(target) < i:
                raise ValueError(
                    f"GenEval metadata position target {target} must index an earlier include clause (< {i})"
                )


def _apply_rules(
    metadata: Mapping[str, Any], objects: Mapping[str, list[Detection]], position_threshold: float
) -> tuple[bool, list[str]]:
    correct = True
    reason: list[str] = []
    matched_groups: list[list[Detection] | None] = []
    for req in metadata.get("include", []):
        classname, count = req["class"], int(req["count"])
        matched = True
        found = objects.get(classname, [])[:count]
        if len(found) < count:
            correct = matched = False
            reason.append(f"expected {classname}>={count}, found {len(found)}")
        else:
            if "color" in req:
                colors = [d.color for d in found]
                if any(c is None for c in colors):
                    raise ValueError(
                        f"detections of {classname!r} carry no colour, but the prompt checks colour; "
                        "use a detector that classifies colours"
                    )
                n_ok = colors.count(req["color"])
                if n_ok < count:
                    correct = matched = False
                    reason.append(
                        f"expected {req['color']} {classname}>={count}, found {n_ok} {req['color']}; and "
                        + ", ".join(f"{colors.count(c)} {c}" for c in COLORS if c in colors)
                    )
            if "position" in req and matched:
                expected_rel, target_group = req["position"][0], int(req["position"][1])
                targets = matched_groups[target_group]
                if targets is None:
                    correct = matched = False
                    reason.append(f"no target for {classname} to be {expected_rel}")
                else:
                    for obj in found:
                        for target in targets:
                            true_rels = relative_position(obj.box, target.box, position_threshold)
                            if expected_rel not in true_rels:
                                correct = matched = False
                                reason.append(
                                    f"expected {classname} {expected_rel} target, found "
                                    f"{' and '.join(true_rels)} target"
                                )
                                break
                        if not matched:
                            break
        matched_groups.append(found if matched else None)
    for req in metadata.get("exclude", []):
        classname, count = req["class"], int(req["count"])
        n_found = len(objects.get(classname, []))
        if n_found >= count:
            correct = False
            reason.append(f"expected {classname}<{count}, found {n_found}")
    return correct, reason


def evaluate(
    metadata: Mapping[str, Any],
    detections: Sequence[Mapping[str, Any]],
    height: int,
    width: int,
    options: GenEvalOptions = DEFAULT_OPTIONS,
) -> tuple[bool, str]:
    """Is this image correct for its GenEval prompt? Returns (correct, upstream-style reason lines).

    ``detections`` are raw detector outputs (all scores); the tag-dependent score threshold, the per-class
    limit and the ordering by confidence are applied here, as upstream does before its rule check.
    """
    _validate_metadata(metadata)
    dets = [Detection.from_dict(d) for d in detections]
    _check_boxes(dets, height, width)
    objects = keep_detections(dets, metadata["tag"], options)
    correct, reason = _apply_rules(metadata, objects, options.position_threshold)
    return correct, "\n".join(reason)


def result_record(
    filename: str,
    metadata: Mapping[str, Any],
    detections: Sequence[Mapping[str, Any]],
    height: int,
    width: int,
    options: GenEvalOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """One line of upstream's ``results.jsonl``: filename, tag, prompt, correct, reason, metadata, details."""
    correct, reason = evaluate(metadata, detections, height, width, options)
    objects = keep_detections([Detection.from_dict(d) for d in detections], metadata["tag"], options)
    details = {k: [[*d.box, d.score] for d in v] for k, v in objects.items()}
    return {
        "filename": filename,
        "tag": metadata["tag"],
        "prompt": metadata["prompt"],
        "correct": bool(correct),
        "reason": reason,
        "metadata": json.dumps(dict(metadata)),
        "details": json.dumps(details),
    }


@dataclass(frozen=True, slots=True)
class GenEvalSummary:
    """What ``summary_scores.py`` prints: per-tag accuracy (first-seen tag order) and their mean."""

    per_tag: dict[str, float]
    overall: float
    n_images: int
    n_prompts: int
    image_accuracy: float
    prompt_accuracy: float


def summarize(results: Sequence[Mapping[str, Any]]) -> GenEvalSummary:
    """Per-tag means of ``correct`` and their unweighted mean, from ``result_record`` rows.

    Prompts are grouped by their metadata string, as upstream groups ``df.groupby('metadata')``.
    """
    if not results:
        raise ValueError("no GenEval results to summarise; evaluate some images first")
    per_tag_hits: dict[str, list[bool]] = {}
    per_prompt: dict[str, bool] = {}
    for row in results:
        ok = bool(row["correct"])
        per_tag_hits.setdefault(str(row["tag"]), []).append(ok)
        key = row["metadata"] if isinstance(row["metadata"], str) else json.dumps(row["metadata"])
        per_prompt[key] = per_prompt.get(key, False) or ok
    per_tag = {tag: float(np.mean(hits)) for tag, hits in per_tag_hits.items()}
    unknown = sorted(set(per_tag) - set(TAGS))
    if unknown:
        logger.warning("GenEval results contain tags outside %s: %s", TAGS, unknown)
    return GenEvalSummary(
        per_tag=per_tag,
        overall=float(np.mean(list(per_tag.values()))),
        n_images=len(results),
        n_prompts=len(per_prompt),
        image_accuracy=float(np.mean([bool(r["correct"]) for r in results])),
        prompt_accuracy=float(np.mean(list(per_prompt.values()))),
    )
