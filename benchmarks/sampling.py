"""Sampling speed of the tiny UMM with and without its key/value-cached prefix, in one run.

    PYTHONPATH=src python benchmarks/sampling.py [--images 8] [--steps 16] [--threads 1] [--repeats 3]

``TinyUMM.generate`` encodes [condition ViT tokens, prompt] once with the understanding expert and reuses
its keys and values at every Euler step; the uncached baseline runs the same Euler loop through
``velocity`` without a prefix, which encodes the prefix again at every step. Both start from the same noise
and must give the same images (checked). The model is the demo's architecture (``config/config.yaml``)
with random weights on random 64x64 conditions; the best of ``--repeats`` counts. Prints seconds per image
for both and the uncached/cached ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from sgt.models.tiny_umm import TinyUMM

REPO = Path(__file__).resolve().parents[1]


def _uncached(
    model: TinyUMM, prompts: list[str], cond_images: torch.Tensor, generator: torch.Generator, steps: int
) -> torch.Tensor:
    """``generate``'s Euler loop, with the prefix encoded again at every step."""
    import torch

    from sgt.models.tiny_umm import unpatchify

    cfg = model.cfg
    cond = model.vit_tokens(cond_images)
    x = torch.randn((len(prompts), cfg.n_patches, cfg.patch_dim), generator=generator)
    ts = torch.linspace(1.0, 0.0, steps + 1)
    for i in range(steps):
        v = model.velocity(x, torch.full((len(prompts),), float(ts[i])), prompts, cond)
        x = x - (ts[i] - ts[i + 1]) * v
    return ((unpatchify(x, cfg.patch_size, cfg.image_size) + 1.0) / 2.0).clamp(0.0, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    import torch
    import yaml

    from sgt.models.tiny_umm import TinyUMM, TinyUMMConfig

    torch.set_num_threads(args.threads)
    arch = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["models"]["tiny"]["architecture"]
    torch.manual_seed(0)
    model = TinyUMM(TinyUMMConfig.from_dict(arch)).eval()
    torch.nn.init.normal_(model.gen_out.weight, std=0.02)  # a zero head would make every image the same
    size = model.cfg.image_size
    cond = torch.rand(args.images, 3, size, size)
    prompts = ["mirror the image ."] * args.images
    best: dict[str, float] = {}
    outputs = {}
    with torch.no_grad():
        for _ in range(args.repeats):
            for name in ("cached", "uncached"):
                g = torch.Generator().manual_seed(0)
                start = time.perf_counter()
                if name == "cached":
                    outputs[name] = model.generate(prompts, cond, g, steps=args.steps)
                else:
                    outputs[name] = _uncached(model, prompts, cond, g, args.steps)
                per_image = (time.perf_counter() - start) / args.images
                best[name] = min(best.get(name, float("inf")), per_image)
    if not torch.allclose(outputs["cached"], outputs["uncached"], atol=1e-4):
        raise SystemExit("cached and uncached sampling disagree: the key/value cache is wrong")
    report = {
        "seconds_per_image": {k: round(v, 4) for k, v in best.items()},
        "uncached_over_cached": round(best["uncached"] / best["cached"], 2),
        "images": args.images,
        "steps": args.steps,
        "threads": args.threads,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
