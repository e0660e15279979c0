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

from collections.abc import Mapping, Sequence
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
from sgt.models.backends.layouts import publish_geneval

ENTRY_SCRIPT = "sgt_omnigen2_geneval_entry.py"
# Entry-script text both OmniGen2 drawers share (GEdit: omnigen2_gedit): import the checkout's inference.py,
# check it has the functions named in place of @FUNCTIONS@, parse the upstream flags with its parse_args.
_LOAD_INFERENCE = """\
    mine, upstream_argv = ours.parse_known_args()
    checkout = os.getcwd()
    sys.path.insert(0, checkout)
    path = os.path.join(checkout, mine.sgt_script)
    spec = importlib.util.spec_from_file_location("sgt_omnigen2_inference", path)
    inference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(inference)
    for name in @FUNCTIONS@:
        if not callable(getattr(inference, name, None)):
            sys.exit(f"{path}: no {name}(); not OmniGen2's inference.py")
    sys.argv = [path, *upstream_argv]
    args = inference.parse_args()  # upstream's argparse: a flag it lacks stops here
"""
# ... and build its Accelerator and weight dtype as its main() does.
_ACCELERATOR = """\

    import torch
    from accelerate import Accelerator

    accelerator = Accelerator(mixed_precision=args.dtype if args.dtype != "fp32" else "no")
    weight_dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.dtype]
    rank, world = accelerator.process_index, accelerator.num_processes
"""
# ... and the module-level helpers both entry scripts call: this rank's share of the work, less what a cut
# job already finished, and a PNG written whole or not at all.
_HELPERS = '''\
def rank_share(items, rank, world, finished, skip_note):
    """Every world-th item from rank, less those finished(item) says are done (said by skip_note)."""
    todo = []
    for i, item in enumerate(items):
        if i % world != rank:
            continue
        if finished(item):
            print(skip_note(item), flush=True)
        else:
            todo.append(item)
    return todo


def save_png(image, final):
    """Save under a temporary name, then rename: a PNG that exists is whole, so a resumed job keeps it."""
    tmp = final + ".tmp.png"
    image.save(tmp)
    os.replace(tmp, final)


'''


def entry_template(
    doc: str, *, own_flags: str, functions: tuple[str, ...], body: str, imports: str = "", checks: str = ""
) -> str:
    """An OmniGen2 entry script (both drawers): ``doc``; the shared imports, ``imports`` and helpers; a
    ``main`` that parses ``own_flags`` (ours: ``--sgt_*``), loads the checkout's inference.py and checks it
    has ``functions``, parses upstream's flags, runs ``checks``, builds the Accelerator, runs ``body``."""
    return (
        f'"""Written by sgt (docs/backends.md): {doc}"""\n'
        "import argparse\nimport importlib.util\nimport json\nimport os\nimport sys\n"
        + (f"\n{imports}" if imports else "")
        + "\n\n"
        + _HELPERS
        + "def main():\n    ours = argparse.ArgumentParser()\n"
        + own_flags
        + _LOAD_INFERENCE.replace("@FUNCTIONS@", "(" + ", ".join(f'"{f}"' for f in functions) + ")")
        + checks
        + _ACCELERATOR
        + body
    )


ENTRY_TEMPLATE = entry_template(
    "GenEval prompts through OmniGen2's inference.py (load_pipeline, run).",
    imports="import numpy as np\n",
    own_flags="""\
    for flag in ("--sgt_script", "--sgt_metadata_file", "--sgt_output_dir"):
        ours.add_argument(flag, required=True)
    ours.add_argument("--sgt_num_images", type=int, required=True)
    ours.add_argument("--sgt_seed", type=int, required=True)
""",
    functions=("parse_args", "load_pipeline", "run"),
    checks="""\
    per_call = args.num_images_per_prompt
    if mine.sgt_num_images % per_call:
        sys.exit(f"--num_images_per_prompt {per_call} does not divide {mine.sgt_num_images} images")
""",
    body="""\
    with open(mine.sgt_metadata_file, encoding="utf-8") as fh:
        metadatas = [json.loads(line) for line in fh if line.strip()]

    def sample(idx, k):
        return os.path.join(mine.sgt_output_dir, f"{idx:05}", "samples", f"{k:05}.png")

    todo = rank_share(
        range(len(metadatas)),
        rank,
        world,
        lambda idx: all(os.path.exists(sample(idx, k)) for k in range(mine.sgt_num_images)),
        lambda idx: f"skipping generation for prompt: {metadatas[idx]['prompt']}",
    )
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
                save_png(image, sample(idx, first + j))


if __name__ == "__main__":
    main()
""",
)


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
    images, entry = write_entry(job.images, ENTRY_SCRIPT, ENTRY_TEMPLATE)
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
        *flags(s, "num_inference_step", "height", "width", "text_guidance_scale", "image_guidance_scale"),
        *flags(s, "cfg_range_start", "cfg_range_end", "scheduler", "dtype"),
        "--num_images_per_prompt", str(s.images_per_call),
    ]  # fmt: skip
    return inference_launch(checkout, argv)


def flags(settings: Any, *names: str) -> list[str]:
    """``--<name> <value>`` for each settings field named, in that order: the fields carry inference.py's
    own flag names (both OmniGen2 drawers)."""
    return [part for name in names for part in (f"--{name}", str(getattr(settings, name)))]


def inference_launch(checkout: Path, argv: Sequence[str]) -> Launch:
    """``argv`` run in the checkout, offline, its modules importable (both OmniGen2 drawers)."""
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
