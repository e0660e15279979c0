from __future__ import annotations

from sgt.eval.geneval.prompts import CLASSES, TOY_COLORS, toyworld_geneval_prompts, write_geneval_prompts
from sgt.eval.geneval.rules import TAGS, evaluate
from sgt.eval.geneval.runner import read_geneval_metadata


def test_prompt_set_has_geneval_tags_and_format(tmp_path):
    rows = toyworld_geneval_prompts(n_per_tag=6, seed=3)
    assert [r["tag"] for r in rows[: len(CLASSES)]] == ["single_object"] * len(CLASSES)
    assert {r["tag"] for r in rows} == set(TAGS)
    for r in rows:
        for clause in r["include"]:
            assert clause["class"] in CLASSES
            assert clause.get("color", "red") in TOY_COLORS
        if r["tag"] == "counting":
            (inc,), (exc,) = r["include"], r["exclude"]
            assert exc == {"class": inc["class"], "count": inc["count"] + 1} and 2 <= inc["count"] <= 4
        if r["tag"] == "position":
            assert r["include"][1]["position"][1] == 0 and r["include"][1]["position"][0] in r["prompt"]
        assert r["prompt"].startswith("a photo of ")
        evaluate(r, [], 64, 64)  # every row passes the rules' metadata checks
    write_geneval_prompts(rows, tmp_path / "evaluation_metadata.jsonl")
    assert read_geneval_metadata(tmp_path / "evaluation_metadata.jsonl") == rows


def test_prompt_set_is_deterministic_and_deduplicated():
    a = toyworld_geneval_prompts(n_per_tag=40, seed=0)
    assert a == toyworld_geneval_prompts(n_per_tag=40, seed=0)
    assert a != toyworld_geneval_prompts(n_per_tag=40, seed=1)
    assert len({str(r) for r in a}) == len(a) < len(CLASSES) + 5 * 40  # duplicates dropped
