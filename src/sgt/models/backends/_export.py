"""Export helpers the backends share: reading shards with their task checked, and the per-task schedule.

Every exported generative sample names its task explicitly, and that task comes from the shard row itself,
never from a folder name or a dataset class: the SGT fork's BAGEL per-task classes once trained seg/edge on
the input RGB (a reconstruction target) because the task lived only in code paths nobody tested.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pyarrow as pa

from sgt.io import atomic_write_bytes, read_parquet, sha256_bytes
from sgt.models.backend_interface import VQA_KEY
from sgt.seeding import rng_for

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Pair:
    """One (condition, target) pair of a task, as read from a shard row."""

    task: str
    image_id: int
    source: str
    instruction: str
    condition_png: bytes
    target_png: bytes
    condition_sha256: str
    target_sha256: str


def read_task_pairs(shards: Mapping[str, Sequence[Path]]) -> dict[str, list[Pair]]:
    """All pairs per task, in shard then row order; a shard row made for another task is an error (a mixed
    task's rows are its own: ``proxy_task`` is the task, ``task`` the member that made the pair)."""
    pairs: dict[str, list[Pair]] = {}
    for task in sorted(shards):
        rows: list[Pair] = []
        for shard in shards[task]:
            table: pa.Table = read_parquet(shard)
            for row in table.to_pylist():
                # proxy_task: the task the shard was made for; a mixed task's rows name their member in task
                made_for = row.get("proxy_task") or row["task"]
                if made_for != task:
                    raise ValueError(
                        f"{shard}: row for image {row['image_id']} was made for task {made_for!r} but the "
                        f"shard was given as task {task!r}; pass each task's own shards"
                    )
                if sha256_bytes(row["target_png"]) != row["target_sha256"]:
                    raise ValueError(f"{shard}: target of image {row['image_id']} does not match its sha256")
                rows.append(
                    Pair(
                        task,
                        int(row["image_id"]),
                        row["source"],
                        row["instruction"],
                        row["condition_png"],
                        row["target_png"],
                        row["condition_sha256"],
                        row["target_sha256"],
                    )
                )
        if not rows:
            raise ValueError(f"task {task!r}: its shards hold no pairs ({[str(s) for s in shards[task]]})")
        pairs[task] = rows
    return pairs


def split_mix(mix: Mapping[str, float], tasks: Sequence[str]) -> tuple[float, dict[str, float]]:
    """(VQA weight, generative weights per task), checked against the shards given."""
    bad = {k: v for k, v in mix.items() if isinstance(v, bool) or not isinstance(v, int | float) or v < 0}
    if bad:
        raise ValueError(f"recipe mix weights must be non-negative numbers, got {bad}")
    gen = {k: float(v) for k, v in mix.items() if k != VQA_KEY and v > 0}
    missing = sorted(set(gen) - set(tasks))
    if missing:
        raise ValueError(f"recipe mix names task(s) {missing} but no shards were given for them")
    vqa = float(mix.get(VQA_KEY, 0.0))
    if vqa <= 0 and not gen:
        raise ValueError("recipe mix has no positive weight; give 'vqa' and/or task weights")
    return vqa, gen


def small_ratio(weights: Mapping[str, float], max_denominator: int = 12) -> dict[str, int]:
    """Weights as the smallest integer counts with the same ratio ({a: 1, b: 2} stays 1:2)."""
    total = sum(weights.values())
    fracs = {k: Fraction(v / total).limit_denominator(max_denominator) for k, v in weights.items()}
    lcm = math.lcm(*(f.denominator for f in fracs.values()))
    counts = {k: int(f * lcm) for k, f in fracs.items()}
    g = math.gcd(*counts.values())
    return {k: c // g for k, c in counts.items()}


def schedule_length(pairs: Mapping[str, Sequence[Pair]], weights: Mapping[str, float]) -> int:
    """The shortest stream in ``weights`` ratio that holds every pair of every task at least once."""
    total = sum(weights.values())
    return max(math.ceil(len(pairs[t]) * total / w) for t, w in weights.items())


def schedule(
    pairs: Mapping[str, Sequence[Pair]], weights: Mapping[str, float], seed: int, min_length: int = 1
) -> list[Pair]:
    """Interleave tasks so every prefix holds them in ``weights`` ratio (smooth weighted round robin).

    The stream is long enough to use every pair of every task once; smaller tasks repeat, each task's pairs
    in a seeded order. Any contiguous window (a row group, a worker's slice) then has the configured mix.
    """
    total = sum(weights.values())
    share = {t: w / total for t, w in weights.items()}
    length = max(min_length, schedule_length(pairs, weights))
    order = {t: rng_for(seed, "schedule", t).permutation(len(pairs[t])) for t in weights}
    taken = dict.fromkeys(weights, 0)
    credit = dict.fromkeys(weights, 0.0)
    out: list[Pair] = []
    for _ in range(length):
        for t in weights:
            credit[t] += share[t]
        pick = max(sorted(weights), key=lambda t: credit[t])
        credit[pick] -= 1.0
        perm = order[pick]
        out.append(pairs[pick][int(perm[taken[pick] % len(perm)])])
        taken[pick] += 1
    logger.info("schedule of %d generative samples: %s", length, taken)
    return out


def repeat_to(items: Sequence, n: int) -> list:
    """``items`` cycled to at least ``n`` entries (upstream loaders hang on ranks/workers with no data)."""
    if not items:
        raise ValueError("nothing to repeat")
    reps = max(1, math.ceil(n / len(items)))
    return list(items) * reps


def cycle_to(items: Sequence, n: int) -> list:
    """``items`` cycled to exactly ``n`` entries (``n`` >= len), each used once before any repeats."""
    if not items:
        raise ValueError("nothing to cycle")
    if n < len(items):
        raise ValueError(f"cycle_to would drop {len(items) - n} of {len(items)} items")
    reps, rest = divmod(n, len(items))
    return list(items) * reps + list(items[:rest])


class ImageStore:
    """Content-addressed image files under one folder, so a condition shared by tasks is written once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, suffix: str = ".png") -> Path:
        sha = sha256_bytes(data)
        path = self.root / sha[:2] / f"{sha}{suffix}"
        if not path.exists():
            atomic_write_bytes(path, data)
        return path

    def put_file(self, src: Path) -> Path:
        return self.put(src.read_bytes(), src.suffix.lower() or ".png")
