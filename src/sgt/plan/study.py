"""The plan: every list, pattern and path the DAG needs, from one validated config.

Input methods take the job's ``wildcards`` (any object with the attributes they read), so a rule names them
directly (``unpack(PLAN.train_inputs)``) and a test passes a ``SimpleNamespace``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from sgt.analysis.cluster import EXTRACTORS
from sgt.config import variant_models, variant_seeds
from sgt.data.llava_mixture import LlavaSettings, llava_settings
from sgt.data.registry import source_options
from sgt.data.sources import COCO_2017, COCO_SPLIT_ARCHIVES, Source, coco_sources, sa1b_shard_sources
from sgt.data.subset import shard_count
from sgt.depth.settings import estimator_args
from sgt.models.backends import backend_class
from sgt.models.backends.drawing import drawer, drawn_benchmarks
from sgt.models.backends.run import Resources, job_resources
from sgt.plan import resources as stage_resources
from sgt.report.plan import FigurePlan, figure_plans
from sgt.targets import resolve_task

SHARED_SUBSET = "shared"  # the subset group of every task without an image filter
DATA_READY = "results/data/validated.json"
VQA_TRAIN = "results/vqa/train.jsonl"
GENEVAL_METADATA = "results/eval/geneval/evaluation_metadata.jsonl"  # the toy prompts (rule geneval_prompts)
# what a drawer's ``needs`` names, as rule inputs (generation.smk)
DRAW_INPUTS = {
    "geneval": "results/upstream/geneval",
    "gedit": "results/data/gedit",
    "ella": "results/upstream/ella",
}
ANALYSIS_KINDS = ("tsne", "probe", "visual_attention", "prompt_attention")
ANALYSIS_FIGURES = ("fig7_tsne", "fig8a_visual_attention", "fig8b_prompt_attention")
PAPER_TABLES = ["table3", "table6", "table7", "table9"]
REFERENCE_TABLES = ["table2", "table3", "table6", "table7", "table9"]


def shards(n: int, shard_size: int) -> list[str]:
    """Shard names ``000``, ``001``, ... for ``n`` items in shards of ``shard_size``."""
    return [f"{i:03d}" for i in range(shard_count(n, shard_size))]


def run_path(wildcards: Any) -> str:
    """``{model}/{variant}/seed{seed}``: the folder part every per-run output shares."""
    return f"{wildcards.model}/{wildcards.variant}/seed{wildcards.seed}"


@dataclass(frozen=True)
class Plan:
    """The study's jobs, as lists and path functions; build it with :meth:`from_config`."""

    shared_subset: ClassVar[str] = SHARED_SUBSET
    paper_tables: ClassVar[list[str]] = PAPER_TABLES
    config: Mapping[str, Any] = field(repr=False)
    data_root: str
    download_dir: str
    data_options: dict[str, Any]  # source-specific keywords of sgt.data.registry.open_dataset
    sa1b: dict[str, Source]  # SA-1B shard stem -> Source (when downloaded)
    coco_archives: dict[str, str]  # COCO archive name without .zip -> sgt.data.sources.COCO_2017 key
    llava: LlavaSettings | None  # LLaVA-OneVision subsets and counts (vqa.source llava_onevision)
    train_split: str
    eval_split: str
    tasks: list[str]
    task_levels: dict[str, str]
    depth_tasks: tuple[str, ...]  # tasks whose recipe reads depth maps
    train_shards: list[str]
    eval_shards: list[str]
    models: list[str]
    base_models: list[str]  # backends that build their own base (the tiny UMM)
    upstream_models: list[str]  # backends that run an upstream checkout
    preflight_models: list[str]  # export checked with the upstream loaders on a CPU node first
    embedded_eval_models: list[str]  # scored by sgt's embedded benchmarks
    vlmeval_models: list[str]  # scored by VLMEvalKit (the cluster models)
    drawing_models: dict[str, list[str]]  # benchmark -> models whose backend draws it
    own_folder_drawing_models: list[str]  # drawers that load a folder of their own (generation_model)
    analysed_cluster_models: list[str]  # cluster models with a mechanism-analysis extractor
    variants: list[str]
    trained_variants: list[str]  # fine-tuned on a mix
    sft_variant: str | None  # Table 3's "SFT" row: the understanding table's differences are to it
    untrained_variants: list[str]  # random weights: the floor of the separation table
    benchmarks: list[str]
    scene_aspect: float | None  # a generated image's scene width / height (None: COCO, no fixed aspect)
    estimators: list[str]
    tiny_estimators: list[str]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Plan:
        """The plan of a config that :func:`sgt.plan.prepare_config` has validated."""
        data, targets, study = config["data"], config["targets"], config["study"]
        models = list(study["models"])
        backends = {m: backend_class(config["models"][m]["backend"]) for m in models}
        drawing = {
            b: [m for m in models if b in drawn_benchmarks(config["models"][m]["backend"])]
            for b in ("geneval", "gedit", "dpg")
        }
        vlmeval = [m for m in models if backends[m].evaluator == "vlmeval"]
        _check_drawers(config, vlmeval, drawing)
        variants = study["variants"]
        tasks = sorted(targets["tasks"])
        resolved = {t: resolve_task(t, targets["tasks"][t]) for t in tasks}
        estimators = config["depth"]["estimators"]
        return cls(
            config=config,
            data_root=data["root"],
            download_dir=data["download_dir"],
            data_options=source_options(data),
            # reading the links file here fails before any job if it is bad
            sa1b=(
                sa1b_shard_sources(data["sa1b"])
                if data["source"] == "sa1b" and data["sa1b"]["download"]
                else {}
            ),
            coco_archives=(
                _coco_archives(data["train_split"], data["eval_split"])
                if data["source"] == "coco" and data["coco"]["download"]
                else {}
            ),
            # local files only (no network)
            llava=(
                llava_settings(data["llava"], config["seed"])
                if config["vqa"]["source"] == "llava_onevision"
                else None
            ),
            train_split=data["train_split"],
            eval_split=data["eval_split"],
            tasks=tasks,
            task_levels={t: resolved[t].level for t in tasks},
            depth_tasks=tuple(t for t in tasks if "depth" in resolved[t].needs),
            train_shards=shards(targets["n_per_task"], targets["shard_size"]),
            eval_shards=shards(targets["eval_n"], targets["shard_size"]),
            models=models,
            base_models=[m for m in models if backends[m].needs_base],
            upstream_models=[m for m in models if backends[m].needs_upstream],
            preflight_models=[m for m in models if backends[m].preflights],
            embedded_eval_models=[m for m in models if backends[m].evaluator == "embedded"],
            vlmeval_models=vlmeval,
            drawing_models=drawing,
            own_folder_drawing_models=[
                m
                for m in models
                if any(m in drawn for drawn in drawing.values())
                and getattr(backends[m], "own_generation_folder", False)
            ],
            analysed_cluster_models=[m for m in vlmeval if config["models"][m]["backend"] in EXTRACTORS],
            variants=list(variants),
            trained_variants=[v for v, spec in variants.items() if spec.get("mix")],
            sft_variant=next(
                (v for v, s in variants.items() if (s.get("tables") or {}).get("table3") == "SFT"), None
            ),
            untrained_variants=[v for v, spec in variants.items() if spec.get("untrained")],
            benchmarks=config["vqa"]["benchmarks"],
            scene_aspect=(
                data["toyworld"]["width"] / data["toyworld"]["height"]
                if data["source"] == "toyworld"
                else None
            ),
            estimators=sorted(estimators),
            tiny_estimators=[e for e in sorted(estimators) if estimators[e].get("tiny")],
        )

    # --- lists ---

    @property
    def llava_subsets(self) -> list[str]:
        return list(self.llava.subsets) if self.llava else []

    @property
    def analysed_models(self) -> list[str]:
        """Models with Figs. 7, 8a and 8b: every embedded-eval model and the analysed cluster models."""
        return [*self.embedded_eval_models, *self.analysed_cluster_models]

    @property
    def tuned_variants(self) -> list[str]:
        """Variants a train (or export) job makes: every variant but the untrained ones."""
        return [v for v in self.variants if v not in self.untrained_variants]

    @property
    def variant_labels(self) -> dict[str, str]:
        """Each variant's label in tables and figures (study.variants.<v>.label, else its name)."""
        return {v: s.get("label", v) for v, s in self.config["study"]["variants"].items()}

    def model_settings(self, wildcards: Any) -> dict[str, Any]:
        """Params function: ``models.<model>`` of the job."""
        return self.config["models"][wildcards.model]

    def backend(self, model: str) -> Any:
        """The registered backend class of ``models.<model>``."""
        return backend_class(self.config["models"][model]["backend"])

    def split_of(self, stage: str) -> str:
        """The split a target stage reads: ``targets`` the train split, ``eval_targets`` the eval split."""
        return self.train_split if stage == "targets" else self.eval_split

    def needed(self, split: str) -> int:
        """Images a split's tasks take: targets.n_per_task for the train split, else targets.eval_n."""
        return self.config["targets"]["n_per_task" if split == self.train_split else "eval_n"]

    # --- resources ---

    def threads_for(self, stage: str) -> int:
        return stage_resources.threads_for(self.config["resources"], stage)

    def resources_for(self, stage: str) -> dict[str, Any]:
        """``resources: **resources_for(stage)``: see :mod:`sgt.plan.resources`."""
        return stage_resources.resources_for(self.config["resources"], stage)

    def train_job(self, wildcards: Any) -> Resources:
        """The train job's threads, memory, runtime and GPUs, as the model's backend asks for them."""
        backend = self.backend(wildcards.model)
        checkout = f"results/upstream/{wildcards.model}" if backend.needs_upstream else None
        stage = self.config["resources"][backend.resource_stage]
        return job_resources(self.config["models"][wildcards.model], stage, checkout)

    # --- runs of the study ---

    def study_runs(
        self, pattern: str, models: list[str] | None = None, variants: list[str] | None = None
    ) -> list[str]:
        """``pattern`` for every (model, variant, seed) of the study, model by model: a variant runs only for
        the models of its study.variants.<v>.models, with its own seeds (sgt.config.variant_seeds)."""
        models = self.models if models is None else models
        variants = self.variants if variants is None else variants
        return [
            pattern.format(model=m, variant=v, seed=s)
            for m in models
            for v in variants
            if m in variant_models(self.config, v)
            for s in variant_seeds(self.config, v)
        ]

    def variants_in_tables(self, tables: list[str]) -> list[str]:
        """Variants that are a row of one of ``tables``, and the one without a mix (every table's base)."""
        spec = self.config["study"]["variants"]
        return [
            v
            for v in self.variants
            if set(spec[v].get("tables") or {}) & set(tables)
            or (not spec[v].get("mix") and not spec[v].get("untrained"))
        ]

    def variant_mix(self, wildcards: Any) -> dict[str, float]:
        return self.config["study"]["variants"][wildcards.variant].get("mix", {})

    def variant_tasks(self, wildcards: Any) -> list[str]:
        return sorted(k for k, w in self.variant_mix(wildcards).items() if k != "vqa" and w > 0)

    # --- data ---

    def coco_source(self, wildcards: Any) -> Source:
        coco = self.config["data"]["coco"]
        key = self.coco_archives[wildcards.archive]
        return coco_sources(coco["archives"], base_url=coco["base_url"])[key]

    def llava_manifests(self) -> list[str]:
        """One manifest per subset, beside its folder of shards; subset names keep their parentheses."""
        return [f"{self.download_dir}/llava/{s}.json" for s in self.llava_subsets]

    def data_root_inputs(self, wildcards: Any) -> dict[str, Any]:
        """The toy world's folder, the COCO or SA-1B extraction records, or nothing for an offline root."""
        source = self.config["data"]["source"]
        if source == "toyworld":
            return {"root": self.data_root}
        if source == "sa1b":
            return {"extracted": [f"{self.data_root}/{t}/.extracted/{t}.tar.json" for t in self.sa1b]}
        if self.config["data"]["coco"]["download"]:
            return {"extracted": [f"{self.data_root}/.extracted/{a}.zip.json" for a in self.coco_archives]}
        return {}

    # --- targets ---

    def target_shards(self, task: str, stage: str = "targets") -> list[str]:
        names = self.train_shards if stage == "targets" else self.eval_shards
        return [f"results/{stage}/{task}/shard-{s}.parquet" for s in names]

    def shard_inputs(self, wildcards: Any) -> dict[str, str]:
        split = self.split_of(wildcards.stage)
        inputs = {"ready": DATA_READY, "subset": f"results/subsets/{split}.json"}
        return inputs | self.depth_task_inputs(wildcards.task, split)

    def task_shard_map(self, wildcards: Any) -> dict[str, list[str]]:
        """Each task's shards for the variant's mix (the job's inputs name the tasks' manifests)."""
        return {t: self.target_shards(t) for t in self.variant_tasks(wildcards)}

    # --- depth ---

    def depth_task_inputs(self, task: str, split: str) -> dict[str, str]:
        depth = self.config["depth"]
        inputs = {}
        if task in self.depth_tasks:  # one index, not every estimate shard: far fewer edges for the DAG
            inputs["depth"] = f"results/depth/{split}/estimates/{depth['target']}/index.json"
        if task in depth["filtered_tasks"]:
            inputs["depth_filter"] = f"results/depth/{split}/filter.parquet"
        return inputs

    def depth_reserve(self, split: str) -> int:
        """Candidates drawn beyond what the split needs, for the depth filter to reject."""
        return math.ceil(self.needed(split) * self.config["depth"]["reserve_fraction"])

    def depth_pool_shards(self, split: str) -> list[str]:
        return shards(self.needed(split) + self.depth_reserve(split), self.config["depth"]["shard_size"])

    def depth_estimates(self, estimator: str, split: str) -> list[str]:
        return [
            f"results/depth/{split}/estimates/{estimator}/shard-{s}.npz"
            for s in self.depth_pool_shards(split)
        ]

    def depth_estimate_inputs(self, wildcards: Any) -> dict[str, str]:
        inputs = {"pool": f"results/depth/{wildcards.split}/pool.json"}
        if wildcards.estimator in self.tiny_estimators:
            inputs["model"] = f"results/depth/models/{wildcards.estimator}"
        return inputs

    def depth_estimator(self, wildcards: Any) -> tuple[str, dict[str, Any]]:
        return estimator_args(wildcards.estimator, self.config["depth"]["estimators"][wildcards.estimator])

    def depth_outputs(self) -> list[str]:
        """The filter's histogram when a task is filtered, and the estimates depth.also_estimate asks for."""
        depth = self.config["depth"]
        outputs = [
            f"results/depth/{self.train_split}/discrepancy.png"
            for t in self.tasks
            if t in depth["filtered_tasks"]
        ][:1]
        for estimator in depth["also_estimate"]:
            outputs += self.depth_estimates(estimator, self.train_split)
        return outputs

    # --- training ---

    def mix_inputs(self, wildcards: Any) -> dict[str, str]:
        """VQA and each task's manifest for the variant's mix: what a backend's export reads.

        A task's manifest stands for its shards (made from all of them), so a job has one edge per task
        instead of one per shard; the shards themselves reach the script as ``params.task_shards``.
        """
        inputs = {}
        if self.variant_mix(wildcards).get("vqa", 0) > 0:
            inputs["vqa"] = VQA_TRAIN
        for task in self.variant_tasks(wildcards):
            inputs[f"task_{task}"] = f"results/targets/{task}/manifest.parquet"
        return inputs

    def train_inputs(self, wildcards: Any) -> dict[str, str]:
        """The checked export for preflight backends; else the mix's data plus the base model or checkout."""
        backend = self.backend(wildcards.model)
        if backend.preflights:
            return {
                "export": f"results/export/{run_path(wildcards)}",
                "preflight": f"results/preflight/{run_path(wildcards)}.json",
                "checkout": f"results/upstream/{wildcards.model}",
            }
        inputs = self.mix_inputs(wildcards)
        if backend.needs_base:
            inputs["base"] = f"results/models/{wildcards.model}/base"
        if backend.needs_upstream:
            inputs["checkout"] = f"results/upstream/{wildcards.model}"
        return inputs

    def _released(self, wildcards: Any) -> bool:
        """The variant without a mix (and not untrained) is the released or base model: no run of its own."""
        return not self.variant_mix(wildcards) and wildcards.variant not in self.untrained_variants

    def run_handoff(self, wildcards: Any) -> dict[str, str]:
        """A cluster run's hand-off folder, or nothing for the variant without a mix: the released model."""
        return {} if self._released(wildcards) else {"model": f"results/models/{run_path(wildcards)}"}

    def model_dir(self, wildcards: Any) -> str:
        """The base model for the variant without a mix; every other variant (untrained too) has its own."""
        if self._released(wildcards):
            return f"results/models/{wildcards.model}/base"
        return f"results/models/{run_path(wildcards)}"

    # --- evaluation ---

    def benchmark_files(self) -> list[str]:
        return [f"results/eval/benchmarks/{b}.tsv" for b in self.benchmarks]

    def eval_inputs(self, wildcards: Any) -> dict[str, Any]:
        inputs: dict[str, Any] = {"model": self.model_dir(wildcards), "benchmarks": self.benchmark_files()}
        for task in self.config["eval"]["generation_tasks"]:
            inputs[f"gen_{task}"] = self.target_shards(task, "eval_targets")
        if self.config["eval"]["geneval"]["enabled"]:  # the same job draws and scores GenEval's prompts
            inputs["geneval_metadata"] = GENEVAL_METADATA
        return inputs

    def gen_shard_map(self, inputs: Mapping[str, Any]) -> dict[str, list[str]]:
        return {t: list(inputs[f"gen_{t}"]) for t in self.config["eval"]["generation_tasks"]}

    def bench_map(self, files: list[str]) -> dict[str, str]:
        return dict(zip(self.benchmarks, files, strict=False))

    def vlmeval_class(self, wildcards: Any) -> str:
        """The vlmeval.vlm class for a model: eval.vlmeval.model_classes, else its backend's own."""
        classes = self.config["eval"]["vlmeval"].get("model_classes") or {}
        return classes.get(wildcards.model) or self.backend(wildcards.model).vlmeval_class

    def eval_results(self) -> list[str]:
        results = self.study_runs("results/eval/{model}/{variant}/seed{seed}.csv")
        if self.embedded_eval_models:  # embedded benchmarks: compare with answering from the question alone
            results.append("results/eval/baselines/majority_answer.csv")
        if self.config["eval"]["geneval"]["enabled"]:  # embedded GenEval of every tiny model
            results += self.study_runs(
                "results/eval/{model}/{variant}/geneval/seed{seed}.csv", models=self.embedded_eval_models
            )
        return results + self.cluster_geneval_scores() + self.judge_results()

    def judge_results(self) -> list[str]:
        """GEdit-Bench-EN for every cluster model's variants of eval.gedit.tables, DPG-Bench for
        eval.dpg.models' variants of eval.dpg.tables (judges.smk)."""
        gedit, dpg = self.config["eval"]["gedit"], self.config["eval"]["dpg"]
        return self.study_runs(
            "results/eval/{model}/{variant}/gedit/seed{seed}.csv",
            models=self.vlmeval_models,
            variants=self.variants_in_tables(gedit["tables"]),
        ) + self.study_runs(
            "results/eval/{model}/{variant}/dpg/seed{seed}.csv",
            models=[m for m in dpg["models"] if m in self.vlmeval_models],
            variants=self.variants_in_tables(dpg["tables"]),
        )

    def cluster_geneval_scores(self) -> list[str]:
        """GenEval of the drawing cluster models: a CSV per run of a variant in eval.cluster_geneval.tables
        (and the base), the mean over eval.cluster_geneval.seeds; none when that list is empty."""
        cfg = self.config["eval"]["cluster_geneval"]
        if not cfg["seeds"]:
            return []
        return self.study_runs(
            "results/eval/{model}/{variant}/geneval/seed{seed}.csv",
            models=self.drawing_models["geneval"],
            variants=[v for v in self.variants_in_tables(cfg["tables"]) if v not in self.untrained_variants],
        )

    def cluster_geneval_folders(self, wildcards: Any) -> dict[str, str]:
        """One generated folder per generation seed, named ``gseed<g>`` (rule score_geneval's input)."""
        return {
            f"gseed{g}": f"results/generation/{run_path(wildcards)}/geneval/gseed{g}"
            for g in self.config["eval"]["cluster_geneval"]["seeds"]
        }

    # --- generation on the cluster ---

    def drawing_model(self, wildcards: Any) -> str:
        """The model folder a drawer loads: generation_model's output, else vlmeval_model's."""
        kind = "generation_models" if wildcards.model in self.own_folder_drawing_models else "eval_models"
        return f"results/{kind}/{run_path(wildcards)}"

    def draw_inputs(self, benchmark: str) -> Callable[[Any], dict[str, str]]:
        """Input function: the extra inputs the model's drawer for ``benchmark`` needs, by name."""

        def inputs(wildcards: Any) -> dict[str, str]:
            backend = self.config["models"][wildcards.model]["backend"]
            return {n: DRAW_INPUTS[n] for n in drawer(backend, benchmark).needs}

        return inputs

    def draw_settings(self, benchmark: str) -> Callable[[Any], dict[str, Any]]:
        """Params function: ``eval.cluster_<benchmark>.<backend>`` of the job's model."""
        settings = self.config["eval"][f"cluster_{benchmark}"]
        return lambda w: settings.get(self.config["models"][w.model]["backend"], {})

    # --- analysis ---

    def analysis_inputs(self, wildcards: Any) -> dict[str, Any]:
        return {"model": self.model_dir(wildcards), "ready": DATA_READY, "benchmarks": self.benchmark_files()}

    def analysis_cluster_inputs(self, wildcards: Any) -> dict[str, Any]:
        """The tuned eval folder, the checkout, and the embedded benchmarks where the data has them."""
        toy = self.config["data"]["source"] == "toyworld"
        return {
            "eval_model": f"results/eval_models/{run_path(wildcards)}",
            "checkout": f"results/upstream/{wildcards.model}",
            "ready": DATA_READY,
            "benchmarks": self.benchmark_files() if toy else [],
        }

    def analysis_figure_inputs(self, wildcards: Any) -> dict[str, list[str]]:
        """Every per-checkpoint analysis CSV of the compared variants (each with its own seeds), by kind
        (cluster models: and notes)."""
        notes = ["notes"] if wildcards.model in self.analysed_cluster_models else []
        return {
            kind: self.study_runs(
                f"results/analysis/{{model}}/{{variant}}/seed{{seed}}/{kind}.csv",
                models=[wildcards.model],
                variants=self.config["analysis"]["compare"],
            )
            for kind in [*ANALYSIS_KINDS, *notes]
        }

    def analysis_cluster_python(self, wildcards: Any) -> str:
        """analysis.cluster.python, else VLMEvalKit's env (CUDA torch, the checkout's transformers)."""
        return self.config["analysis"]["cluster"]["python"] or self.config["eval"]["vlmeval"]["python"]

    @property
    def compared_models(self) -> list[str]:
        """The analysed models when analysis.compare names variants; none when it is empty."""
        return self.analysed_models if self.config["analysis"]["compare"] else []

    def analysis_outputs(self) -> list[str]:
        """Figs. 7, 8a and 8b per analysed model; none when analysis.compare is empty."""
        return [f"results/figures/{m}/{f}.png" for m in self.compared_models for f in ANALYSIS_FIGURES]

    def findings_analysis(self) -> list[str] | str:
        """Findings 1-3 read report.analysis_results if set, else this run's analysis tables (Figs. 7, 8)."""
        if self.config["report"]["analysis_results"]:
            return self.config["report"]["analysis_results"]
        tables = ["probe", "visual_attention", "prompt_attention"]
        return [f"results/analysis/{m}/{t}.csv" for m in self.compared_models for t in tables]

    # --- report ---

    @cached_property
    def figure_plans(self) -> dict[str, FigurePlan]:
        """Which report figures this config can draw, and why not (computed once)."""
        return figure_plans(self.config["study"], self.task_levels, self.config["targets"]["n_per_task"])

    @property
    def report_figures(self) -> list[str]:
        return [name for name, p in self.figure_plans.items() if p.available]

    @property
    def missing_figures(self) -> dict[str, str]:
        return {name: p.reason for name, p in self.figure_plans.items() if not p.available}

    @property
    def reference_tables(self) -> list[str]:
        return [f"{self.config['report']['reference_dir']}/{t}.csv" for t in REFERENCE_TABLES]

    def figure_plan(self, wildcards: Any) -> dict[str, Any]:
        return asdict(self.figure_plans[wildcards.fig])

    def _fig6_runs(self, suffix: str) -> dict[str, list[str]]:
        """Fig. 6: each seed's training folder of each of its variants, for the first model of the study."""
        return {
            v: [f"results/models/{self.models[0]}/{v}/seed{s}{suffix}" for s in variant_seeds(self.config, v)]
            for v in self.figure_plans["fig6"].variants
        }

    def figure_metrics(self, wildcards: Any) -> dict[str, list[str]]:
        """Fig. 6: the training logs of its two variants; no other figure reads any."""
        self.figure_plans[wildcards.fig]  # an unknown figure is an error, as before
        return self._fig6_runs("/metrics.csv") if wildcards.fig == "fig6" else {}

    def figure_inputs(self, wildcards: Any) -> list[str]:
        if wildcards.fig == "fig6":
            return [run for runs in self._fig6_runs("").values() for run in runs]
        return [*self.eval_results(), *self.reference_tables, self.config["report"]["benchmark_map"]]

    def report_outputs(self) -> list[str]:
        return [
            *[f"results/tables/{t}.{e}" for t in PAPER_TABLES for e in ("csv", "md", "tex", "html")],
            *[f"results/figures/{f}.{e}" for f in self.report_figures for e in ("png", "pdf")],
            "results/report/findings.html",
            "results/report/config.yaml",
            *[f"results/tables/training/{m}.md" for m in self.embedded_eval_models],
            *(["results/tables/separation.md"] if self.untrained_variants else []),
        ]

    def budgeted_outputs(self, wildcards: Any = None) -> list[str]:
        """Every output of the run but the budget page, which is made after them (rule budget)."""
        return [
            *self.cluster_geneval_scores(),
            "results/tables/understanding.csv",
            "results/tables/generation.csv",
            *[f"results/targets/{t}/manifest.parquet" for t in self.tasks],
            *self.depth_outputs(),
            *self.analysis_outputs(),
            *self.report_outputs(),
        ]

    def all_outputs(self, wildcards: Any = None) -> list[str]:
        """Everything ``rule all`` asks for: the budget page too when report.budget is on."""
        budget = ["results/report/budget.html"] if self.config["report"]["budget"] else []
        return [*self.budgeted_outputs(), *budget]


def _coco_archives(train_split: str, eval_split: str) -> dict[str, str]:
    keys = sorted({a for split in (train_split, eval_split) for a in COCO_SPLIT_ARCHIVES[split]})
    return {COCO_2017[k].name.removesuffix(".zip"): k for k in keys}


def _check_drawers(config: Mapping[str, Any], vlmeval: list[str], drawing: Mapping[str, list[str]]) -> None:
    """A scored benchmark needs a drawer for the model's backend: name the model instead of a missing file."""
    for bench, models, key in (
        ("dpg", config["eval"]["dpg"]["models"], "eval.dpg.models"),
        ("gedit", vlmeval, "study.models (GEdit-Bench-EN scores every cluster model)"),
    ):
        undrawn = [m for m in models if m in vlmeval and m not in drawing[bench]]
        if undrawn:
            raise ValueError(
                f"{key}: {undrawn} have no {bench} drawer for their backend (sgt.models.backends.drawing); "
                "drop them there or register one"
            )
