"""A stand-in SGT-fork OmniGen2 checkout for the preflight tests: the fork's module layout and behaviour.

Like the fork (song2yu/SGT ``OmniGen2/`` at e0045481): ``__getitem__`` sends records with ``id`` to
``process_sft`` and every other record to ``process_panoptic``, which reads COCO paths from ``text``; its
generation samples carry Qwen processor tokens of the condition; its sampler gives each rank its slice of
every global micro-batch following ``interleave_pattern``; ``train.py`` converts ``logger.log_with`` with
``OmegaConf.to_object`` before loading the model. No weights: loading the model raises. Unlike the fork, the
dataset module imports ``transformers`` where it builds the processor, so a rehearsal training job (which
imports the module but builds no dataset) stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

TRAIN = """\
import argparse
import os

from accelerate import Accelerator
from omegaconf import OmegaConf

from omnigen2.dataset.omnigen2_train_dataset import OmniGen2Collator, OmniGen2TrainDataset


class OmniGen2Transformer2DModel:
    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise RuntimeError("stand-in checkout: no weights")


def parse_args(root_path):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    args = parser.parse_args()
    conf = OmegaConf.load(args.config)
    conf.root_dir = root_path
    conf.output_dir = os.path.join(root_path, "experiments", conf.name)
    conf.config_file = args.config
    return conf


def main(args):
    accelerator = Accelerator(
        gradient_accumulation_steps=args.train.gradient_accumulation_steps,
        mixed_precision=args.train.mixed_precision,
        log_with=OmegaConf.to_object(args.logger.log_with),
    )
    os.makedirs(args.output_dir, exist_ok=True)
    model = OmniGen2Transformer2DModel.from_pretrained(args.model.pretrained_model_path)
    # then, as in the fork: TaskTypeDistributedSampler(..., interleave_pattern=data.interleave_pattern)


if __name__ == "__main__":
    main(parse_args(os.path.dirname(os.path.abspath(__file__))))
"""

DATASET = """\
import json
import os
import random

import torch
import yaml
from PIL import Image


class ImageProcessor:
    def preprocess(self, image, max_pixels=None, max_side_length=None):
        return torch.zeros(3, image.height // 16 * 16, image.width // 16 * 16)


SYSTEM = "You are a helpful assistant that generates high-quality images based on user instructions."


def chat(user):
    im = "<|im_start|>"
    return f"{im}system\\n{SYSTEM}<|im_end|>\\n{im}user\\n{user}<|im_end|>\\n{im}assistant\\n"


class OmniGen2TrainDataset(torch.utils.data.Dataset):
    SYSTEM_PROMPT = SYSTEM

    def __init__(self, config_path, tokenizer, use_chat_template, max_input_pixels=None,
                 max_output_pixels=None, max_side_length=None, img_scale_num=16, prompt_dropout_prob=0.0,
                 ref_img_dropout_prob=0.0):
        with open(config_path) as f:
            config = yaml.safe_load(f)
        rows = []
        for entry in config["data"]:
            with open(entry["path"]) as f:
                rows += [json.loads(line) for line in f if line.strip()]
        keys = sorted({k for row in rows for k in row})
        self.data = [{k: row.get(k) for k in keys} for row in rows]  # like datasets' concatenate
        self.tokenizer = tokenizer
        self.max_input_pixels, self.max_output_pixels = max_input_pixels, max_output_pixels
        self.max_side_length, self.prompt_dropout_prob = max_side_length, prompt_dropout_prob
        self.image_processor = ImageProcessor()
        self.sft_indices = [i for i, row in enumerate(self.data) if row.get("id") not in (None, "")]
        self.gen_indices = [i for i, row in enumerate(self.data) if row.get("id") in (None, "")]
        self.coco_base = os.environ.get("OMNIGEN2_COCO_ROOT", "data/train2017/")
        self.sft_base = os.environ.get("OMNIGEN2_SFT_IMAGE_ROOT", "data/llava_onevision/images")
        # the fork imports it at the top; here only when a dataset is built, so importing this module (sgt's
        # entry script patches it in every training job) costs no transformers import (~4 s on 2 cores)
        from transformers import AutoProcessor

        self.processor = AutoProcessor.from_pretrained(
            os.environ.get("OMNIGEN2_QWEN_PROCESSOR_PATH", "Qwen/Qwen2.5-VL-3B-Instruct"),
            min_pixels=4 * 28 * 28, max_pixels=64 * 28 * 28,
        )

    def apply_chat_template(self, instruction, system_prompt, ues_reca=True):
        return chat("<img1>: <|vision_start|><|image_pad|><|vision_end|>" + instruction)

    def _gen_sample(self, task_type, instruction, input_path, output_path):
        tokens = self.processor(text=instruction, images=[input_path], padding=True, return_tensors="pt")
        output = self.image_processor.preprocess(Image.open(output_path).convert("RGB"))
        return {
            "task_type": task_type, "instruction": instruction, "input_images_path": [input_path],
            "input_images": [self.image_processor.preprocess(Image.open(input_path).convert("RGB"))],
            "output_image": output, "output_image_path": output_path,
            "input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask,
            "pixel_values": tokens["pixel_values"], "image_grid_thw": tokens["image_grid_thw"],
        }

    def process_panoptic(self, data_item):
        instruction = self.apply_chat_template("Segment the image.", self.SYSTEM_PROMPT)
        input_path = os.path.join(self.coco_base, data_item["text"])
        output_path = input_path.replace("train2017", "annotations/panoptic_train2017").replace("jpg", "png")
        return self._gen_sample("panoptic", instruction, input_path, output_path)

    def process_sft(self, data_item):
        human = next(c["value"] for c in data_item["conversations"] if c["from"] == "human")
        answer = next(c["value"] for c in data_item["conversations"] if c["from"] == "gpt")
        path = os.path.join(self.sft_base, data_item["image"])
        user = human.replace("<image>\\n", "<|vision_start|><|image_pad|><|vision_end|>")
        instruction = chat(user)
        image = Image.open(path).convert("RGB")
        tokens = self.processor(text=instruction, images=[image], padding=True, return_tensors="pt")
        labels = self.processor.tokenizer(answer, return_tensors="pt", add_special_tokens=False)
        return {
            "task_type": "sft", "id": data_item["id"], "instruction": instruction,
            "input_images_path": [path], "input_images": None,
            "output_image": None, "output_image_path": None, "answer": answer,
            "input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask,
            "pixel_values": tokens["pixel_values"], "image_grid_thw": tokens["image_grid_thw"],
            "labels": labels.input_ids,
        }

    def __getitem__(self, index):
        for attempt in range(10):
            current_index = (index + attempt) % len(self.data)
            try:
                data_item = dict(self.data[current_index])
                if "id" not in data_item or data_item["id"] is None:
                    return self.process_panoptic(data_item)
                return self.process_sft(data_item)
            except Exception as e:
                print(f"[ERROR] index={current_index}: {e}")
        return None

    def __len__(self):
        return len(self.data)


class OmniGen2Collator:
    def __init__(self, tokenizer, max_token_len):
        self.tokenizer = tokenizer

    def __call__(self, batch):
        batch = [item for item in batch if item is not None]
        if not batch:
            return None

        def pad(key, value):
            rows = [item.get(key) for item in batch]
            if any(r is None for r in rows):
                return None
            rows = [r.squeeze(0) for r in rows]
            return torch.nn.utils.rnn.pad_sequence(rows, batch_first=True, padding_value=value)

        return {
            "task_type": [item["task_type"] for item in batch],
            "text_ids": pad("input_ids", self.tokenizer.pad_token_id or 0),
            "text_mask": pad("attention_mask", 0),
            "input_images": [item.get("input_images") for item in batch],
            "output_image": [item.get("output_image") for item in batch],
            "output_image_path": [item.get("output_image_path") for item in batch],
            "labels": pad("labels", -100),
        }
"""

SAMPLER = """\
import torch
from torch.utils.data import Sampler


class TaskTypeDistributedSampler(Sampler):
    def __init__(self, dataset, batch_size, num_replicas=1, rank=0, shuffle=True, seed=0, drop_last=True,
                 interleave_pattern=None):
        self.dataset, self.batch_size, self.num_replicas, self.rank = dataset, batch_size, num_replicas, rank
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0
        self.pattern = None if interleave_pattern is None else [
            "sft" if str(p).lower() in ("sft", "text", "vqa") else "gen" for p in interleave_pattern
        ]
        self.global_batch_size = batch_size * num_replicas
        self.num_samples = len(self._batches()) * batch_size

    def _batches(self):
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        pools = {}
        for kind, idx in (("sft", self.dataset.sft_indices), ("gen", self.dataset.gen_indices)):
            order = torch.randperm(len(idx), generator=g).tolist() if self.shuffle else range(len(idx))
            flat = [idx[i] for i in order]
            n = self.global_batch_size
            pools[kind] = [flat[i:i + n] for i in range(0, len(flat) - n + 1, n)]
        if self.pattern is None:
            return pools["sft"] + pools["gen"]
        out, its = [], {k: iter(v) for k, v in pools.items()}
        while True:
            cycle = [next(its[k], None) for k in self.pattern]
            if any(c is None for c in cycle):
                return out
            out += cycle

    def __iter__(self):
        start = self.rank * self.batch_size
        return iter([i for b in self._batches() for i in b[start:start + self.batch_size]])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch
"""


def write_checkout(root: Path, edits: Mapping[str, str] | None = None) -> Path:
    """Write the stand-in checkout under ``root``; ``edits`` replace text in its dataset module."""
    dataset = DATASET
    for old, new in (edits or {}).items():
        if old not in dataset:
            raise ValueError(f"stand-in dataset has no {old!r} to edit")
        dataset = dataset.replace(old, new)
    files = {
        "train.py": TRAIN,
        "omnigen2/__init__.py": "",
        "omnigen2/dataset/__init__.py": "",
        "omnigen2/dataset/omnigen2_train_dataset.py": dataset,
        "omnigen2/dataset/sampler.py": SAMPLER,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root
