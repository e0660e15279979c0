"""The BAGEL preflight harness end to end, on a stand-in package with upstream's module layout.

CI has no network and so no checkout: ``stand_in_bagel/`` keeps the names the probe uses and can be told to
misbehave. Each fault must fail the preflight naming its invariant and the upstream file; the real pinned
checkout was run by hand (docs/backends.md, "Preflight against the pinned checkouts").
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from backend_helpers import paper_recipe

from sgt.models.backends.bagel import BagelBackend, _dataset_info_path
from sgt.models.backends.run import EXPORT_CONFIG, export_training_data, preflight_run, recipe_for
from sgt.models.preflight import PreflightError, read_report, run_probe
from sgt.models.preflight.bagel import derive_tokens_per_sample, recipe_shares
from sgt.models.preflight.common import probe_session

STAND_IN = Path(__file__).parent / "stand_in_bagel"
# tokens_per_sample: what the calibration derives for these toy pairs, so most tests need one pass
MODEL = {
    "backend": "bagel",
    "model_path": "/nonexistent/BAGEL-7B-MoT",
    "gpus": 2,
    "preflight_batches": 12,
    "tokens_per_sample": 1926,
}
RECIPE = {"lr": 1e-4, "warmup": 10, "steps": 100, "batch_size": 12}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    return Path(shutil.copytree(STAND_IN, tmp_path / "Bagel"))


def export(tmp_path: Path, toy_shards, vqa_jsonl, mix: dict[str, int]) -> tuple[Path, object]:
    recipe = recipe_for({**MODEL, "recipe": RECIPE}, "v", mix, 0)
    shards = {t: v for t, v in toy_shards.items() if t in mix}
    vqa = vqa_jsonl if "vqa" in mix else None
    out = export_training_data(MODEL, shards, vqa, recipe, tmp_path / "export", checkout=tmp_path / "Bagel")
    return out, recipe


def run(tmp_path: Path, checkout: Path, exported: Path, recipe) -> dict:
    cfg = {**MODEL, "recipe": RECIPE}
    return preflight_run(
        cfg, exported, recipe, tmp_path / "report.json", checkout=checkout, workdir=tmp_path / "work"
    )


def test_preflight_passes_and_records_its_figures(tmp_path, checkout, toy_shards, vqa_jsonl):
    exported, recipe = export(tmp_path, toy_shards, vqa_jsonl, {"vqa": 1, "semantic": 2})
    report = run(tmp_path, checkout, exported, recipe)
    findings = {f["invariant"]: f for f in report["findings"]}
    assert all(f["ok"] for f in findings.values()), findings
    assert {
        "loss image is the pair's target",
        "VQA labels cover only the answer",
        "no record is skipped",
    } <= set(findings)
    fig = report["figures"]
    assert fig["batches"] == 12 and abs(fig["effective_global_batch"] - 12) <= 0.6
    assert set(fig["group_shares"]) == {"unified_edit", "vlm_sft"}
    assert fig["launch_options"]["tokens_per_sample"] == 1926 and fig["calibration_passes"] == 1
    assert any(s.startswith("tokenizer") for s in report["stand_ins"])  # no model folder: named as stand-in


@pytest.mark.parametrize(
    ("fault", "invariant", "upstream"),
    [
        ("loss_on_condition", "loss image is the pair's target", "edit_dataset.py"),
        ("labels_on_question", "VQA labels cover only the answer", "vlm_dataset.py"),
    ],
)
def test_a_misbehaving_loader_fails_the_preflight_naming_the_invariant(
    tmp_path, checkout, toy_shards, vqa_jsonl, monkeypatch, fault, invariant, upstream
):
    exported, recipe = export(tmp_path, toy_shards, vqa_jsonl, {"vqa": 1, "semantic": 2})
    monkeypatch.setenv("SGT_STAND_IN_FAULT", fault)
    with pytest.raises(PreflightError, match=invariant) as err:
        run(tmp_path, checkout, exported, recipe)
    assert upstream in str(err.value)
    assert not (tmp_path / "report.json").exists()  # the train job's input is never written
    kept = read_report(tmp_path / "work" / "report.json")  # but the failed report is kept to read
    assert [f["invariant"] for f in kept["findings"] if not f["ok"]] == [invariant]


def test_an_unreadable_record_is_counted_as_skipped(tmp_path, checkout, toy_shards, vqa_jsonl):
    exported, recipe = export(tmp_path, toy_shards, None, {"semantic": 1})
    part = next((exported / "data" / "edit").glob("*.parquet"))
    meta = pq.ParquetFile(part)
    groups = [meta.read_row_group(g) for g in range(meta.metadata.num_row_groups)]
    with pq.ParquetWriter(part, meta.schema_arrow) as writer:
        for k, group in enumerate(groups):
            rows = group.to_pydict()
            if k == 0:
                rows["image_list"][0] = [b"not a png", rows["image_list"][0][1]]
            writer.write_table(pa.table(rows, schema=meta.schema_arrow), row_group_size=group.num_rows)
    with pytest.raises(PreflightError, match=r"no record is skipped: .* [1-9]\d* skipped by the readers"):
        run(tmp_path, checkout, exported, recipe)


def test_generation_only_recipe_checks_the_entry_scripts_patch(tmp_path, checkout, toy_shards):
    exported, recipe = export(tmp_path, toy_shards, None, {"semantic": 1, "edge": 1})
    report = run(tmp_path, checkout, exported, recipe)
    findings = {f["invariant"]: f for f in report["findings"]}
    assert "generation only" in findings["the entry script runs this checkout's trainer"]["detail"]
    assert "VQA labels cover only the answer" not in findings
    assert report["figures"]["tasks"].keys() == {"semantic", "edge"}
    # a trainer without the assert the patch removes is not the pinned one
    trainer = checkout / "train" / "pretrain_unified_navit.py"
    trainer.write_text(trainer.read_text().replace("assert not training_args.visual_und", "pass"))
    with pytest.raises(PreflightError, match="the entry script runs this checkout's trainer"):
        run(tmp_path, checkout, exported, recipe)


def test_calibration_derives_tokens_per_sample_when_the_batch_is_off(
    tmp_path, checkout, toy_shards, vqa_jsonl
):
    exported, recipe = export(tmp_path, toy_shards, vqa_jsonl, {"vqa": 1, "semantic": 2})
    cfg = {**MODEL, "tokens_per_sample": 2400, "recipe": RECIPE}  # BAGEL's old estimate: batches 25 % too big
    report = preflight_run(
        cfg, exported, recipe, tmp_path / "report.json", checkout=checkout, workdir=tmp_path / "work"
    )
    assert report["figures"]["calibration_passes"] == 2
    assert report["figures"]["launch_options"]["tokens_per_sample"] == 1926

    # the passes share one probe process; pass 2 there measures what a fresh process measures
    work = tmp_path / "work"
    info = _dataset_info_path(Path(exported, EXPORT_CONFIG).absolute())
    args = ["--entry", str(work / "sgt_bagel_entry.py"), "--dataset-info", str(info)]
    args += ["--tokenizer", str(work / "stand_in_tokenizer"), "--world-size", "2", "--batches", "12"]
    env = {"SGT_BAGEL_NO_CE": "0"}
    probe = "sgt.models.preflight.bagel_probe"
    with probe_session(probe, args, checkout=checkout, env=env) as (session, _):
        shared = [session.run({"flags": str(work / f"flags-{k}.json")}) for k in (1, 2)]
    fresh, _ = run_probe(probe, [*args, "--flags", str(work / "flags-2.json")], checkout=checkout, env=env)
    assert shared[1] == fresh
    assert shared[0]["expected_num_tokens"] != fresh["expected_num_tokens"]  # two different passes


def test_tokens_per_sample_is_derived_from_the_measured_overshoot():
    stats = {"batches": [{"samples": 10, "tokens": 20000}] * 4, "expected_num_tokens": 18000}
    # 2000 tokens a sample: 9 to reach 18000, one more crosses it; 7.5 samples need 13000 tokens
    assert derive_tokens_per_sample(stats, 7.5) == pytest.approx(13000 / 7.5, abs=1)
    assert recipe_shares({"vqa": 1, "semantic": 2}) == pytest.approx(
        {"vlm_sft": 1 / 3, "unified_edit": 2 / 3}
    )
    assert recipe_shares({"semantic": 1, "edge": 1}) == {"unified_edit": 1.0}


def test_export_config_is_the_backends_config(tmp_path, toy_shards, vqa_jsonl):
    exported, recipe = export(tmp_path, toy_shards, vqa_jsonl, paper_recipe().mix)
    assert (exported / EXPORT_CONFIG).read_text().startswith("# BAGEL dataset config")
    assert BagelBackend.preflights and (exported / "made_of.json").is_file()
