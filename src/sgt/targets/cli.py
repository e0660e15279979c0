"""``sgt synth``: make a few pairs of one task for inspection, outside the workflow.

    sgt synth --task edge --coco-root data/toyworld --out /tmp/edge --limit 8 --seed 0 --export-png

writes ``OUT/pairs.parquet`` (the shard format of the workflow), ``OUT/manifest.parquet`` and, with
``--export-png``, ``OUT/png/<image_id>_cond.png`` and ``OUT/png/<image_id>_target.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sgt.io import atomic_write_bytes, atomic_write_json, read_parquet, read_yaml
from sgt.targets import detection, inpaint, mixed, restore  # noqa: F401  (registers these tasks)
from sgt.targets.shards import build_shard, write_manifest

logger = logging.getLogger(__name__)


def _load_task_entry(path: str | None, params: Sequence[str]) -> dict[str, Any]:
    """The task's config entry: a YAML mapping file, then ``key=value`` overrides (values parsed as YAML)."""
    entry: dict[str, Any] = {}
    if path:
        loaded = read_yaml(path) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: a task entry must be a YAML mapping, got {type(loaded).__name__}")
        entry.update(loaded)
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--param {item!r}: write it as key=value, e.g. --param low=50")
        try:
            entry[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise ValueError(
                f"--param {item!r}: the value is not valid YAML ({err.__class__.__name__})"
            ) from None
    return entry


def add_synth_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``synth`` subcommand to the ``sgt`` CLI."""
    p = subparsers.add_parser("synth", help="make proxy-task pairs for inspection", description=__doc__)
    p.add_argument("--task", required=True, help="registered task name, e.g. semantic, edge, mixed")
    p.add_argument(
        "--coco-root", required=True, help="a folder with COCO 2017's layout (COCO or the toy world)"
    )
    p.add_argument("--split", default="train2017")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--limit", type=int, default=16, help="use the first N image ids of the split (0 = all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--task-config", help="YAML file holding the task's config entry (targets.tasks.<task>)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="override one parameter")
    p.add_argument("--export-png", action="store_true", help="also write png/<image_id>_{cond,target}.png")
    p.set_defaults(func=run_synth)
    return p


def run_synth(args: argparse.Namespace) -> int:
    """Build one shard of ``args.limit`` pairs, its manifest, a summary JSON and optionally the PNGs."""
    from sgt.data.coco import CocoDataset

    out = Path(args.out)
    entry = _load_task_entry(args.task_config, args.param)
    ids = CocoDataset(args.coco_root, args.split, panoptic=False).image_ids()
    if args.limit:
        ids = ids[: args.limit]
    shard = out / "pairs.parquet"
    stats = build_shard(args.coco_root, args.split, ids, args.task, entry, args.seed, shard)
    write_manifest([shard], out / "manifest.parquet")
    atomic_write_json(
        out / "summary.json", {"task": args.task, "written": stats.written, "skipped": stats.skipped}
    )
    if args.export_png:
        table = read_parquet(shard, columns=["image_id", "condition_png", "target_png"]).to_pylist()
        for row in table:
            atomic_write_bytes(out / "png" / f"{row['image_id']}_cond.png", row["condition_png"])
            atomic_write_bytes(out / "png" / f"{row['image_id']}_target.png", row["target_png"])
    logger.info("synth %s: %s", args.task, json.dumps({"written": stats.written, "skipped": stats.skipped}))
    return 0


def synth_main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``synth_main(["--task", "edge", ...])``."""
    from sgt.logs import setup_logging

    parser = argparse.ArgumentParser(prog="sgt")
    sub = parser.add_subparsers(dest="command", required=True)
    add_synth_parser(sub)
    args = parser.parse_args(["synth", *(argv or [])])
    setup_logging()
    return int(args.func(args))
