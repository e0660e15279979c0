"""GEdit-Bench edits from a tuned OmniGen2 through the checkout's ``inference.py`` edit path (issue #22).

OmniGen2 has no GEdit script. As for GenEval (:mod:`.omnigen2_geneval`), the generated entry script imports
the checkout's ``inference.py``, parses our flags with its ``parse_args``, loads the pipeline once, and per
GEdit row calls ``preprocess([input image])`` (exif transpose, RGB) and ``run(args, accelerator, pipeline,
instruction, negative_prompt, input_images)``, as ``main`` does for one edit. Settings: example_edit.sh's
(``--num_inference_step 50 --text_guidance_scale 5.0 --image_guidance_scale 2.0 --num_images_per_prompt 1``)
and inference.py's defaults for the rest (1024x1024, ``--seed 0`` for every edit, as a run of
example_edit.sh per item). Rows come from rule ``gedit_dataset``'s index and input images; the output is
gen_images_gedit.py's layout (``fullset/{task_type}/{instruction_language}/{key}.png`` + ``{key}_SRCIMG.png``,
the preprocessed input), written under temporary names and renamed; finished rows are skipped on resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sgt.data.gedit_cache import INDEX, read_gedit_index
from sgt.models.backend_interface import Launch
from sgt.models.backends.drawing import (
    Job,
    register,
    settings_from,
    settings_record,
    single_node_torchrun,
    write_entry,
)
from sgt.models.backends.layouts import publish_gedit
from sgt.models.backends.omnigen2_geneval import entry_template, flags, inference_launch

ENTRY_SCRIPT = "sgt_omnigen2_gedit_entry.py"
ENTRY_TEMPLATE = entry_template(
    "GEdit-Bench edits through OmniGen2's inference.py (preprocess, run).",
    own_flags="""\
    for flag in ("--sgt_script", "--sgt_index", "--sgt_output_dir"):
        ours.add_argument(flag, required=True)
    ours.add_argument("--sgt_languages", nargs="+", required=True)
""",
    functions=("parse_args", "load_pipeline", "preprocess", "run"),
    body="""\
    root = os.path.dirname(mine.sgt_index)
    with open(mine.sgt_index, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    rows = [r for r in rows if r["instruction_language"] in mine.sgt_languages]

    def paths(row):
        folder = os.path.join(mine.sgt_output_dir, "fullset", row["task_type"], row["instruction_language"])
        return os.path.join(folder, row["key"] + ".png"), os.path.join(folder, row["key"] + "_SRCIMG.png")

    todo = rank_share(
        rows,
        rank,
        world,
        lambda row: all(os.path.exists(p) for p in paths(row)),
        lambda row: f"sample {row['key']} already generated, skipping...",
    )
    if not todo:
        return
    pipeline = inference.load_pipeline(args, accelerator, weight_dtype)
    for row in todo:
        edited, source = paths(row)
        os.makedirs(os.path.dirname(edited), exist_ok=True)
        input_images = inference.preprocess([os.path.join(root, row["image"])])
        print(f"editing {row['key']} ({row['instruction_language']}) seed {args.seed}: {row['instruction']}")
        instruction = row["instruction"]
        results = inference.run(args, accelerator, pipeline, instruction, args.negative_prompt, input_images)
        for image, final in ((input_images[0], source), (results.images[0], edited)):
            save_png(image, final)


if __name__ == "__main__":
    main()
""",
)


@dataclass(frozen=True, slots=True)
class OmniGen2GEditSettings:
    """eval.cluster_gedit.omnigen2: example_edit.sh's flags, inference.py's defaults for the rest."""

    script: str = "scripts/infra/inference.py"  # the SGT fork's place; VectorSpaceLab/OmniGen2: inference.py
    languages: tuple[str, ...] = ("en",)  # GEdit-Bench-EN (Table 3)
    num_inference_step: int = 50
    text_guidance_scale: float = 5.0
    image_guidance_scale: float = 2.0
    height: int = 1024
    width: int = 1024
    max_input_image_pixels: int = 1048576
    cfg_range_start: float = 0.0
    cfg_range_end: float = 1.0
    scheduler: str = "euler"
    dtype: str = "bf16"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", tuple(self.languages))


def gedit_launch(checkout: Path, job: Job, settings: OmniGen2GEditSettings) -> Launch:
    """torchrun of the entry script in the checkout over the job's GPUs (ranks split the rows)."""
    images, entry = write_entry(job.images, ENTRY_SCRIPT, ENTRY_TEMPLATE)
    s = settings
    argv = [
        *single_node_torchrun(job.gpus),
        str(entry),
        "--sgt_script", s.script,
        "--sgt_index", str(job.input("gedit") / INDEX),
        "--sgt_output_dir", str(images),
        "--sgt_languages", *s.languages,
        "--model_path", str(Path(job.model).absolute()),
        *flags(s, "num_inference_step", "text_guidance_scale", "image_guidance_scale", "height", "width"),
        *flags(s, "max_input_image_pixels", "cfg_range_start", "cfg_range_end", "scheduler", "dtype", "seed"),
        "--num_images_per_prompt", "1",
    ]  # fmt: skip
    return inference_launch(checkout, argv)


@register("omnigen2", "gedit")
class OmniGen2GEdit:
    """GEdit for OmniGen2: inference.py's edit path over the generation folder (rule generation_model)."""

    needs: ClassVar[tuple[str, ...]] = ("gedit",)

    def settings(self, cfg: Mapping[str, Any]) -> OmniGen2GEditSettings:
        return settings_from(OmniGen2GEditSettings, cfg, "eval.cluster_gedit.omnigen2")

    def launch(self, backend: Any, job: Job, settings: OmniGen2GEditSettings) -> Launch:
        read_gedit_index(job.input("gedit"))  # a missing index stops here, not on the GPU node
        return gedit_launch(backend.checkout, job, settings)

    def publish(self, backend: Any, job: Job, settings: OmniGen2GEditSettings, out: Path) -> None:
        rows = read_gedit_index(job.input("gedit"), settings.languages)
        publish_gedit(job.images, out, rows, settings_record(settings))
