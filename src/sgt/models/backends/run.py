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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sgt.models.backend import BaseBuilder, Recipe, Resources
from sgt.models.backends import backend_class, get_backend, run_launch

logger = logging.getLogger(__name__)
RECIPE_KEYS = ("lr", "warmup", "steps", "batch_size")
# Options the workflow fills per job (a checkout, a base model, the job's threads), never config keys.
RUNTIME_OPTIONS = frozenset({"checkout", "base", "threads"})


def config_keys(backend: str) -> frozenset[str]:
    """The keys ``models.<m>`` may hold for ``backend``: its options plus backend, upstream, its recipe."""
    cls = backend_class(backend)
    options = {f.name for f in dataclasses.fields(cls)} - RUNTIME_OPTIONS  # type: ignore[arg-type]
    return frozenset(options | {"backend", "upstream", cls.recipe_section})


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
) -> Path:
    """Export, configure and launch one run, then hand its checkpoint to ``out`` for evaluation.

    ``pairs``: train on only the first that many pairs of each task (``study.variants.<v>.pairs``).
    """
    backend = backend_for(model_cfg, checkout=checkout, base=base, threads=threads)
    workdir = Path(workdir)
    data = workdir / "data"
    made_of = run_inputs(model_cfg, task_shards, vqa, recipe, base, pairs)
    done = data / ".complete"
    if done.is_file() and done.read_text() != made_of:
        # another recipe, data size, shard set or base model: this folder's export and checkpoints belong
        # to another run, and resuming from them would mix two runs
        logger.info("%s holds a run of other inputs: starting over", workdir)
        shutil.rmtree(workdir)
    if not done.is_file():  # exports write absolute paths: build them in place
        shutil.rmtree(data, ignore_errors=True)  # an export cut off midway
        backend.export(
            limit_pairs(task_shards, pairs, workdir / "pairs"),
            Path(vqa) if vqa else None,
            recipe,
            data,
        )
        done.write_text(made_of)
    config = backend.write_config(data, recipe, workdir / "train_config.yaml")
    backend.prepare(config, workdir)
    run_launch(backend.launch(config, recipe, workdir), log)
    ckpt = backend.checkpoint(workdir)
    if ckpt is None:
        raise RuntimeError(f"{backend.name}: training ended but no complete checkpoint in {workdir}")
    backend.handoff(ckpt, Path(out))
    logger.info("checkpoint %s handed to %s", ckpt, out)
    return ckpt
