"""BAGEL's raw numbers for Figs. 7, 8a and 8b, measured in the upstream model code with forward hooks.

Run with ``python -m`` inside the BAGEL checkout (``modeling.*``, ``data.*`` are upstream's modules) by
:func:`sgt.analysis.cluster.run.analyse_cluster_checkpoint`; it writes arrays and rows, the parent turns
them into the analysis CSVs. Nothing in the checkout is edited; the model is built as the checkout's
``app.py`` builds it and driven through ``Bagel``'s own inference methods:

* Fig. 7: a forward hook on ``Bagel.vit_model`` (SigLIP) records its output tokens (z_vit, before the
  connector) while ``forward_cache_update_vit`` encodes each crop; tokens are flattened per crop.
* Fig. 8a: image through ``forward_cache_update_vit``, then question and reference answer through
  ``forward_cache_update_text`` (teacher-forced, as the tiny analysis does). Flash-attention returns no
  weights, so a pre-hook on every layer's ``self_attn`` recomputes Q and K (the module's own projections,
  q/k norms and upstream's ``apply_rotary_pos_emb``, keys merged with the cache) as the paper's Fig. 12 does.
* Fig. 8b: prompt through ``forward_cache_update_text``, noise from ``prepare_vae_latent``, then the first
  steps of ``generate_image``'s schedule through ``_forward_flow`` (conditional branch: the keys are the
  prompt), the same pre-hook taking the VAE-token queries (the MoT generation expert's q/k projections).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgt.analysis.cluster.extract_io import question_items, read_request, torch_device, write_result
from sgt.analysis.cluster.qk_attention import KeyProfileRecorder

# app.py at 056b5fd: how the released checkpoint is assembled (configs are the folder's json files)
LLM_OVERRIDES = {"qk_norm": True, "tie_word_embeddings": False, "layer_module": "Qwen2MoTDecoderLayer"}
BAGEL_SETTINGS = {
    "visual_gen": True,
    "visual_und": True,
    "vit_max_num_patch_per_side": 70,
    "connector_act": "gelu_pytorch_tanh",
    "latent_patch_size": 2,
    "max_latent_size": 64,
}
VIT_TRANSFORM = (980, 224, 14)  # app.py: ImageTransform(980, 224, 14)


def build_bagel(folder: Path, *, empty: bool) -> Any:
    """``Bagel`` from ``folder``'s llm_config.json and vit_config.json, as app.py builds it (no weights)."""
    from accelerate import init_empty_weights
    from modeling.autoencoder import load_ae
    from modeling.bagel import (
        Bagel,
        BagelConfig,
        Qwen2Config,
        Qwen2ForCausalLM,
        SiglipVisionConfig,
        SiglipVisionModel,
    )

    llm_config = Qwen2Config.from_json_file(str(folder / "llm_config.json"))
    for key, value in LLM_OVERRIDES.items():
        setattr(llm_config, key, value)
    vit_config = SiglipVisionConfig.from_json_file(str(folder / "vit_config.json"))
    vit_config.rope = False
    vit_config.num_hidden_layers -= 1
    _, vae_config = load_ae(local_path=None)  # only its shape facts: no image is decoded here
    config = BagelConfig(
        llm_config=llm_config, vit_config=vit_config, vae_config=vae_config, **BAGEL_SETTINGS
    )
    if empty:
        with init_empty_weights():
            model = Bagel(Qwen2ForCausalLM(llm_config), SiglipVisionModel(vit_config), config)
            model.vit_model.vision_model.embeddings.convert_conv2d_to_linear(vit_config, meta=True)
    else:
        model = Bagel(Qwen2ForCausalLM(llm_config), SiglipVisionModel(vit_config), config)
        model.vit_model.vision_model.embeddings.convert_conv2d_to_linear(vit_config)
    return model


def load_bagel(folder: Path, device: str) -> tuple[Any, Any, dict[str, int], dict[str, Any]]:
    """Model (bf16, eval mode), tokenizer, BAGEL's special token ids and load facts, from an eval folder."""
    from data.data_utils import add_special_tokens
    from modeling.qwen2 import Qwen2Tokenizer
    from safetensors.torch import load_file

    model = build_bagel(folder, empty=True)
    state = load_file(str(folder / "ema.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    if missing:
        raise SystemExit(
            f"{folder}/ema.safetensors lacks {len(missing)} parameters of the model its configs describe "
            f"(e.g. {missing[:3]}); the eval folder does not match its llm_config.json/vit_config.json"
        )
    model = model.to(device=device, dtype=torch.bfloat16).eval()
    tokenizer = Qwen2Tokenizer.from_pretrained(str(folder))
    tokenizer, new_token_ids, _ = add_special_tokens(tokenizer)
    facts = {"parameters": len(state), "unexpected": len(unexpected), "dtype": "bfloat16", "device": device}
    return model, tokenizer, new_token_ids, facts


def bagel_qk(attn: Any, kw: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Q of this call and every key it attends to, as ``PackedAttentionMoT.forward_inference`` forms them."""
    rotary = sys.modules[type(attn).__module__].apply_rotary_pos_emb
    if len(kw["query_lens"]) != 1:
        raise RuntimeError("the attention probe handles one sequence per call (batch size 1)")
    seq, heads, kv_heads, dim = (
        kw["packed_query_sequence"],
        attn.num_heads,
        attn.num_key_value_heads,
        attn.head_dim,
    )
    if kw.get("mode", "und") == "und":
        q = attn.q_norm(attn.q_proj(seq).view(-1, heads, dim))
        k = attn.k_norm(attn.k_proj(seq).view(-1, kv_heads, dim))
    else:
        text, vae = kw["packed_text_indexes"], kw["packed_vae_token_indexes"]
        seq = seq.to(torch.bfloat16)
        q = seq.new_zeros((seq.shape[0], heads * dim), dtype=torch.float32)
        k = seq.new_zeros((seq.shape[0], kv_heads * dim), dtype=torch.float32)
        q[text], q[vae] = attn.q_proj(seq[text]).float(), attn.q_proj_moe_gen(seq[vae]).float()
        k[text], k[vae] = attn.k_proj(seq[text]).float(), attn.k_proj_moe_gen(seq[vae]).float()
        q, k = q.view(-1, heads, dim), k.view(-1, kv_heads, dim)
        q[text], q[vae] = attn.q_norm(q[text]), attn.q_norm_moe_gen(q[vae])
        k[text], k[vae] = attn.k_norm(k[text]), attn.k_norm_moe_gen(k[vae])
    cos, sin = kw["packed_query_position_embeddings"]
    q, k = rotary(q, k, cos, sin, unsqueeze_dim=1)
    cache = kw.get("past_key_values")
    past = cache.key_cache[attn.layer_idx] if cache is not None else None
    if past is not None:
        keys = past.new_zeros((past.shape[0] + k.shape[0], kv_heads, dim), dtype=torch.float32)
        keys[kw["packed_query_indexes"]] = k.float()
        keys[kw["packed_key_value_indexes"]] = past.float()
        k = keys
    return q, k, bool(kw["is_causal"])


def _to(device: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}


def _pil(array: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(np.asarray(array, dtype=np.uint8)).convert("RGB")


class BagelProbe:
    """One loaded model and its hooks; each method measures one figure's raw numbers."""

    def __init__(self, folder: Path, device: str) -> None:
        from data.transforms import ImageTransform
        from modeling.bagel.qwen2_navit import NaiveCache

        self.model, self.tokenizer, self.ids, self.facts = load_bagel(folder, device)
        self.device, self.cache = device, NaiveCache
        self.vit_transform = ImageTransform(*VIT_TRANSFORM)
        self.layers = list(self.model.language_model.model.layers)
        self.recorder = KeyProfileRecorder([layer.self_attn for layer in self.layers], bagel_qk)
        self.vit_out: list[torch.Tensor] = []
        self.model.vit_model.register_forward_hook(lambda _m, _a, out: self.vit_out.append(out.detach()))

    def _empty(self) -> tuple[Any, list[int], list[int]]:
        return self.cache(len(self.layers)), [0], [0]

    def vit_features(self, images: np.ndarray, batch: int = 8) -> np.ndarray:
        """Fig. 7: flattened SigLIP output tokens per image (all images share one size)."""
        feats = []
        for start in range(0, len(images), batch):
            chunk = [_pil(a) for a in images[start : start + batch]]
            cache = self.cache(len(self.layers))
            gi, _, _ = self.model.prepare_vit_images(
                [0] * len(chunk), [0] * len(chunk), chunk, self.vit_transform, self.ids
            )
            self.vit_out.clear()
            self.model.forward_cache_update_vit(cache, **_to(self.device, gi))
            if len(self.vit_out) != 1:
                raise RuntimeError(f"expected one call of vit_model per batch, saw {len(self.vit_out)}")
            per_image = self.vit_out[0].float().split(gi["vit_token_seqlens"].tolist())
            feats += [t.flatten().cpu().numpy() for t in per_image]
        if len({f.shape for f in feats}) > 1:
            raise RuntimeError("images gave different numbers of ViT tokens; resize them to one size first")
        return np.stack(feats).astype(np.float32)

    def visual_shares(self, items: list[dict[str, Any]]) -> np.ndarray:
        """Fig. 8a: per item and layer, the attention question/answer tokens put on the image's ViT tokens."""
        rows = []
        for item in items:
            cache, kvlens, rope = self._empty()
            gi, kvlens, rope = self.model.prepare_vit_images(
                kvlens, rope, [_pil(item["image"])], self.vit_transform, self.ids
            )
            visual = gi["packed_vit_token_indexes"].tolist()  # cache positions: the cache was empty
            cache = self.model.forward_cache_update_vit(cache, **_to(self.device, gi))
            mass, queries = np.zeros(len(self.layers)), 0
            for text in (item["question"], item["answer"]):
                gi, kvlens, rope = self.model.prepare_prompts(kvlens, rope, [text], self.tokenizer, self.ids)
                n = len(gi["packed_text_ids"])
                self.recorder.rows = torch.arange(1, n - 1)  # not the bos/eos markers
                cache = self.model.forward_cache_update_text(cache, **_to(self.device, gi))
                self.recorder.rows = None
                profiles = self.recorder.take(len(self.layers))
                mass += (n - 2) * np.array([float(p[visual].sum()) for p in profiles])
                queries += n - 2
            rows.append(mass / queries)
        return np.asarray(rows, dtype=np.float64)

    def prompt_masses(
        self,
        prompts: list[dict[str, Any]],
        groups: dict[str, list[str]],
        *,
        seed: int,
        generation: dict[str, Any],
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Fig. 8b: per prompt, timestep and layer, the attention VAE-token queries put on each key group.

        ``prompts``: {text, words: word -> group}; ``groups``: {word: [...], key: [...]} group names.
        """
        from sgt.analysis.attention import group_masses, normalise
        from sgt.analysis.cluster.prompt_tokens import token_word_groups
        from sgt.seeding import torch_seed_for

        steps, shift = int(generation["num_timesteps"]), float(generation["timestep_shift"])
        size = int(generation["resolution"])
        self.model.language_model.model.enable_taylorseer = False
        ts = torch.linspace(1, 0, steps)
        ts = shift * ts / (1 + (shift - 1) * ts)  # generate_image's schedule
        dts, rows, sizes = ts[:-1] - ts[1:], [], {}
        for p_idx, prompt in enumerate(prompts):
            torch.manual_seed(torch_seed_for(seed, "fig8b", p_idx))  # prepare_vae_latent draws the noise
            cache, kvlens, rope = self._empty()
            gi, kvlens, rope = self.model.prepare_prompts(
                kvlens, rope, [prompt["text"]], self.tokenizer, self.ids
            )
            words = token_word_groups(
                self.tokenizer, prompt["text"], prompt["words"], groups["word"], offset=1
            )
            cache = self.model.forward_cache_update_text(cache, **_to(self.device, gi))
            gl = self.model.prepare_vae_latent(kvlens, rope, [(size, size)], self.ids)
            vae = gl["packed_vae_token_indexes"]
            keys = {**words, "bos": [0], "noise": (kvlens[0] + vae).tolist()}
            sizes[prompt["text"]] = {g: len(v) for g, v in keys.items()}
            x = gl["packed_init_noises"].to(self.device)
            flow = {k: v for k, v in _to(self.device, gl).items() if k != "packed_init_noises"}
            for k in range(int(generation["timesteps"])):
                self.recorder.rows = vae
                v = self.model._forward_flow(
                    x_t=x,
                    timestep=torch.full((x.shape[0],), float(ts[k]), device=self.device),
                    past_key_values=cache,
                    **flow,
                )
                self.recorder.rows = None
                x = x - v.to(x.dtype) * dts[k]
                for layer, profile in enumerate(self.recorder.take(len(self.layers))):
                    masses = group_masses(profile.view(1, 1, -1), [0], keys)
                    shares = normalise({w: masses[w] for w in groups["word"]})
                    rows += [
                        {
                            "prompt": p_idx,
                            "timestep": k,
                            "layer": layer,
                            "group": g,
                            "mass": masses[g],
                            "share": shares.get(g),
                        }
                        for g in groups["key"]
                    ]
        return rows, sizes


def main(argv: list[str] | None = None) -> None:
    args, req = read_request(argv, __doc__.splitlines()[0])
    device = torch_device(req)
    probe = BagelProbe(Path(req["model"]), device)
    arrays = np.load(req["inputs"])
    # as upstream's scripts run it (gen_images_mp.py: autocast); the weights are bf16
    with torch.no_grad(), torch.autocast(device_type=device, dtype=torch.bfloat16):
        features = probe.vit_features(arrays["crops"])
        visual = probe.visual_shares(question_items(arrays, req["questions"]))
        rows, groups = probe.prompt_masses(
            req["prompts"], req["groups"], seed=int(req["seed"]), generation=req["generation"]
        )
    np.savez(req["arrays"], features=features, visual=visual)
    hooked = [f"language_model.model.layers.{i}.self_attn" for i in range(len(probe.layers))]
    out = {
        "prompt_rows": rows,
        "prompt_groups": groups,
        "hooked": {"vit": "vit_model", "attention": hooked, "attention_calls": probe.recorder.calls},
        "load": probe.facts,
        "flash_attn": getattr(sys.modules.get("flash_attn"), "__version__", "absent"),
        "pid": os.getpid(),
    }
    write_result(args.out, out)


if __name__ == "__main__":
    main()
