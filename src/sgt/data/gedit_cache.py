"""GEdit-Bench for GPU nodes without internet: a Hugging Face hub cache plus an index and the input images.

BAGEL's ``eval/gen/gedit/gen_images_gedit.py`` calls ``load_dataset("stepfun-ai/GEdit-Bench")`` (Bagel
056b5fd). With ``HF_HUB_OFFLINE=1``/``HF_DATASETS_OFFLINE=1`` and ``HF_HOME`` at ``<out>/hf_home``, datasets
resolves that name from the hub cache's snapshot (``hub/datasets--stepfun-ai--GEdit-Bench/snapshots/<rev>``,
named by ``refs/main``), so this CPU step fills exactly that layout: by ``huggingface_hub.snapshot_download``
from the hub, or by linking a local copy of the dataset repository (its ``data/*.parquet``) under a snapshot
named ``local``. It also writes ``index.jsonl`` (one line per row, in the dataset's order: key, task_type,
instruction_language, instruction, image) and each row's ``input_image`` bytes under ``images/``, which
publishing checks against and backends without a GEdit script (OmniGen2) read.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sgt.io import atomic_dir

logger = logging.getLogger(__name__)

HUB_ID = "stepfun-ai/GEdit-Bench"  # hard-coded in gen_images_gedit.py's process_dataset
INDEX = "index.jsonl"
HF_HOME = "hf_home"
COLUMNS = ("key", "task_type", "instruction_language", "instruction")


def snapshot_dir(hf_home: Path, repo_id: str = HUB_ID) -> Path:
    return Path(hf_home) / "hub" / f"datasets--{repo_id.replace('/', '--')}"


def _link_local(source: Path, hf_home: Path) -> Path:
    """A local copy of the dataset repository, linked as the hub cache's snapshot ``local``."""
    repo = snapshot_dir(hf_home)
    snap = repo / "snapshots" / "local"
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
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text("local")
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


def _rows(snapshot: Path) -> list[dict[str, Any]]:
    """The train split's rows in load_dataset's order (parquet files sorted by name, rows in file order)."""
    import pyarrow.parquet as pq

    rows = []
    for path in sorted(snapshot.rglob("*.parquet")):
        table = pq.read_table(path, columns=[*COLUMNS, "input_image"])
        rows += table.to_pylist()
    if not rows:
        raise ValueError(f"{snapshot}: no GEdit rows")
    return rows


def _suffix(data: bytes) -> str:
    return ".png" if data[:8] == b"\x89PNG\r\n\x1a\n" else ".jpg" if data[:2] == b"\xff\xd8" else ".img"


def fill_gedit_cache(source: str, out: str | Path, *, revision: str | None = None) -> int:
    """``out``: the hub cache under ``hf_home/``, ``index.jsonl`` and ``images/``; returns the row count."""
    with atomic_dir(Path(out)) as tmp:
        hf_home = tmp / HF_HOME
        local = Path(source)
        snapshot = _link_local(local, hf_home) if local.is_dir() else _download(source, revision, hf_home)
        lines = []
        (tmp / "images").mkdir()
        for i, row in enumerate(_rows(snapshot)):
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


def offline_env(folder: str | Path, datasets_cache: str | Path) -> dict[str, str]:
    """Environment for a job that calls ``load_dataset(HUB_ID)`` offline from this cache. The datasets
    cache (arrow files load_dataset builds) is the job's own, so the shared folder is only read."""
    return {
        "HF_HOME": str(Path(folder).absolute() / HF_HOME),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(Path(datasets_cache).absolute()),
    }
