"""OmniGen2 preflight probe: the checkout's own train.py, dataset, collator and sampler on our export.

Started by :mod:`sgt.models.preflight.omnigen2` with ``python -m`` in the checkout (its imports resolve as
in training). It applies the entry script's ``patch()`` (the file the training job runs), then

1. runs train.py's ``parse_args`` and ``main()`` on the generated YAML until ``main()`` asks for the model
   weights, recording every ``OmegaConf.to_object`` call;
2. builds the train dataset and collator with the arguments train.py passes, and for each rank of ``P`` the
   sampler and DataLoader train.py builds (the fork's ``TaskTypeDistributedSampler`` or ``shuffle=True``),
   prepared by accelerate's own ``prepare_data_loader`` as ``Accelerator.prepare`` would;
3. walks one epoch of indices per rank through train.py's accelerator's ``accumulate`` (where the optimizer
   steps), and loads the first ``--steps`` optimizer steps' samples through the collator.

Workers are 0 (they only parallelise loading). It writes facts; the parent judges them.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import os
import random
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

STAND_IN_DIR_NAME = "stand_ins"


def _hide_stand_in_torchvision() -> None:
    """transformers takes any importable ``torchvision`` for the real one and then imports its v2 API; ask it
    (and diffusers) before the stand-in is on the path, so they keep their PIL code paths."""
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if Path(p).name != STAND_IN_DIR_NAME]
    try:
        import transformers.utils.import_utils as tiu

        tiu.is_torchvision_available()
        tiu.is_torchvision_v2_available()
    finally:
        sys.path[:] = saved


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _plain(value: Any) -> Any:
    """JSON-safe copy (tuples become lists, anything else its repr)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)


class Conversions:
    """Stands in for ``OmegaConf`` inside train.py and records every ``to_object`` call."""

    def __init__(self, real: Any) -> None:
        self.real, self.calls = real, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def to_object(self, cfg: Any) -> Any:
        caller = inspect.stack()[1]
        where = f"{Path(caller.filename).name}:{caller.lineno}: {(caller.code_context or [''])[0].strip()}"
        key = cfg._get_full_key(None) if self.real.is_config(cfg) else None
        try:
            value = self.real.to_object(cfg)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.calls.append({"key": key, "ok": False, "error": error, "where": where})
            raise
        self.calls.append({"key": key, "ok": True, "value": _plain(value), "where": where})
        return value


class ReachedModelLoading(Exception):
    """Raised where train.py's main() first loads weights: its config handling is done."""


def config_handling(train: ModuleType, config: str, checkout: Path, scratch: Path) -> tuple[Any, dict]:
    """Run train.py's parse_args and main() until model loading; return its config and what happened."""
    from omegaconf import OmegaConf

    conversions = Conversions(train.OmegaConf)
    train.OmegaConf = conversions
    made: list[Any] = []

    class Accelerator(train.Accelerator):  # type: ignore[name-defined,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    class Weights:
        @classmethod
        def from_pretrained(cls, *args: Any, **kwargs: Any) -> None:
            raise ReachedModelLoading

    train.Accelerator = Accelerator
    train.OmniGen2Transformer2DModel = Weights
    sys.argv = ["train.py", "--config", config]
    conf = train.parse_args(str(checkout))
    output_dir = conf.output_dir
    conf.output_dir = str(scratch)  # train.py copies the YAML and writes logs there; keep the checkout clean
    result: dict[str, Any] = {"output_dir": output_dir, "reached_model_loading": False, "error": None}
    try:
        train.main(conf)
    except ReachedModelLoading:
        result["reached_model_loading"] = True
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == "train.py"]
        at = f" at train.py:{frames[-1].lineno}: {frames[-1].line}" if frames else ""
        result["error"] = f"{type(exc).__name__}: {exc}{at}"
    added = {"root_dir", "output_dir", "config_file"}
    loaded = OmegaConf.to_container(conf, resolve=True)
    result["loaded"] = _plain({k: v for k, v in loaded.items() if k not in added})  # type: ignore[union-attr]
    result["conversions"] = conversions.calls
    result["accelerator"] = made[0] if made else None
    return conf, result


class Recorded:
    """The checkout's dataset, logging which index each item was asked for (workers are 0: in order)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.log = inner, []

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int) -> Any:
        item = self.inner[index]
        self.log.append((index, item))
        return item


class Indices:
    """Only the indices, for walking a whole epoch without loading images."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> int:
        return index


def _sha256(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _answer(row: dict) -> tuple[str, str]:
    turns = row.get("conversations") or []
    question = next((t["value"] for t in turns if t.get("from") == "human"), "")
    answer = next((t["value"] for t in turns if t.get("from") == "gpt"), "")
    return question, answer


class Loaders:
    """Per rank, the DataLoader train.py builds, prepared the way ``Accelerator.prepare`` prepares it."""

    def __init__(self, train: ModuleType, conf: Any, dataset: Any, collator: Any, processes: int, fork: bool):
        self.conf, self.dataset, self.collator = conf, dataset, collator
        self.processes, self.fork, self.pattern = processes, fork, None
        if fork and conf.data.get("interleave_pattern", None) is not None:  # train.py's call
            self.pattern = train.OmegaConf.to_object(conf.data.get("interleave_pattern", None))

    def build(self, rank: int, inner: Any, collate: Any) -> Any:
        import accelerate.accelerator
        import torch

        batch = int(self.conf.train.batch_size)
        seed = self.conf.seed if self.conf.seed is not None else 0
        if self.fork:
            from omnigen2.dataset.sampler import TaskTypeDistributedSampler

            sampler = TaskTypeDistributedSampler(
                dataset=self.dataset,
                batch_size=batch,
                num_replicas=self.processes,
                rank=rank,
                shuffle=True,
                seed=seed,
                drop_last=True,
                interleave_pattern=self.pattern,
            )
            loader = torch.utils.data.DataLoader(
                inner, sampler=sampler, batch_size=batch, num_workers=0, drop_last=True, collate_fn=collate
            )
        else:
            loader = torch.utils.data.DataLoader(
                inner, shuffle=True, batch_size=batch, num_workers=0, drop_last=True, collate_fn=collate
            )
        # accelerate.accelerator's own name, so an entry script's patch of it applies here as in training
        prepared = accelerate.accelerator.prepare_data_loader(
            loader,
            torch.device("cpu"),
            num_processes=self.processes,
            process_index=rank,
            put_on_device=False,
            rng_types=["generator"],
        )
        if getattr(prepared, "synchronized_generator", None) is not None:
            # the ranks share one shuffle (accelerate's synchronize_rng_states)
            prepared.synchronized_generator.manual_seed(seed)
        return prepared


def walk_epoch(loaders: Loaders, accelerator: Any, kinds: list[str]) -> list[list[list[dict]]]:
    """Per rank, the epoch's optimizer steps as accelerate's accumulate() ends them (micro-batch lists)."""
    import torch

    unit = torch.nn.Linear(1, 1)
    ranks = []
    for rank in range(loaders.processes):
        steps, current = [], []
        for micro in loaders.build(rank, Indices(len(loaders.dataset)), list):
            with accelerator.accumulate(unit):
                current.append({"n": len(micro), "kinds": sorted({kinds[i] for i in micro})})
            if accelerator.sync_gradients:
                steps.append(current)
                current = []
        if current:
            steps.append(current)
        ranks.append(steps)
    return ranks


def summarise_steps(ranks: list[list[list[dict]]]) -> list[dict]:
    """Global optimizer steps: samples (all ranks), SFT samples, and micro-steps whose task type differs."""
    out = []
    for k in range(max(len(r) for r in ranks)):
        per_rank = [r[k] if k < len(r) else [] for r in ranks]
        samples = sum(m["n"] for r in per_rank for m in r)
        sft = sum(m["n"] for r in per_rank for m in r if m["kinds"] == ["sft"])
        mixed = 0
        for j in range(max(len(r) for r in per_rank)):
            kinds = {kind for r in per_rank if j < len(r) for kind in r[j]["kinds"]}
            mixed += len(kinds) > 1
        out.append({"samples": samples, "sft": sft, "micro": max(len(r) for r in per_rank), "mixed": mixed})
    return out


def draw(loaders: Loaders, micro_batches: int, tokenizer: Any) -> Iterator[dict]:
    """Load the first ``micro_batches`` micro-batches of every rank; yield one fact per sample and batch."""
    data = loaders.dataset.data
    for rank in range(loaders.processes):
        recorded = Recorded(loaders.dataset)

        def collate(items: list, recorded: Recorded = recorded) -> dict:
            taken, recorded.log = recorded.log, []
            return {"batch": loaders.collator(items), "taken": taken}

        prepared = loaders.build(rank, recorded, collate)
        for micro, out in enumerate(prepared):
            if micro >= micro_batches:
                break
            batch = out["batch"]
            labels = batch.get("labels") if isinstance(batch, dict) else None
            yield {
                "fact": "batch",
                "rank": rank,
                "micro": micro,
                "size": 0 if batch is None else len(batch["task_type"]),
                "task_types": [] if batch is None else sorted(set(batch["task_type"])),
                "labels": [] if labels is None else [tokenizer.decode(row[row != -100]) for row in labels],
                "has_text_ids": batch is not None and batch.get("text_ids") is not None,
            }
            for index, item in out["taken"]:
                yield _sample_fact(rank, micro, index, dict(data[index]), item)
        prepared.end()


def _sample_fact(rank: int, micro: int, index: int, row: dict, item: Any) -> dict:
    kind = "sft" if row.get("id") else "gen"
    fact: dict[str, Any] = {"fact": "sample", "rank": rank, "micro": micro, "index": index, "kind": kind}
    fact["returned"] = item is not None
    if kind == "gen":
        fact.update(
            task=row.get("task_type"),
            record_target=row.get("output_image"),
            target_sha256=row.get("target_sha256"),
            instruction=row.get("instruction"),
        )
        if item is not None:
            path = item.get("output_image_path")
            fact.update(
                item_task=item.get("task_type"),
                item_target=path,
                item_target_sha256=_sha256(path) if path else None,
                item_instruction=item.get("instruction"),
                has_output=item.get("output_image") is not None,
            )
    else:
        question, answer = _answer(row)
        fact.update(record_id=row.get("id"), question=question, answer=answer)
        if item is not None:
            prompt = item.get("instruction")
            fact.update(item_id=item.get("id"), item_task=item.get("task_type"), prompt=prompt)
    return fact


def run(args: argparse.Namespace) -> dict[str, Any]:
    checkout = Path.cwd()
    _hide_stand_in_torchvision()
    random.seed(0)
    if args.entry:
        _load(Path(args.entry), "sgt_omnigen2_entry").patch()
    from sgt.models.preflight import qwen_stand_in

    if (Path(args.tokenizer) / qwen_stand_in.MARKER).is_file():
        qwen_stand_in.install(Path(args.tokenizer))
    train = _load(checkout / "train.py", "sgt_probe_train")
    conf, config = config_handling(train, args.config, checkout, Path(args.scratch))
    accelerator = config.pop("accelerator")
    if accelerator is None:  # main() failed before making one; the data checks still run
        from accelerate import Accelerator

        accelerator = Accelerator(gradient_accumulation_steps=int(conf.train.gradient_accumulation_steps))
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    tokenizer.padding_side = "right"  # as train.py sets it
    dataset = train.OmniGen2TrainDataset(  # the arguments train.py passes
        conf.data.data_path,
        tokenizer=tokenizer,
        use_chat_template=conf.data.use_chat_template,
        prompt_dropout_prob=conf.data.get("prompt_dropout_prob", 0.0),
        ref_img_dropout_prob=conf.data.get("ref_img_dropout_prob", 0.0),
        max_input_pixels=train.OmegaConf.to_object(conf.data.get("max_input_pixels", 1024 * 1024)),
        max_output_pixels=conf.data.get("max_output_pixels", 1024 * 1024),
        max_side_length=conf.data.get("max_side_length", 2048),
    )
    # a dropped prompt (p = 1e-4) is by design, and would read as a sample without its instruction
    prompt_dropout = getattr(dataset, "prompt_dropout_prob", None)
    if prompt_dropout:
        dataset.prompt_dropout_prob = 0.0
    collator = train.OmniGen2Collator(tokenizer=tokenizer, max_token_len=conf.data.maximum_text_tokens)
    fork = "TaskTypeDistributedSampler" in (checkout / "train.py").read_text(encoding="utf-8")
    loaders = Loaders(train, conf, dataset, collator, args.processes, fork)
    kinds = ["sft" if row.get("id") else "gen" for row in dataset.data]
    ranks = walk_epoch(loaders, accelerator, kinds)
    accum = int(conf.train.gradient_accumulation_steps)
    facts = list(draw(loaders, args.steps * accum, tokenizer))
    config["conversions"] = train.OmegaConf.calls
    return {
        "mode": "fork" if fork else "upstream",
        "processes": args.processes,
        "batch_size": int(conf.train.batch_size),
        "grad_accum": accum,
        "global_batch_size": int(conf.train.global_batch_size),
        "interleave_pattern": _plain(loaders.pattern),
        "config": config,
        "dataset": {"records": len(dataset), "gen": kinds.count("gen"), "sft": kinds.count("sft")},
        "prompt_dropout_off": prompt_dropout,
        "epoch": {
            "micro_batches_per_rank": [sum(len(s) for s in r) for r in ranks],
            "steps_per_rank": [len(r) for r in ranks],
            "steps": summarise_steps(ranks),
        },
        "batches": [f for f in facts if f["fact"] == "batch"],
        "samples": [f for f in facts if f["fact"] == "sample"],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="the training YAML from OmniGen2Backend.write_config")
    p.add_argument("--processes", type=int, required=True, help="accelerate processes (GPUs) of the job")
    p.add_argument("--steps", type=int, default=2, help="optimizer steps whose samples are loaded, per rank")
    p.add_argument("--entry", help="entry script whose patch() training applies")
    p.add_argument("--tokenizer", required=True, help="tokenizer folder: text_encoder_path or the stand-in")
    p.add_argument("--scratch", required=True, help="train.py's output_dir during the probe")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    facts = run(args)
    tmp = Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(facts), encoding="utf-8")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
