"""Multi-turn VQA records: written as LLaVA conversations, read back whole, split only where asked."""

from __future__ import annotations

import json

import pytest

from sgt.data.vqa import QA, llava_conversation, read_jsonl, split_turns, write_jsonl


def test_conversations_round_trip_and_single_turn_files_keep_their_bytes(tmp_path):
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    single = QA(3, str(image), "what?", "that", "color")
    multi = QA(-1, str(image), "q1", "a1", "sharegpt4o", (("q1", "a1"), ("q2", "a2"), ("q3", "a3")))
    write_jsonl([single, multi], tmp_path / "vqa.jsonl")
    first, second = (json.loads(line) for line in (tmp_path / "vqa.jsonl").read_text().splitlines())
    assert sorted(first) == ["answer", "category", "image", "image_id", "question"]  # as before turns existed
    assert second["conversations"] == llava_conversation(multi.turns)
    values = [t["value"] for t in second["conversations"]]
    assert values[0] == "<image>\nq1" and sum("<image>" in v for v in values) == 1
    assert read_jsonl(tmp_path / "vqa.jsonl") == [single, multi]
    assert [(r.question, r.answer, r.turns) for r in split_turns([single, multi])] == [
        ("what?", "that", ()),
        ("q1", "a1", ()),
        ("q2", "a2", ()),
        ("q3", "a3", ()),
    ]


def test_conversations_must_start_with_the_question_and_answer(tmp_path):
    (tmp_path / "a.png").write_bytes(b"png")
    conv = [{"from": "human", "value": "<image>\nother"}, {"from": "gpt", "value": "x"}]
    record = {"image": "a.png", "question": "q", "answer": "a", "conversations": conv}
    (tmp_path / "bad.jsonl").write_text(json.dumps(record) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: 'conversations' must be LLaVA turns whose first"):
        read_jsonl(tmp_path / "bad.jsonl")
