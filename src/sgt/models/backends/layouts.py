"""The folder layouts the benchmarks' scorers read, shared by every drawer of a benchmark: GenEval's
``<index:05>/{metadata.jsonl, samples/<k:05>.png}`` and gen_images_gedit.py's
``fullset/{task_type}/{instruction_language}/{key}.png`` + ``{key}_SRCIMG.png``. Publishing checks a work
folder is complete, writes ``sgt_generation.json`` (how it was made) and moves it to the rule's output, so
an output folder always holds every prompt.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sgt.io import atomic_write_text

logger = logging.getLogger(__name__)


# --- GenEval ---


def prompt_count(prompts: Path) -> int:
    return sum(1 for line in Path(prompts).read_text(encoding="utf-8").splitlines() if line.strip())


def missing_samples(images: Path, prompts: Path, num_images: int) -> list[int]:
    """Prompt indices whose folder lacks its metadata or any of its ``num_images`` samples."""
    missing = []
    for idx in range(prompt_count(prompts)):
        folder = Path(images) / f"{idx:05}"
        pngs = [folder / "samples" / f"{k:05}.png" for k in range(num_images)]
        if not (folder / "metadata.jsonl").is_file() or not all(p.is_file() for p in pngs):
            missing.append(idx)
    return missing


def publish_folder(images: Path, out: Path, record: Mapping[str, Any]) -> None:
    """Write ``sgt_generation.json`` into a complete work folder, then move it to ``out``."""
    atomic_write_text(Path(images) / "sgt_generation.json", json.dumps(dict(record), indent=1))
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(images).rename(out)


def publish_geneval(
    images: Path, out: Path, prompts: Path, num_images: int, record: Mapping[str, Any]
) -> None:
    """Move a GenEval folder with every prompt's ``num_images`` samples to ``out``; refuse a partial one."""
    missing = missing_samples(images, prompts, num_images)
    if missing:
        raise RuntimeError(
            f"{images}: {len(missing)} prompts without all {num_images} samples "
            f"(first {missing[:5]}); it stopped early: rerun the job, it keeps the finished prompts"
        )
    publish_folder(images, out, {**record, "prompts": str(prompts)})
    logger.info("GenEval images (seed %s) -> %s", record.get("seed"), out)


# --- GEdit-Bench ---


def gedit_paths(images: Path, row: Mapping[str, Any]) -> tuple[Path, Path]:
    """``fullset/{task_type}/{instruction_language}/{key}.png`` and its ``{key}_SRCIMG.png``."""
    folder = Path(images) / "fullset" / row["task_type"] / row["instruction_language"]
    return folder / f"{row['key']}.png", folder / f"{row['key']}_SRCIMG.png"


def missing_gedit(images: Path, rows: list[Mapping[str, Any]]) -> list[str]:
    """Keys of index rows whose edited image or source image is not in ``images``."""
    return [r["key"] for r in rows if not all(p.is_file() for p in gedit_paths(images, r))]


def publish_gedit(images: Path, out: Path, rows: list[Mapping[str, Any]], record: Mapping[str, Any]) -> None:
    """Move a GEdit folder with every row's images to ``out``, with the root ``metadata.jsonl`` the judges
    read (key, task_type, instruction_language, instruction per line); refuse a partial one."""
    missing = missing_gedit(images, rows)
    if missing:
        raise RuntimeError(
            f"{images}: {len(missing)} of {len(rows)} GEdit items without their images "
            f"(first {missing[:5]}); "
            "it stopped early: rerun the job, it keeps the finished items"
        )
    keys = ("key", "task_type", "instruction_language", "instruction")
    lines = [json.dumps({k: r[k] for k in keys}, ensure_ascii=False) for r in rows]
    atomic_write_text(Path(images) / "metadata.jsonl", "\n".join(lines) + "\n")
    publish_folder(images, out, {**record, "items": len(rows)})
    logger.info("GEdit images (%d items) -> %s", len(rows), out)
