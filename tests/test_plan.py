"""The DAG's plan (sgt.plan) on the shipped configs, without Snakemake: what each config makes run."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sgt.config import ConfigError
from sgt.plan import Plan, grown, load_config, one_of, prepare_config, resources_for, threads_for

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {  # what `snakemake --configfile ...` merges (the embedded study is the Snakefile's default)
    "embedded": ["config/config.yaml"],
    "paper": ["config/paper.yaml"],
    "study": ["config/config.yaml", "config/study.yaml"],
    "test": ["config/test.yaml"],
}


def prepared(name: str, **changes: Any) -> dict[str, Any]:
    config = load_config(*(REPO / f for f in CONFIGS[name]))
    for path, value in changes.items():  # "targets__n_per_task": a key below a section
        *parents, key = path.split("__")
        node = config
        for p in parents:
            node = node.setdefault(p, {})
        node[key] = value
    prepare_config(config, REPO)
    return config


@pytest.fixture(scope="module")
def plans() -> dict[str, Plan]:
    return {name: Plan.from_config(prepared(name)) for name in CONFIGS}


def run(model: str, variant: str, seed: int | str = 0, **more: str) -> SimpleNamespace:
    return SimpleNamespace(model=model, variant=variant, seed=str(seed), **more)


def matches(pattern: str, name: str) -> bool:
    return re.fullmatch(pattern, name) is not None


# --- config loading ---


def test_an_overlay_merges_over_the_embedded_config_key_by_key() -> None:
    embedded, study = prepared("embedded"), prepared("study")
    assert study["models"] == embedded["models"]  # study.yaml names no model: config.yaml's stays
    assert set(embedded["study"]["variants"]) < set(study["study"]["variants"])
    assert study["study"]["seeds"] == [0, 1, 2] and embedded["study"]["seeds"] == [0]


def test_model_settings_reach_the_plan_with_sorted_keys() -> None:
    config = prepared("embedded")
    finetune = config["models"]["tiny"]["finetune"]
    assert list(finetune) == sorted(finetune)


def test_an_invalid_config_stops_before_any_plan_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="shard_sise"):
        prepared("test", targets__shard_sise=5)


# --- shards ---


@pytest.mark.parametrize(
    ("name", "train", "eval_"),
    [("embedded", 2, 1), ("paper", 20, 1), ("test", 2, 1)],  # 400/240, 20000/1000, 16/8; eval 48/240...
)
def test_shard_lists_follow_the_configured_sizes(
    plans: dict[str, Plan], name: str, train: int, eval_: int
) -> None:
    plan = plans[name]
    assert len(plan.train_shards) == train and len(plan.eval_shards) == eval_
    assert plan.train_shards[0] == "000" and plan.train_shards[-1] == f"{train - 1:03d}"


@pytest.mark.parametrize(("size", "shards"), [(400, 1), (399, 2), (200, 2), (199, 3), (100, 4)])
def test_a_partial_shard_counts(size: int, shards: int) -> None:
    plan = Plan.from_config(prepared("embedded", targets__shard_size=size))  # targets.n_per_task: 400
    assert len(plan.train_shards) == shards
    assert plan.target_shards("semantic")[-1] == f"results/targets/semantic/shard-{shards - 1:03d}.parquet"
    assert len(plan.target_shards("semantic", "eval_targets")) == 1  # targets.eval_n: 48


# --- models, variants, runs ---


def test_model_lists_come_from_the_backends(plans: dict[str, Plan]) -> None:
    tiny, paper = plans["embedded"], plans["paper"]
    assert (tiny.embedded_eval_models, tiny.vlmeval_models, tiny.base_models) == (["tiny"], [], ["tiny"])
    assert paper.vlmeval_models == ["bagel", "omnigen2"] and paper.embedded_eval_models == []
    assert paper.preflight_models == ["bagel", "omnigen2"] and paper.base_models == []
    assert paper.drawing_models == {
        "geneval": ["bagel", "omnigen2"],
        "gedit": ["bagel", "omnigen2"],
        "dpg": ["bagel"],
    }
    assert paper.own_folder_drawing_models == ["omnigen2"]
    assert paper.analysed_models == ["bagel", "omnigen2"] and tiny.analysed_models == ["tiny"]


def test_a_config_without_vlmeval_models_gets_a_pattern_no_name_matches(plans: dict[str, Plan]) -> None:
    pattern = one_of(plans["embedded"].vlmeval_models)
    assert pattern == "^$"
    assert not any(matches(pattern, m) for m in ("tiny", "bagel", "^$"))
    paper = one_of(plans["paper"].vlmeval_models)
    assert matches(paper, "bagel") and matches(paper, "omnigen2")
    assert not matches(paper, "tiny") and not matches(paper, "bagelx")


def test_one_of_escapes_names() -> None:
    assert matches(one_of(["a.b", "c"]), "a.b") and not matches(one_of(["a.b"]), "axb")


def test_variant_roles(plans: dict[str, Plan]) -> None:
    tiny, test = plans["embedded"], plans["test"]
    assert tiny.sft_variant == "sft" and test.sft_variant is None  # test.yaml has no SFT-only row
    assert tiny.untrained_variants == ["untrained"]
    assert "base" not in tiny.trained_variants and "untrained" not in tiny.trained_variants
    assert "untrained" not in tiny.tuned_variants and "base" in tiny.tuned_variants
    labels = tiny.variant_labels  # study.variants.<v>.label, else the name
    assert list(labels) == tiny.variants
    assert all(labels[v] == spec.get("label", v) for v, spec in tiny.config["study"]["variants"].items())
    assert tiny.model_settings(run("tiny", "sft")) is tiny.config["models"]["tiny"]


def test_a_variant_with_three_seeds_yields_three_train_runs(plans: dict[str, Plan]) -> None:
    plan = plans["embedded"]  # study.seeds [0]; study.variants.sft.seeds [0, 1, 2]
    pattern = "results/models/{model}/{variant}/seed{seed}"
    assert plan.study_runs(pattern, variants=["sft"]) == [
        f"results/models/tiny/sft/seed{s}" for s in (0, 1, 2)
    ]
    assert plan.study_runs(pattern, variants=["sft_edge"]) == ["results/models/tiny/sft_edge/seed0"]


def test_a_variant_limited_to_models_runs_only_for_them(plans: dict[str, Plan]) -> None:
    plan = plans["paper"]  # study.variants.instance.models: [bagel]
    runs = plan.study_runs("{model}/{variant}/{seed}", variants=["instance", "semantic"])
    assert runs == ["bagel/instance/0", "bagel/semantic/0", "omnigen2/semantic/0"]


def test_train_inputs_follow_the_backend(plans: dict[str, Plan]) -> None:
    tiny = plans["embedded"].train_inputs(run("tiny", "sft_semantic"))
    assert tiny == {
        "vqa": "results/vqa/train.jsonl",
        "task_semantic": "results/targets/semantic/manifest.parquet",
        "base": "results/models/tiny/base",
    }
    bagel = plans["paper"].train_inputs(run("bagel", "sft_sgt", 1))
    assert bagel == {
        "export": "results/export/bagel/sft_sgt/seed1",
        "preflight": "results/preflight/bagel/sft_sgt/seed1.json",
        "checkout": "results/upstream/bagel",
    }
    shards = plans["embedded"].task_shard_map(run("tiny", "sft_semantic"))
    assert shards == {"semantic": plans["embedded"].target_shards("semantic")}


def test_the_base_variant_is_evaluated_from_the_base_model(plans: dict[str, Plan]) -> None:
    plan = plans["embedded"]
    assert plan.model_dir(run("tiny", "base")) == "results/models/tiny/base"
    assert plan.model_dir(run("tiny", "untrained", 2)) == "results/models/tiny/untrained/seed2"
    assert plan.run_handoff(run("tiny", "base")) == {}
    assert plan.run_handoff(run("tiny", "sft", 1)) == {"model": "results/models/tiny/sft/seed1"}


def test_a_dpg_model_without_a_drawer_stops_planning_naming_it() -> None:
    config = prepared("paper")
    config["eval"]["dpg"]["models"] = ["bagel", "omnigen2"]
    with pytest.raises(ValueError, match=r"eval.dpg.models: \['omnigen2'\] have no dpg drawer"):
        Plan.from_config(config)


def test_eval_results_cover_every_run_and_the_judged_benchmarks(plans: dict[str, Plan]) -> None:
    tiny = plans["embedded"].eval_results()
    assert "results/eval/baselines/majority_answer.csv" in tiny  # embedded benchmarks: the majority floor
    assert "results/eval/tiny/sft/seed2.csv" in tiny and not any("/gedit/" in r for r in tiny)
    paper = plans["paper"].eval_results()
    assert "results/eval/baselines/majority_answer.csv" not in paper
    assert "results/eval/bagel/base/gedit/seed0.csv" in paper
    assert not any(r.startswith("results/eval/omnigen2/") and "/dpg/" in r for r in paper)


# --- depth ---


@pytest.mark.parametrize(
    ("name", "needed", "reserve", "shards"),
    [("embedded", 400, 100, 3), ("test", 16, 8, 1), ("paper", 20000, 5000, 25)],
)
def test_depth_pool_sizes(plans: dict[str, Plan], name: str, needed: int, reserve: int, shards: int) -> None:
    plan = plans[name]  # reserve: ceil(needed * depth.reserve_fraction); shards of depth.shard_size
    split = plan.train_split
    assert (plan.needed(split), plan.depth_reserve(split), len(plan.depth_pool_shards(split))) == (
        needed,
        reserve,
        shards,
    )
    assert len(plan.depth_estimates("any", split)) == shards


def test_depth_tasks_read_the_target_estimators_index(plans: dict[str, Plan]) -> None:
    plan = plans["study"]
    assert plan.depth_tasks == ("depth", "derain_dehaze")
    split = plan.eval_split
    depth = plan.shard_inputs(SimpleNamespace(stage="eval_targets", task="depth"))
    assert depth["subset"] == f"results/subsets/{split}.json"
    assert (
        depth["depth"].endswith("/index.json")
        and depth["depth_filter"] == f"results/depth/{split}/filter.parquet"
    )
    assert set(plan.depth_task_inputs("derain_dehaze", split)) == {"depth"}  # read, not filtered
    assert set(plan.shard_inputs(SimpleNamespace(stage="targets", task="semantic"))) == {"ready", "subset"}


# --- report ---


def test_figure_plans_say_what_the_config_can_draw(plans: dict[str, Plan]) -> None:
    assert plans["embedded"].report_figures == ["fig3a", "fig3b", "fig5a", "fig5b", "fig6"]
    assert plans["test"].report_figures == [] and set(plans["test"].missing_figures) == {
        "fig3a",
        "fig3b",
        "fig5a",
        "fig5b",
        "fig6",
    }
    paper = plans["paper"]
    assert "fig5a" in paper.missing_figures and "three" in paper.missing_figures["fig5a"]
    assert "results/figures/fig6.png" in paper.report_outputs()
    assert "results/figures/fig5a.png" not in paper.report_outputs()


def test_fig6_reads_each_seed_of_its_variants(plans: dict[str, Plan]) -> None:
    plan = plans["embedded"]
    metrics = plan.figure_metrics(SimpleNamespace(fig="fig6"))
    assert metrics["sft"] == [f"results/models/tiny/sft/seed{s}/metrics.csv" for s in (0, 1, 2)]
    assert plan.figure_metrics(SimpleNamespace(fig="fig3a")) == {}
    assert plan.figure_plans is plan.figure_plans  # computed once


def test_all_outputs_name_every_task_manifest_and_the_report(plans: dict[str, Plan]) -> None:
    plan = plans["study"]
    outputs = plan.all_outputs()
    for task in plan.tasks:
        assert f"results/targets/{task}/manifest.parquet" in outputs
    assert "results/report/findings.html" in outputs and "results/tables/training/tiny.md" in outputs
    assert "results/tables/separation.md" in outputs  # an untrained variant: the separation table
    assert "results/figures/tiny/fig7_tsne.png" in outputs
    assert outputs[-1] == "results/report/budget.html"  # made last, from the others (report.budget)
    assert "results/report/budget.html" not in plan.budgeted_outputs()
    assert "results/report/budget.html" not in plans["test"].all_outputs()  # test.yaml: report.budget off


# --- resources ---


def test_resources_for_a_stage_grow_on_each_retry() -> None:
    config = prepared("embedded")
    stage = config["resources"]["eval"]
    res = resources_for(config["resources"], "eval")
    assert res["gpu"] == stage["gpu"]
    assert res["mem_mb"](None, 1) == stage["mem_mb"] and res["mem_mb"](None, 2) == int(stage["mem_mb"] * 1.5)
    assert res["runtime"](None, 3) == grown(stage["runtime"], 3) == int(stage["runtime"] * 2.25)
    assert threads_for(config["resources"], "pretrain") == config["resources"]["pretrain"]["threads"] == 2


def test_mixed_stages_take_each_resource_from_its_own_stage() -> None:
    config = prepared("paper")
    resources = copy.deepcopy(config["resources"])
    checkout = resources_for(resources, "checkout")  # download's threads and GPUs, data's memory
    assert checkout["mem_mb"](None, 1) == resources["data"]["mem_mb"]
    assert threads_for(resources, "checkout") == resources["download"]["threads"]
    assert resources_for(resources, "untrained")["gpu"] == 0 and threads_for(resources, "untrained") == 1
    assert resources_for(resources, "depth_models")["gpu"] == 0


def test_an_unknown_stage_names_the_fix(plans: dict[str, Plan]) -> None:
    with pytest.raises(KeyError, match=r"unknown resource stage 'evl'.*'eval'.*config.schema.yaml"):
        plans["embedded"].resources_for("evl")


def test_train_jobs_take_the_backends_resources(plans: dict[str, Plan]) -> None:
    tiny = plans["embedded"]
    job = tiny.train_job(run("tiny", "sft"))
    assert (job.threads, job.mem_mb, job.gpus) == (1, 3000, 0)  # resources.train of config.yaml
    assert plans["paper"].train_job(run("bagel", "sft")).gpus > 0  # a cluster backend asks for its own


# --- data ---


def test_coco_archives_are_those_of_both_splits(plans: dict[str, Plan]) -> None:
    paper = plans["paper"]  # COCO 2017, downloaded: images of both splits plus the two annotation archives
    assert paper.coco_archives == {
        "annotations_trainval2017": "annotations",
        "panoptic_annotations_trainval2017": "panoptic_annotations",
        "train2017": "train2017",
        "val2017": "val2017",
    }
    extracted = paper.data_root_inputs(None)["extracted"]
    assert f"{paper.data_root}/.extracted/val2017.zip.json" in extracted and len(extracted) == 4
    assert paper.coco_source(SimpleNamespace(archive="val2017")).name == "val2017.zip"
    assert plans["embedded"].coco_archives == {}  # the toy world downloads nothing
    assert plans["embedded"].data_root_inputs(None) == {"root": plans["embedded"].data_root}


def test_sa1b_shards_come_from_the_links_file(tmp_path: Path) -> None:
    links = tmp_path / "links.txt"
    rows = [f"sa_00000{i}.tar\thttp://127.0.0.1:9/sa_00000{i}.tar" for i in range(3)]
    links.write_text("\n".join(["file_name\tcdn_link", *rows]) + "\n")
    sa1b = {"links_file": str(links), "n_shards": 2, "eval_fraction": 0.2}
    config = prepared("test", data={"source": "sa1b", "root": "data/sa1b", "sa1b": sa1b})
    plan = Plan.from_config(config)
    assert list(plan.sa1b) == ["sa_000000", "sa_000001"]  # data.sa1b.n_shards of the file's three
    assert plan.data_root_inputs(None)["extracted"] == [
        "data/sa1b/sa_000000/.extracted/sa_000000.tar.json",
        "data/sa1b/sa_000001/.extracted/sa_000001.tar.json",
    ]
