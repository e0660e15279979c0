"""The generated entry script that runs an OmniGen2 checkout's ``train.py`` on our export, files unedited.

``prepare`` writes :data:`ENTRY_TEMPLATE` into the run folder and ``launch`` starts it under ``accelerate``;
the preflight probe imports the same file and calls its ``patch()``, so what it checks is what trains. Why
each patch exists is in docs/backends.md (OmniGen2 pitfalls 2 and 8).
"""

from __future__ import annotations

from pathlib import Path

from sgt.io import atomic_write_text

ENTRY_SCRIPT = "sgt_omnigen2_entry.py"
ENTRY_TEMPLATE = '''\
"""Written by sgt (docs/backends.md, OmniGen2): run the checkout's train.py on our export, files unedited.

patch() changes two things in memory, and only on the SGT fork (upstream OmniGen2 runs as it is):
1. The fork's __getitem__ sends every record without "id" to process_panoptic, which derives COCO panoptic
   paths from a "text" field and draws a segmentation prompt. A record that names its "output_image" (ours)
   takes sgt_process_pair instead: the fork's generation sample (its chat template with one image slot, its
   Qwen processor on the condition, its VAE image processor) built from the record's own instruction,
   condition and target. Other records still reach the fork's process_panoptic.
2. The fork's TaskTypeDistributedSampler already hands each rank its slice of every global micro-batch, and
   accelerate.prepare would shard that loader again, so ranks would train different task types in the same
   micro-step (and take a quarter of the data). The fork's loader is prepared as one process instead.
"""
import os
import random
import runpy
import sys


def sgt_process_pair(self, item):
    from PIL import Image

    paths = list(item["input_images"])
    if len(paths) != 1:
        raise ValueError(f"{item['output_image']}: {len(paths)} input images; the fork's prompt has one slot")
    drop_prompt = random.random() < self.prompt_dropout_prob
    instruction = self.apply_chat_template("" if drop_prompt else item["instruction"], self.SYSTEM_PROMPT)
    limit = self.max_input_pixels[0] if isinstance(self.max_input_pixels, list) else self.max_input_pixels
    condition = Image.open(paths[0]).convert("RGB")
    side_max = self.max_side_length
    inputs = [self.image_processor.preprocess(condition, max_pixels=limit, max_side_length=side_max)]
    side = self.processor.tokenizer.padding_side
    self.processor.tokenizer.padding_side = "left"
    try:
        tokens = self.processor(text=instruction, images=paths, padding=True, return_tensors="pt")
    finally:
        self.processor.tokenizer.padding_side = side
    target = Image.open(item["output_image"]).convert("RGB")
    limit = self.max_output_pixels
    output = self.image_processor.preprocess(target, max_pixels=limit, max_side_length=side_max)
    return {
        "task_type": item["task_type"],
        "instruction": instruction,
        "input_images_path": paths,
        "input_images": inputs,
        "output_image": output,
        "output_image_path": item["output_image"],
        "input_ids": tokens.input_ids,
        "attention_mask": tokens.attention_mask,
        "pixel_values": tokens["pixel_values"],
        "image_grid_thw": tokens["image_grid_thw"],
    }


def patch():
    from omnigen2.dataset import omnigen2_train_dataset as dataset_module

    cls = dataset_module.OmniGen2TrainDataset
    if getattr(cls, "sgt_patched", False):
        return
    cls.sgt_patched = True
    if hasattr(cls, "process_panoptic"):  # upstream's process_item reads our records as they are
        fork_panoptic = cls.process_panoptic

        def process_panoptic(self, item):
            if item.get("output_image"):
                return self.sgt_process_pair(item)
            return fork_panoptic(self, item)

        cls.sgt_process_pair = sgt_process_pair
        cls.process_panoptic = process_panoptic
    try:
        from omnigen2.dataset.sampler import TaskTypeDistributedSampler
    except ImportError:  # upstream: a plain shuffled DataLoader, which accelerate shards once
        return
    import accelerate.accelerator as accelerator_module

    prepare = accelerator_module.prepare_data_loader

    def prepare_data_loader(dataloader, *args, **kwargs):
        if isinstance(dataloader.sampler, TaskTypeDistributedSampler):
            kwargs.update(num_processes=1, process_index=0)
        return prepare(dataloader, *args, **kwargs)

    accelerator_module.prepare_data_loader = prepare_data_loader


if __name__ == "__main__":
    checkout = os.getcwd()
    sys.path.insert(0, checkout)
    patch()
    sys.argv[0] = os.path.join(checkout, "train.py")
    runpy.run_path(sys.argv[0], run_name="__main__")
'''


def write_entry(folder: Path) -> Path:
    """Write the entry script into ``folder`` (atomically) and return its path."""
    path = Path(folder) / ENTRY_SCRIPT
    atomic_write_text(path, ENTRY_TEMPLATE)
    return path
