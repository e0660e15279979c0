"""A shipped base checkpoint: the tiny UMM's base model, built once by the ``pretrain`` rule and committed.

Building the base takes longer than the whole demo may; the repository therefore ships the checkpoint the
rule built. It is used only when its recorded *fingerprint* equals the fingerprint of what the rule would
train now (architecture, pretraining settings, seed, recipe version and the training data itself); otherwise
the rule trains from scratch, so a changed config can never silently reuse a stale model. Every file's
sha256 is recorded and checked before use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sgt.io import atomic_dir, atomic_write_json, read_json, sha256_file

logger = logging.getLogger(__name__)
MANIFEST = "MANIFEST.json"
# Bump when the pretraining code changes what it computes for the same config (invalidates shipped bases).
# 4: mixture-of-transformers LM (a generation expert beside the understanding one); 5: the ViT stage's heads
# draw their initial weights from the seed, not from the global random state
RECIPE_VERSION = 5


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def data_fingerprint(root: str | Path, split: str, vqa_jsonl: str | Path | None) -> str:
    """sha256 over the training images, their annotations and the VQA rows (image paths made relative);
    ``vqa_jsonl`` None for a base that does not read the SFT questions (``pretrain.sft_questions``)."""
    from sgt.data.coco import CocoDataset

    h = hashlib.sha256()
    dataset = CocoDataset(root, split)
    for image_id in dataset.image_ids():
        h.update(f"{image_id}:{sha256_file(dataset.image_path(image_id))}:".encode())
        h.update(dataset.caption(image_id).encode("utf-8"))
    scenes = Path(root) / "annotations" / f"scenes_{split}.json"
    if scenes.is_file():
        h.update(sha256_file(scenes).encode())
    if vqa_jsonl is None:
        return h.hexdigest()
    with open(vqa_jsonl, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                row["image"] = Path(row["image"]).name
                h.update(_canonical(row))
    return h.hexdigest()


def fingerprint(
    architecture: Mapping[str, Any], pretrain: Mapping[str, Any], seed: int, data: str
) -> dict[str, Any]:
    """What a base model is a function of (weights agree bitwise at the same torch version and threads).

    The settings are written out in full, defaults included (``sgt.train.stages.base_settings``): a key
    left out and the same key at its default build the same base and fingerprint alike.
    """
    from sgt.train.stages import base_settings

    arch, settings = base_settings(architecture, pretrain)
    settings.pop("shipped", None)
    return {
        "recipe_version": RECIPE_VERSION,
        "architecture": arch,
        "pretrain": settings,
        "seed": seed,
        "data_sha256": data,
    }


def recorded_fingerprint(recorded: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest's fingerprint with its settings written out in full, as :func:`fingerprint` writes them.

    Bases shipped before the schema filled in defaults recorded only the keys their config named; the
    recipe version is kept as recorded.
    """
    if not {"architecture", "pretrain", "seed", "data_sha256"} <= set(recorded):
        return dict(recorded)
    full = fingerprint(
        recorded["architecture"], recorded["pretrain"], recorded["seed"], recorded["data_sha256"]
    )
    return {**recorded, "architecture": full["architecture"], "pretrain": full["pretrain"]}


def ship(model_dir: str | Path, dest: str | Path, print_: Mapping[str, Any]) -> Path:
    """Copy a built base into ``dest`` with a manifest of its fingerprint and every file's sha256."""
    src, dest = Path(model_dir), Path(dest)
    with atomic_dir(dest) as tmp:
        for f in sorted(src.iterdir()):
            if f.is_file() and not f.name.startswith("."):  # not Snakemake's .snakemake_timestamp
                shutil.copy2(f, tmp / f.name)
        files = {f.name: sha256_file(f) for f in sorted(tmp.iterdir())}
        atomic_write_json(tmp / MANIFEST, {"fingerprint": dict(print_), "sha256": files})
    logger.info("shipped base written to %s (%d files)", dest, len(files))
    return dest


def install(shipped: str | Path, print_: Mapping[str, Any], out: str | Path) -> bool:
    """Copy the shipped base to ``out`` if it matches ``print_``; False (with the reason logged) if not.

    A manifest that matches but a file whose sha256 does not is an error, not a silent retrain: the file was
    corrupted (or is a Git LFS pointer) and the user should know.
    """
    shipped = Path(shipped)
    manifest_path = shipped / MANIFEST
    if not manifest_path.is_file():
        logger.info("no shipped base at %s: training the base model", shipped)
        return False
    manifest = read_json(manifest_path)
    recorded = recorded_fingerprint(manifest.get("fingerprint", {}))
    if _canonical(recorded) != _canonical(dict(print_)):
        differ = sorted(k for k in set(recorded) | set(print_) if recorded.get(k) != print_.get(k))
        logger.info("shipped base %s was built from other %s: training the base model", shipped, differ)
        return False
    for name, digest in manifest["sha256"].items():
        path = shipped / name
        if not path.is_file() or sha256_file(path) != digest:
            raise ValueError(
                f"{path}: missing or its sha256 differs from {manifest_path}; restore it with "
                "`git checkout -- checkpoints/` (or `git lfs pull`), or set "
                "models.<model>.pretrain.shipped: null to train the base model instead"
            )
    with atomic_dir(out) as tmp:
        for name in manifest["sha256"]:
            shutil.copy2(shipped / name, tmp / name)
    logger.info("using the shipped base %s (fingerprint matches the config; sha256 verified)", shipped)
    return True
