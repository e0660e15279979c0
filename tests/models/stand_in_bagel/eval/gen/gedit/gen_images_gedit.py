"""Stand-in for BAGEL's eval/gen/gedit/gen_images_gedit.py (tests only, not upstream's code): its flags, its
one hub load_dataset call, shard split, layout, skip of finished rows and fixed
seed 42. ``load_dataset`` here stands in for datasets' offline behaviour: a hub name fails,
the packaged "parquet" builder reads local files. Edited images are seeded noise; ``SGT_STAND_IN_STOP_AFTER``
stops each shard after that many rows."""

import argparse
import io
import os
import zlib

import numpy as np
import pyarrow.parquet as pq
from PIL import Image


def load_dataset(path, data_files=None):
    """Stand-in for datasets.load_dataset under HF_DATASETS_OFFLINE=1 with no prepared cache."""
    assert os.environ.get("HF_HUB_OFFLINE") == "1" and os.environ.get("HF_DATASETS_OFFLINE") == "1", (
        "not offline"
    )
    if path != "parquet":
        raise ConnectionError(f"Couldn't reach '{path}' on the Hub (offline mode is enabled)")
    return {"train": [row for f in data_files["train"] for row in pq.read_table(f).to_pylist()]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Image editing with text instructions")
    parser.add_argument("--model_path", type=str, required=True)
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--cfg_text_scale", type=float, default=4.0)
    parser.add_argument("--cfg_img_scale", type=float, default=1.5)
    parser.add_argument("--cfg_type", type=str, default="serial_text_img")
    parser.add_argument("--num_samples", type=int, default=None)
    parser.add_argument("--shard_id", type=int, default=0)
    parser.add_argument("--total_shards", type=int, default=1)
    parser.add_argument("--use_think", action="store_true")
    args = parser.parse_args()
    for name in ("llm_config.json", "vit_config.json", "ae.safetensors", "ema.safetensors"):
        assert os.path.exists(os.path.join(args.model_path, name)), f"model path lacks {name}"
    dataset = load_dataset("stepfun-ai/GEdit-Bench")["train"]
    stop_after = int(os.environ.get("SGT_STAND_IN_STOP_AFTER", len(dataset)))
    drawn = 0
    for data_idx in list(range(len(dataset)))[args.shard_id :: args.total_shards]:
        data = dataset[data_idx]
        folder = f"{args.output_dir}/fullset/{data['task_type']}/{data['instruction_language']}"
        src, out = f"{folder}/{data['key']}_SRCIMG.png", f"{folder}/{data['key']}.png"
        os.makedirs(folder, exist_ok=True)
        if os.path.exists(src) and os.path.exists(out):
            print(f"sample {data['key']} already generated, skipping...")
            continue
        if drawn == stop_after:
            raise SystemExit(f"stand-in shard {args.shard_id} stopped after {drawn} rows")
        rng = np.random.default_rng([42, zlib.crc32(data["key"].encode())])
        Image.open(io.BytesIO(data["input_image"]["bytes"])).save(src)
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(out)
        print(
            f"edited {data['key']} on device {args.device} (cfg {args.cfg_text_scale}/{args.cfg_img_scale})"
        )
        drawn += 1
