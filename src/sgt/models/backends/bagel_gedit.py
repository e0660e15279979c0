"""GEdit-Bench edits from a tuned BAGEL with BAGEL's own ``eval/gen/gedit/gen_images_gedit.py`` (issue #22).

Facts from ByteDance-Seed/Bagel at 056b5fd: ``scripts/eval/run_gedit.sh`` starts one process per GPU,
``gen_images_gedit.py --model_path --output_dir --shard_id i --total_shards N --device i``, with the script's
defaults (``--cfg_text_scale 4.0 --cfg_img_scale 1.5 --cfg_type serial_text_img``; 50 steps, cfg interval
[0.4, 1], renorm ``text_channel``, timestep shift 3 and ``seed=42`` are fixed in its call). The script loads
``stepfun-ai/GEdit-Bench`` by name, draws every row (both instruction languages: it has no filter), writes
``<output_dir>/fullset/{task_type}/{instruction_language}/{key}.png`` and ``{key}_SRCIMG.png`` and skips a row
whose two files exist, so a requeued job keeps its finished items. GPU nodes have no internet, and offline
datasets reloads a hub dataset only from a cache an online load prepared: the entry script compiles the script
from its own file with that one ``load_dataset`` call (checked to occur once) reading the parquet files rule
``gedit_dataset`` kept (:mod:`sgt.data.gedit_cache`), hub and datasets offline; nothing in the checkout is
edited (the pattern of the GenEval entry's seed line).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sgt.data.gedit_cache import offline_env, parquet_files, read_gedit_index
from sgt.models.backend_interface import Launch
from sgt.models.backends.drawing import Job, register, settings_from, settings_record, write_entry
from sgt.models.backends.layouts import publish_gedit

ENTRY_SCRIPT = "sgt_bagel_gedit_entry.py"
LOAD_LINE = 'load_dataset("stepfun-ai/GEdit-Bench")'
ENTRY_TEMPLATE = '''\
"""Written by sgt (docs/backends.md): BAGEL's gen_images_gedit.py, one process per GPU as run_gedit.sh starts
them, each with its one load_dataset("stepfun-ai/GEdit-Bench") call pointed at the local parquet files."""
import json
import os
import subprocess
import sys

LOAD_LINE = 'load_dataset("stepfun-ai/GEdit-Bench")'


def child():
    path = os.path.join(os.getcwd(), os.environ["SGT_GEDIT_SCRIPT"])
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    found = source.count(LOAD_LINE)
    if found != 1:
        sys.exit(f"{path}: expected '{LOAD_LINE}' once, found {found}; not the pinned GEdit script")
    files = json.loads(os.environ["SGT_GEDIT_PARQUET"])
    local = f'load_dataset("parquet", data_files={{"train": {files!r}}})'
    sys.path.insert(0, os.getcwd())
    sys.argv = [path, *sys.argv[2:]]
    exec(compile(source.replace(LOAD_LINE, local), path, "exec"), {"__name__": "__main__", "__file__": path})


def main():
    if sys.argv[1:2] == ["--sgt_child"]:
        return child()
    shards = int(os.environ["SGT_GEDIT_SHARDS"])
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--sgt_child", *sys.argv[1:], "--shard_id", str(i),
             "--total_shards", str(shards), "--device", str(i)]
        )
        for i in range(shards)
    ]
    failed = [i for i, proc in enumerate(procs) if proc.wait() != 0]
    if failed:
        sys.exit(f"gen_images_gedit.py shards {failed} of {shards} failed")


if __name__ == "__main__":
    main()
'''


@dataclass(frozen=True, slots=True)
class BagelGEditSettings:
    """eval.cluster_gedit.bagel: gen_images_gedit.py's flags at their defaults (run_gedit.sh passes none)."""

    script: str = "eval/gen/gedit/gen_images_gedit.py"
    cfg_text_scale: float = 4.0
    cfg_img_scale: float = 1.5
    cfg_type: str = "serial_text_img"
    languages: tuple[str, ...] = ("en", "cn")  # what the script draws: every row

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", tuple(self.languages))


@register("bagel", "gedit")
class BagelGEdit:
    """GEdit for BAGEL: its own gen_images_gedit.py over the eval folder, one shard per GPU."""

    needs: ClassVar[tuple[str, ...]] = ("gedit",)

    def settings(self, cfg: Mapping[str, Any]) -> BagelGEditSettings:
        return settings_from(BagelGEditSettings, cfg, "eval.cluster_gedit.bagel")

    def launch(self, backend: Any, job: Job, settings: BagelGEditSettings) -> Launch:
        images, entry = write_entry(job.images, ENTRY_SCRIPT, ENTRY_TEMPLATE)
        argv = (
            "python", str(entry),
            "--model_path", str(Path(job.model).absolute()),
            "--output_dir", str(images),
            "--cfg_text_scale", str(settings.cfg_text_scale),
            "--cfg_img_scale", str(settings.cfg_img_scale),
            "--cfg_type", settings.cfg_type,
        )  # fmt: skip
        env = {
            **offline_env(images.parent / "hf_home"),
            "SGT_GEDIT_PARQUET": json.dumps(parquet_files(job.input("gedit"))),
            "PYTHONPATH": str(Path(backend.checkout).absolute()),
            "SGT_GEDIT_SHARDS": str(max(job.gpus, 1)),
            "SGT_GEDIT_SCRIPT": settings.script,
            "TOKENIZERS_PARALLELISM": "false",
        }
        return Launch(argv, env, cwd=Path(backend.checkout).absolute())

    def publish(self, backend: Any, job: Job, settings: BagelGEditSettings, out: Path) -> None:
        rows = read_gedit_index(job.input("gedit"), settings.languages)
        record = {"seed": 42, "seed_source": "fixed in gen_images_gedit.py", **settings_record(settings)}
        publish_gedit(job.images, out, rows, record)
