import io
import os

import pyarrow.parquet as pq
from PIL import Image

from ..data_utils import pil_img2rgb
from ..distributed_iterable_dataset import DistributedIterableDataset


class UnifiedEditIterableDataset(DistributedIterableDataset):
    def __init__(
        self,
        dataset_name,
        transform,
        tokenizer,
        vit_transform,
        data_dir_list,
        num_used_data,
        parquet_info,
        local_rank=0,
        world_size=1,
        num_workers=8,
        data_status=None,
    ):
        super().__init__(dataset_name, local_rank, world_size, num_workers)
        self.transform, self.vit_transform, self.tokenizer = transform, vit_transform, tokenizer
        self.data_paths = [
            (os.path.join(d, n), g)
            for d in data_dir_list
            for n in sorted(os.listdir(d))
            if n.endswith(".parquet")
            for g in range(parquet_info[os.path.join(d, n)]["num_row_groups"])
        ]
        self.set_epoch()

    def __iter__(self):
        while True:
            for gi, (path, group) in enumerate(self.data_paths_per_rank):
                df = pq.ParquetFile(path).read_row_group(group).to_pandas()
                for row_idx, row in df.iterrows():
                    try:
                        images = [pil_img2rgb(Image.open(io.BytesIO(b))) for b in row["image_list"]]
                    except Exception:
                        continue  # as upstream: an unreadable row is skipped without a word
                    loss = (
                        images[0]
                        if os.environ.get("SGT_STAND_IN_FAULT") == "loss_on_condition"
                        else images[-1]
                    )
                    cond, target = self.transform(images[0]), self.transform(loss)
                    vit = self.vit_transform(images[0])
                    text = self.tokenizer.encode(row["instruction_list"][0][0])
                    yield {
                        "image_tensor_list": [cond, vit, target],
                        "text_ids_list": [text],
                        "sequence_plan": [
                            {"type": "vae_image", "loss": 0},
                            {"type": "vit_image", "loss": 0},
                            {"type": "text", "loss": 0},
                            {"type": "vae_image", "loss": 1},
                        ],
                        "num_tokens": len(text)
                        + sum(t.shape[1] * t.shape[2] // 256 for t in (cond, target))
                        + vit.shape[1] * vit.shape[2] // 196,
                        "data_indexes": {
                            "data_indexes": [gi, row_idx],
                            "worker_id": 0,
                            "dataset_name": self.dataset_name,
                        },
                    }
