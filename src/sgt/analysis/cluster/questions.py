"""Fig. 8a's questions where the held-out split has no embedded benchmark (COCO: no toy-world scenes).

Counting questions in CV-Bench's wording, built from the split's instance annotations: one per image, about
a category it shows (crowd regions left out), answered with the count. Images and categories are drawn
with the run's seed, so every variant is asked the same questions.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sgt.seeding import rng_for

TEMPLATE = "How many {name}s are in the image? Answer with a number."


def annotation_questions(
    root: str | Path, split: str, n: int, seed: int, *, source: str
) -> list[dict[str, str]]:
    """``n`` counting questions (image_path, question, answer) on distinct images of ``split``."""
    from sgt.data.coco import CocoDataset

    ds = CocoDataset(root, split, source=source, panoptic=False)
    rng = rng_for(seed, "fig8a-annotation-questions")
    ids = ds.image_ids()
    out: list[dict[str, str]] = []
    for i in rng.permutation(len(ids)):
        if len(out) == n:
            break
        sample = ds.load(ids[int(i)])
        counts = Counter(ds.categories[x.category_id].name for x in sample.instances if not x.iscrowd)
        if not counts:
            continue
        name = sorted(counts)[int(rng.integers(len(counts)))]
        out.append(
            {
                "image_path": str(ds.image_path(ids[int(i)])),
                "question": TEMPLATE.format(name=name),
                "answer": str(counts[name]),
            }
        )
    if len(out) < n:
        raise ValueError(
            f"only {len(out)} annotated images in {root}/{split}; lower analysis.n_questions to {len(out)}"
        )
    return out
