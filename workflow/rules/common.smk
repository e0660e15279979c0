# The only place with Python logic: config validation, registry checks, shard lists and input functions.
import math
import re

from snakemake.utils import validate

from sgt.config import check_config

validate(config, schema="../schemas/config.schema.yaml")
check_config(config)

DATA_ROOT = config["data"]["root"]
DOWNLOAD_DIR = config["data"]["download_dir"]
LLAVA_FILES = config["data"]["llava"]["files"]
TRAIN_SPLIT = config["data"]["train_split"]
EVAL_SPLIT = config["data"]["eval_split"]
TASKS = sorted(config["targets"]["tasks"])
SHARED_SUBSET = "shared"  # the subset group of every task without an image filter
MODELS = config["study"]["models"]
TINY_MODELS = [m for m in MODELS if config["models"][m]["backend"] == "tiny"]
CLUSTER_MODELS = [m for m in MODELS if config["models"][m]["backend"] != "tiny"]
SEEDS = config["study"]["seeds"]
VARIANTS = list(config["study"]["variants"])
BENCHMARKS = config["vqa"]["benchmarks"]
TRAIN_SHARDS = [
    f"{i:03d}"
    for i in range(
        math.ceil(config["targets"]["n_per_task"] / config["targets"]["shard_size"])
    )
]
EVAL_SHARDS = [
    f"{i:03d}"
    for i in range(
        math.ceil(config["targets"]["eval_n"] / config["targets"]["shard_size"])
    )
]


wildcard_constraints:
    task="|".join(TASKS),
    model="|".join(MODELS),
    variant="|".join(VARIANTS),
    shard=r"\d{3}",
    seed=r"\d+",
    stage="targets|eval_targets",
    bench="|".join(BENCHMARKS),
    split=f"{TRAIN_SPLIT}|{EVAL_SPLIT}",


def coco_archives():
    from sgt.data.sources import COCO_2017, COCO_SPLIT_ARCHIVES

    keys = sorted(
        {a for sp in (TRAIN_SPLIT, EVAL_SPLIT) for a in COCO_SPLIT_ARCHIVES[sp]}
    )
    return {COCO_2017[k].name.removesuffix(".zip"): k for k in keys}


def coco_source(wildcards):
    from sgt.data.sources import coco_sources

    coco = config["data"]["coco"]
    key = coco_archives()[wildcards.archive]
    return coco_sources(coco["archives"], base_url=coco["base_url"])[key]


def llava_source(wildcards):
    from sgt.data.sources import llava_onevision_sources

    llava = config["data"]["llava"]
    sources = llava_onevision_sources(
        [wildcards.path], repo=llava["repo"], revision=llava["revision"]
    )
    return sources[0]


def data_root_inputs(wildcards):
    """The toy world's folder, the COCO extraction records, or nothing for an offline COCO root."""
    if config["data"]["source"] == "toyworld":
        return {"root": DATA_ROOT}
    if config["data"]["coco"]["download"]:
        return {
            "extracted": expand(
                f"{DATA_ROOT}/.extracted/{{archive}}.zip.json", archive=coco_archives()
            )
        }
    return {}


def data_ready():
    return "results/data/validated.json"


def target_shards(task, stage="targets"):
    shards = TRAIN_SHARDS if stage == "targets" else EVAL_SHARDS
    return [f"results/{stage}/{task}/shard-{s}.parquet" for s in shards]


def shard_inputs(wildcards):
    split = TRAIN_SPLIT if wildcards.stage == "targets" else EVAL_SPLIT
    return {"ready": data_ready(), "subset": f"results/subsets/{split}.json"}


def shard_split(wildcards):
    return TRAIN_SPLIT if wildcards.stage == "targets" else EVAL_SPLIT


def variant_mix(wildcards):
    return config["study"]["variants"][wildcards.variant].get("mix", {})


def variant_tasks(wildcards):
    return sorted(k for k, w in variant_mix(wildcards).items() if k != "vqa" and w > 0)


def finetune_inputs(wildcards):
    tasks = variant_tasks(wildcards)
    inputs = {"base": f"results/models/{wildcards.model}/base"}
    if variant_mix(wildcards).get("vqa", 0) > 0:
        inputs["vqa"] = "results/vqa/train.jsonl"
    for task in tasks:
        inputs[f"task_{task}"] = target_shards(task)
    return inputs


def backend_train_inputs(wildcards):
    inputs = finetune_inputs(wildcards)
    del inputs["base"]
    inputs["checkout"] = f"results/upstream/{wildcards.model}"
    return inputs


def task_shard_map(wildcards, input):
    return {t: list(input[f"task_{t}"]) for t in variant_tasks(wildcards)}


def model_dir(wildcards):
    if not variant_mix(wildcards):
        return f"results/models/{wildcards.model}/base"
    return f"results/models/{wildcards.model}/{wildcards.variant}/seed{wildcards.seed}"


def eval_inputs(wildcards):
    inputs = {
        "model": model_dir(wildcards),
        "benchmarks": expand("results/eval/benchmarks/{bench}.tsv", bench=BENCHMARKS),
    }
    for task in config["eval"]["generation_tasks"]:
        inputs[f"gen_{task}"] = target_shards(task, "eval_targets")
    return inputs


def gen_shard_map(input):
    return {t: list(input[f"gen_{t}"]) for t in config["eval"]["generation_tasks"]}


def bench_map(input):
    return dict(zip(BENCHMARKS, input.benchmarks))


def eval_results():
    results = expand(
        "results/eval/{model}/{variant}/seed{seed}.csv",
        model=MODELS,
        variant=VARIANTS,
        seed=SEEDS,
    )
    if (
        TINY_MODELS
    ):  # embedded benchmarks exist: compare with answering from the question alone
        results.append("results/eval/baselines/majority_answer.csv")
    return results


def all_outputs(wildcards):
    return [
        "results/tables/understanding.csv",
        "results/tables/generation.csv",
        *expand("results/targets/{task}/manifest.parquet", task=TASKS),
        *report_outputs(),
    ]


def grow(stage, key, factor=1.5):
    """A resource from config.resources.<stage> that grows on each retry (out of memory, time limit)."""
    base = config["resources"][stage][key]
    return lambda wildcards, attempt: int(base * factor ** (attempt - 1))


def task_levels():
    from sgt.targets import resolve_task

    return {t: resolve_task(t, config["targets"]["tasks"][t]).level for t in TASKS}


# Report (paper tables, figures, findings): which figures this config can draw, and their inputs.
PAPER_TABLES = ["table3", "table6", "table7"]
REPORT_REFERENCE = [
    *expand(
        f"{config['report']['reference_dir']}/{{t}}.csv",
        t=["table2", "table3", "table6", "table7", "table9"],
    ),
    config["report"]["benchmark_map"],
]


FIGURE_PLANS = {}


def figure_plans():
    """Computed once per run: every report input function asks for it."""
    if not FIGURE_PLANS:
        from sgt.report.plan import figure_plans as plans

        FIGURE_PLANS.update(plans(config["study"], task_levels()))
    return FIGURE_PLANS


def report_figures():
    return [name for name, p in figure_plans().items() if p.available]


def missing_figures():
    return {name: p.reason for name, p in figure_plans().items() if not p.available}


def figure_plan(wildcards):
    from dataclasses import asdict

    return asdict(figure_plans()[wildcards.fig])


def figure_metrics(wildcards):
    """Fig. 6: the training logs of its two variants, every seed, for the first model of the study."""
    plan = figure_plans()[wildcards.fig]
    if wildcards.fig != "fig6":
        return {}
    return {
        v: [f"results/models/{MODELS[0]}/{v}/seed{s}/metrics.csv" for s in SEEDS]
        for v in plan.variants
    }


def figure_inputs(wildcards):
    plan = figure_plans()[wildcards.fig]
    if wildcards.fig == "fig6":
        return [
            f"results/models/{MODELS[0]}/{v}/seed{s}"
            for v in plan.variants
            for s in SEEDS
        ]
    return [*eval_results(), *REPORT_REFERENCE]


def report_outputs():
    return [
        *expand("results/tables/{t}.{ext}", t=PAPER_TABLES, ext=["csv", "md", "tex"]),
        *expand("results/figures/{fig}.{ext}", fig=report_figures(), ext=["png", "pdf"]),
        "results/report/findings.html",
        "results/report/config.yaml",
    ]
