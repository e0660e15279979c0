"""Config checks at workflow start, before any job: the JSON schema, then what the schema cannot express.

Each error names the config key and the fix, e.g. ``study.variants.sft_segm.mix: unknown source 'segm'``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, MutableMapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from sgt.schema import ConfigError, validate_config  # noqa: F401  (the workflow reads both from here)
from sgt.targets.registry import resolve_task, task_params


def _repo_path(path: str, repo: Path) -> str:
    """``path`` as given when absolute, else under the repository (not the run's working directory)."""
    return path if Path(path).is_absolute() else str(repo / path)


def resolve_repo_paths(config: MutableMapping[str, Any], repo: str | Path) -> None:
    """Resolve, in place, the config paths that name files shipped with the repository.

    The published numbers (``report.reference_dir``, ``report.benchmark_map``), the tiny base
    checkpoint (``models.<m>.pretrain.shipped``) and the LLaVA-OneVision mixture (``data.llava.mixture``)
    live in the repository, so ``snakemake --directory`` elsewhere must still find them; every other path
    stays relative to the working directory.
    """
    repo = Path(repo).resolve()
    llava = config.get("data", {}).get("llava", {})
    if llava.get("mixture"):
        llava["mixture"] = _repo_path(llava["mixture"], repo)
    report = config.get("report", {})
    for key in ("reference_dir", "benchmark_map"):
        if report.get(key):
            report[key] = _repo_path(report[key], repo)
    for spec in config.get("models", {}).values():
        pretrain = spec.get("pretrain") if isinstance(spec, MutableMapping) else None
        if isinstance(pretrain, MutableMapping) and pretrain.get("shipped"):
            pretrain["shipped"] = _repo_path(pretrain["shipped"], repo)


def check_config(config: Mapping[str, Any]) -> None:
    tasks = config["targets"]["tasks"]
    if not tasks:
        raise ConfigError("targets.tasks is empty: name at least one proxy task (e.g. semantic: {})")
    for name, entry in tasks.items():
        try:
            task_params(resolve_task(name, entry), entry)
        except (KeyError, ValueError) as err:
            raise ConfigError(f"targets.tasks.{name}: {err.args[0]}") from None
    sources = {"vqa", *tasks}
    for variant, spec in config["study"]["variants"].items():
        for source in spec.get("mix", {}):
            if source not in sources:
                raise ConfigError(
                    f"study.variants.{variant}.mix: unknown source {source!r}; "
                    f"use 'vqa' or a task from targets.tasks ({', '.join(sorted(tasks))})"
                )
        if spec.get("untrained") and (spec.get("mix") or spec.get("pairs")):
            raise ConfigError(
                f"study.variants.{variant}: an untrained variant is never trained, so it takes no mix or "
                "pairs; drop them or drop 'untrained'"
            )
        unknown = [m for m in spec.get("models") or [] if m not in config["study"]["models"]]
        if unknown:
            raise ConfigError(
                f"study.variants.{variant}.models: {', '.join(map(repr, unknown))} not in study.models "
                f"({', '.join(config['study']['models'])}); name study models or drop the key"
            )
        pairs = spec.get("pairs")
        if pairs is not None and pairs > config["targets"]["n_per_task"]:
            raise ConfigError(
                f"study.variants.{variant}.pairs: {pairs} is more than targets.n_per_task "
                f"({config['targets']['n_per_task']}); raise n_per_task or lower pairs"
            )
        if pairs is not None and not [s for s in spec.get("mix", {}) if s != "vqa"]:
            raise ConfigError(
                f"study.variants.{variant}.pairs: the mix has no proxy task to take {pairs} pairs of"
            )
        if spec.get("mix") is not None and sum(spec["mix"].values()) <= 0:
            raise ConfigError(
                f"study.variants.{variant}.mix: weights sum to 0; drop 'mix' for the base model"
            )
    if not config["study"]["variants"]:
        raise ConfigError("study.variants is empty: define at least one variant (e.g. base: {})")
    _check_seeds(config)
    for task in config["eval"]["generation_tasks"]:
        if task not in tasks:
            raise ConfigError(f"eval.generation_tasks: {task!r} is not in targets.tasks")
    untrained = [v for v, spec in config["study"]["variants"].items() if spec.get("untrained")]
    for model in config["study"]["models"]:
        if model not in config["models"]:
            raise ConfigError(f"study.models: {model!r} has no entry under models")
        if untrained and not _builds_own_model(config["models"][model]):
            raise ConfigError(
                f"study.variants.{untrained[0]}.untrained: model {model!r} (backend "
                f"{config['models'][model].get('backend')!r}) has no untrained model of its own; use it "
                "with the tiny backend only, or drop the variant"
            )
    _check_analysis(config)
    _check_distinct_variants(config)
    _check_batch_layouts(config)
    _check_vlmeval(config)
    if config["targets"]["shard_size"] > config["targets"]["n_per_task"]:
        raise ConfigError(
            "targets.shard_size is larger than targets.n_per_task: one shard would be partly empty"
        )
    llava = config["data"]["llava"]
    if config["vqa"]["source"] == "llava_onevision" or "files" in llava:
        from sgt.data.llava_mixture import llava_settings

        try:
            llava_settings(llava, config["seed"])
        except (OSError, ValueError) as err:
            raise ConfigError(str(err)) from None
    if "depth" in config:
        from sgt.depth.settings import check_depth_config, pool_capacity_problem

        try:
            check_depth_config(config["depth"])
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if problem := pool_capacity_problem(config):
            raise ConfigError(problem)


def _check_vlmeval(config: Mapping[str, Any]) -> None:
    """Every VLMEvalKit dataset name is one whose result file we can read
    (``sgt.eval.vlmeval.adapter.BENCHMARKS``)."""
    datasets = config["eval"]["vlmeval"].get("datasets", [])
    if not datasets:
        return
    from sgt.eval.vlmeval.adapter import BENCHMARKS, NOT_IN_VLMEVALKIT

    for name in datasets:
        if name in NOT_IN_VLMEVALKIT:
            raise ConfigError(f"eval.vlmeval.datasets: {name} is {NOT_IN_VLMEVALKIT[name]}; drop it")
        if name not in BENCHMARKS:
            close = difflib.get_close_matches(name, BENCHMARKS, n=3)
            raise ConfigError(
                f"eval.vlmeval.datasets: {name!r} is not a dataset this pipeline reads results of"
                + (f" (did you mean {', '.join(close)}?)" if close else "")
                + f"; known: {', '.join(sorted(BENCHMARKS))}"
            )


def variant_models(config: Mapping[str, Any], variant: str) -> list[str]:
    """The study models ``variant`` runs for: ``study.variants.<v>.models``, or every study model."""
    models = config["study"]["models"]
    wanted = config["study"]["variants"][variant].get("models")
    return [m for m in models if wanted is None or m in wanted]


def variant_seeds(config: Mapping[str, Any], variant: str) -> list[int]:
    """The seeds ``variant`` runs with: ``study.variants.<v>.seeds``, or ``study.seeds``.

    A variant's own list always wins, also over a ``study.seeds`` that a later ``--configfile`` overlays
    (Snakemake merges config files key by key, so the variant's list survives the overlay): an overlay that
    wants more seeds for such a variant lists them there too.
    """
    seeds = config["study"]["variants"][variant].get("seeds")
    return list(config["study"]["seeds"] if seeds is None else seeds)


def _check_seeds(config: Mapping[str, Any]) -> None:
    """``study.seeds`` and every ``study.variants.<v>.seeds``: a non-empty list of distinct non-negative ints.

    A repeated seed would be one run counted twice in every mean and interval; an empty list would drop the
    variant from every table without a word.
    """
    lists = [("study.seeds", config["study"]["seeds"])]
    lists += [
        (f"study.variants.{v}.seeds", spec["seeds"])
        for v, spec in config["study"]["variants"].items()
        if spec.get("seeds") is not None
    ]
    for key, seeds in lists:
        fix = "drop the key to use study.seeds" if key != "study.seeds" else "e.g. [0]"
        if not isinstance(seeds, list) or not seeds:
            raise ConfigError(f"{key}: {seeds!r} is not a non-empty list of seeds; list at least one ({fix})")
        bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
        if bad:
            raise ConfigError(
                f"{key}: not a seed: {', '.join(map(repr, bad))}; seeds are non-negative integers, "
                "e.g. [0, 1, 2]"
            )
        twice = sorted({s for s in seeds if seeds.count(s) > 1})
        if twice:
            raise ConfigError(
                f"{key}: seed(s) {', '.join(map(str, twice))} listed more than once; each seed is one run, "
                "so a repeat would count it twice in every mean and interval: list each once"
            )


def _builds_own_model(spec: Mapping[str, Any]) -> bool:
    from sgt.models.backends import backend_class

    return bool(backend_class(spec["backend"]).needs_base)  # the schema admits registered backends only


def _check_distinct_variants(config: Mapping[str, Any]) -> None:
    """No two trained variants of a model may train on the same samples: they would be one experiment
    reported as two (issue #27: at batch 8, 1:3 and 1:4 both rounded to 2:6 in every batch).

    For a model trained by our loop (``own_loop``: the tiny backend) the samples a run sees are decided by
    its schedule, the per-step count of every source over the run's ``steps`` at its ``batch_size``
    (:func:`sgt.train.mix.mix_schedule`), plus ``pairs`` when a proxy task is drawn (``pairs`` equal to
    ``targets.n_per_task`` is all of them); the seed and the fine-tune settings are the model's, shared by
    its variants. Cluster backends (BAGEL, OmniGen2) compose their batches upstream, so for them only the mix
    as a ratio (``{vqa: 2, semantic: 4}`` is ``{vqa: 1, semantic: 2}``) and ``pairs`` are compared.
    ``label`` and ``tables`` never tell two experiments apart; untrained and base variants (no mix) are
    not trained here and are left out.
    """
    from sgt.models.backends import backend_class

    variants = config["study"]["variants"]
    trained = [v for v, spec in variants.items() if spec.get("mix") and not spec.get("untrained")]
    for model in config["study"]["models"]:
        spec = config["models"][model]
        cls = backend_class(spec["backend"])
        recipe = spec.get(cls.recipe_section) or {}
        run = (recipe.get("steps"), recipe.get("batch_size")) if cls.own_loop else None
        if run is not None and None in run:
            continue  # no schedule to compare; the fine-tune's own check names the missing key
        seen: dict[Any, str] = {}
        for variant in (v for v in trained if model in variant_models(config, v)):
            key, drawn = _what_a_run_sees(variants[variant], run, config["targets"]["n_per_task"])
            if key not in seen:
                seen[key] = variant
                continue
            other = seen[key]
            mixes = f"{dict(variants[other]['mix'])} and {dict(variants[variant]['mix'])}"
            if run is not None:
                same = "exactly the samples of"
                why = f"mixes {mixes} draw the same number of samples from each source at every one of its "
                why += f"{run[0]} steps of batch {run[1]}"
            else:
                same = "the same data in the same ratio as"
                why = f"mixes {mixes} are one ratio, and its batches are composed upstream from the ratio"
            if drawn - {"vqa"}:
                why += f", from {f'the first {key[1]}' if key[1] else 'all'} pairs of each task"
            raise ConfigError(
                f"study.variants.{variant}: model {model!r} would train on {same} study.variants.{other} "
                f"({why}): they are one experiment, so drop one or change its mix or pairs"
            )


def _check_batch_layouts(config: Mapping[str, Any]) -> None:
    """Every trained run of a backend that splits its global batch itself (``layout``: OmniGen2's micro-batch
    x accumulation x GPUs, accumulation a multiple of the SFT:gen interleave pattern) can be split: found at
    planning, not hours later in the export job (a 1:1 ratio on 4 GPUs at batch 60 cannot)."""
    from sgt.models.backends import backend_class
    from sgt.models.backends.run import backend_for, recipe_for

    variants = config["study"]["variants"]
    for model in config["study"]["models"]:
        spec = config["models"][model]
        if not hasattr(backend_class(spec["backend"]), "layout"):
            continue
        backend = backend_for(spec, checkout=".")
        for variant, vspec in variants.items():
            if not vspec.get("mix") or vspec.get("untrained") or model not in variant_models(config, variant):
                continue
            try:
                backend.layout(recipe_for(spec, variant, vspec["mix"], 0))
            except ValueError as err:
                raise ConfigError(f"study.variants.{variant} (mix {dict(vspec['mix'])}): {err}") from None


def _what_a_run_sees(
    variant: Mapping[str, Any], run: tuple[int, int] | None, n_per_task: int
) -> tuple[tuple[Any, int | None], set[str]]:
    """(what decides a variant's training samples, the sources it draws): its schedule over ``run`` (steps,
    batch size) or, for a run composed upstream (None), its mix as a ratio; then its pairs, where they count.
    """
    from sgt.train.mix import mix_schedule

    mix = {k: w for k, w in variant["mix"].items() if w > 0}
    if run is not None:
        what: Any = tuple(tuple(batch.items()) for batch in mix_schedule(mix, run[1], run[0]))
        drawn = {k for batch in what for k, _ in batch}
    else:
        total = sum(Fraction(w) for w in mix.values())
        what = tuple(sorted((k, Fraction(w) / total) for k, w in mix.items()))
        drawn = set(mix)
    pairs = variant.get("pairs")
    if pairs == n_per_task or not drawn - {"vqa"}:
        pairs = None
    return (what, pairs), drawn


def _check_analysis(config: Mapping[str, Any]) -> None:
    """analysis.compare names variants that exist, whenever a model will be analysed (tiny backend, or a
    cluster backend with a registered extractor)."""
    from sgt.analysis.cluster import EXTRACTORS

    models = config["models"]
    analysed = {"tiny", *EXTRACTORS}
    if not any(models.get(m, {}).get("backend") in analysed for m in config["study"]["models"]):
        return
    analysis = config.get("analysis", {})
    variants = config["study"]["variants"]
    for variant in analysis.get("compare", []):
        if variant not in variants:
            raise ConfigError(
                f"analysis.compare: {variant!r} is not in study.variants ({', '.join(variants)}); "
                "name defined variants or set analysis.compare: [] to skip the analyses"
            )
        for model in config["study"]["models"]:
            if models.get(model, {}).get("backend") in analysed and model not in variant_models(
                config, variant
            ):
                raise ConfigError(
                    f"analysis.compare: {variant!r} does not run for {model!r} "
                    f"(study.variants.{variant}.models), which is analysed; add the model to that list "
                    "or drop the variant from analysis.compare"
                )
    cluster_steps = analysis.get("cluster", {}).get("num_timesteps", 50)
    if analysis.get("compare") and analysis.get("timesteps", 3) >= cluster_steps:
        raise ConfigError(
            f"analysis.timesteps exceeds the steps of analysis.cluster.num_timesteps ({cluster_steps}); "
            "lower it or raise num_timesteps"
        )
    tiny = any(models.get(m, {}).get("backend") == "tiny" for m in config["study"]["models"])
    if tiny and analysis.get("compare") and analysis.get("timesteps", 3) > config["eval"]["sampling_steps"]:
        raise ConfigError(
            "analysis.timesteps exceeds eval.sampling_steps: lower it or sample with more steps"
        )
