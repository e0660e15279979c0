"""The interface every model backend implements, so the workflow rules never know which model they run.

A backend turns our target shards plus a recipe (task mix, SFT ratio, steps, lr) into a training run:
it exports data in its own format, writes its training config, prepares the run folder, names the launch
command and the resources that command needs, and finds the checkpoint that evaluation loads.

The VQA SFT input every backend reads is one JSONL file, one record a line:
``{"image": "<path, absolute or relative to the JSONL's folder>", "question": "...", "answer": "..."}``
(:func:`sgt.data.vqa.read_jsonl`). Mix keys are task names plus :data:`VQA_KEY` for the SFT data.

Class attributes tell the workflow what a backend needs around its run, so the rules stay generic:
``needs_base`` (a base model is built first by :meth:`BaseBuilder.build_base`), ``needs_upstream`` (training
code is checked out at ``models.<m>.upstream``), ``evaluator`` (which evaluation rule reads the hand-off),
``recipe_section`` (the ``models.<m>`` key holding the optimiser settings), ``resource_stage`` (the
``resources.<stage>`` whose threads, and defaults, the training job gets) and ``preflights`` (the export is
made on a CPU node and checked by :meth:`ClusterBackend.preflight` with the upstream loaders before the GPU
job starts).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from sgt.models.preflight import PreflightResult

VQA_KEY = "vqa"
Evaluator = Literal["embedded", "vlmeval"]


@dataclass(frozen=True, slots=True)
class Recipe:
    """One fine-tuning run: mix weights (``{"vqa": 1, "semantic": 2}``: each source's share of the samples)
    and optimiser settings."""

    variant: str
    mix: Mapping[str, float]
    steps: int
    lr: float
    warmup: int
    batch_size: int
    seed: int
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resources:
    """What one training job asks the scheduler for."""

    gpus: int = 0
    nodes: int = 1
    runtime_min: int = 60
    mem_mb: int = 4000
    threads: int = 1


@dataclass(frozen=True, slots=True)
class Launch:
    """A command line (argv), the environment it adds and the folder it must run in."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    resources: Resources = Resources()
    cwd: Path | None = None
    secrets: tuple[str, ...] = ()  # values masked in the job log (an API key the child prints)


class Backend(Protocol):
    name: ClassVar[str]
    needs_base: ClassVar[bool]
    needs_upstream: ClassVar[bool]
    evaluator: ClassVar[Evaluator]
    recipe_section: ClassVar[str]
    resource_stage: ClassVar[str]
    preflights: ClassVar[bool]
    # True: trained by our loop (sgt.train.loop), which composes every batch from the mix itself
    # (sgt.train.mix.mix_schedule); False: upstream code composes the batches
    own_loop: ClassVar[bool]

    @classmethod
    def recipe_defaults(cls) -> dict[str, Any]:
        """Recipe values used where ``models.<m>.<recipe_section>`` leaves them out."""

    def resources(self, stage: Resources) -> Resources:
        """The job's resources; ``stage`` is ``resources.<resource_stage>`` from config."""

    def export(
        self, shards: Mapping[str, Sequence[Path]], vqa: Path | None, recipe: Recipe, out: Path
    ) -> Path:
        """Write the training data in the backend's format under ``out``; return its root."""

    def write_config(self, data_root: Path, recipe: Recipe, out: Path) -> Path:
        """Write the backend's training config for ``recipe`` to ``out``; return its path."""

    def prepare(self, config: Path, workdir: Path) -> None:
        """Make ``workdir`` ready to start or resume (links, helper files); run just before ``launch``."""

    def launch(self, config: Path, recipe: Recipe, workdir: Path) -> Launch:
        """The command that trains (and resumes from the newest checkpoint in ``workdir``)."""

    def checkpoint(self, workdir: Path) -> Path | None:
        """The newest finished checkpoint in ``workdir``, or None."""

    def handoff(self, checkpoint: Path, out: Path, log: Path | None = None) -> None:
        """Publish ``checkpoint`` as the run's output folder ``out``, in the form ``evaluator`` reads, with
        ``metrics.csv`` (Fig. 6) where the backend has one or can read it from the training ``log``."""


@runtime_checkable
class BaseBuilder(Protocol):
    """A backend with ``needs_base``: it builds its own base model before any fine-tune starts from it."""

    def build_base(
        self, root: Path, split: str, vqa: Path, out: Path, workdir: Path, *, seed: int, threads: int
    ) -> None:
        """Build the base model from the image folder ``root``/``split`` and the VQA JSONL into ``out``."""

    def build_untrained(self, out: Path, *, seed: int) -> None:
        """The same architecture with random weights (seeded) into ``out``: the floor a trained model must
        beat on the embedded benchmarks by more than the seed-to-seed spread."""


class ClusterBackend:
    """What the upstream-trained backends (BAGEL, OmniGen2) share: no base step, a pinned checkout, GPUs
    from their own options, VLMEvalKit on the hand-off. Subclasses are dataclasses with ``gpus``, ``nodes``,
    ``runtime_min`` and ``mem_mb`` fields."""

    __slots__ = ()
    needs_base: ClassVar[bool] = False
    needs_upstream: ClassVar[bool] = True
    evaluator: ClassVar[Evaluator] = "vlmeval"
    recipe_section: ClassVar[str] = "recipe"
    resource_stage: ClassVar[str] = "cluster_train"
    preflights: ClassVar[bool] = True
    own_loop: ClassVar[bool] = False
    name: ClassVar[str]
    # The vlmeval.vlm class that loads eval_folder()'s output (eval.vlmeval.model_classes may name another)
    vlmeval_class: ClassVar[str]
    # True: the benchmark drawers (backends/drawing.py) load generation_folder()'s output, built by rule
    # generation_model; False: they load eval_folder()'s (the VLMEvalKit folder holds every weight they read)
    own_generation_folder: ClassVar[bool] = False
    gpus: int
    nodes: int
    runtime_min: int
    mem_mb: int

    @classmethod
    def recipe_defaults(cls) -> dict[str, Any]:
        return {}  # Table 8 gives every value; recipe_for names any that is missing

    def resources(self, stage: Resources) -> Resources:
        return Resources(self.gpus, self.nodes, self.runtime_min, self.mem_mb, stage.threads)

    def preflight(
        self, config: Path, recipe: Recipe, workdir: Path, log: Path | None = None
    ) -> PreflightResult:
        """Run the checkout's own loaders on the export that ``config`` (from ``write_config``) names.

        ``workdir`` is scratch space (stand-in tokenizer, probe output); ``log`` gets the probe's output.
        Returns findings the caller judges; figures under ``launch_options`` are backend options the
        training job applies (e.g. BAGEL's measured ``tokens_per_sample``).
        """
        raise NotImplementedError(f"{self.name}: no preflight")

    def training_metrics(self, log_text: str) -> list[dict[str, float]]:
        """Rows of ``metrics.csv`` (``step``, ``loss_vqa``, ...) read from the launch's output in the training
        log; none where the backend has no reader for its upstream's log lines."""
        return []

    def handoff(self, checkpoint: Path, out: Path, log: Path | None = None) -> None:
        """``out/checkpoint.json`` names the checkpoint; VLMEvalKit loads it from there. ``metrics.csv``
        beside it holds the losses upstream logged (Fig. 6 reads it), where ``training_metrics`` finds any."""
        import csv

        from sgt.io import atomic_dir

        text = Path(log).read_text(encoding="utf-8", errors="replace") if log and Path(log).is_file() else ""
        rows = self.training_metrics(text)
        with atomic_dir(out) as tmp:
            record = {"checkpoint": str(checkpoint), "backend": self.name}
            (tmp / "checkpoint.json").write_text(json.dumps(record))
            if rows:
                with open(tmp / "metrics.csv", "w", newline="", encoding="utf-8") as fh:
                    writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)

    def eval_folder(self, handoff: Path | None, out: Path) -> dict[str, str]:
        """Build ``out``, the folder ``vlmeval_class`` loads as ``model_path``, from a hand-off folder, or
        from the released model when ``handoff`` is None (the study's variant without a mix)."""
        raise NotImplementedError(f"{self.name}: no VLMEvalKit folder")

    def generation_folder(self, handoff: Path | None, eval_folder: Path, out: Path) -> dict[str, str]:
        """Build ``out``, the model folder the checkout's inference code loads, from a hand-off folder and
        its eval folder (backends with ``own_generation_folder``); None: the released model."""
        raise NotImplementedError(f"{self.name}: its drawers load the eval folder")

    @staticmethod
    def handoff_checkpoint(handoff: Path) -> Path:
        """The checkpoint a hand-off folder names."""
        record = Path(handoff) / "checkpoint.json"
        if not record.is_file():
            raise FileNotFoundError(f"{record} missing: {handoff} is not a finished cluster run's hand-off")
        return Path(json.loads(record.read_text(encoding="utf-8"))["checkpoint"])
