"""The embedded study's two training entry points: build the base model once, then fine-tune per variant.

``pretrain_base`` uses no proxy-task supervision (no segmentation, depth, edge or detection targets): global
image labels for the ViT, then VQA, captions (text-to-image) and generic edits (mirror, gray, invert) for the
UMM. ``finetune`` starts every variant from that base, as the paper starts from BAGEL or OmniGen2.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch

from sgt.data.vqa import load_scenes, read_jsonl
from sgt.io import atomic_dir, atomic_write_json, read_json
from sgt.models.tiny_inputs import PairSet, VQASet, caption_pairs, edit_pairs, load_pairs, load_vqa, to_tensor
from sgt.seeding import torch_seed_for
from sgt.train.loop import UNDERSTANDING_PATH, train
from sgt.train.settings import TrainConfig
from sgt.train.stages import PRETRAIN_EDITS, PRETRAIN_MIX, understanding_settings

logger = logging.getLogger(__name__)


def _write_metrics(metrics: Sequence[Mapping[str, float]], path: Path) -> None:
    keys = sorted({k for m in metrics for k in m}, key=lambda k: (k != "step", k))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys, restval="")
        writer.writeheader()
        writer.writerows(metrics)


def _finish(
    model: Any,
    metrics: Sequence[Mapping[str, float]],
    summary: dict[str, Any],
    out: Path,
    stage_metrics: Mapping[str, Sequence[Mapping[str, float]]] | None = None,
) -> None:
    """Save the model, its metrics (an earlier stage's as metrics_<stage>.csv) and train.json at once."""
    from sgt.models.tiny_umm import save_model

    with atomic_dir(out) as tmp:
        save_model(model, tmp)
        _write_metrics(metrics, tmp / "metrics.csv")
        for stage, rows in (stage_metrics or {}).items():
            _write_metrics(rows, tmp / f"metrics_{stage}.csv")
        (tmp / "train.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")


def _keep_if_made_of(folder: Path, made_of: Mapping[str, Any]) -> None:
    """Keep ``folder`` (a stage's resumable state) only if the stamp beside it says it was made of
    ``made_of``; otherwise remove it, so a changed config never resumes another run's weights."""
    stamp = folder.with_name(folder.name + ".made_of.json")
    wanted = json.loads(json.dumps(made_of, sort_keys=True, default=str))
    if folder.exists() and (not stamp.is_file() or read_json(stamp) != wanted):
        logger.info("%s was made of other inputs: starting it over", folder)
        shutil.rmtree(folder)
    atomic_write_json(stamp, wanted)


@contextmanager
def _training_only(model: torch.nn.Module, prefixes: Sequence[str]) -> Iterator[None]:
    """Freeze every parameter whose name does not start with one of ``prefixes``, for the block's length."""
    before = {n: p.requires_grad for n, p in model.named_parameters()}
    try:
        for n, p in model.named_parameters():
            p.requires_grad_(n.startswith(tuple(prefixes)))
        yield
    finally:
        for n, p in model.named_parameters():
            p.requires_grad_(before[n])


def untrained_model(model_cfg: Mapping[str, Any], out: str | Path, *, seed: int) -> None:
    """The tiny UMM as initialised, before any training: random weights drawn from (seed, "untrained")."""
    from sgt.models.tiny_umm import TinyUMM, TinyUMMConfig

    torch.manual_seed(torch_seed_for(seed, "untrained"))
    model = TinyUMM(TinyUMMConfig.from_dict(dict(model_cfg)))
    _finish(model, [], {"stage": "untrained", "seed": seed, "steps": 0}, Path(out))


def pretrain_base(
    root: str | Path,
    split: str,
    vqa_jsonl: str | Path,
    model_cfg: Mapping[str, Any],
    pretrain_cfg: Mapping[str, Any],
    out: str | Path,
    workdir: str | Path,
    *,
    seed: int,
    threads: int,
) -> None:
    """Build the base tiny UMM (ViT on global labels, then VQA, captions, edits) or install the shipped.

    With ``pretrain.corpus.images`` > 0, fresh toy-world scenes (``sgt.train.corpus``) join the training
    split's images for the ViT and the VQA, and for the captions too with ``corpus.t2i``."""
    from sgt.data.coco import CocoDataset
    from sgt.data.images import read_image
    from sgt.models.tiny_umm import TinyUMM, TinyUMMConfig, load_vit, save_model
    from sgt.train import shipped_base
    from sgt.train.corpus import corpus_settings, corpus_vqa, render_corpus
    from sgt.train.vit_pretrain import ViTPretrainConfig, global_labels, pretrain_vit

    sft_questions = bool(pretrain_cfg.get("sft_questions", True))
    # a base that never reads the SFT questions is not a function of them either
    data_sha = shipped_base.data_fingerprint(root, split, vqa_jsonl if sft_questions else None)
    print_ = shipped_base.fingerprint(model_cfg, pretrain_cfg, seed, data_sha)
    if pretrain_cfg.get("shipped") and shipped_base.install(pretrain_cfg["shipped"], print_, out):
        return
    torch.set_num_threads(max(1, threads))
    torch.manual_seed(torch_seed_for(seed, "init"))
    workdir = Path(workdir)
    started = time.perf_counter()
    cfg = TinyUMMConfig.from_dict(dict(model_cfg))
    vit_dir = workdir / "vit_pretrained"
    dataset = CocoDataset(root, split)
    ids = dataset.image_ids()
    decoded = [read_image(dataset.image_path(i)) for i in ids]
    height, width = decoded[0].shape[:2]  # the corpus is rendered at the training images' size
    images = to_tensor(decoded, cfg.image_size)  # decoded once
    del decoded
    captions = [dataset.caption(i) for i in ids]
    vit_cfg = ViTPretrainConfig.from_dict(pretrain_cfg.get("vit"))  # a bad key fails before any work
    corpus_cfg = corpus_settings(pretrain_cfg.get("corpus"))
    und_cfg = understanding_settings(pretrain_cfg.get("understanding"))
    # the ViT stage is a function of less than the whole base: changing only the UMM stage keeps it
    vit_inputs = {k: v for k, v in print_.items() if k != "pretrain"}
    vit_inputs |= {"vit": dataclasses.asdict(vit_cfg), "corpus": [corpus_cfg["images"], corpus_cfg["seed"]]}
    _keep_if_made_of(vit_dir, vit_inputs)
    _keep_if_made_of(workdir / "ckpt", print_)
    vit_done = (vit_dir / "model.safetensors").is_file()
    und_dir = workdir / "understanding"
    questions_made_of = {"sft_questions": sft_questions, "benchmarks": corpus_cfg["benchmarks"]}
    _keep_if_made_of(und_dir, vit_inputs | {"understanding": und_cfg, "questions": questions_made_of})
    und_needs_corpus = und_cfg["steps"] > 0 and und_cfg["questions_per_image"] > 0
    corpus_used = not vit_done or corpus_cfg["vqa_per_image"] > 0 or corpus_cfg["t2i"] or und_needs_corpus
    corpus = render_corpus(
        corpus_cfg["images"] if corpus_used else 0,
        seed=corpus_cfg["seed"],
        size=cfg.image_size,
        width=width,
        height=height,
    )
    model = TinyUMM(cfg)  # the same initial weights whether or not the ViT stage is done
    if vit_done:
        logger.info("ViT pretraining already done: %s", vit_dir)
        load_vit(model, vit_dir)  # that stage's product is the ViT; the rest stays at its initial weights
    else:
        scenes = {s["image_id"]: s for s in load_scenes(root, split)}
        pretrain_vit(
            model.vit,
            torch.cat([images, corpus.images]),
            global_labels([scenes[i] for i in ids] + corpus.scenes),
            vit_cfg,
            seed=seed,
        )
        with atomic_dir(vit_dir) as tmp:
            save_model(model, tmp)
    sft = load_vqa(read_jsonl(vqa_jsonl), cfg.image_size) if sft_questions else None
    forms = corpus_cfg["benchmarks"]  # the question forms the corpus asks (vqa.benchmarks names)
    stage_metrics: dict[str, list[dict[str, float]]] = {}
    stage_summary: dict[str, Any] = {}
    if und_cfg["steps"] > 0:
        per_image = und_cfg["questions_per_image"]
        asked = corpus_vqa(corpus, forms, per_image, corpus_cfg["seed"]) if und_needs_corpus else None
        questions = _joined(sft, asked, "pretrain.understanding")
        stage_metrics["understanding"] = _train_understanding(
            model, questions, und_cfg, und_dir, seed=seed, threads=threads
        )
        stage_summary["understanding"] = {"steps": und_cfg["steps"], "questions": len(questions)}
    asked = None
    if len(corpus) and corpus_cfg["vqa_per_image"] > 0:
        asked = corpus_vqa(corpus, forms, corpus_cfg["vqa_per_image"], corpus_cfg["seed"])
    mix = dict(pretrain_cfg.get("mix", PRETRAIN_MIX))
    vqa = _joined(sft, asked, "pretrain.umm") if mix.get("vqa", 0) > 0 else None
    sources: dict[str, VQASet | PairSet] = {
        **({"vqa": vqa} if vqa is not None else {}),
        "t2i": caption_pairs(torch.cat([images, corpus.images]), captions + corpus.captions)
        if corpus_cfg["t2i"]
        else caption_pairs(images, captions),
        "edit": edit_pairs(images, pretrain_cfg.get("edits", PRETRAIN_EDITS)),
    }
    train_cfg = TrainConfig.from_dict(pretrain_cfg.get("umm", {}), seed=seed, threads=threads)
    metrics = train(model, sources, mix, train_cfg, workdir)
    summary = {
        "stage": "pretrain",
        "fingerprint": print_,
        "steps": train_cfg.steps,
        "batch_size": train_cfg.batch_size,
        "mix": mix,
        "samples": {k: len(v) for k, v in sources.items()},
        "sft_questions": sft_questions,
        "question_forms": forms,
        "seconds": round(time.perf_counter() - started, 1),
    } | stage_summary
    _finish(model, metrics, summary, Path(out), stage_metrics)


def _joined(sft: VQASet | None, corpus: VQASet | None, stage: str) -> VQASet:
    """The SFT questions and the corpus's, whichever a stage has; neither is a config error."""
    if sft is None and corpus is None:
        raise ValueError(
            f"{stage}: no questions to train on: pretrain.sft_questions is false and the corpus asks none; "
            "set pretrain.corpus.images and (for the UMM stage) pretrain.corpus.vqa_per_image above 0, "
            "or take vqa out of pretrain.mix"
        )
    if sft is None or corpus is None:
        return sft if sft is not None else corpus  # type: ignore[return-value]
    return sft + corpus


def _train_understanding(
    model: Any,
    questions: VQASet,
    und_cfg: Mapping[str, Any],
    workdir: Path,
    *,
    seed: int,
    threads: int,
) -> list[dict[str, float]]:
    """The understanding stage: VQA alone on the understanding path (connector and understanding expert;
    the ViT and the generation expert frozen), before the mixed stage.

    Why: at the UMM stage's learning rate (1e-3) a mix of question forms settles on each form's answer
    prior, and the LM never learns to read its question (a depth question's answer named neither of the
    question's two objects; 500 more VQA-only steps at 1e-3 did not undo it). Alone at 1e-4 the path
    learns to; the UMM stage's ``understanding_lr_scale`` then keeps it (docs/tiny-umm-log.md, session 19)."""
    settings = {k: v for k, v in und_cfg.items() if k != "questions_per_image"}
    train_cfg = TrainConfig.from_dict(settings, seed=seed, threads=threads)
    logger.info("understanding stage: %d steps on %d questions", train_cfg.steps, len(questions))
    with _training_only(model, UNDERSTANDING_PATH):
        return train(model, {"vqa": questions}, {"vqa": 1}, train_cfg, workdir)


def finetune(
    base_dir: str | Path,
    task_shards: Mapping[str, Sequence[str | Path]],
    task_levels: Mapping[str, str],
    vqa_jsonl: str | Path | None,
    mix: Mapping[str, float],
    train_cfg: Mapping[str, Any],
    out: str | Path,
    workdir: str | Path,
    *,
    seed: int,
    threads: int,
    variant: str,
) -> None:
    """Fine-tune the base model on one variant's ``mix`` (``vqa`` plus task names), exact over the run."""
    from sgt.models.tiny_umm import load_model

    torch.set_num_threads(max(1, threads))
    started = time.perf_counter()
    model = load_model(base_dir)
    size = model.cfg.image_size
    sources: dict[str, VQASet | PairSet] = {}
    if mix.get("vqa", 0) > 0:
        if vqa_jsonl is None:
            raise ValueError(f"variant {variant!r} mixes in vqa but no VQA data was given")
        sources["vqa"] = load_vqa(read_jsonl(vqa_jsonl), size)
    for task, shards in task_shards.items():
        if mix.get(task, 0) > 0:
            sources[task] = load_pairs(task, shards, size, nearest_targets=task_levels.get(task) == "high")
    cfg = TrainConfig.from_dict(train_cfg, seed=seed, threads=threads)
    metrics = train(model, sources, mix, cfg, workdir)
    summary = {
        "stage": "finetune",
        "variant": variant,
        "steps": cfg.steps,
        "batch_size": cfg.batch_size,
        "mix": dict(mix),
        "samples": {k: len(v) for k, v in sources.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    _finish(model, metrics, summary, Path(out))
