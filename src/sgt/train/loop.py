"""The one training loop: a mix of VQA and generation sources, AdamW (Table 8 betas and weight decay),
warmup + cosine schedule, gradient clipping, checkpoints with exact resume, SIGTERM handling.

The mix is exact over the run, not per batch (:mod:`sgt.train.mix`): how many samples of each source step k
takes is a function of (mix, batch size, k) alone, and after every step each source's count so far is
within one sample of its share.

Exact resume holds because nothing random lives in process state: the composition of step k comes from the
schedule above, its samples are drawn from (seed, step k, source) and the flow noise from its own generator
seeded the same way, so a run killed after step k and resumed from its checkpoint computes the same steps
as an uninterrupted one.

How gradients become updates is the engine's job (``cfg.engine``: ``torch`` or ``deepspeed``, see
:mod:`sgt.train.engines`). Every engine writes the same checkpoint folder ``workdir/ckpt``:
``model.safetensors`` (weights), ``optimizer.pt`` (the engine's optimiser state, tensors and numbers only:
``torch.load(weights_only=True)``) and ``state.json`` (step, metrics, engine). A checkpoint resumes only with
the engine that wrote it.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from sgt.io import atomic_dir
from sgt.models.tiny_inputs import PairSet, VQASet
from sgt.seeding import rng_for, torch_seed_for
from sgt.train.engines import Engine, make_engine
from sgt.train.mix import mix_schedule
from sgt.train.settings import TrainConfig, lr_at

logger = logging.getLogger(__name__)


class Preempted(RuntimeError):
    """Raised after a SIGTERM/SIGINT once the checkpoint is saved: rerun the job to resume."""


@dataclass
class _State:
    step: int = 0
    metrics: list[dict[str, float]] = field(default_factory=list)
    engine: str = "torch"  # checkpoints written before engines existed are torch ones


class _StopFlag:
    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _StopFlag:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        logger.warning("signal %d: finishing this step, saving a checkpoint, then exiting", signum)
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


# The tiny UMM's understanding path after the ViT: connector, image-type embedding and understanding expert
# (whose token embeddings are also the tied LM head).
UNDERSTANDING_PATH = ("lm.", "connector.", "image_type")


def param_groups(model: torch.nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """The optimiser groups: the ViT at ``vit_lr_scale`` times the learning rate, the understanding path at
    ``understanding_lr_scale``, the rest (the generation side) at 1."""
    groups: dict[str, list[torch.nn.Parameter]] = {"rest": [], "vit": [], "understanding": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("vit."):
            groups["vit"].append(p)
        elif name.startswith(UNDERSTANDING_PATH):
            groups["understanding"].append(p)
        else:
            groups["rest"].append(p)
    return [
        {"params": groups["rest"], "lr_scale": 1.0},
        {"params": groups["vit"], "lr_scale": cfg.vit_lr_scale},
        {"params": groups["understanding"], "lr_scale": cfg.understanding_lr_scale},
    ]


def _save_checkpoint(model: torch.nn.Module, engine: Engine, state: _State, ckpt: Path) -> None:
    from safetensors.torch import save_file

    with atomic_dir(ckpt) as tmp:
        # clone: under ZeRO the parameters are views of one flat buffer, which safetensors refuses to save
        weights = {k: v.detach().clone() for k, v in model.state_dict().items() if k != "lm_head.weight"}
        save_file(weights, str(tmp / "model.safetensors"))
        torch.save(engine.state_dict(), tmp / "optimizer.pt")
        (tmp / "state.json").write_text(json.dumps(asdict(state)))


def _read_state(ckpt: Path, engine: str) -> _State:
    state = _State(**json.loads((ckpt / "state.json").read_text()))
    if state.engine != engine:
        raise ValueError(
            f"{ckpt} was written by engine {state.engine!r} but this run uses {engine!r}: set "
            "models.<m>.finetune.engine back or delete the ckpt folder to start over"
        )
    return state


def _load_weights(model: torch.nn.Module, ckpt: Path) -> None:
    from safetensors.torch import load_file

    model.load_state_dict(load_file(str(ckpt / "model.safetensors")), strict=False)


def _source_loss(
    model: Any, source: VQASet | PairSet, idx: torch.Tensor, gen: torch.Generator, cfg: TrainConfig
) -> torch.Tensor:
    if isinstance(source, VQASet):
        return model.understanding_loss(
            source.batch_images(idx), [source.questions[i] for i in idx], [source.answers[i] for i in idx]
        )
    cond = source.conditions[idx] if source.conditions is not None else None
    return model.generation_loss(
        source.targets[idx], [source.prompts[i] for i in idx], cond, gen, t_shift=cfg.t_shift
    )


def train(
    model: torch.nn.Module,
    sources: Mapping[str, VQASet | PairSet],
    mix: Mapping[str, float],
    cfg: TrainConfig,
    workdir: str | Path,
    *,
    stop_after: int | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` on the ``mix`` of ``sources`` (exact over the run: :func:`sgt.train.mix.mix_schedule`);
    resumes from ``workdir/ckpt`` if present.

    ``stop_after`` ends the run early after that global step (tests use it to simulate a kill).
    Returns the per-step metrics: loss, lr, samples/s, the loss of each source drawn that step
    (``loss_<source>``) and the samples of each source (``n_<source>``, 0 on a step without it).
    """
    missing = sorted(set(k for k, w in mix.items() if w > 0) - set(sources))
    if missing:
        raise KeyError(f"mix names source(s) {missing} that were not loaded; loaded: {sorted(sources)}")
    torch.set_num_threads(max(1, cfg.threads))
    schedule = mix_schedule(mix, cfg.batch_size, cfg.steps)
    engine = make_engine(cfg.engine)
    ckpt = Path(workdir) / "ckpt"
    resume = (ckpt / "state.json").is_file()
    state = _read_state(ckpt, cfg.engine) if resume else _State(engine=cfg.engine)
    if resume:
        _load_weights(model, ckpt)  # before setup: an engine may copy the weights (ZeRO's fp32 partitions)
    engine.setup(model, param_groups(model, cfg), cfg)
    if resume:
        engine.load_state_dict(torch.load(ckpt / "optimizer.pt", weights_only=True))
        logger.info("resuming from %s at step %d (engine %s)", ckpt, state.step, cfg.engine)
    model.train()
    try:
        _run(model, sources, schedule, cfg, engine, state, ckpt, stop_after)
    finally:
        engine.close()
    return state.metrics


def _run(
    model: torch.nn.Module,
    sources: Mapping[str, VQASet | PairSet],
    schedule: Sequence[Mapping[str, int]],
    cfg: TrainConfig,
    engine: Engine,
    state: _State,
    ckpt: Path,
    stop_after: int | None,
) -> None:
    from tqdm import tqdm

    drawn = sorted({name for batch in schedule for name in batch})
    with _StopFlag() as stop, tqdm(total=cfg.steps, initial=state.step, desc="train", disable=None) as bar:
        while state.step < cfg.steps:
            step = state.step
            t0 = time.perf_counter()
            lr = lr_at(step, cfg)
            for g in engine.param_groups:
                g["lr"] = lr * g["lr_scale"]
            gen = torch.Generator().manual_seed(torch_seed_for(cfg.seed, "noise", step))
            engine.zero_grad()
            losses: dict[str, float] = {}
            total = torch.zeros(())
            for name, count in schedule[step].items():  # sources in sorted order, none at 0
                rng = rng_for(cfg.seed, "batch", step, name)
                idx = torch.from_numpy(rng.integers(0, len(sources[name]), size=count))
                loss = _source_loss(model, sources[name], idx, gen, cfg)
                total = total + loss * (count / cfg.batch_size)
                losses[f"loss_{name}"] = float(loss.detach())
            if not torch.isfinite(total):
                raise FloatingPointError(f"non-finite loss at step {step}: {losses}; lower train.lr")
            engine.backward(total)
            engine.clip()
            engine.step()
            state.step += 1
            dt = time.perf_counter() - t0
            state.metrics.append(
                {
                    "step": state.step,
                    "loss": float(total.detach()),
                    "lr": lr,
                    "samples_per_s": cfg.batch_size / dt,
                }
                | losses
                | {f"n_{name}": schedule[step].get(name, 0) for name in drawn}
            )
            bar.update(1)
            finished = state.step >= cfg.steps
            interrupted = stop.requested or (stop_after is not None and state.step >= stop_after)
            if finished or interrupted or state.step % cfg.checkpoint_every == 0:
                _save_checkpoint(model, engine, state, ckpt)
            if state.step % 25 == 0 or finished:
                logger.info(
                    "step %d/%d loss %.4f %s", state.step, cfg.steps, state.metrics[-1]["loss"], losses
                )
            if stop.requested:
                raise Preempted(f"stopped at step {state.step}; checkpoint in {ckpt}; rerun to resume")
            if interrupted:
                break
