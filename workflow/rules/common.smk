# The only place with Python logic: config validation, registry checks, shard lists and input functions.
import functools
import math
import os
import re
from pathlib import Path

from sgt.config import (
    check_config,
    resolve_repo_paths,
    validate_config,
    variant_models,
    variant_seeds,
)
from sgt.data.registry import source_options
from sgt.data.llava_mixture import llava_settings
from sgt.data.sources import sa1b_shard_sources

REPO = Path(workflow.main_snakefile).parent


def one_of(names):
    """A wildcard constraint matching exactly one of ``names`` (escaped); none: a pattern no path matches,
    so a rule for models or variants this config does not have never plans."""
    return "|".join(re.escape(str(n)) for n in names) or "^$"


validate_config(config, REPO / "workflow" / "schemas" / "config.schema.yaml")
# Files shipped with the repository (published numbers, the tiny base checkpoint, the LLaVA mixture) are
# named relative to it, so a run with `--directory elsewhere` still finds them.
resolve_repo_paths(config, REPO)
check_config(config)


def setting(path):
    """The config value at a slash path, as ``lookup(dpath=path, within=config)`` gives it.

    lookup walks the whole config on every call; with about a hundred calls at parse time that was a tenth
    of the paper study's dry run (benchmarks/dry_run.py). The validated config has every key it asks for.
    """
    node = config
    for key in path.split("/"):
        node = node[key]
    return node


DATA_ROOT = config["data"]["root"]
# source-specific keywords of sgt.data.registry.open_dataset (SA-1B: its eval hold-out)
DATA_OPTIONS = source_options(config["data"])
SA1B = (  # shard stem -> Source; reading the links file here fails before any job if it is bad
    sa1b_shard_sources(config["data"]["sa1b"])
    if config["data"]["source"] == "sa1b" and config["data"]["sa1b"]["download"]
    else {}
)
DOWNLOAD_DIR = config["data"]["download_dir"]
# LLaVA-OneVision subsets and their counts, from config or the mixture file (local files: no network)
LLAVA = (
    llava_settings(config["data"]["llava"], config["seed"])
    if config["vqa"]["source"] == "llava_onevision"
    else None
)
LLAVA_SUBSETS = list(LLAVA.subsets) if LLAVA else []
TRAIN_SPLIT = config["data"]["train_split"]
EVAL_SPLIT = config["data"]["eval_split"]
TASKS = sorted(config["targets"]["tasks"])
SHARED_SUBSET = "shared"  # the subset group of every task without an image filter
MODELS = config["study"]["models"]


def keys_sorted(node):
    """``node`` with every mapping's keys in sorted order, recursively."""
    if isinstance(node, dict):
        return {k: keys_sorted(node[k]) for k in sorted(node)}
    return node


# A model's settings reach its jobs as params, and Snakemake reruns a job whose params changed, key order
# included: an overlay that only spells out a default (study.yaml's finetune.engine) reordered them and
# retrained every variant `make demo` had trained. Sorted, equal settings are equal params.
config["models"] = {m: keys_sorted(spec) for m, spec in config["models"].items()}


def backend_of(model):
    """The registered backend class of ``models.<model>`` (what its training and evaluation need)."""
    from sgt.models.backends import backend_class

    return backend_class(config["models"][model]["backend"])


BASE_MODELS = [m for m in MODELS if backend_of(m).needs_base]
UPSTREAM_MODELS = [m for m in MODELS if backend_of(m).needs_upstream]
# models whose export is made and checked with the upstream loaders on a CPU node before the GPU job
PREFLIGHT_MODELS = [m for m in MODELS if backend_of(m).preflights]


def drawing_models(benchmark):
    """Models whose backend has a drawer for ``benchmark`` (sgt.models.backends.drawing's registry)."""
    from sgt.models.backends.drawing import drawn_benchmarks

    return [
        m
        for m in MODELS
        if benchmark in drawn_benchmarks(config["models"][m]["backend"])
    ]


GENEVAL_DRAWING_MODELS = drawing_models("geneval")
GEDIT_DRAWING_MODELS = drawing_models("gedit")
DPG_DRAWING_MODELS = drawing_models("dpg")
# drawing models whose inference code loads a folder of its own (rule generation_model), not the eval folder
OWN_FOLDER_DRAWING_MODELS = [
    m
    for m in MODELS
    if m in GENEVAL_DRAWING_MODELS + GEDIT_DRAWING_MODELS + DPG_DRAWING_MODELS
    and getattr(backend_of(m), "own_generation_folder", False)
]
# what a drawer's ``needs`` names, as rule inputs (generation.smk)
DRAW_INPUTS = {
    "geneval": "results/upstream/geneval",
    "gedit": "results/data/gedit",
    "ella": "results/upstream/ella",
}


def drawing_model(wildcards):
    """The model folder a drawer loads: generation_model's output, else vlmeval_model's."""
    kind = (
        "generation_models"
        if wildcards.model in OWN_FOLDER_DRAWING_MODELS
        else "eval_models"
    )
    return f"results/{kind}/{wildcards.model}/{wildcards.variant}/seed{wildcards.seed}"


def draw_inputs(benchmark):
    """Input function: the extra inputs the model's drawer for ``benchmark`` needs, by name."""
    from sgt.models.backends.drawing import drawer

    def inputs(wildcards):
        backend = config["models"][wildcards.model]["backend"]
        return {n: DRAW_INPUTS[n] for n in drawer(backend, benchmark).needs}

    return inputs


def draw_settings(benchmark):
    """Params function: ``eval.cluster_<benchmark>.<backend>`` of the job's model."""
    return lambda w: config["eval"][f"cluster_{benchmark}"].get(
        config["models"][w.model]["backend"], {}
    )


EMBEDDED_EVAL_MODELS = [m for m in MODELS if backend_of(m).evaluator == "embedded"]
VLMEVAL_MODELS = [m for m in MODELS if backend_of(m).evaluator == "vlmeval"]


def vlmeval_class(wildcards):
    """The vlmeval.vlm class for a model: eval.vlmeval.model_classes, else its backend's own."""
    classes = config["eval"]["vlmeval"].get("model_classes") or {}
    return classes.get(wildcards.model) or backend_of(wildcards.model).vlmeval_class


TINY_MODELS = EMBEDDED_EVAL_MODELS  # older names, kept for rule files that use them
CLUSTER_MODELS = VLMEVAL_MODELS
# a scored benchmark needs a drawer for the model's backend; name the model instead of a missing file
for _bench, _models, _key in (
    ("dpg", config["eval"]["dpg"]["models"], "eval.dpg.models"),
    (
        "gedit",
        CLUSTER_MODELS,
        "study.models (GEdit-Bench-EN scores every cluster model)",
    ),
):
    _undrawn = [
        m for m in _models if m in CLUSTER_MODELS and m not in drawing_models(_bench)
    ]
    if _undrawn:
        raise ValueError(
            f"{_key}: {_undrawn} have no {_bench} drawer for their backend (sgt.models.backends.drawing); "
            "drop them there or register one"
        )
VARIANTS = list(config["study"]["variants"])
# variants fine-tuned on a mix (results/tables/training/<model>.md states their budgets)
TRAINED_VARIANTS = [
    v for v, spec in config["study"]["variants"].items() if spec.get("mix")
]
# the SFT-only variant (Table 3's "SFT" row): the understanding table's differences are to it
SFT_VARIANT = next(
    (
        v
        for v, spec in config["study"]["variants"].items()
        if (spec.get("tables") or {}).get("table3") == "SFT"
    ),
    None,
)
# variants evaluated with random weights (never trained): the floor of the separation table
UNTRAINED_VARIANTS = [
    v for v, spec in config["study"]["variants"].items() if spec.get("untrained")
]
BENCHMARKS = config["vqa"]["benchmarks"]
# a generated square image shows a scene of this width / height (None: COCO, no fixed aspect)
SCENE_ASPECT = (
    config["data"]["toyworld"]["width"] / config["data"]["toyworld"]["height"]
    if config["data"]["source"] == "toyworld"
    else None
)
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
DEPTH = config["depth"]
ESTIMATORS = sorted(DEPTH["estimators"])
TINY_ESTIMATORS = [e for e in ESTIMATORS if DEPTH["estimators"][e].get("tiny")]


wildcard_constraints:
    task=one_of(TASKS),
    model=one_of(MODELS),
    variant=one_of(VARIANTS),
    shard=r"\d{3}",
    seed=r"\d+",
    stage="targets|eval_targets",
    bench=one_of(BENCHMARKS),
    split=f"{TRAIN_SPLIT}|{EVAL_SPLIT}",
    estimator=one_of(ESTIMATORS),


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


def llava_manifests():
    """One manifest per subset, beside its folder of shards; subset names keep their parentheses."""
    return [f"{DOWNLOAD_DIR}/llava/{s}.json" for s in LLAVA_SUBSETS]


def data_root_inputs(wildcards):
    """The toy world's folder, the COCO or SA-1B extraction records, or nothing for an offline root."""
    if config["data"]["source"] == "toyworld":
        return {"root": DATA_ROOT}
    if config["data"]["source"] == "sa1b":
        return {
            "extracted": expand(
                f"{DATA_ROOT}/{{tar}}/.extracted/{{tar}}.tar.json", tar=SA1B
            )
        }
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
    inputs = {"ready": data_ready(), "subset": f"results/subsets/{split}.json"}
    return inputs | depth_task_inputs(wildcards.task, split)


def shard_split(wildcards):
    return TRAIN_SPLIT if wildcards.stage == "targets" else EVAL_SPLIT


def variant_mix(wildcards):
    return config["study"]["variants"][wildcards.variant].get("mix", {})


def variant_tasks(wildcards):
    return sorted(k for k, w in variant_mix(wildcards).items() if k != "vqa" and w > 0)


def mix_inputs(wildcards):
    """VQA and each task's manifest for the variant's mix: what a backend's export reads.

    A task's manifest stands for its shards (made from all of them), so a job has one edge per task instead
    of one per shard; the shards themselves reach the script as ``params.task_shards``.
    """
    inputs = {}
    if variant_mix(wildcards).get("vqa", 0) > 0:
        inputs["vqa"] = "results/vqa/train.jsonl"
    for task in variant_tasks(wildcards):
        inputs[f"task_{task}"] = f"results/targets/{task}/manifest.parquet"
    return inputs


def run_path(wildcards):
    """``{model}/{variant}/seed{seed}``: the folder part every per-run output shares."""
    return f"{wildcards.model}/{wildcards.variant}/seed{wildcards.seed}"


def train_inputs(wildcards):
    """The checked export for preflight backends; else the mix's data plus the base model or checkout."""
    backend = backend_of(wildcards.model)
    if backend.preflights:
        return {
            "export": f"results/export/{run_path(wildcards)}",
            "preflight": f"results/preflight/{run_path(wildcards)}.json",
            "checkout": f"results/upstream/{wildcards.model}",
        }
    inputs = mix_inputs(wildcards)
    if backend.needs_base:
        inputs["base"] = f"results/models/{wildcards.model}/base"
    if backend.needs_upstream:
        inputs["checkout"] = f"results/upstream/{wildcards.model}"
    return inputs


def train_resources(wildcards):
    """The train job's threads, memory, runtime and GPUs, as the model's backend asks for them."""
    from sgt.models.backends.run import job_resources

    backend = backend_of(wildcards.model)
    checkout = f"results/upstream/{wildcards.model}" if backend.needs_upstream else None
    stage = config["resources"][backend.resource_stage]
    return job_resources(config["models"][wildcards.model], stage, checkout)


def task_shard_map(wildcards):
    """Each task's shards for the variant's mix (the job's inputs name the tasks' manifests)."""
    return {t: target_shards(t) for t in variant_tasks(wildcards)}


def run_handoff(wildcards):
    """A cluster run's hand-off folder, or nothing for the variant without a mix: the released model."""
    if not variant_mix(wildcards) and wildcards.variant not in UNTRAINED_VARIANTS:
        return {}
    return {
        "model": f"results/models/{wildcards.model}/{wildcards.variant}/seed{wildcards.seed}"
    }


def model_dir(wildcards):
    """The base model for the variant without a mix; every other variant (untrained too) has its own."""
    if not variant_mix(wildcards) and wildcards.variant not in UNTRAINED_VARIANTS:
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


def study_runs(pattern, models=None, variants=None):
    """``pattern`` for every (model, variant, seed) of the study, model by model: a variant runs only for
    the models of its study.variants.<v>.models (sgt.config.variant_models), with its own seeds
    (study.variants.<v>.seeds, else study.seeds: sgt.config.variant_seeds)."""
    models = MODELS if models is None else models
    variants = VARIANTS if variants is None else variants
    return [
        pattern.format(model=m, variant=v, seed=s)
        for m in models
        for v in variants
        if m in variant_models(config, v)
        for s in variant_seeds(config, v)
    ]


def eval_results():
    results = study_runs("results/eval/{model}/{variant}/seed{seed}.csv")
    if (
        EMBEDDED_EVAL_MODELS
    ):  # embedded benchmarks exist: compare with answering from the question alone
        results.append("results/eval/baselines/majority_answer.csv")
    if config["eval"]["geneval"]["enabled"]:  # embedded GenEval of every tiny model
        results += study_runs(
            "results/eval/{model}/{variant}/geneval/seed{seed}.csv", models=TINY_MODELS
        )
    return results + cluster_geneval_scores() + judge_results()


def variants_in_tables(tables):
    """Study variants that are a row of one of ``tables`` (study.variants.<v>.tables), and the variant without
    a mix, the base row of every paper table (sgt.report.plan.table_rows)."""
    spec = config["study"]["variants"]
    return [
        v
        for v in VARIANTS
        if set(spec[v].get("tables") or {}) & set(tables)
        or (not spec[v].get("mix") and not spec[v].get("untrained"))
    ]


def judge_results():
    """GEdit-Bench-EN and DPG-Bench scores where the paper reports them (judges.smk): GEdit for every cluster
    model's variants of eval.gedit.tables, DPG for eval.dpg.models' variants of eval.dpg.tables.
    """
    gedit = study_runs(
        "results/eval/{model}/{variant}/gedit/seed{seed}.csv",
        models=CLUSTER_MODELS,
        variants=variants_in_tables(config["eval"]["gedit"]["tables"]),
    )
    dpg = study_runs(
        "results/eval/{model}/{variant}/dpg/seed{seed}.csv",
        models=[m for m in config["eval"]["dpg"]["models"] if m in CLUSTER_MODELS],
        variants=variants_in_tables(config["eval"]["dpg"]["tables"]),
    )
    return gedit + dpg


def cluster_geneval_scores():
    """GenEval of the cluster models whose checkout draws it: a tidy CSV per run of a variant in
    eval.cluster_geneval.tables (and the base), the mean over eval.cluster_geneval.seeds (rule
    score_geneval); none when that list is empty."""
    cfg = config["eval"]["cluster_geneval"]
    if not cfg["seeds"]:
        return []
    return study_runs(
        "results/eval/{model}/{variant}/geneval/seed{seed}.csv",
        models=GENEVAL_DRAWING_MODELS,
        variants=[
            v for v in variants_in_tables(cfg["tables"]) if v not in UNTRAINED_VARIANTS
        ],
    )


def cluster_geneval_folders(wildcards):
    """One generated folder per generation seed, named ``gseed<g>`` (rule score_geneval's input)."""
    w = wildcards
    return {
        f"gseed{g}": f"results/generation/{w.model}/{w.variant}/seed{w.seed}/geneval/gseed{g}"
        for g in config["eval"]["cluster_geneval"]["seeds"]
    }


def all_outputs(wildcards):
    return [
        *cluster_geneval_scores(),
        "results/tables/understanding.csv",
        "results/tables/generation.csv",
        *expand("results/targets/{task}/manifest.parquet", task=TASKS),
        *depth_outputs(),
        *analysis_outputs(),
        *report_outputs(),
    ]


def grown(base, attempt, factor=1.5):
    """``base`` grown on each retry (out of memory, time limit)."""
    return int(base * factor ** (attempt - 1))


def grow(stage, key, factor=1.5):
    """A resource from config.resources.<stage> that grows on each retry (out of memory, time limit)."""
    base = config["resources"][stage][key]
    return lambda wildcards, attempt: grown(base, attempt, factor)


# --- depth estimation and the depth-consistency filter (depth.smk) ---


@functools.cache
def depth_tasks():
    """Tasks whose recipe reads depth: they get the target estimator's maps (worked out once per run)."""
    from sgt.targets import resolve_task

    tasks = config["targets"]["tasks"]
    return tuple(t for t in TASKS if "depth" in resolve_task(t, tasks[t]).needs)


def depth_task_inputs(task, split):
    inputs = {}
    if (
        task in depth_tasks()
    ):  # one index, not every estimate shard: far fewer edges for the DAG to match
        inputs["depth"] = (
            f"results/depth/{split}/estimates/{DEPTH['target']}/index.json"
        )
    if task in DEPTH["filtered_tasks"]:
        inputs["depth_filter"] = f"results/depth/{split}/filter.parquet"
    return inputs


def depth_needed(split):
    return config["targets"]["n_per_task" if split == TRAIN_SPLIT else "eval_n"]


def depth_reserve(split):
    return math.ceil(depth_needed(split) * DEPTH["reserve_fraction"])


def depth_pool_shards(split):
    n = depth_needed(split) + depth_reserve(split)
    return [f"{i:03d}" for i in range(math.ceil(n / DEPTH["shard_size"]))]


def depth_estimates(estimator, split):
    return expand(
        f"results/depth/{split}/estimates/{estimator}/shard-{{shard}}.npz",
        shard=depth_pool_shards(split),
    )


def depth_estimate_inputs(wildcards):
    inputs = {"pool": f"results/depth/{wildcards.split}/pool.json"}
    if wildcards.estimator in TINY_ESTIMATORS:
        inputs["model"] = f"results/depth/models/{wildcards.estimator}"
    return inputs


def depth_estimator(wildcards):
    from sgt.depth.settings import estimator_args

    return estimator_args(wildcards.estimator, DEPTH["estimators"][wildcards.estimator])


def depth_outputs():
    """The filter's histogram when a task is filtered, and the estimates depth.also_estimate asks for."""
    outputs = [
        f"results/depth/{TRAIN_SPLIT}/discrepancy.png"
        for t in TASKS
        if t in DEPTH["filtered_tasks"]
    ][:1]
    for estimator in DEPTH["also_estimate"]:
        outputs += depth_estimates(estimator, TRAIN_SPLIT)
    return outputs


ANALYSIS_KINDS = ("tsne", "probe", "visual_attention", "prompt_attention")
ANALYSIS_FIGURES = ("fig7_tsne", "fig8a_visual_attention", "fig8b_prompt_attention")


def analysis_inputs(wildcards):
    return {
        "model": model_dir(wildcards),
        "ready": data_ready(),
        "benchmarks": expand("results/eval/benchmarks/{bench}.tsv", bench=BENCHMARKS),
    }


def analysis_figure_inputs(wildcards):
    """Every per-checkpoint analysis CSV of the compared variants (each with its own seeds), by kind
    (cluster models: and notes)."""
    kinds = [
        *ANALYSIS_KINDS,
        *(["notes"] if wildcards.model in ANALYSED_CLUSTER_MODELS else []),
    ]
    return {
        kind: study_runs(
            f"results/analysis/{{model}}/{{variant}}/seed{{seed}}/{kind}.csv",
            models=[wildcards.model],
            variants=config["analysis"]["compare"],
        )
        for kind in kinds
    }


# --- mechanism analyses of the cluster models (analysis_cluster.smk) ---
def _analysed_cluster_models():
    from sgt.analysis.cluster import EXTRACTORS

    return [m for m in CLUSTER_MODELS if config["models"][m]["backend"] in EXTRACTORS]


ANALYSED_CLUSTER_MODELS = _analysed_cluster_models()
ANALYSED_MODELS = [*TINY_MODELS, *ANALYSED_CLUSTER_MODELS]


def analysis_cluster_inputs(wildcards):
    """The tuned eval folder, the checkout, and the embedded benchmarks where the data has them."""
    toy = config["data"]["source"] == "toyworld"
    return {
        "eval_model": f"results/eval_models/{wildcards.model}/{wildcards.variant}/seed{wildcards.seed}",
        "checkout": f"results/upstream/{wildcards.model}",
        "ready": data_ready(),
        "benchmarks": (
            expand("results/eval/benchmarks/{bench}.tsv", bench=BENCHMARKS)
            if toy
            else []
        ),
    }


def analysis_cluster_python(wildcards):
    """analysis.cluster.python, else the env VLMEvalKit runs in (CUDA torch, the checkout's transformers)."""
    return (
        config["analysis"]["cluster"]["python"] or config["eval"]["vlmeval"]["python"]
    )


def analysis_outputs():
    """Figs. 7, 8a and 8b per analysed model; none when analysis.compare is empty."""
    models = ANALYSED_MODELS if config["analysis"]["compare"] else []
    return expand(
        "results/figures/{model}/{fig}.png", model=models, fig=ANALYSIS_FIGURES
    )


def findings_analysis():
    """Findings 1-3 read report.analysis_results if set, else this run's analysis tables (Figs. 7, 8a, 8b)."""
    if config["report"]["analysis_results"]:
        return config["report"]["analysis_results"]
    models = ANALYSED_MODELS if config["analysis"]["compare"] else []
    return expand(
        "results/analysis/{model}/{table}.csv",
        model=models,
        table=["probe", "visual_attention", "prompt_attention"],
    )


def task_levels():
    from sgt.targets import resolve_task

    return {t: resolve_task(t, config["targets"]["tasks"][t]).level for t in TASKS}


# Report (paper tables, figures, findings): which figures this config can draw, and their inputs.
PAPER_TABLES = ["table3", "table6", "table7", "table9"]
REFERENCE_TABLES = expand(
    f"{config['report']['reference_dir']}/{{t}}.csv",
    t=["table2", "table3", "table6", "table7", "table9"],
)
BENCHMARK_MAP = config["report"]["benchmark_map"]
REPORT_REFERENCE = [*REFERENCE_TABLES, BENCHMARK_MAP]


def reference_dir(wildcards, input):
    """The folder of the published tables, taken from the rule's input (no hard-coded prefix)."""
    return os.path.dirname(input.reference[0])


FIGURE_PLANS = {}


def figure_plans():
    """Computed once per run: every report input function asks for it."""
    if not FIGURE_PLANS:
        from sgt.report.plan import figure_plans as plans

        FIGURE_PLANS.update(
            plans(config["study"], task_levels(), config["targets"]["n_per_task"])
        )
    return FIGURE_PLANS


def report_figures():
    return [name for name, p in figure_plans().items() if p.available]


def missing_figures():
    return {name: p.reason for name, p in figure_plans().items() if not p.available}


def figure_plan(wildcards):
    from dataclasses import asdict

    return asdict(figure_plans()[wildcards.fig])


def figure_metrics(wildcards):
    """Fig. 6: the training logs of its two variants, each seed of each, for the first model of the study."""
    plan = figure_plans()[wildcards.fig]
    if wildcards.fig != "fig6":
        return {}
    return {
        v: [
            f"results/models/{MODELS[0]}/{v}/seed{s}/metrics.csv"
            for s in variant_seeds(config, v)
        ]
        for v in plan.variants
    }


def figure_inputs(wildcards):
    plan = figure_plans()[wildcards.fig]
    if wildcards.fig == "fig6":
        return [
            f"results/models/{MODELS[0]}/{v}/seed{s}"
            for v in plan.variants
            for s in variant_seeds(config, v)
        ]
    return [*eval_results(), *REPORT_REFERENCE]


def report_outputs():
    return [
        *expand(
            "results/tables/{t}.{ext}", t=PAPER_TABLES, ext=["csv", "md", "tex", "html"]
        ),
        *expand(
            "results/figures/{fig}.{ext}", fig=report_figures(), ext=["png", "pdf"]
        ),
        "results/report/findings.html",
        "results/report/config.yaml",
        *expand("results/tables/training/{model}.md", model=TINY_MODELS),
        *(["results/tables/separation.md"] if UNTRAINED_VARIANTS else []),
    ]


def cache_function_signatures(rules):
    """Record each input, params and resources function's signature on it, once.

    Snakemake inspects a function's signature every time it calls it, for every job: a sixth of the paper
    study's dry run (benchmarks/dry_run.py). It reads a recorded one instead (``overwrite_function_params``).
    """
    import inspect

    from snakemake.common import overwrite_function_params

    for spec in rules:
        values = [*spec.input, *spec.params, *(spec.resources or {}).values()]
        for value in values:
            func = getattr(getattr(value, "_file", value), "callable", None) or value
            if callable(func) and not isinstance(func, type):
                overwrite_function_params(func, inspect.signature(func).parameters)
