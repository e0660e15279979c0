"""Run inside a BAGEL checkout (python -m tests-free: by path): a random tiny BAGEL's ema.safetensors.

Built through :func:`sgt.analysis.cluster.bagel_extract.build_bagel`, i.e. the checkout's own Bagel,
Qwen2 MoT and SigLIP classes from the folder's llm_config.json and vit_config.json.
Usage: python bagel_tiny.py CONFIG_DIR OUT_DIR SEED
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from sgt.analysis.cluster.bagel_extract import build_bagel

config_dir, out, seed = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(seed)
model = build_bagel(config_dir, empty=False)
with torch.no_grad():  # upstream zero-initialises llm2vae; any values will do for attention
    for p in model.parameters():
        if p.dim() > 1:
            p.normal_(0.0, 0.2)
out.mkdir(parents=True, exist_ok=True)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(out / "ema.safetensors"))
