"""Question-answer pairs from toy-world ground truth: SFT data and the embedded understanding benchmarks.

Each generator covers one capability group of the paper's Table 5 that the toy world can express:
vision-centric (counting, relative depth: CV-Bench-like), spatial relations (VSR-style true/false),
hallucination (POPE-style yes/no with random, popular and adversarial negatives) and general attributes
(colour). Benchmarks are written as VLMEvalKit-style TSVs (index, image_path, question, answer, category).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sgt.data.toyworld import THINGS
from sgt.io import atomic_path
from sgt.seeding import rng_for

Turn = tuple[str, str]  # (question, answer) of one exchange, without the <image> placeholder


@dataclass(frozen=True, slots=True)
class QA:
    """One VQA record; ``question``/``answer`` are its first exchange, so single-turn readers still work.

    ``turns`` holds every exchange of a multi-turn conversation (LLaVA-OneVision rows), the first equal to
    (question, answer); it is empty for single-turn records.
    """

    image_id: int
    image_path: str
    question: str
    answer: str
    category: str  # the sub-skill (count, depth, spatial, pope_random, ...) or the LLaVA subset
    turns: tuple[Turn, ...] = ()

    @property
    def all_turns(self) -> tuple[Turn, ...]:
        return self.turns or ((self.question, self.answer),)


Scene = dict[str, Any]
Generator = Callable[[Scene, np.random.Generator, "PoolStats"], Iterator[tuple[str, str, str]]]


@dataclass(frozen=True, slots=True)
class PoolStats:
    """Data-set-wide statistics the POPE-style negatives need."""

    frequency: dict[str, int]
    cooccurrence: dict[str, dict[str, int]]


def pool_stats(scenes: list[Scene]) -> PoolStats:
    freq: Counter[str] = Counter()
    co: dict[str, Counter[str]] = {name: Counter() for name in THINGS.values()}
    for scene in scenes:
        present = {o["category"] for o in scene["objects"]}
        freq.update(present)
        for a in present:
            co[a].update(present - {a})
    return PoolStats(dict(freq), {k: dict(v) for k, v in co.items()})


def _name(obj: dict[str, Any]) -> str:
    return f"{obj['color']} {obj['category']}"


def _unique(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Objects whose colour+shape name is unique in the scene, so a question can name them."""
    names = Counter(_name(o) for o in objects)
    return [o for o in objects if names[_name(o)] == 1]


def counting(scene: Scene, rng: np.random.Generator, stats: PoolStats) -> Iterator[tuple[str, str, str]]:
    counts = Counter(o["category"] for o in scene["objects"])
    shape = str(rng.choice(sorted(THINGS.values())))
    yield f"how many {shape}s are there?", str(counts.get(shape, 0)), "count"


def relative_depth(
    scene: Scene, rng: np.random.Generator, stats: PoolStats
) -> Iterator[tuple[str, str, str]]:
    objs = _unique(scene["objects"])
    if len(objs) < 2:
        return
    a, b = (objs[i] for i in rng.choice(len(objs), 2, replace=False))
    if abs(a["depth"] - b["depth"]) < 0.5:
        return
    closer = a if a["depth"] < b["depth"] else b
    yield f"which is closer, the {_name(a)} or the {_name(b)}?", _name(closer), "depth"


def spatial(scene: Scene, rng: np.random.Generator, stats: PoolStats) -> Iterator[tuple[str, str, str]]:
    objs = _unique(scene["objects"])
    if len(objs) < 2:
        return
    a, b = (objs[i] for i in rng.choice(len(objs), 2, replace=False))
    dx = a["centroid"][0] - b["centroid"][0]
    if abs(dx) < 4:
        return
    relation = str(rng.choice(["left of", "right of"]))
    truth = (dx < 0) == (relation == "left of")
    yield f"is the {_name(a)} {relation} the {_name(b)}?", "yes" if truth else "no", "spatial"


def presence(scene: Scene, rng: np.random.Generator, stats: PoolStats) -> Iterator[tuple[str, str, str]]:
    """POPE: one positive, and one negative drawn by the random, popular or adversarial rule."""
    present = sorted({o["category"] for o in scene["objects"]})
    absent = sorted(set(THINGS.values()) - set(present))
    if not present or not absent:
        return
    mode = str(rng.choice(["random", "popular", "adversarial"]))
    if mode == "random":
        neg = str(rng.choice(absent))
    elif mode == "popular":
        neg = max(absent, key=lambda c: (stats.frequency.get(c, 0), c))
    else:
        neg = max(absent, key=lambda c: (sum(stats.cooccurrence[p].get(c, 0) for p in present), c))
    if rng.random() < 0.5:
        yield f"is there a {str(rng.choice(present))} in the image?", "yes", f"pope_{mode}"
    else:
        yield f"is there a {neg} in the image?", "no", f"pope_{mode}"


def colour(scene: Scene, rng: np.random.Generator, stats: PoolStats) -> Iterator[tuple[str, str, str]]:
    shapes = Counter(o["category"] for o in scene["objects"])
    single = [o for o in scene["objects"] if shapes[o["category"]] == 1]
    if single:
        obj = single[int(rng.integers(len(single)))]
        yield f"what color is the {obj['category']}?", obj["color"], "color"


# Benchmark name -> generators; names follow the paper's capability groups (Table 5).
BENCHMARKS: dict[str, tuple[Generator, ...]] = {
    "toy_cvbench": (counting, relative_depth),
    "toy_vsr": (spatial,),
    "toy_pope": (presence,),
    "toy_attribute": (colour,),
}
GROUPS: dict[str, str] = {
    "toy_cvbench": "vision-centric",
    "toy_vsr": "spatial",
    "toy_pope": "hallucination",
    "toy_attribute": "general",
}


def load_scenes(root: str | Path, split: str) -> list[Scene]:
    path = Path(root) / "annotations" / f"scenes_{split}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} missing: VQA ground truth comes from the toy world's scene file; "
            "real COCO needs an external VQA set (LLaVA-OneVision) instead"
        )
    return json.loads(path.read_text(encoding="utf-8"))["scenes"]


def make_qa(
    root: str | Path,
    split: str,
    benchmarks: list[str],
    per_image: int,
    seed: int,
    image_ids: list[int] | None = None,
) -> list[QA]:
    """Up to ``per_image`` questions per (image, benchmark), seeded by (seed, split, benchmark, image id)."""
    scenes = load_scenes(root, split)
    if image_ids is not None:
        wanted = set(image_ids)
        scenes = [s for s in scenes if s["image_id"] in wanted]
    paths = [str(Path(root) / split / f"{scene['image_id']:012d}.jpg") for scene in scenes]
    return scene_questions(scenes, paths, split, benchmarks, per_image, seed)


def scene_questions(
    scenes: list[Scene], image_paths: list[str], split: str, benchmarks: list[str], per_image: int, seed: int
) -> list[QA]:
    """``make_qa`` over scenes already in memory (``image_paths[k]`` names scene k's image)."""
    stats = pool_stats(scenes)
    unknown = sorted(set(benchmarks) - set(BENCHMARKS))
    if unknown:
        raise KeyError(f"unknown embedded benchmark(s) {unknown}; known: {sorted(BENCHMARKS)}")
    out: list[QA] = []
    for scene, image_path in zip(scenes, image_paths, strict=True):
        for bench in benchmarks:
            rng = rng_for(seed, "vqa", split, bench, scene["image_id"])
            seen: set[str] = set()
            for _ in range(per_image):
                gen = BENCHMARKS[bench][int(rng.integers(len(BENCHMARKS[bench])))]
                for q, a, cat in gen(scene, rng, stats):
                    if q not in seen:
                        seen.add(q)
                        out.append(QA(scene["image_id"], image_path, q, a, cat))
    return out


TSV_COLUMNS = ["index", "image_path", "question", "answer", "category"]


def write_tsv(rows: list[QA], out: str | Path) -> None:
    with atomic_path(out, suffix=".tsv") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(TSV_COLUMNS)
        for i, r in enumerate(rows):
            writer.writerow([i, r.image_path, r.question, r.answer, r.category])


def read_tsv(path: str | Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if rows and set(TSV_COLUMNS) - set(rows[0]):
        raise ValueError(f"{path}: missing TSV columns {sorted(set(TSV_COLUMNS) - set(rows[0]))}")
    return rows


def llava_conversation(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """LLaVA's ``[{from: human|gpt, value}]`` with one ``<image>`` placeholder, at the start of the first
    human turn: where BAGEL's and OmniGen2's SFT readers put the image."""
    out = []
    for k, (question, answer) in enumerate(turns):
        out.append({"from": "human", "value": f"<image>\n{question}" if k == 0 else question})
        out.append({"from": "gpt", "value": answer})
    return out


def conversation_turns(conversations: Iterable[Mapping[str, Any]] | None) -> list[Turn]:
    """(question, answer) pairs of a LLaVA conversation, ``<image>`` placeholders removed; a human turn
    without a gpt reply (or a reply without a question) is dropped."""
    pairs, question = [], None
    for turn in conversations or []:
        role, text = turn.get("from"), str(turn.get("value", ""))
        if role == "human":
            question = text.replace("<image>", "").strip()
        elif role == "gpt" and question is not None:
            pairs.append((question, text.strip()))
            question = None
    return pairs


def split_turns(rows: Iterable[QA]) -> list[QA]:
    """One single-turn record per exchange, for readers that take one question and answer per record
    (the tiny model, OmniGen2's SFT reader); later questions lose the earlier exchanges as context."""
    return [replace(r, question=q, answer=a, turns=()) for r in rows for q, a in r.all_turns]


def write_jsonl(rows: Iterable[QA], out: str | Path) -> None:
    """One record a line with ``image`` (absolute path), ``question`` and ``answer``: the VQA format every
    model reads (:func:`read_jsonl`), plus our ``image_id`` and ``category``, and ``conversations`` (LLaVA
    format, every exchange) for multi-turn records only, so single-turn files keep their bytes."""
    with atomic_path(out, suffix=".jsonl") as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for r in rows:
            record = asdict(r)
            record["image"] = str(Path(record.pop("image_path")).resolve())
            turns = record.pop("turns")
            if len(turns) > 1:
                record["conversations"] = llava_conversation(turns)
            fh.write(json.dumps(record, sort_keys=True) + "\n")


def read_jsonl(path: str | Path) -> list[QA]:
    """Read the VQA SFT JSONL every model reads (the tiny model and each cluster backend's export).

    One record a line: ``{"image": <path, absolute or relative to the JSONL's folder>, "question",
    "answer"}``, optionally with our ``image_id`` and ``category`` and, for a multi-turn conversation,
    ``conversations`` (LLaVA format) whose first exchange is the question and answer. Image paths come
    back absolute; a missing key, a missing image or an empty file is an error. Readers that take one
    exchange per record call :func:`split_turns`; BAGEL's export keeps conversations whole.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no VQA JSONL; write one record a line with image/question/answer")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{n}: not valid JSON ({err})") from err
        missing = sorted({"image", "question", "answer"} - set(r))
        if missing:
            raise ValueError(f"{path}:{n}: VQA record lacks {missing}; each needs image, question, answer")
        image = Path(r["image"])
        image = image if image.is_absolute() else path.parent / image
        if not image.is_file():
            raise FileNotFoundError(f"{path}:{n}: image {image} does not exist")
        turns = conversation_turns(r.get("conversations"))
        if "conversations" in r and (not turns or turns[0] != (str(r["question"]), str(r["answer"]))):
            raise ValueError(
                f"{path}:{n}: 'conversations' must be LLaVA turns whose first exchange equals question/answer"
            )
        rows.append(
            QA(
                int(r.get("image_id", -1)),
                str(image.absolute()),
                str(r["question"]),
                str(r["answer"]),
                str(r.get("category", "")),
                tuple(turns) if len(turns) > 1 else (),
            )
        )
    if not rows:
        raise ValueError(f"{path}: no VQA records; a recipe with a 'vqa' weight needs at least one")
    return rows
