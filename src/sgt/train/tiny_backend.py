"""The built-in tiny UMM as a backend: the same interface as BAGEL and OmniGen2, run on CPU in a subprocess.

It reads our own formats, so ``export`` copies nothing: it checks the shards and VQA JSONL and writes
``data.json`` naming them (with each task's level, taken from the shard rows). ``write_config`` writes the
fine-tune settings of the recipe, ``launch`` is ``python -m sgt.train.tiny_main`` (which calls
:func:`sgt.train.study.finetune`, resuming from ``workdir/ckpt``), and ``handoff`` copies the finished model
folder to the rule's output, where the embedded evaluation loads it. Unlike the cluster models the tiny
model has no upstream weights, so ``build_base`` builds its base once (:func:`sgt.train.study.pretrain_base`).
It trains with our own loop, so it sits in the train layer; the backend registry (``sgt.models.backends``),
a layer below, names it by its import path.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sgt.data.vqa import read_jsonl
from sgt.io import atomic_dir, atomic_write_json, read_json, read_parquet
from sgt.models.backend_interface import VQA_KEY, Evaluator, Launch, Recipe, Resources
from sgt.models.backends._export import split_mix

logger = logging.getLogger(__name__)

DATA_FILE = "data.json"
FINAL = "final"  # the finished model inside the run folder, before hand-off


def task_level(task: str, shards: Sequence[Path]) -> str:
    """The level the tiny loader needs (``high``: nearest-resized targets); rows must be ``task``'s."""
    levels: set[str] = set()
    for shard in shards:
        table = read_parquet(shard, columns=["proxy_task", "level"])
        wrong = set(table.column("proxy_task").to_pylist()) - {task}
        if wrong:
            raise ValueError(f"{shard}: rows of task(s) {sorted(wrong)} given as task {task!r}")
        levels.update(table.column("level").to_pylist())
    if not levels:
        raise ValueError(f"task {task!r}: its shards hold no pairs ({[str(s) for s in shards]})")
    return levels.pop() if len(levels) == 1 else "mixed"


@dataclass(frozen=True, slots=True)
class TinyBackend:
    """The tiny UMM (``sgt.models.tiny_umm``); options are ``models.<m>.architecture`` and ``.pretrain``."""

    architecture: Mapping[str, Any] = field(default_factory=dict)
    pretrain: Mapping[str, Any] = field(default_factory=dict)
    base: Path | None = None
    threads: int = 1
    name: ClassVar[str] = "tiny"
    needs_base: ClassVar[bool] = True
    needs_upstream: ClassVar[bool] = False
    evaluator: ClassVar[Evaluator] = "embedded"
    recipe_section: ClassVar[str] = "finetune"
    resource_stage: ClassVar[str] = "train"
    preflights: ClassVar[bool] = False
    own_loop: ClassVar[bool] = True

    @classmethod
    def recipe_defaults(cls) -> dict[str, Any]:
        """The training loop's own defaults for the keys a recipe must have (steps has none)."""
        from sgt.train.settings import TrainConfig

        defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
        return {k: defaults[k] for k in ("lr", "warmup", "batch_size")}

    def resources(self, stage: Resources) -> Resources:
        return stage

    def build_base(
        self, root: Path, split: str, vqa: Path, out: Path, workdir: Path, *, seed: int, threads: int
    ) -> None:
        from sgt.train.study import pretrain_base

        pretrain_base(
            root, split, vqa, self.architecture, self.pretrain, out, workdir, seed=seed, threads=threads
        )

    def build_untrained(self, out: Path, *, seed: int) -> None:
        from sgt.train.study import untrained_model

        untrained_model(self.architecture, out, seed=seed)

    def export(
        self, shards: Mapping[str, Sequence[Path]], vqa: Path | None, recipe: Recipe, out: Path
    ) -> Path:
        vqa_weight, gen = split_mix(recipe.mix, list(shards))
        data: dict[str, Any] = {"task_shards": {}, "task_levels": {}, "vqa": None}
        for task in sorted(gen):
            paths = [Path(s).absolute() for s in shards[task]]
            data["task_levels"][task] = task_level(task, paths)
            data["task_shards"][task] = [str(p) for p in paths]
        if vqa_weight > 0:
            if vqa is None:
                raise ValueError(f"recipe {recipe.variant!r} weights {VQA_KEY!r} but no VQA JSONL was given")
            data["vqa"] = str(Path(vqa).absolute())
            data["vqa_records"] = len(read_jsonl(vqa))
        atomic_write_json(Path(out) / DATA_FILE, data)
        return Path(out)

    def write_config(self, data_root: Path, recipe: Recipe, out: Path) -> Path:
        if self.base is None:
            raise ValueError(
                "tiny backend: no base model given; fine-tunes start from results/models/<m>/base"
            )
        train = {
            **recipe.extra,
            "steps": recipe.steps,
            "batch_size": recipe.batch_size,
            "lr": recipe.lr,
            "warmup": recipe.warmup,
        }
        config = {
            "base": str(Path(self.base).absolute()),
            "data": read_json(Path(data_root) / DATA_FILE),
            "mix": dict(recipe.mix),
            "seed": recipe.seed,
            "threads": self.threads,
            "train": train,
            "variant": recipe.variant,
        }
        atomic_write_json(out, config)
        return Path(out)

    def prepare(self, config: Path, workdir: Path) -> None:
        """Clear a finished model left by an earlier run, so ``checkpoint`` only finds this run's."""
        shutil.rmtree(Path(workdir) / FINAL, ignore_errors=True)
        Path(workdir).mkdir(parents=True, exist_ok=True)

    def launch(self, config: Path, recipe: Recipe, workdir: Path) -> Launch:
        argv = (sys.executable, "-m", "sgt.train.tiny_main", str(config), str(workdir))
        return Launch(argv, {}, Resources(threads=self.threads))

    def checkpoint(self, workdir: Path) -> Path | None:
        final = Path(workdir) / FINAL
        return final if (final / "train.json").is_file() else None

    def handoff(self, checkpoint: Path, out: Path, log: Path | None = None) -> None:
        """A copy of the model folder (weights, config, metrics): the embedded evaluation loads it as is; its
        metrics.csv is the loop's own, so ``log`` is not read."""
        with atomic_dir(out) as tmp:
            shutil.copytree(checkpoint, tmp, dirs_exist_ok=True)
        logger.info("tiny model %s -> %s", checkpoint, out)


def finetune_from_config(config: str | Path, workdir: str | Path) -> None:
    """Run one fine-tune from the JSON ``TinyBackend.write_config`` wrote (the launch's entry point)."""
    from sgt.train.study import finetune

    cfg = json.loads(Path(config).read_text(encoding="utf-8"))
    data = cfg["data"]
    finetune(
        cfg["base"],
        data["task_shards"],
        data["task_levels"],
        data["vqa"],
        cfg["mix"],
        cfg["train"],
        Path(workdir) / FINAL,
        workdir,
        seed=int(cfg["seed"]),
        threads=int(cfg["threads"]),
        variant=cfg["variant"],
    )
