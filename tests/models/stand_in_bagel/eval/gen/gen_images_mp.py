"""Stand-in for BAGEL's eval/gen/gen_images_mp.py (tests only, not upstream's code): its flags, its
hard-coded seed line, GenEval's output layout and its skip of finished prompts. Images are seeded
noise; ``SGT_STAND_IN_STOP_AFTER`` stops it after that many prompts, like a pre-empted job."""

import argparse
import json
import os

import numpy as np
from PIL import Image

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Generate images using Bagel model.")
    parser.add_argument("--output_dir", type=str, required=True)
    parser.add_argument("--metadata_file", type=str, required=True)
    parser.add_argument("--num_images", type=int, default=4)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--cfg_scale", type=float, default=4)
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--max_latent_size", type=int, default=64)
    parser.add_argument("--model-path", type=str, default="hf/BAGEL-7B-MoT/")
    args = parser.parse_args()

    seed = 42
    rng = np.random.default_rng(seed)
    for name in ("llm_config.json", "vit_config.json", "ae.safetensors", "ema.safetensors"):
        assert os.path.exists(os.path.join(args.model_path, name)), f"model path lacks {name}"
    with open(args.metadata_file, encoding="utf-8") as fp:
        metadatas = [json.loads(line) for line in fp]
    stop_after = int(os.environ.get("SGT_STAND_IN_STOP_AFTER", len(metadatas)))
    drawn = 0
    for idx, metadata in enumerate(metadatas):
        outpath = os.path.join(args.output_dir, f"{idx:0>5}")
        sample_path = os.path.join(outpath, "samples")
        os.makedirs(sample_path, exist_ok=True)
        if all(os.path.exists(os.path.join(sample_path, f"{k:05}.png")) for k in range(args.num_images)):
            print(f"skipping generation for prompt: {metadata['prompt']}")
            continue
        if drawn == stop_after:
            raise SystemExit(f"stand-in stopped after {drawn} prompts")
        with open(os.path.join(outpath, "metadata.jsonl"), "w", encoding="utf-8") as fp:
            json.dump(metadata, fp)
        print(f"drawing prompt {idx} with seed {seed}")
        for k in range(args.num_images):
            pixels = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(os.path.join(sample_path, f"{k:05}.png"))
        drawn += 1
