"""Run inside a BAGEL checkout: do the hooked Q/K reproduce the attention the model computes?

Wraps the module-level ``flash_attn_varlen_func`` of ``modeling.bagel.qwen2_navit`` (test only) so each
call's real query and key states (after norms, rotary embedding and the cache merge) give a reference key
profile, and compares it with what :class:`KeyProfileRecorder` + ``bagel_qk`` recomputed from the module's
inputs: understanding (causal, keys from the cache) and generation (MoT expert, non-causal).
Usage: python bagel_qk_check.py EVAL_FOLDER OUT_JSON
"""

import json
import sys
from pathlib import Path

import modeling.bagel.qwen2_navit as navit
import numpy as np
import torch
from PIL import Image

from sgt.analysis.cluster.bagel_extract import BagelProbe
from sgt.analysis.cluster.qk_attention import key_profile

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
reference: list[torch.Tensor] = []
current_rows: list[torch.Tensor | None] = [None]
kernel = navit.flash_attn_varlen_func


def recording_kernel(q, k, v, *args, causal=False, **kwargs):
    if current_rows[0] is not None:
        reference.append(key_profile(q, k, current_rows[0], causal=causal))
    return kernel(q, k, v, *args, causal=causal, **kwargs)


def select(probe: BagelProbe, rows: torch.Tensor | None) -> None:
    probe.recorder.rows, current_rows[0] = rows, rows


navit.flash_attn_varlen_func = recording_kernel
probe = BagelProbe(folder, "cpu")
image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80, 3), dtype=np.uint8))
report = {}
with torch.no_grad(), torch.autocast(device_type="cpu", dtype=torch.bfloat16):
    for mode in ("und", "gen"):
        reference.clear()
        cache, kvlens, rope = probe._empty()
        if mode == "und":
            gi, kvlens, rope = probe.model.prepare_vit_images(
                kvlens, rope, [image], probe.vit_transform, probe.ids
            )
            cache = probe.model.forward_cache_update_vit(cache, **gi)
            gi, kvlens, rope = probe.model.prepare_prompts(
                kvlens, rope, ["left of"], probe.tokenizer, probe.ids
            )
            select(probe, torch.arange(1, len(gi["packed_text_ids"]) - 1))
            probe.model.forward_cache_update_text(cache, **gi)
        else:
            gi, kvlens, rope = probe.model.prepare_prompts(
                kvlens, rope, ["a red tie"], probe.tokenizer, probe.ids
            )
            cache = probe.model.forward_cache_update_text(cache, **gi)
            gl = probe.model.prepare_vae_latent(kvlens, rope, [(64, 64)], probe.ids)
            x = gl.pop("packed_init_noises")
            select(probe, gl["packed_vae_token_indexes"])
            probe.model.language_model.model.enable_taylorseer = False
            probe.model._forward_flow(
                x_t=x, timestep=torch.full((x.shape[0],), 0.9), past_key_values=cache, **gl
            )
        select(probe, None)
        recorded = probe.recorder.take(len(probe.layers))
        report[mode] = {
            "layers": len(recorded),
            "reference_calls": len(reference),
            "keys": int(recorded[0].numel()),
            "max_abs_diff": max(float((a - b).abs().max()) for a, b in zip(recorded, reference, strict=True)),
        }
out.write_text(json.dumps(report))
