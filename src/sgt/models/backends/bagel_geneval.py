"""GenEval images from a tuned BAGEL with BAGEL's own ``eval/gen/gen_images_mp.py`` (issue #22, first part).

Facts from ByteDance-Seed/Bagel at 056b5fd: ``scripts/eval/run_geneval.sh`` runs the script under
``torchrun`` with ``--batch_size 1 --num_images 4 --resolution 1024 --max_latent_size 64`` (cfg scale: the
script's default 4; 50 steps, timestep shift 3, cfg interval [0, 1] are fixed in it) on
``eval/gen/geneval/prompts/evaluation_metadata.jsonl`` (553 prompts; the ``_long`` file is the LLM-rewritten
set behind Table 2's dagger numbers, not Tables 3/7). It reads ``llm_config.json``, ``vit_config.json``,
``ae.safetensors``, the tokenizer and ``ema.safetensors`` from ``--model-path``: the eval folder
``vlmeval_model`` builds. It writes GenEval's layout, ``<output_dir>/<index:05>/metadata.jsonl`` and
``samples/<k:05>.png``, and skips a prompt whose ``num_images`` PNGs exist, so a requeued job keeps its
finished prompts.

The script fixes ``seed = 42`` for every run, while the paper averages GenEval over 12 seeds. The generated
entry script compiles the script from its own file with that one line set from ``SGT_GEN_SEED``, after
checking it occurs exactly once (the pattern of the training entry, docs/backends.md); nothing in the
checkout is edited.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sgt.models.backend_interface import Launch
from sgt.models.backends.drawing import (
    Job,
    register,
    settings_from,
    settings_record,
    single_node_torchrun,
    write_entry,
)
from sgt.models.backends.layouts import missing_samples, publish_geneval

logger = logging.getLogger(__name__)

UPSTREAM_SCRIPT = "eval/gen/gen_images_mp.py"
SEED_LINE = "seed = 42"
ENTRY_SCRIPT = "sgt_bagel_geneval_entry.py"
ENTRY_TEMPLATE = '''\
"""Written by sgt (docs/backends.md): BAGEL's eval/gen/gen_images_mp.py with the run's generation seed."""
import os
import sys

SEED_LINE = "seed = 42"


def main():
    checkout = os.getcwd()
    sys.path.insert(0, checkout)
    path = os.path.join(checkout, "eval", "gen", "gen_images_mp.py")
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    found = source.count(SEED_LINE)
    if found != 1:
        sys.exit(f"{path}: expected '{SEED_LINE}' once, found {found}; not the pinned generation script")
    seed = int(os.environ["SGT_GEN_SEED"])
    source = source.replace(SEED_LINE, f"seed = {seed}  # sgt: the run's generation seed")
    sys.argv[0] = path
    exec(compile(source, path, "exec"), {"__name__": "__main__", "__file__": path})


if __name__ == "__main__":
    main()
'''


@dataclass(frozen=True, slots=True)
class GenEvalSettings:
    """run_geneval.sh's flags (the paper's no-rewriter GenEval), each a config key of eval.cluster_geneval."""

    prompts: str = "eval/gen/geneval/prompts/evaluation_metadata.jsonl"
    num_images: int = 4
    batch_size: int = 1
    resolution: int = 1024
    max_latent_size: int = 64
    cfg_scale: float = 4.0

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> GenEvalSettings:
        return settings_from(cls, cfg, "eval.cluster_geneval.bagel")


def geneval_launch(
    checkout: Path,
    eval_model: Path,
    images: Path,
    seed: int,
    settings: GenEvalSettings,
    *,
    gpus: int,
) -> Launch:
    """torchrun of the entry script in the checkout, as run_geneval.sh runs the upstream script."""
    images, entry = write_entry(images, ENTRY_SCRIPT, ENTRY_TEMPLATE)
    argv = [
        *single_node_torchrun(gpus),
        str(entry),
        "--output_dir", str(images),
        "--metadata_file", str(Path(checkout).absolute() / settings.prompts),
        "--batch_size", str(settings.batch_size),
        "--num_images", str(settings.num_images),
        "--resolution", str(settings.resolution),
        "--max_latent_size", str(settings.max_latent_size),
        "--cfg_scale", str(settings.cfg_scale),
        "--model-path", str(Path(eval_model).absolute()),
    ]  # fmt: skip
    env = {
        "PYTHONPATH": str(Path(checkout).absolute()),
        "SGT_GEN_SEED": str(seed),
        "TOKENIZERS_PARALLELISM": "false",
    }
    return Launch(tuple(argv), env, cwd=Path(checkout).absolute())


def publish(images: Path, out: Path, prompts: Path, settings: GenEvalSettings, seed: int) -> None:
    """Move a complete image folder to the rule's output, with a record of how it was made."""
    publish_geneval(images, out, prompts, settings.num_images, {"seed": seed, **settings_record(settings)})


@register("bagel", "geneval")
class BagelGenEval:
    """GenEval for BAGEL: its own gen_images_mp.py over the eval folder (vlmeval_model's output)."""

    needs: ClassVar[tuple[str, ...]] = ()

    def settings(self, cfg: Mapping[str, Any]) -> GenEvalSettings:
        return GenEvalSettings.from_config(cfg)

    def launch(self, backend: Any, job: Job, settings: GenEvalSettings) -> Launch:
        return geneval_launch(
            backend.checkout,
            job.model,
            job.images,
            job.seed,
            settings,
            gpus=job.gpus,
        )

    def launch_on(self, backend: Any, job: Job, settings: GenEvalSettings, prompts: Path) -> Launch:
        """The same launch on another GenEval-style prompt file (DPG-Bench, dpg_drawing)."""
        return self.launch(backend, job, dataclasses.replace(settings, prompts=str(Path(prompts).absolute())))

    def publish(self, backend: Any, job: Job, settings: GenEvalSettings, out: Path) -> None:
        publish(job.images, out, Path(backend.checkout).absolute() / settings.prompts, settings, job.seed)


__all__ = [
    "ENTRY_SCRIPT",
    "SEED_LINE",
    "UPSTREAM_SCRIPT",
    "BagelGenEval",
    "GenEvalSettings",
    "geneval_launch",
    "missing_samples",
    "publish",
]
