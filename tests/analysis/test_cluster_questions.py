"""Fig. 8a's questions on a split without embedded benchmarks: counting questions from its annotations."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.analysis.cluster.questions import annotation_questions
from sgt.data.coco import CocoDataset


def test_counts_match_the_annotations_and_the_seed_fixes_them(toyworld_root: Path) -> None:
    qs = annotation_questions(toyworld_root, "val2017", 4, 0, source="toyworld")
    assert len(qs) == 4 and len({q["image_path"] for q in qs}) == 4
    ds = CocoDataset(toyworld_root, "val2017", source="toyworld", panoptic=False)
    by_path = {str(ds.image_path(i)): i for i in ds.image_ids()}
    for q in qs:
        sample = ds.load(by_path[q["image_path"]])
        name = q["question"].removeprefix("How many ").split("s are in")[0]
        count = sum(
            1 for x in sample.instances if ds.categories[x.category_id].name == name and not x.iscrowd
        )
        assert q["answer"] == str(count) and count > 0
    assert annotation_questions(toyworld_root, "val2017", 4, 0, source="toyworld") == qs
    assert annotation_questions(toyworld_root, "val2017", 4, 1, source="toyworld") != qs


def test_too_many_questions_names_the_limit(toyworld_root: Path) -> None:
    with pytest.raises(ValueError, match=r"lower analysis\.n_questions"):
        annotation_questions(toyworld_root, "val2017", 10_000, 0, source="toyworld")
