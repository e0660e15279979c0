"""BAGEL preflight probe: upstream's own PackedDataset on our export, as rank 0 of the training job sees it.

Run by :meth:`sgt.models.backends.bagel.BagelBackend.preflight` with ``python -m`` in the checkout, so
``data.*``, ``modeling.*`` and ``train.*`` are upstream's modules. What runs is upstream's: the generated
entry script's ``install_dataset_info`` fills ``DATASET_INFO``; ``HfArgumentParser`` with the trainer's own
argument classes parses our launch flags; ``DataConfig`` and ``PackedDataset`` are built as ``main()``
builds them (``train/pretrain_unified_navit.py``). The only additions are observers: each group's sample
stream is recorded on its way into the packer, so every packed sample can be traced to its parquet row or
JSONL line.
The probe measures and writes JSON; the parent judges (``sgt.models.preflight.bagel``). With ``--serve`` one
process runs the calibration's passes (``sgt.models.preflight.common.probe_session``), one per stdin request.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import hashlib
import importlib
import importlib.util
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sgt.models.preflight.common import SERVE_DONE  # stdlib and sgt.io only: no upstream import order change

EDIT, VQA = "unified_edit", "vlm_sft"


def load_entry(path: str) -> Any:
    """The generated entry script as a module (its ``main`` only runs as ``__main__``)."""
    spec = importlib.util.spec_from_file_location("sgt_bagel_entry", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: cannot load the entry script")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same_value(parsed: Any, given: str) -> bool:
    """Whether upstream's parsed argument equals the flag value we wrote."""
    if isinstance(parsed, bool):
        return parsed == (given.strip().lower() in ("true", "1", "yes"))
    if isinstance(parsed, int | float):
        try:
            return float(given) == float(parsed)
        except ValueError:
            return False
    return str(parsed) == given


def flag_pairs(flags: list[str]) -> dict[str, str]:
    return {flags[i].removeprefix("--"): flags[i + 1] for i in range(0, len(flags) - 1, 2)}


class Recorder:
    """Records every sample a group dataset yields, with the source row it came from."""

    def __init__(self, dataset: Any, name: str, max_tokens_per_sample: int, *, describe: bool = True) -> None:
        self.dataset, self.name, self.max_tokens = dataset, name, max_tokens_per_sample
        self.describing = describe
        self.sources: dict[str, dict[str, Any]] = {}
        self.order: list[Any] = []
        self.too_long = 0
        self._groups: dict[tuple[str, int], Any] = {}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for sample in self.dataset:
            index = sample["data_indexes"]["data_indexes"]
            self.order.append(index)
            if sample["num_tokens"] + 2 * len(sample["sequence_plan"]) > self.max_tokens:
                self.too_long += 1
            key = json.dumps(index)
            if self.describing and key not in self.sources:
                self.sources[key] = self.describe(index)
            yield sample

    def describe(self, index: Any) -> dict[str, Any]:
        if self.name == EDIT:
            return self._edit_row(*index)
        line, _image_dir = self.dataset.data_paths_per_rank[index]
        record = json.loads(line)
        turns = record.get("conversations", [])
        return {
            "answers": "".join(t["value"] for t in turns if t.get("from") == "gpt"),
            "questions": [t["value"] for t in turns if t.get("from") == "human"],
            "id": record.get("id"),
        }

    def _edit_row(self, group_index: int, row_index: int) -> dict[str, Any]:
        import pyarrow.parquet as pq
        from data.data_utils import pil_img2rgb
        from PIL import Image

        path, row_group = self.dataset.data_paths_per_rank[group_index]
        if (path, row_group) not in self._groups:
            self._groups[(path, row_group)] = pq.ParquetFile(path).read_row_group(row_group).to_pandas()
        row = self._groups[(path, row_group)].loc[row_index]
        images = list(row["image_list"])
        # the pair's own target and condition, named by the sha256 our export recorded from the shard
        by_sha = {hashlib.sha256(b).hexdigest(): b for b in images}
        target, condition = by_sha.get(row["target_sha256"]), by_sha.get(row["condition_sha256"])
        transform = self.dataset.transform
        as_tensor = (lambda b: transform(pil_img2rgb(Image.open(io.BytesIO(b))))) if transform else None
        return {
            "target": as_tensor(target) if target is not None else None,
            "condition": as_tensor(condition) if condition is not None else None,
            "same_bytes": target == condition,
            "task": row.get("task"),
        }

    def skipped(self) -> int:
        """Records the dataset passed over (upstream skips a row on any error): gaps in the index sequence."""
        import pyarrow.parquet as pq

        paths = self.dataset.data_paths_per_rank
        if self.name == EDIT:
            sizes = [pq.ParquetFile(path).metadata.row_group(rg).num_rows for path, rg in paths]
            expected = [(gi, r) for gi, size in enumerate(sizes) for r in range(size)]
        else:
            expected = list(range(len(paths)))
        position = {item: k for k, item in enumerate(expected)}
        seen = [position.get(tuple(i) if isinstance(i, list) else i) for i in self.order]
        if None in seen:
            return len(self.order)  # an index outside this rank's rows: nothing can be trusted
        gaps = seen[0] if seen else 0
        for before, after in zip(seen, seen[1:], strict=False):
            gaps += (after - before - 1) % len(expected)
        return gaps


def _same_image(image: Any, reference: Any) -> bool:
    """``torch.allclose(image, reference)`` with the same answer, faster on a ~1 M-value image (~10 ms each):
    an exact copy (the loss image, usually) is equal, and another image usually differs in its first rows."""
    import torch

    if reference is None or image.shape != reference.shape:
        return False
    if torch.equal(image, reference):
        return True
    head = (slice(None), slice(0, 4))  # channels x the first rows: not close there means not close
    return bool(torch.allclose(image[head], reference[head])) and bool(torch.allclose(image, reference))


def vae_images(data: dict[str, Any], downsample: int) -> list[tuple[int, bool, Any]]:
    """(first packed position, has MSE loss, image tensor) of every VAE image in a packed batch."""
    if "padded_images" not in data:
        return []
    mse = set(data["mse_loss_indexes"].tolist()) if "mse_loss_indexes" in data else set()
    tokens = data["packed_vae_token_indexes"].tolist()
    out, offset = [], 0
    for i, (h, w) in enumerate(data["patchified_vae_latent_shapes"]):
        first = tokens[offset]
        image = data["padded_images"][i, :, : h * downsample, : w * downsample]
        out.append((first, first in mse, image))
        offset += h * w
    return out


def analyse_batch(
    data: dict[str, Any],
    recorders: dict[str, Recorder],
    tokenizer: Any,
    special_ids: set[int],
    downsample: int,
    counts: Counter[str],
    problems: list[str],
) -> dict[str, Any]:
    """Trace each packed sample to its source and check its loss image or its CE labels."""
    indexes = data["batch_data_indexes"]
    n = len(indexes)
    lens = list(data["sample_lens"])[:n]
    bounds = [sum(lens[:i]) for i in range(n + 1)]
    ce_positions = data["ce_loss_indexes"].tolist() if "ce_loss_indexes" in data else []
    labels = data["packed_label_ids"].tolist() if "packed_label_ids" in data else []
    loss_images = [img for _, loss, img in vae_images(data, downsample) if loss]
    edit_seen = 0
    groups = Counter()
    for s, item in enumerate(indexes):
        name = item["dataset_name"]
        groups[name] += 1
        source = recorders[name].sources[json.dumps(item["data_indexes"])]
        in_sample = [k for k, p in enumerate(ce_positions) if bounds[s] <= p < bounds[s + 1]]
        if name == EDIT:
            counts["edit_samples"] += 1
            counts[f"task:{source['task']}"] += 1
            if in_sample:
                counts["edit_with_ce_labels"] += 1
            if edit_seen >= len(loss_images):
                counts["edit_without_loss_image"] += 1
                continue
            image = loss_images[edit_seen]
            edit_seen += 1
            is_target = _same_image(image, source["target"])
            is_condition = _same_image(image, source["condition"])
            if is_target and (not is_condition or source["same_bytes"]):
                counts["edit_loss_is_target"] += 1
            else:
                counts["edit_loss_not_target"] += 1
                if len(problems) < 5:
                    what = "the condition" if is_condition else "neither target nor condition"
                    problems.append(
                        f"edit row {item['data_indexes']} ({source['task']}): loss image is {what}"
                    )
        else:
            counts["vqa_samples"] += 1
            # the labels are the answer's tokens and <|im_end|> (special_ids): compare the text alone
            text = tokenizer.decode([labels[k] for k in in_sample if labels[k] not in special_ids])
            if text.strip() == source["answers"].strip():
                counts["vqa_labels_answer_only"] += 1
            else:
                counts["vqa_labels_not_answer"] += 1
                if len(problems) < 5:
                    problems.append(
                        f"VQA line {source['id']}: CE labels read {text[:80]!r}, "
                        f"answer {source['answers'][:80]!r}"
                    )
    if edit_seen != len(loss_images):
        counts["loss_images_without_edit_sample"] += len(loss_images) - edit_seen
    return {"samples": n, "tokens": int(sum(lens)), "groups": dict(groups)}


class Probe:
    """Upstream's modules, the entry script's dataset table and the tokenizer, loaded once; :meth:`run` is one
    pass on one set of launch flags. The calibration's passes differ only in their flags, so they share this
    setup (a process each would import torch and transformers again: ~4 s a pass on 2 cores); every pass
    seeds itself as ``main()`` does, so its result does not depend on the passes before it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        sys.path.insert(0, os.getcwd())
        entry = load_entry(args.entry)
        entry.install_dataset_info(args.dataset_info)  # exactly what the training job runs first
        trainer_file = os.path.join(os.getcwd(), "train", "pretrain_unified_navit.py")
        try:  # the trainer as the entry script will run it (a generation-only recipe drops one assert)
            entry.trainer_code(trainer_file, os.environ.get("SGT_BAGEL_NO_CE") == "1")
            self.entry_problem = None
        except SystemExit as err:
            self.entry_problem = str(err)

        import transformers  # noqa: F401  (first, as the trainer's main() imports HfArgumentParser, set_seed)

        self.trainer = importlib.import_module("train.pretrain_unified_navit")
        import data.dataset_base  # noqa: F401
        from data.data_utils import add_special_tokens
        from modeling.qwen2 import Qwen2Tokenizer

        tokenizer = Qwen2Tokenizer.from_pretrained(args.tokenizer)
        self.tokenizer, self.new_token_ids, _ = add_special_tokens(tokenizer)

    def run(self, flags_file: str, out: str) -> None:
        """One pass: our flags through upstream's parser, rank 0's packed batches, every rank's readers."""
        from data.dataset_base import DataConfig, PackedDataset
        from transformers import HfArgumentParser, set_seed

        args, trainer, tokenizer, new_token_ids = self.args, self.trainer, self.tokenizer, self.new_token_ids
        flags = json.loads(Path(flags_file).read_text(encoding="utf-8"))
        hf_parser = HfArgumentParser(
            (trainer.ModelArguments, trainer.DataArguments, trainer.TrainingArguments)
        )
        model_args, data_args, training_args = hf_parser.parse_args_into_dataclasses(args=flags)
        parsed = {
            **dataclasses.asdict(model_args),
            **dataclasses.asdict(data_args),
            **dataclasses.asdict(training_args),
        }
        flag_mismatches = {
            k: [v, repr(parsed.get(k, "<unknown>"))]
            for k, v in flag_pairs(flags).items()
            if k not in parsed or not same_value(parsed[k], v)
        }

        rank, world = 0, args.world_size
        set_seed(training_args.global_seed * world + rank)  # as main() seeds rank 0

        with open(data_args.dataset_config_file, encoding="utf-8") as stream:
            import yaml

            dataset_meta = yaml.safe_load(stream)
        dataset_config = DataConfig(grouped_datasets=copy.deepcopy(dataset_meta))
        if training_args.visual_und:
            dataset_config.vit_patch_size = model_args.vit_patch_size
            dataset_config.max_num_patch_per_side = model_args.vit_max_num_patch_per_side
        if training_args.visual_gen:
            from modeling.autoencoder import load_ae

            _, vae_config = load_ae(local_path=None)  # the architecture's parameters; no weights are read
            dataset_config.vae_image_downsample = model_args.latent_patch_size * vae_config.downsample
            dataset_config.max_latent_size = model_args.max_latent_size
            dataset_config.text_cond_dropout_prob = model_args.text_cond_dropout_prob
            dataset_config.vae_cond_dropout_prob = model_args.vae_cond_dropout_prob
            dataset_config.vit_cond_dropout_prob = model_args.vit_cond_dropout_prob

        def packed_for(local_rank: int) -> Any:
            dataset = PackedDataset(
                copy.deepcopy(dataset_config),
                tokenizer=tokenizer,
                special_tokens=new_token_ids,
                local_rank=local_rank,
                world_size=world,
                num_workers=data_args.num_workers,
                expected_num_tokens=training_args.expected_num_tokens,
                max_num_tokens_per_sample=data_args.max_num_tokens_per_sample,
                max_num_tokens=data_args.max_num_tokens,
                max_buffer_size=data_args.max_buffer_size,
                prefer_buffer_before=data_args.prefer_buffer_before,
                interpolate_pos=model_args.interpolate_pos,
                use_flex=training_args.use_flex,
                data_status=None,
            )
            dataset.set_epoch(data_args.data_seed)
            return dataset

        dataset = packed_for(rank)
        names = list(dataset_meta)
        recorders = {
            name: Recorder(ds, name, data_args.max_num_tokens_per_sample)
            for name, ds in zip(names, dataset.grouped_datasets, strict=True)
        }
        dataset.dataset_iters = [iter(recorders[name]) for name in names]

        counts: Counter[str] = Counter()
        problems: list[str] = []
        batches = []
        stream = iter(dataset)
        for _ in range(args.batches):
            batches.append(
                analyse_batch(
                    next(stream),
                    recorders,
                    tokenizer,
                    set(new_token_ids.values()),
                    dataset_config.vae_image_downsample,
                    counts,
                    problems,
                )
            )
        # Rank 0 packs; every rank's readers are also run over their first records, since a record upstream
        # cannot read is skipped without a word, on whichever rank holds it.
        skipped = {name: r.skipped() for name, r in recorders.items()}
        read = {name: len(r.order) for name, r in recorders.items()}
        for other in range(1, world):
            for name, ds in zip(names, packed_for(other).grouped_datasets, strict=True):
                recorder = Recorder(ds, name, data_args.max_num_tokens_per_sample, describe=False)
                for _, _sample in zip(range(args.records_per_rank), recorder, strict=False):
                    pass
                skipped[name] += recorder.skipped()
                read[name] += len(recorder.order)
        stats = {
            "world_size": world,
            "gradient_accumulation_steps": int(getattr(training_args, "gradient_accumulation_steps", 1)),
            "expected_num_tokens": training_args.expected_num_tokens,
            "max_num_tokens": data_args.max_num_tokens,
            "batches": batches,
            "counts": dict(counts),
            "problems": problems,
            "flag_mismatches": flag_mismatches,
            "entry_problem": self.entry_problem,
            "no_ce": os.environ.get("SGT_BAGEL_NO_CE") == "1",
            "flags_checked": len(flag_pairs(flags)),
            "skipped": skipped,
            "too_long": {name: r.too_long for name, r in recorders.items()},
            "read": read,
            "groups": names,
            "tasks": {k.removeprefix("task:"): v for k, v in counts.items() if k.startswith("task:")},
        }
        Path(out).write_text(json.dumps(stats, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entry", required=True, help="the generated sgt_bagel_entry.py")
    parser.add_argument("--dataset-info", required=True)
    parser.add_argument("--flags", help="JSON list of the trainer flags of our launch (one pass)")
    parser.add_argument("--tokenizer", required=True, help="folder with vocab.json and merges.txt")
    parser.add_argument("--world-size", type=int, required=True)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--records-per-rank", type=int, default=16, help="read by every other rank's readers")
    parser.add_argument("--out", help="the pass's JSON (one pass)")
    parser.add_argument(
        "--serve",
        action="store_true",
        help=f"several passes: one JSON request {{flags, out}} a stdin line, '{SERVE_DONE} OUT' after each",
    )
    args = parser.parse_args(argv)
    if not args.serve and not (args.flags and args.out):
        parser.error("--flags and --out are required without --serve")
    probe = Probe(args)
    if not args.serve:
        probe.run(args.flags, args.out)
        return 0
    while line := sys.stdin.readline():
        if line.strip():
            request = json.loads(line)
            probe.run(request["flags"], request["out"])
            print(f"{SERVE_DONE} {request['out']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
