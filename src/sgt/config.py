"""Config checks at workflow start, before any job: the JSON schema, then what the schema cannot express.

Each error names the config key and the fix, e.g. ``study.variants.sft_segm.mix: unknown source 'segm'``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from sgt.io import read_yaml
from sgt.targets.registry import resolve_task, task_params


def validate_config(config: MutableMapping[str, Any], schema_path: str | Path) -> None:
    """Check ``config`` against the JSON schema (a YAML file) and fill in its defaults, in place.

    The same check as ``snakemake.utils.validate(config, schema)`` (Draft 2020-12, defaults set on the way
    down). Snakemake loads the schema through a pure-Python YAML templater, which alone took a twentieth of
    the paper study's dry run (benchmarks/dry_run.py); libyaml loads it in a millisecond.
    """
    from jsonschema import Draft202012Validator, ValidationError, validators

    schema = read_yaml(schema_path)
    check_properties = Draft202012Validator.VALIDATORS["properties"]

    def properties_with_defaults(
        validator: Any, properties: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if isinstance(instance, MutableMapping):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from check_properties(validator, properties, instance, schema)

    validator = validators.extend(Draft202012Validator, {"properties": properties_with_defaults})(schema)
    error = next(iter(validator.iter_errors(config)), None)
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "the top level"
        raise ConfigError(f"config {where}: {error.message} (schema: {schema_path})")


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


class ConfigError(ValueError):
    """A config value that is well-formed but inconsistent with the rest of the config."""


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


def _builds_own_model(spec: Mapping[str, Any]) -> bool:
    from sgt.models.backends import backend_class

    return bool(backend_class(spec["backend"]).needs_base)  # the schema admits registered backends only


def _check_analysis(config: Mapping[str, Any]) -> None:
    """analysis.compare names variants that exist, whenever a tiny-backend model will be analysed."""
    models = config["models"]
    if not any(models.get(m, {}).get("backend") == "tiny" for m in config["study"]["models"]):
        return
    analysis = config.get("analysis", {})
    variants = config["study"]["variants"]
    for variant in analysis.get("compare", []):
        if variant not in variants:
            raise ConfigError(
                f"analysis.compare: {variant!r} is not in study.variants ({', '.join(variants)}); "
                "name defined variants or set analysis.compare: [] to skip the analyses"
            )
    if analysis.get("compare") and analysis.get("timesteps", 3) > config["eval"]["sampling_steps"]:
        raise ConfigError(
            "analysis.timesteps exceeds eval.sampling_steps: lower it or sample with more steps"
        )
