import json
import random

import torch

from .dataset_info import DATASET_INFO, DATASET_REGISTRY
from .transforms import ImageTransform


class DataConfig:
    def __init__(self, grouped_datasets, vae_image_downsample=16, vit_patch_size=14, **kwargs):
        self.grouped_datasets = grouped_datasets
        self.vae_image_downsample, self.vit_patch_size = vae_image_downsample, vit_patch_size
        self.max_num_patch_per_side = self.max_latent_size = 64
        self.text_cond_dropout_prob = self.vae_cond_dropout_prob = self.vit_cond_dropout_prob = 0.0


class PackedDataset:
    """Packs samples by tokens: one of every mandatory group first, then groups drawn by weight."""

    def __init__(
        self,
        data_config,
        tokenizer,
        special_tokens,
        local_rank,
        world_size,
        num_workers,
        expected_num_tokens=32768,
        max_num_tokens_per_sample=16384,
        max_num_tokens=36864,
        prefer_buffer_before=16384,
        max_buffer_size=50,
        interpolate_pos=False,
        use_flex=False,
        data_status=None,
    ):
        self.data_config, self.expected_num_tokens = data_config, expected_num_tokens
        self.eos = special_tokens["eos_token_id"]
        self.grouped_datasets, self.is_mandatory, self.weights = [], [], []
        for name, args in data_config.grouped_datasets.items():
            self.is_mandatory.append(args.pop("is_mandatory", False))
            self.weights.append(args.pop("weight", 0.0))
            args.pop("frame_sampler_args", None)
            args["transform"] = ImageTransform(**args.pop("image_transform_args"))
            if "vit_image_transform_args" in args:
                args["vit_transform"] = ImageTransform(**args.pop("vit_image_transform_args"))
            else:
                args["frame_sampler"] = None
            args["data_dir_list"] = []
            for item in args.pop("dataset_names"):
                info = DATASET_INFO[name][item]
                args["data_dir_list"].append(info["data_dir"])
                if "parquet_info_path" in info:
                    with open(info["parquet_info_path"]) as fh:
                        args["parquet_info"] = json.load(fh)
                if "jsonl_path" in info:
                    args["jsonl_path_list"] = [info["jsonl_path"]]
            self.grouped_datasets.append(
                DATASET_REGISTRY[name](
                    dataset_name=name,
                    tokenizer=tokenizer,
                    local_rank=local_rank,
                    world_size=world_size,
                    num_workers=num_workers,
                    data_status=None,
                    **args,
                )
            )
        self.dataset_iters = [iter(d) for d in self.grouped_datasets]

    def set_epoch(self, seed):
        for d in self.grouped_datasets:
            d.set_epoch(seed)

    def __iter__(self):
        while True:
            status, samples = _empty(), []
            for g, mandatory in enumerate(self.is_mandatory):
                if mandatory:
                    self._pack(next(self.dataset_iters[g]), status, samples)
            while status["curr"] < self.expected_num_tokens:
                g = random.choices(range(len(self.weights)), weights=self.weights)[0]
                self._pack(next(self.dataset_iters[g]), status, samples)
            yield self._to_tensor(status, samples)

    def _pack(self, sample, status, samples):
        images, texts = list(sample["image_tensor_list"]), list(sample["text_ids_list"])
        start = status["curr"]
        for item in sample["sequence_plan"]:
            if item["type"] == "text":
                ids = texts.pop(0)
                if item["loss"]:
                    status["ce"] += range(status["curr"], status["curr"] + len(ids) + 1)
                    status["labels"] += ids + [self.eos]
                status["curr"] += len(ids) + 1
            elif item["type"] == "vit_image":
                image = images.pop(0)
                status["curr"] += image.shape[1] * image.shape[2] // 196
            else:
                image = images.pop(0)
                h, w = image.shape[1] // 16, image.shape[2] // 16
                status["vae"].append(image)
                status["shapes"].append((h, w))
                tokens = list(range(status["curr"], status["curr"] + h * w))
                status["vae_tokens"] += tokens
                if item["loss"]:
                    status["mse"] += tokens
                status["curr"] += h * w
        status["lens"].append(status["curr"] - start)
        samples.append(sample["data_indexes"])

    def _to_tensor(self, status, samples):
        data = {
            "batch_data_indexes": samples,
            "sample_lens": status["lens"],
            "sequence_length": status["curr"],
        }
        if status["vae"]:
            size = [max(s) for s in zip(*(t.shape for t in status["vae"]), strict=True)]
            padded = torch.zeros(len(status["vae"]), *size)
            for i, t in enumerate(status["vae"]):
                padded[i, :, : t.shape[1], : t.shape[2]] = t
            data.update(
                padded_images=padded,
                patchified_vae_latent_shapes=status["shapes"],
                packed_vae_token_indexes=torch.tensor(status["vae_tokens"]),
            )
            if status["mse"]:
                data["mse_loss_indexes"] = torch.tensor(status["mse"])
        if status["ce"]:
            data.update(
                ce_loss_indexes=torch.tensor(status["ce"]), packed_label_ids=torch.tensor(status["labels"])
            )
        return data


def _empty():
    return {
        "curr": 0,
        "lens": [],
        "vae": [],
        "shapes": [],
        "vae_tokens": [],
        "mse": [],
        "ce": [],
        "labels": [],
    }
