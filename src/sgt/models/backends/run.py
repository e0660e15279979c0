"""One training run through a backend: export, config, prepare, launch, then hand the checkpoint over.

The ``train`` rule calls ``train_with_backend`` and the ``pretrain`` rule ``build_base``; everything
model-specific stays in the backend, so the rules do not know whether they train the tiny model, BAGEL or
OmniGen2. Rerunning after a requeue resumes from the backend's newest complete checkpoint (each backend's
``launch`` handles resume).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sgt.io import atomic_write_text
from sgt.models.backend_interface import BaseBuilder, Recipe, Resources
from sgt.models.backends import backend_class, get_backend, run_launch

logger = logging.getLogger(__name__)
RECIPE_KEYS = ("lr", "warmup", "steps", "batch_size")
# Options the workflow fills per job (a checkout, a base model, the job's threads), never config keys.
RUNTIME_OPTIONS = frozenset({"checkout", "base", "threads"})


def config_keys(backend: str) -> frozenset[str]:
    """The keys ``models.<m>`` may hold for ``backend``: its options plus backend, its recipe section and,
    for backends trained from upstream code, upstream (the config schema's entry for the backend lists
    exactly these; tests/workflow/test_config_schema.py keeps the two equal)."""
    cls = backend_class(backend)
    options = {f.name for f in dataclasses.fields(cls)} - RUNTIME_OPTIONS  # type: ignore[arg-type]
    upstream = {"upstream"} if cls.needs_upstream else set()
    return frozenset(options | upstream | {"backend", cls.recipe_section})


def recipe_for(model_cfg: Mapping[str, Any], variant: str, mix: Mapping[str, float], seed: int) -> Recipe:
    """The recipe in ``models.<m>.<recipe_section>`` (Table 8 for cluster models) for one variant's mix."""
    cls = backend_class(model_cfg["backend"])
    r = {**cls.recipe_defaults(), **model_cfg.get(cls.recipe_section, {})}
    missing = sorted(set(RECIPE_KEYS) - set(r))
    if missing:
        raise KeyError(
            f"models.<model>.{cls.recipe_section} lacks {missing} (Table 8: {', '.join(RECIPE_KEYS)})"
        )
    extra = {k: v for k, v in r.items() if k not in RECIPE_KEYS}
    return Recipe(
        variant,
        dict(mix),
        int(r["steps"]),
        float(r["lr"]),
        int(r["warmup"]),
        int(r["batch_size"]),
        seed,
        extra,
    )


def backend_for(
    model_cfg: Mapping[str, Any],
    *,
    checkout: str | Path | None = None,
    base: str | Path | None = None,
    threads: int | None = None,
) -> Any:
    """The backend of ``models.<m>`` plus the per-job options its class declares (checkout, base, threads)."""
    name = model_cfg["backend"]
    cls = backend_class(name)
    opts = {
        k: v
        for k, v in model_cfg.items()
        if k in config_keys(name) - {"backend", "upstream", cls.recipe_section}
    }
    if checkout is not None:
        opts["checkout"] = Path(checkout) / model_cfg.get("upstream", {}).get("subdir", "")
    runtime = {"checkout": opts.pop("checkout", None), "base": base, "threads": threads}
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    opts.update({k: v for k, v in runtime.items() if v is not None and k in fields})
    return get_backend(name, **opts)


def job_resources(
    model_cfg: Mapping[str, Any], stage: Mapping[str, int], checkout: str | Path | None
) -> Resources:
    """A training job's resources: the backend's own (cluster GPUs), or ``resources.<stage>`` (CPU models)."""
    defaults = Resources(
        gpus=int(stage.get("gpu", 0)),
        runtime_min=int(stage.get("runtime", 60)),
        mem_mb=int(stage.get("mem_mb", 2000)),
        threads=int(stage.get("threads", 1)),
    )
    return backend_for(model_cfg, checkout=checkout).resources(defaults)


def build_base(
    model_cfg: Mapping[str, Any],
    root: str | Path,
    split: str,
    vqa: str | Path,
    out: str | Path,
    workdir: str | Path,
    *,
    seed: int,
    threads: int,
) -> None:
    """The base model of a backend with ``needs_base`` (the tiny UMM; cluster models start from upstream)."""
    backend = backend_for(model_cfg, threads=threads)
    if not isinstance(backend, BaseBuilder) or not backend.needs_base:
        raise TypeError(f"backend {backend.name!r} builds no base model; it starts from its upstream weights")
    backend.build_base(Path(root), split, Path(vqa), Path(out), Path(workdir), seed=seed, threads=threads)


def build_untrained(model_cfg: Mapping[str, Any], out: str | Path, *, seed: int) -> None:
    """A variant with ``untrained: true``: the model of ``models.<m>`` with random weights, never trained."""
    if not backend_class(model_cfg["backend"]).needs_base:
        raise TypeError(
            f"backend {model_cfg['backend']!r} has no untrained model of its own (it starts from upstream "
            "weights); drop 'untrained' from its variants"
        )
    backend = backend_for(model_cfg)
    if not isinstance(backend, BaseBuilder):
        raise TypeError(f"backend {backend.name!r} needs a base but cannot build one: a registry bug")
    backend.build_untrained(Path(out), seed=seed)


def limit_pairs(
    task_shards: Mapping[str, Sequence[str | Path]], pairs: int | None, out_dir: str | Path
) -> dict[str, list[Path]]:
    """Each task's shards cut to their first ``pairs`` pairs (one shard per task under ``out_dir``).

    Done here, before any backend's export, so a variant's data size means the same for every backend.
    """
    if pairs is None:
        return {t: [Path(s) for s in v] for t, v in task_shards.items()}
    from sgt.targets.shards import write_first_pairs

    out = {}
    for task, shards in task_shards.items():
        path = Path(out_dir) / f"{task}-first{pairs}.parquet"
        write_first_pairs(shards, pairs, path)
        out[task] = [path]
    return out


def run_inputs(
    model_cfg: Mapping[str, Any],
    task_shards: Mapping[str, Sequence[str | Path]],
    vqa: str | Path | None,
    recipe: Recipe,
    base: str | Path | None,
    pairs: int | None,
) -> str:
    """What one training run is made of, as text: two runs resume each other only when it is equal.

    The base model enters by content (a rebuilt base at the same path is another starting point)."""
    from sgt.io import sha256_file

    base_files = (
        {str(p.relative_to(base)): sha256_file(p) for p in sorted(Path(base).rglob("*")) if p.is_file()}
        if base is not None
        else None
    )
    return json.dumps(
        {"model": model_cfg, "shards": {t: [str(s) for s in v] for t, v in task_shards.items()},
         "vqa": None if vqa is None else str(vqa), "recipe": dataclasses.asdict(recipe), "pairs": pairs,
         "base": base_files},
        sort_keys=True, default=str,
    )  # fmt: skip


EXPORT_DATA, EXPORT_CONFIG, EXPORT_MADE_OF = "data", "train_config.yaml", "made_of.json"


def export_training_data(
    model_cfg: Mapping[str, Any],
    task_shards: Mapping[str, Sequence[str | Path]],
    vqa: str | Path | None,
    recipe: Recipe,
    out: str | Path,
    *,
    checkout: str | Path | None = None,
    pairs: int | None = None,
) -> Path:
    """The backend's training data and config under ``out`` (``data/``, ``train_config.yaml``).

    Cluster backends export on a CPU node ahead of training, so the preflight can check exactly what the
    GPU job will read. ``made_of.json`` is written last: it marks the export complete and names its inputs.
    """
    backend = backend_for(model_cfg, checkout=checkout)
    out = Path(out).absolute()  # exports write absolute paths: build them where they will stay
    made_of = run_inputs(model_cfg, task_shards, vqa, recipe, None, pairs)
    with tempfile.TemporaryDirectory(prefix="sgt-pairs-") as tmp:
        backend.export(
            limit_pairs(task_shards, pairs, tmp), Path(vqa) if vqa else None, recipe, out / EXPORT_DATA
        )
    backend.write_config(out / EXPORT_DATA, recipe, out / EXPORT_CONFIG)
    atomic_write_text(out / EXPORT_MADE_OF, made_of)
    logger.info("%s export for %s in %s", backend.name, recipe.variant, out)
    return out


def launch_options(preflight: str | Path | None) -> dict[str, Any]:
    """Backend options the preflight measured for the launch (BAGEL: ``tokens_per_sample``)."""
    if preflight is None:
        return {}
    from sgt.models.preflight import read_report

    return dict(read_report(preflight)["figures"].get("launch_options", {}))


def train_with_backend(
    model_cfg: Mapping[str, Any],
    task_shards: Mapping[str, Sequence[str | Path]],
    vqa: str | Path | None,
    recipe: Recipe,
    workdir: str | Path,
    out: str | Path,
    log: str | Path,
    *,
    checkout: str | Path | None = None,
    base: str | Path | None = None,
    threads: int | None = None,
    pairs: int | None = None,
    exported: str | Path | None = None,
    preflight: str | Path | None = None,
) -> Path:
    """Export (unless ``exported`` holds a checked export), configure and launch one run, then hand its
    checkpoint to ``out`` for evaluation.

    ``pairs``: train on only the first that many pairs of each task (``study.variants.<v>.pairs``).
    ``preflight``: the preflight report whose ``launch_options`` the launch applies.
    """
    backend = backend_for(model_cfg, checkout=checkout, base=base, threads=threads)
    if options := launch_options(preflight):
        logger.info("launch options measured by the preflight: %s", options)
        backend = dataclasses.replace(backend, **options)
    workdir = Path(workdir)
    if exported is not None:
        exported = Path(exported).absolute()
        data, made_of = exported / EXPORT_DATA, (exported / EXPORT_MADE_OF).read_text(encoding="utf-8")
    else:
        data, made_of = workdir / "data", run_inputs(model_cfg, task_shards, vqa, recipe, base, pairs)
    done = workdir / "data" / ".complete" if exported is None else workdir / ".made_of"
    if done.is_file() and done.read_text() != made_of:
        # another recipe, data size, shard set or base model: this folder's export and checkpoints belong
        # to another run, and resuming from them would mix two runs
        logger.info("%s holds a run of other inputs: starting over", workdir)
        shutil.rmtree(workdir)
    if exported is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = exported / EXPORT_CONFIG
    else:
        if not done.is_file():  # exports write absolute paths: build them in place
            shutil.rmtree(data, ignore_errors=True)  # an export cut off midway
            backend.export(
                limit_pairs(task_shards, pairs, workdir / "pairs"),
                Path(vqa) if vqa else None,
                recipe,
                data,
            )
        config = backend.write_config(data, recipe, workdir / "train_config.yaml")
    if not done.is_file():
        done.write_text(made_of)
    backend.prepare(config, workdir)
    run_launch(backend.launch(config, recipe, workdir), log)
    ckpt = backend.checkpoint(workdir)
    if ckpt is None:
        raise RuntimeError(f"{backend.name}: training ended but no complete checkpoint in {workdir}")
    backend.handoff(ckpt, Path(out), log=Path(log))
    logger.info("checkpoint %s handed to %s", ckpt, out)
    return ckpt


def preflight_run(
    model_cfg: Mapping[str, Any],
    exported: str | Path,
    recipe: Recipe,
    out: str | Path,
    *,
    checkout: str | Path,
    workdir: str | Path,
    log: str | Path | None = None,
) -> dict[str, Any]:
    """Check an export with the checkout's own loaders; write ``out`` only when every invariant holds.

    The report of a failed check stays in ``workdir/report.json`` for inspection.
    """
    from sgt.models.preflight import judge, read_report, write_report

    backend = backend_for(model_cfg, checkout=checkout)
    workdir = Path(workdir).absolute()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    config = Path(exported).absolute() / EXPORT_CONFIG
    result = backend.preflight(config, recipe, workdir, Path(log) if log else None)
    for f in result.findings:
        logger.info(
            "%s %s: %s (upstream %s)", "ok    " if f.ok else "BROKEN", f.invariant, f.detail, f.upstream
        )
    logger.info("figures: %s", json.dumps(dict(result.figures), default=str))
    if result.stand_ins:
        logger.info("stand-ins used: %s", "; ".join(result.stand_ins))
    write_report(workdir / "report.json", backend.name, result)
    judge(backend.name, result.findings)
    write_report(out, backend.name, result)
    return read_report(out)


def eval_folder_run(
    model_cfg: Mapping[str, Any], handoff: str | Path | None, out: str | Path, *, checkout: str | Path
) -> dict[str, str]:
    """The folder VLMEvalKit's class for this backend loads, built from a finished run's hand-off (None: the
    released model, for the variant without a mix)."""
    backend = backend_for(model_cfg, checkout=checkout)
    made = backend.eval_folder(None if handoff is None else Path(handoff), Path(out))
    logger.info("%s eval folder for %s: %s", backend.name, backend.vlmeval_class, made)
    return made


def generation_folder_run(
    model_cfg: Mapping[str, Any],
    handoff: str | Path | None,
    eval_folder: str | Path,
    out: str | Path,
    *,
    checkout: str | Path,
) -> dict[str, str]:
    """The model folder the checkout's inference code loads (backends with ``own_generation_folder``); a
    None hand-off is the released model."""
    backend = backend_for(model_cfg, checkout=checkout)
    made = backend.generation_folder(None if handoff is None else Path(handoff), Path(eval_folder), Path(out))
    logger.info("%s generation folder: %s", backend.name, made)
    return made


def generate_run(
    model_cfg: Mapping[str, Any],
    benchmark: str,
    model: str | Path,
    out: str | Path,
    log: str | Path,
    *,
    checkout: str | Path,
    workdir: str | Path,
    seed: int | None,
    settings: Mapping[str, Any],
    gpus: int,
    inputs: Mapping[str, str | Path] | None = None,
) -> None:
    """``benchmark`` images of one (model, variant, seed[, generation seed]) by the backend's drawer, drawn
    into ``workdir/images`` (kept across requeues: finished prompts are skipped), then moved to ``out`` once
    complete. ``inputs``: the extra rule inputs the drawer ``needs``, by name."""
    from sgt.models.backends.drawing import Job, drawer

    backend = backend_for(model_cfg, checkout=checkout)
    draw = drawer(backend.name, benchmark)
    cfg = draw.settings(settings)
    images = Path(workdir).absolute() / "images"
    images.mkdir(parents=True, exist_ok=True)
    job = Job(Path(model).absolute(), images, seed, gpus, {k: Path(v) for k, v in (inputs or {}).items()})
    missing = sorted(set(draw.needs) - set(job.inputs))
    if missing:
        raise KeyError(
            f"{backend.name}/{benchmark} needs inputs {missing}: a rule bug (sgt.plan.study.DRAW_INPUTS)"
        )
    run_launch(draw.launch(backend, job, cfg), log)
    draw.publish(backend, job, cfg, Path(out))
