"""GEdit-Bench for GPU nodes without internet: the dataset's parquet files, an index and the input images.

BAGEL's ``eval/gen/gedit/gen_images_gedit.py`` calls ``load_dataset("stepfun-ai/GEdit-Bench")['train']``
(Bagel 056b5fd). Offline, datasets reloads a hub dataset only from a datasets cache prepared under that name
by an earlier online ``load_dataset`` (``CachedDatasetModuleFactory``); our environment has no ``datasets``
and a local copy cannot be prepared under the hub name. So this CPU step keeps the dataset repository's
parquet files (``huggingface_hub.snapshot_download`` into ``hf_home/hub``, or a local copy linked under
``repo/``) and lists them in ``parquet.json`` in load order (sorted by name, as the hub's train split); the
GPU job's entry script points that one ``load_dataset`` call at them (``load_dataset("parquet",
data_files=...)``: the same rows in the same order, offline; bagel_gedit). It also writes ``index.jsonl`` (one
line per row, in that order: key, task_type, instruction_language, instruction, image) and each row's
``input_image`` bytes under ``images/``, which publishing checks against and OmniGen2's edit path reads.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sgt.io import atomic_dir, read_parquet

logger = logging.getLogger(__name__)

HUB_ID = "stepfun-ai/GEdit-Bench"  # hard-coded in gen_images_gedit.py's process_dataset
INDEX = "index.jsonl"
PARQUET = "parquet.json"
HF_HOME = "hf_home"
COLUMNS = ("key", "task_type", "instruction_language", "instruction")


def _link_local(source: Path, snap: Path) -> Path:
    """A local copy of the dataset repository, linked file by file under ``snap``."""
    files = [p for p in sorted(source.rglob("*")) if p.is_file() and not p.name.startswith(".")]
    if not any(p.suffix == ".parquet" for p in files):
        raise FileNotFoundError(
            f"{source}: no parquet files; eval.cluster_gedit.dataset must be the hub id {HUB_ID} or a local "
            "copy "
            "of that dataset repository (data/train-*.parquet)"
        )
    for path in files:
        dst = snap / path.relative_to(source)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path.resolve(), dst)
    return snap


def _download(repo_id: str, revision: str | None, hf_home: Path) -> Path:
    if repo_id != HUB_ID:
        raise ValueError(
            f"eval.cluster_gedit.dataset {repo_id!r}: gen_images_gedit.py loads {HUB_ID!r} by name; "
            "give that "
            "hub id or a local folder holding a copy of it"
        )
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(
            repo_id, repo_type="dataset", revision=revision, cache_dir=str(Path(hf_home) / "hub")
        )
    )


def _parquet(snapshot: Path) -> list[Path]:
    """The train split's files in load order: sorted by name, ``train-*`` where split files exist."""
    files = sorted(snapshot.rglob("*.parquet"))
    return [p for p in files if p.name.startswith("train")] or files


def _rows(files: list[Path]) -> list[dict[str, Any]]:
    """The train split's rows in load_dataset's order (files in order, rows in file order)."""
    rows = []
    for path in files:
        table = read_parquet(path, columns=[*COLUMNS, "input_image"])
        rows += table.to_pylist()
    if not rows:
        raise ValueError(f"{files}: no GEdit rows")
    return rows


def _suffix(data: bytes) -> str:
    return ".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ".jpg" if data[:2] == b"\xff\xd8" else ".img"


def fill_gedit_cache(source: str, out: str | Path, *, revision: str | None = None) -> int:
    """``out``: the parquet files (``parquet.json``), ``index.jsonl`` and ``images/``; returns the rows."""
    with atomic_dir(Path(out)) as tmp:
        local = Path(source)
        if local.is_dir():
            snapshot = _link_local(local, tmp / "repo")
        else:
            snapshot = _download(source, revision, tmp / HF_HOME)
        files = _parquet(snapshot)
        final = Path(out).absolute()  # paths as they will be once the folder is in place
        (tmp / PARQUET).write_text(json.dumps([str(final / p.relative_to(tmp)) for p in files], indent=1))
        lines = []
        (tmp / "images").mkdir()
        for i, row in enumerate(_rows(files)):
            data = (row.get("input_image") or {}).get("bytes")
            if not data:
                raise ValueError(f"{snapshot}: row {i} ({row.get('key')}) has no input_image bytes")
            image = Path("images") / f"{i:05}{_suffix(data)}"
            (tmp / image).write_bytes(data)
            lines.append(json.dumps({**{c: row[c] for c in COLUMNS}, "image": image.as_posix()}))
        (tmp / INDEX).write_text("\n".join(lines) + "\n", encoding="utf-8")
    logger.info("GEdit-Bench from %s: %d rows in %s", source, len(lines), out)
    return len(lines)


def read_gedit_index(folder: str | Path, languages: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The index rows (of ``languages`` only, when given)."""
    path = Path(folder) / INDEX
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: {folder} is not rule gedit_dataset's output")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if languages is None or r["instruction_language"] in languages]


def parquet_files(folder: str | Path) -> list[str]:
    """The train split's parquet files, in load order (absolute paths)."""
    path = Path(folder) / PARQUET
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: {folder} is not rule gedit_dataset's output")
    return list(json.loads(path.read_text(encoding="utf-8")))


def offline_env(hf_home: str | Path) -> dict[str, str]:
    """Environment for a job that must not reach the hub: its own HF home (the arrow files load_dataset
    builds from the parquet files go there, so the shared folder is only read)."""
    return {
        "HF_HOME": str(Path(hf_home).absolute()),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
