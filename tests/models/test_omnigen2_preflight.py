"""OmniGen2 preflight: probe and judges end to end on a stand-in fork checkout, and each judge alone."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from backend_helpers import paper_recipe
from omnigen2_checkout import write_checkout

from sgt.models.backends.omnigen2 import OmniGen2Backend
from sgt.models.preflight import PreflightError, judge
from sgt.models.preflight.omnigen2 import judge_facts

RECIPE = dict(steps=2500, lr=4e-4, warmup=300, batch_size=60)
MIX = {"vqa": 1, "semantic": 2}


def backend_on(checkout: Path, tmp: Path) -> OmniGen2Backend:
    return OmniGen2Backend(
        checkout=checkout, model_path=tmp / "m", vae_path=tmp / "vae", text_encoder_path=tmp / "te", gpus=4
    )


def preflight(checkout: Path, toy_shards, vqa_jsonl, tmp: Path, edit_yaml=None):
    backend = backend_on(checkout, tmp)
    recipe = paper_recipe(**RECIPE, mix=MIX)
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp / "export")
    config = backend.write_config(root, recipe, tmp / "train.yml")
    if edit_yaml:
        config.write_text(edit_yaml(config.read_text()))
    return backend.preflight(config, recipe, tmp / "preflight", tmp / "preflight.log", ), recipe  # fmt: skip


def test_stand_in_fork_passes_and_reports_its_figures(toy_shards, vqa_jsonl, tmp_path):
    checkout = write_checkout(tmp_path / "OmniGen2")
    result, _ = preflight(checkout, toy_shards, vqa_jsonl, tmp_path)
    judge("omnigen2", result.findings)
    fig = result.figures
    assert fig["mode"] == "fork" and fig["processes"] == 4
    assert fig["effective_global_batch"] == {"min": 60, "max": 60}
    assert fig["sft_share"] == {"recipe": 0.3333, "min": 0.3333, "max": 0.3333}
    assert fig["batches_drawn"] == 4 * 15 and fig["samples_drawn"] == 60 and fig["skipped"] == 0
    assert fig["records"] == {"records": 60, "gen": 40, "sft": 20} and fig["taken"] == {"gen": 40, "sft": 20}
    assert fig["config"]["reached_model_loading"]
    assert [c["key"] for c in fig["config"]["conversions"]] == [
        "logger.log_with",
        "data.max_input_pixels",
        "data.interleave_pattern",
    ]
    assert any("qwen2.5-vl" in s for s in result.stand_ins)
    assert not (checkout / "experiments").exists()  # train.py's output went to the preflight's scratch


def test_wrong_routing_skips_and_old_log_with_fail_naming_each_invariant(toy_shards, vqa_jsonl, tmp_path):
    checkout = write_checkout(
        tmp_path / "OmniGen2",
        {
            # generation records to a reader that trains on the condition image
            "return self.process_panoptic(data_item)": "return self.process_item(data_item)",
            "    def process_panoptic(self, data_item):": (
                "    def process_item(self, data_item):\n"
                "        path = data_item['input_images'][0]\n"
                "        instruction = self.apply_chat_template(data_item['instruction'], '')\n"
                "        return self._gen_sample(data_item['task_type'], instruction, path, path)\n\n"
                "    def process_panoptic(self, data_item):"
            ),
            # some SFT records fail and __getitem__ quietly takes the next one
            '        human = next(c["value"]': (
                '        if data_item["id"].endswith("3"):\n'
                '            raise ValueError("too long")\n'
                '        human = next(c["value"]'
            ),
        },
    )
    result, _ = preflight(
        checkout, toy_shards, vqa_jsonl, tmp_path, lambda text: text.replace("log_with: []", "log_with: null")
    )
    broken = {f.invariant: f for f in result.findings if not f.ok}
    assert set(broken) == {
        "train.py's config handling reaches model loading",
        "every YAML value train.py converts survives the conversion",
        "the loss image is the pair's target",
        "no record is skipped",
    }
    assert "train.py:" in broken["train.py's config handling reaches model loading"].detail
    assert broken["the loss image is the pair's target"].upstream.startswith("omnigen2/dataset/")
    with pytest.raises(PreflightError, match="the loss image is the pair's target"):
        judge("omnigen2", result.findings)


def facts(steps=None, samples=None, conversions=None, mode="fork") -> dict:
    """Probe facts of one clean 1:2 step on 4 ranks; arguments replace parts."""
    gen = {
        "fact": "sample",
        "kind": "gen",
        "returned": True,
        "index": 0,
        "task": "semantic",
        "record_target": "/t.png",
        "target_sha256": "t",
        "instruction": "Segment it.",
        "item_task": "semantic",
        "item_target": "/t.png",
        "item_target_sha256": "t",
        "item_instruction": "<|im_start|>user\nSegment it.<|im_end|>",
        "has_output": True,
    }
    sft = {
        "fact": "sample",
        "kind": "sft",
        "returned": True,
        "index": 1,
        "record_id": "sgt-vqa-000001",
        "question": "<image>\nWhat shade?",
        "answer": "grey",
        "item_id": "sgt-vqa-000001",
        "item_task": "sft",
    }
    return {
        "mode": mode,
        "processes": 4,
        "config": {
            "reached_model_loading": True,
            "error": None,
            "loaded": {"logger": {"log_with": []}, "train": {"batch_size": 1}},
            "conversions": conversions or [{"key": "logger.log_with", "ok": True, "value": [], "where": "x"}],
        },
        "dataset": {"records": 60, "gen": 40, "sft": 20},
        "epoch": {
            "micro_batches_per_rank": [15] * 4,
            "steps_per_rank": [1] * 4,
            "steps": steps or [{"samples": 60, "sft": 20, "micro": 15, "mixed": 0}],
        },
        "batches": [{"fact": "batch", "task_types": ["sft"], "labels": ["grey"]}],
        "samples": samples or [gen, sft],
    }


PLAIN = {"logger": {"log_with": []}, "train": {"batch_size": 1}}


def broken(f: dict) -> set[str]:
    return {x.invariant for x in judge_facts(f, paper_recipe(**RECIPE, mix=MIX), PLAIN) if not x.ok}


def test_judges_pass_a_clean_probe():
    assert broken(facts()) == set()


def test_judges_name_a_short_step_a_mixed_micro_step_and_a_drifting_mix():
    short = [
        {"samples": 60, "sft": 20, "micro": 15, "mixed": 0},
        {"samples": 12, "sft": 4, "micro": 3, "mixed": 0},
    ]
    assert broken(facts(steps=short)) == {
        "samples per optimizer step equal the recipe's global batch within ±5%"
    }
    mixed = [{"samples": 60, "sft": 20, "micro": 15, "mixed": 3}]
    assert broken(facts(steps=mixed)) == {"every micro-step holds one task type on all ranks"}
    drift = [{"samples": 60, "sft": 30, "micro": 15, "mixed": 0}]
    assert broken(facts(steps=drift)) == {
        "the SFT share of every optimizer step is within 0.05 of the recipe's"
    }


def test_judges_name_a_changed_value_labels_beyond_the_answer_and_another_instruction():
    stringly = [{"key": "logger.log_with", "ok": True, "value": "[]", "where": "x"}]
    assert broken(facts(conversions=stringly)) == {
        "every YAML value train.py converts survives the conversion"
    }
    f = facts()
    f["batches"][0]["labels"] = ["What shade? grey"]
    assert broken(f) == {"VQA labels cover only the answer"}
    f = facts()
    gen = copy.deepcopy(f["samples"][0])
    gen["item_instruction"] = "<|im_start|>user\nSegment the image.<|im_end|>"  # a random prompt list's
    f["samples"][0] = gen
    assert broken(f) == {"a generation sample carries its pair's instruction"}
