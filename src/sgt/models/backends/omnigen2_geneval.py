"""GenEval images from a tuned OmniGen2 through the checkout's own ``inference.py`` functions (issue #22).

OmniGen2 ships no GenEval script. Its ``inference.py`` (VectorSpaceLab/OmniGen2: at the root; the SGT fork
song2yu/SGT at e004548: ``OmniGen2/scripts/infra/inference.py``, same argparse, ``load_pipeline`` and ``run``)
draws one prompt per call. The generated entry script imports that file from the checkout, parses our flags
with its own ``parse_args`` (so a flag it lacks stops the job), loads the pipeline once with
``load_pipeline(args, accelerator, weight_dtype)`` as its ``main`` does, and calls ``run`` per prompt with
``input_images=None`` (text to image). Settings are example_t2i.sh's (50 steps, 1024x1024,
``--text_guidance_scale 4.0``) and inference.py's defaults for the rest (euler, cfg range [0, 1], bf16).

Prompts: GenEval's own ``prompts/evaluation_metadata.jsonl`` (djghosh13/geneval, rule checkout_geneval; the
same 553 lines as BAGEL's copy). Layout as GenEval's ``generation/diffusers_generate.py``:
``<index:05>/metadata.jsonl`` + ``samples/<k:05>.png``. Seeding: ``inference.run`` seeds a fresh
``torch.Generator`` from ``args.seed`` on every call, so each call gets
``SeedSequence([gseed, prompt index, first sample]).generate_state(1)[0]``: the same generation seed gives the
same bytes whether or not the job was cut, and two seeds differ. A PNG is written to a temporary name and
renamed, so a prompt counts as finished only with every sample whole; finished prompts are skipped on resume.
Several GPUs: torchrun ranks take every ``world``-th prompt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sgt.io import atomic_write_text
from sgt.models.backend_interface import Launch
from sgt.models.backends.drawing import (
    Job,
    register,
    settings_from,
    settings_record,
    single_node_torchrun,
)
from sgt.models.backends.layouts import publish_geneval

ENTRY_SCRIPT = "sgt_omnigen2_geneval_entry.py"
ENTRY_TEMPLATE = '''\
"""Written by sgt (docs/backends.md): GenEval prompts through OmniGen2's inference.py (load_pipeline, run)."""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np


def main():
    ours = argparse.ArgumentParser()
    for flag in ("--sgt_script", "--sgt_metadata_file", "--sgt_output_dir"):
        ours.add_argument(flag, required=True)
    ours.add_argument("--sgt_num_images", type=int, required=True)
    ours.add_argument("--sgt_seed", type=int, required=True)
    mine, upstream_argv = ours.parse_known_args()
    checkout = os.getcwd()
    sys.path.insert(0, checkout)
    path = os.path.join(checkout, mine.sgt_script)
    spec = importlib.util.spec_from_file_location("sgt_omnigen2_inference", path)
    inference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(inference)
    for name in ("parse_args", "load_pipeline", "run"):
        if not callable(getattr(inference, name, None)):
            sys.exit(f"{path}: no {name}(); not OmniGen2's inference.py")
    sys.argv = [path, *upstream_argv]
    args = inference.parse_args()  # upstream's argparse: a flag it lacks stops here
    per_call = args.num_images_per_prompt
    if mine.sgt_num_images % per_call:
        sys.exit(f"--num_images_per_prompt {per_call} does not divide {mine.sgt_num_images} images")

    import torch
    from accelerate import Accelerator

    accelerator = Accelerator(mixed_precision=args.dtype if args.dtype != "fp32" else "no")
    weight_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    rank, world = accelerator.process_index, accelerator.num_processes
    with open(mine.sgt_metadata_file, encoding="utf-8") as fh:
        metadatas = [json.loads(line) for line in fh if line.strip()]

    def sample(idx, k):
        return os.path.join(mine.sgt_output_dir, f"{idx:05}", "samples", f"{k:05}.png")

    todo = []
    for idx, metadata in enumerate(metadatas):
        if idx % world != rank:
            continue
        if all(os.path.exists(sample(idx, k)) for k in range(mine.sgt_num_images)):
            print(f"skipping generation for prompt: {metadata['prompt']}", flush=True)
        else:
            todo.append(idx)
    if not todo:
        return
    pipeline = inference.load_pipeline(args, accelerator, weight_dtype)
    for idx in todo:
        metadata = metadatas[idx]
        folder = os.path.join(mine.sgt_output_dir, f"{idx:05}")
        os.makedirs(os.path.join(folder, "samples"), exist_ok=True)
        with open(os.path.join(folder, "metadata.jsonl"), "w", encoding="utf-8") as fh:
            json.dump(metadata, fh)
        for first in range(0, mine.sgt_num_images, per_call):
            args.seed = int(np.random.SeedSequence([mine.sgt_seed, idx, first]).generate_state(1)[0])
            print(f"prompt {idx} samples {first}+{per_call} seed {args.seed}: {metadata['prompt']}")
            prompt = metadata["prompt"]
            results = inference.run(args, accelerator, pipeline, prompt, args.negative_prompt, None)
            if len(results.images) != per_call:
                sys.exit(f"run() gave {len(results.images)} images, asked for {per_call}")
            for j, image in enumerate(results.images):
                final = sample(idx, first + j)
                tmp = final + ".tmp.png"
                image.save(tmp)
                os.replace(tmp, final)


if __name__ == "__main__":
    main()
'''


@dataclass(frozen=True, slots=True)
class OmniGen2GenEvalSettings:
    """eval.cluster_geneval.omnigen2: example_t2i.sh's flags, inference.py's defaults for the rest."""

    script: str = "scripts/infra/inference.py"  # the SGT fork's place; VectorSpaceLab/OmniGen2: inference.py
    prompts: str = "prompts/evaluation_metadata.jsonl"  # in the GenEval checkout
    num_images: int = 4
    images_per_call: int = 1  # inference.py --num_images_per_prompt (example_t2i.sh: 1)
    num_inference_step: int = 50
    height: int = 1024
    width: int = 1024
    text_guidance_scale: float = 4.0
    image_guidance_scale: float = 2.0  # inference.py default; the pipeline sets 1 without input images
    cfg_range_start: float = 0.0
    cfg_range_end: float = 1.0
    scheduler: str = "euler"
    dtype: str = "bf16"

    def __post_init__(self) -> None:
        if self.num_images % self.images_per_call:
            raise ValueError(
                f"eval.cluster_geneval.omnigen2: images_per_call {self.images_per_call} must divide "
                f"num_images {self.num_images}"
            )


def geneval_launch(checkout: Path, job: Job, settings: OmniGen2GenEvalSettings, prompts: Path) -> Launch:
    """torchrun of the entry script in the checkout over the job's GPUs (ranks split the prompts)."""
    images = Path(job.images).absolute()
    entry = images.parent / ENTRY_SCRIPT
    atomic_write_text(entry, ENTRY_TEMPLATE)
    s = settings
    argv = [
        *single_node_torchrun(job.gpus),
        str(entry),
        "--sgt_script", s.script,
        "--sgt_metadata_file", str(Path(prompts).absolute()),
        "--sgt_output_dir", str(images),
        "--sgt_num_images", str(s.num_images),
        "--sgt_seed", str(job.seed),
        "--model_path", str(Path(job.model).absolute()),
        "--num_inference_step", str(s.num_inference_step),
        "--height", str(s.height),
        "--width", str(s.width),
        "--text_guidance_scale", str(s.text_guidance_scale),
        "--image_guidance_scale", str(s.image_guidance_scale),
        "--cfg_range_start", str(s.cfg_range_start),
        "--cfg_range_end", str(s.cfg_range_end),
        "--scheduler", s.scheduler,
        "--dtype", s.dtype,
        "--num_images_per_prompt", str(s.images_per_call),
    ]  # fmt: skip
    env = {
        "PYTHONPATH": str(Path(checkout).absolute()),
        "PYTHONUNBUFFERED": "1",  # progress lines reach the job log as they happen
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    return Launch(tuple(argv), env, cwd=Path(checkout).absolute())


def upstream_flags(launch: Launch) -> list[str]:
    """The part of a launch's argv that inference.py's own ``parse_args`` reads."""
    argv = list(launch.argv)
    return argv[argv.index("--model_path") :]


@register("omnigen2", "geneval")
class OmniGen2GenEval:
    """GenEval for OmniGen2: inference.py's functions over the generation folder (rule generation_model)."""

    needs: ClassVar[tuple[str, ...]] = ("geneval",)

    def settings(self, cfg: Mapping[str, Any]) -> OmniGen2GenEvalSettings:
        return settings_from(OmniGen2GenEvalSettings, cfg, "eval.cluster_geneval.omnigen2")

    def prompts(self, job: Job, settings: OmniGen2GenEvalSettings) -> Path:
        return job.input("geneval") / settings.prompts

    def launch(self, backend: Any, job: Job, settings: OmniGen2GenEvalSettings) -> Launch:
        prompts = self.prompts(job, settings)
        if not prompts.is_file():
            raise FileNotFoundError(
                f"{prompts} missing: eval.cluster_geneval.omnigen2.prompts must name a file of the GenEval "
                "checkout (rule checkout_geneval)"
            )
        return geneval_launch(backend.checkout, job, settings, prompts)

    def launch_on(self, backend: Any, job: Job, settings: OmniGen2GenEvalSettings, prompts: Path) -> Launch:
        """The same launch on another GenEval-style prompt file (DPG-Bench, dpg_drawing)."""
        return geneval_launch(backend.checkout, job, settings, prompts)

    def publish(self, backend: Any, job: Job, settings: OmniGen2GenEvalSettings, out: Path) -> None:
        record = {"seed": job.seed, **settings_record(settings)}
        publish_geneval(job.images, out, self.prompts(job, settings), settings.num_images, record)
