"""Stand-in for OmniGen2's inference.py (tests only, not upstream's code): upstream's flags and the
signatures of load_pipeline, preprocess and run; the "pipeline" checks the model folder and draws noise
seeded by args.seed and the prompt. ``SGT_STAND_IN_STOP_AFTER`` stops it after that many run() calls, like a
pre-empted job."""

import argparse
import os
import zlib
from types import SimpleNamespace

import numpy as np
from PIL import Image, ImageOps

CALLS = {"n": 0}


def parse_args():
    parser = argparse.ArgumentParser(description="OmniGen2 image generation script.")
    parser.add_argument("--model_path", type=str, default="OmniGen2/OmniGen2")
    parser.add_argument("--transformer_path", type=str, default=None)
    parser.add_argument("--transformer_lora_path", type=str, default=None)
    parser.add_argument("--scheduler", type=str, default="euler", choices=["euler", "dpmsolver++"])
    parser.add_argument("--num_inference_step", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--max_input_image_pixels", type=int, default=1048576)
    parser.add_argument("--dtype", type=str, default="bf16", choices=["fp32", "fp16", "bf16"])
    parser.add_argument("--text_guidance_scale", type=float, default=5.0)
    parser.add_argument("--image_guidance_scale", type=float, default=2.0)
    parser.add_argument("--cfg_range_start", type=float, default=0.0)
    parser.add_argument("--cfg_range_end", type=float, default=1.0)
    parser.add_argument("--instruction", type=str, default="")
    parser.add_argument("--negative_prompt", type=str, default="(((deformed))), blurry")
    parser.add_argument("--input_image_path", type=str, nargs="+", default="outputs/third_bird.jpg")
    parser.add_argument("--output_image_path", type=str, default="outputs/blur_outut.png")
    parser.add_argument("--num_images_per_prompt", type=int, default=1)
    parser.add_argument("--enable_model_cpu_offload", action="store_true")
    parser.add_argument("--enable_sequential_cpu_offload", action="store_true")
    parser.add_argument("--enable_group_offload", action="store_true")
    parser.add_argument("--enable_teacache", action="store_true")
    parser.add_argument("--teacache_rel_l1_thresh", type=float, default=0.05)
    parser.add_argument("--enable_taylorseer", action="store_true")
    return parser.parse_args()


def load_pipeline(args, accelerator, weight_dtype):
    for name in ("model_index.json", "transformer/config.json", "mllm/config.json"):
        assert os.path.exists(os.path.join(args.model_path, name)), f"model path lacks {name}"
    mllm = [
        f
        for f in ("model.safetensors", "model.safetensors.index.json")
        if os.path.exists(os.path.join(args.model_path, "mllm", f))
    ]
    assert mllm, "model path lacks mllm weights (model.safetensors or the release's sharded index)"
    weights = [
        f for f in os.listdir(os.path.join(args.model_path, "transformer")) if f.startswith("diffusion_")
    ]
    assert weights, "model path lacks transformer weights"
    print(f"stand-in pipeline loaded from {args.model_path} ({weight_dtype}, {accelerator.device})")
    return SimpleNamespace(model_path=args.model_path)


def preprocess(input_image_path=()):  # upstream: a list default
    images = [Image.open(p).convert("RGB") for p in input_image_path]
    return [ImageOps.exif_transpose(img) for img in images]


def run(args, accelerator, pipeline, instruction, negative_prompt, input_images):
    if input_images is not None:  # an edit: the input's pixels enter the seed
        instruction += str(int(np.asarray(input_images[0]).sum()))
    stop_after = os.environ.get("SGT_STAND_IN_STOP_AFTER")
    if stop_after is not None and CALLS["n"] == int(stop_after):
        raise SystemExit(f"stand-in stopped after {CALLS['n']} calls")
    CALLS["n"] += 1
    rng = np.random.default_rng([args.seed, zlib.crc32(instruction.encode())])
    side = max(args.height // 128, 2), max(args.width // 128, 2)
    images = [
        Image.fromarray(rng.integers(0, 256, (*side, 3), dtype=np.uint8))
        for _ in range(args.num_images_per_prompt)
    ]
    return SimpleNamespace(images=images)
