import json
import os

from PIL import Image

from .data_utils import pil_img2rgb
from .distributed_iterable_dataset import DistributedIterableDataset


class SftJSONLIterableDataset(DistributedIterableDataset):
    def __init__(
        self,
        dataset_name,
        transform,
        tokenizer,
        frame_sampler,
        jsonl_path_list,
        data_dir_list,
        num_used_data,
        local_rank=0,
        world_size=1,
        num_workers=8,
        data_status=None,
        shuffle_lines=False,
        shuffle_seed=0,
    ):
        super().__init__(dataset_name, local_rank, world_size, num_workers)
        self.transform, self.tokenizer = transform, tokenizer
        self.data_paths = []
        for path, image_dir, n in zip(jsonl_path_list, data_dir_list, num_used_data, strict=True):
            with open(path) as fh:
                lines = fh.readlines()
            if shuffle_lines:
                self.rng.seed(shuffle_seed)
                self.rng.shuffle(lines)
            self.data_paths += [(line, image_dir) for line in lines[:n]]
        self.set_epoch()

    def __iter__(self):
        while True:
            for row_idx, (line, image_dir) in enumerate(self.data_paths_per_rank):
                try:
                    item = json.loads(line)
                    image = self.transform(pil_img2rgb(Image.open(os.path.join(image_dir, item["image"]))))
                except Exception:
                    continue
                texts, plan = [], [{"type": "vit_image", "loss": 0}]
                for turn in item["conversations"]:
                    loss = turn["from"] == "gpt"
                    if os.environ.get("SGT_STAND_IN_FAULT") == "labels_on_question":
                        loss = not loss
                    texts.append(self.tokenizer.encode(turn["value"].replace("<image>", "").strip()))
                    plan.append({"type": "text", "loss": int(loss)})
                yield {
                    "image_tensor_list": [image],
                    "text_ids_list": texts,
                    "sequence_plan": plan,
                    "num_tokens": sum(map(len, texts)) + image.shape[1] * image.shape[2] // 196,
                    "data_indexes": {
                        "data_indexes": row_idx,
                        "worker_id": 0,
                        "dataset_name": self.dataset_name,
                    },
                }
