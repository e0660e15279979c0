"""One cluster training run through a backend: export, config, prepare, launch, then hand over the checkpoint.

The rule calls ``train_with_backend``; everything model-specific stays in the backend, so the rule does not
know whether it trains BAGEL or OmniGen2. Rerunning after a requeue resumes from the backend's newest
complete checkpoint (each backend's ``launch`` handles resume).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sgt.io import atomic_dir
from sgt.models.backend import Recipe
from sgt.models.backends import get_backend, run_launch

logger = logging.getLogger(__name__)
NOT_OPTIONS = frozenset({"backend", "upstream", "recipe", "architecture", "pretrain", "finetune"})


def recipe_for(model_cfg: Mapping[str, Any], variant: str, mix: Mapping[str, float], seed: int) -> Recipe:
    """The Table 8 recipe of ``models.<m>.recipe`` for one variant's mix."""
    r = dict(model_cfg.get("recipe", {}))
    missing = sorted({"lr", "warmup", "steps", "batch_size"} - set(r))
    if missing:
        raise KeyError(f"models.<model>.recipe lacks {missing} (Table 8: lr, warmup, steps, batch_size)")
    extra = {k: v for k, v in r.items() if k not in {"lr", "warmup", "steps", "batch_size"}}
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


def backend_options(model_cfg: Mapping[str, Any], checkout: str | Path) -> dict[str, Any]:
    opts = {k: v for k, v in model_cfg.items() if k not in NOT_OPTIONS}
    opts["checkout"] = Path(checkout) / model_cfg.get("upstream", {}).get("subdir", "")
    return opts


def train_with_backend(
    model_cfg: Mapping[str, Any],
    checkout: str | Path,
    task_shards: Mapping[str, Sequence[str | Path]],
    vqa: str | Path | None,
    recipe: Recipe,
    workdir: str | Path,
    out: str | Path,
    log: str | Path,
) -> Path:
    """Export, configure and launch one run; ``out`` receives a pointer to the finished checkpoint."""
    backend = get_backend(model_cfg["backend"], **backend_options(model_cfg, checkout))
    workdir = Path(workdir)
    data = workdir / "data"
    if not (data / ".complete").is_file():
        with atomic_dir(data) as tmp:
            backend.export(
                {t: [Path(s) for s in v] for t, v in task_shards.items()},
                Path(vqa) if vqa else None,
                recipe,
                tmp,
            )
            (tmp / ".complete").write_text("ok\n")
    config = backend.write_config(data, recipe, workdir / "train_config.yaml")
    backend.prepare(config, workdir)
    run_launch(backend.launch(config, recipe, workdir), log)
    ckpt = backend.checkpoint(workdir)
    if ckpt is None:
        raise RuntimeError(f"{model_cfg['backend']}: training ended but no complete checkpoint in {workdir}")
    with atomic_dir(out) as tmp:
        (tmp / "checkpoint.json").write_text(
            json.dumps({"checkpoint": str(ckpt), "backend": model_cfg["backend"]})
        )
    logger.info("checkpoint %s", ckpt)
    return ckpt
