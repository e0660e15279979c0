"""A BAGEL-like miniature UMM from real library parts, small enough to train on two CPU cores.

A SigLIP ViT (``transformers``, no pooling head) feeds an MLP connector into a small Qwen2 causal LM. As
in BAGEL, the LM is a mixture of transformers: two Qwen2 stacks of the same shape, an understanding expert
(``lm``: text and ViT tokens) and a generation expert (``gen_lm``: noise tokens), which meet in attention
only. The understanding path is next-token prediction of answers after [ViT tokens, question]. The
generation path is rectified flow on pixel patches: the understanding expert encodes the prefix [condition
ViT tokens, prompt] into a key/value cache, and the noise tokens run through the generation expert attending
to that cache and to each other. They read the condition only through its ViT tokens, as the paper's
y = f(x, [z_vit, z_noise]) requires (no VAE latents of the condition), and the flow loss still reaches the
understanding expert and the ViT through the prefix's keys and values, which is what generative tuning acts
on. ViT token i is also added to noise token i (aligned projection), which the probe in shared/notes found
necessary for a tiny model to use its condition at all. Separate experts matter at this size: with one
shared stack, training it on VQA made it forget generation and training it on generation undid the VQA
(docs/tiny-umm.md).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from sgt.models.conv_stem import check_stem, install_stem
from sgt.models.tokenizer import WordTokenizer

if TYPE_CHECKING:
    from transformers import DynamicCache


@dataclass(frozen=True, slots=True)
class TinyUMMConfig:
    image_size: int = 64
    patch_size: int = 8
    vit_hidden: int = 128
    vit_layers: int = 2
    vit_heads: int = 4
    lm_hidden: int = 256
    lm_layers: int = 4
    lm_heads: int = 4
    lm_kv_heads: int = 2
    max_text_len: int = 72
    vit_stem: str = "patch"  # "conv": early convolutions before the ViT (sgt.models.conv_stem)

    @property
    def n_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def patch_dim(self) -> int:
        return self.patch_size * self.patch_size * 3

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TinyUMMConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"tiny UMM config: unknown key(s) {unknown}; known: {sorted(known)}")
        check_stem(d.get("vit_stem", "patch"))
        return cls(**d)


def timestep_embedding(t: torch.Tensor, dim: int = 64) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * 1000.0 * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


def patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """B x 3 x H x W -> B x (H/p * W/p) x (p*p*3)."""
    b, c, h, w = images.shape
    x = images.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(b, (h // p) * (w // p), p * p * c)


def unpatchify(tokens: torch.Tensor, p: int, size: int) -> torch.Tensor:
    b = tokens.shape[0]
    g = size // p
    x = tokens.reshape(b, g, g, p, p, 3).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(b, 3, size, size)


@dataclass(slots=True)
class EncodedPrefix:
    """A generation prefix encoded once: the understanding expert's key/value cache and the valid slots."""

    cache: DynamicCache
    valid: torch.Tensor  # B x prefix length, False on padding


class TinyUMM(nn.Module):
    def __init__(self, cfg: TinyUMMConfig):
        super().__init__()
        from transformers import Qwen2Config, Qwen2Model, SiglipVisionConfig, SiglipVisionModel

        self.cfg = cfg
        self.tokenizer = WordTokenizer()
        self.vit = SiglipVisionModel(
            SiglipVisionConfig(
                hidden_size=cfg.vit_hidden,
                intermediate_size=cfg.vit_hidden * 4,
                num_hidden_layers=cfg.vit_layers,
                num_attention_heads=cfg.vit_heads,
                image_size=cfg.image_size,
                patch_size=cfg.patch_size,
                num_channels=3,
                vision_use_head=False,
            )
        )
        install_stem(self.vit, cfg.vit_stem)
        h = cfg.lm_hidden
        self.connector = nn.Sequential(nn.Linear(cfg.vit_hidden, h), nn.GELU(), nn.Linear(h, h))
        lm_config = Qwen2Config(
            vocab_size=self.tokenizer.vocab_size,
            hidden_size=h,
            intermediate_size=h * 3,
            num_hidden_layers=cfg.lm_layers,
            num_attention_heads=cfg.lm_heads,
            num_key_value_heads=cfg.lm_kv_heads,
            max_position_embeddings=2 * cfg.n_patches + cfg.max_text_len + 16,
            tie_word_embeddings=True,
            attn_implementation="sdpa",
        )
        self.lm = Qwen2Model(lm_config)
        self.gen_lm = Qwen2Model(lm_config)
        self.gen_lm.embed_tokens = None  # noise tokens arrive as embeddings; no text passes this expert
        self.lm_head = nn.Linear(h, self.tokenizer.vocab_size, bias=False)
        self.lm_head.weight = self.lm.embed_tokens.weight
        self.image_type = nn.Parameter(torch.zeros(h))
        self.noise_type = nn.Parameter(torch.zeros(h))
        self.gen_in = nn.Linear(cfg.patch_dim, h)
        self.gen_pos = nn.Parameter(torch.randn(cfg.n_patches, h) * 0.02)
        self.time_mlp = nn.Sequential(nn.Linear(64, h), nn.SiLU(), nn.Linear(h, h))
        self.cond_align = nn.Linear(h, h)
        self.gen_out = nn.Linear(h, cfg.patch_dim)
        nn.init.zeros_(self.gen_out.weight)
        nn.init.zeros_(self.gen_out.bias)

    # ---- encoders -------------------------------------------------------------------------------------
    def vit_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (B x 3 x S x S) -> connector outputs, B x n_patches x lm_hidden."""
        feats = self.vit(pixel_values=images * 2.0 - 1.0).last_hidden_state
        return self.connector(feats)

    def vit_features(self, images: torch.Tensor) -> torch.Tensor:
        """Raw ViT tokens (before the connector), the z_vit of the paper's analyses."""
        return self.vit(pixel_values=images * 2.0 - 1.0).last_hidden_state

    def _text(self, texts: list[str], *, bos: bool, eos: bool) -> list[list[int]]:
        out = []
        for t in texts:
            ids = self.tokenizer.encode(t)[: self.cfg.max_text_len]
            out.append(
                ([self.tokenizer.bos_id] if bos else []) + ids + ([self.tokenizer.eos_id] if eos else [])
            )
        return out

    @staticmethod
    def _mask(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Boolean B x L x L "may attend" -> 4D additive float mask (dtype minimum where not allowed)."""
        mask = torch.zeros(allowed.shape, dtype=dtype)
        mask.masked_fill_(~allowed, torch.finfo(dtype).min)
        return mask[:, None]

    def _run_lm(self, embeds: torch.Tensor, allowed: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        pos = torch.arange(embeds.shape[1])[None].expand(embeds.shape[0], -1)
        out = self.lm(
            inputs_embeds=embeds, attention_mask=self._mask(allowed, embeds.dtype), position_ids=pos, **kwargs
        )
        return out.last_hidden_state

    # ---- understanding ------------------------------------------------------------------------------
    def _understanding_inputs(
        self, img_tokens: torch.Tensor, q_ids: list[list[int]], a_ids: list[list[int]]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """[image tokens][bos question answer], right-padded: embeds, may-attend, labels, last index."""
        b, n = img_tokens.shape[0], self.cfg.n_patches
        length = max(len(q) + len(a) for q, a in zip(q_ids, a_ids, strict=True))
        ids = torch.full((b, length), self.tokenizer.pad_id, dtype=torch.long)
        labels = torch.full((b, length), -100, dtype=torch.long)
        valid = torch.zeros((b, n + length), dtype=torch.bool)
        valid[:, :n] = True
        last = torch.zeros(b, dtype=torch.long)
        for i, (q, a) in enumerate(zip(q_ids, a_ids, strict=True)):
            ids[i, : len(q) + len(a)] = torch.tensor(q + a)
            if a:
                labels[i, len(q) : len(q) + len(a)] = torch.tensor(a)
            valid[i, n : n + len(q) + len(a)] = True
            last[i] = n + len(q) + len(a) - 1
        embeds = torch.cat([img_tokens + self.image_type, self.lm.embed_tokens(ids)], dim=1)
        total = n + length
        allowed = torch.tril(torch.ones(total, total, dtype=torch.bool))[None] & valid[:, None, :]
        allowed |= torch.eye(total, dtype=torch.bool)[None]  # padding rows attend to themselves: no NaNs
        return embeds, allowed, labels, last

    def understanding_loss(
        self, images: torch.Tensor, questions: list[str], answers: list[str]
    ) -> torch.Tensor:
        q_ids = self._text(questions, bos=True, eos=False)
        a_ids = self._text(answers, bos=False, eos=True)
        embeds, allowed, labels, _ = self._understanding_inputs(self.vit_tokens(images), q_ids, a_ids)
        hidden = self._run_lm(embeds, allowed)[:, self.cfg.n_patches :]
        logits = self.lm_head(hidden[:, :-1])
        return nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100
        )

    @torch.no_grad()
    def answer(self, images: torch.Tensor, questions: list[str], max_new_tokens: int = 10) -> list[str]:
        """Greedy decoding of short answers (the prefix is recomputed: answers are a few characters)."""
        img_tokens = self.vit_tokens(images)
        q_ids = self._text(questions, bos=True, eos=False)
        partial: list[list[int]] = [[] for _ in questions]
        done = [False] * len(questions)
        for _ in range(max_new_tokens):
            embeds, allowed, _, last = self._understanding_inputs(img_tokens, q_ids, partial)
            hidden = self._run_lm(embeds, allowed)
            next_ids = self.lm_head(hidden[torch.arange(len(questions)), last]).argmax(-1).tolist()
            for i, tok in enumerate(next_ids):
                if done[i]:
                    continue
                if tok == self.tokenizer.eos_id or tok in (self.tokenizer.pad_id, self.tokenizer.bos_id):
                    done[i] = True
                else:
                    partial[i].append(tok)
            if all(done):
                break
        return [self.tokenizer.decode(p).strip() for p in partial]

    # ---- generation -----------------------------------------------------------------------------------
    def _generation_prefix(
        self, prompts: list[str], cond_tokens: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """[condition ViT tokens][bos prompt], right-padded; text-to-image batches have no image slots."""
        b = len(prompts)
        n = self.cfg.n_patches if cond_tokens is not None else 0
        p_ids = self._text(prompts, bos=True, eos=False)
        length = max(len(s) for s in p_ids)
        ids = torch.full((b, length), self.tokenizer.pad_id, dtype=torch.long)
        valid = torch.zeros((b, n + length), dtype=torch.bool)
        valid[:, :n] = True
        for i, s in enumerate(p_ids):
            ids[i, : len(s)] = torch.tensor(s)
            valid[i, n : n + len(s)] = True
        text = self.lm.embed_tokens(ids)
        if cond_tokens is None:
            return text, valid
        return torch.cat([cond_tokens + self.image_type, text], dim=1), valid

    def encode_prefix(self, prompts: list[str], cond_tokens: torch.Tensor | None) -> EncodedPrefix:
        """Run the prefix through the understanding expert once; its keys and values serve every step."""
        from transformers import DynamicCache

        embeds, valid = self._generation_prefix(prompts, cond_tokens)
        p = embeds.shape[1]
        allowed = torch.tril(torch.ones(p, p, dtype=torch.bool))[None] & valid[:, None, :]
        allowed |= torch.eye(p, dtype=torch.bool)[None]  # padding rows attend to themselves: no NaNs
        cache = DynamicCache(config=self.lm.config)
        self._run_lm(embeds, allowed, past_key_values=cache, use_cache=True)
        return EncodedPrefix(cache, valid)

    def velocity(
        self,
        x_t: torch.Tensor,
        t: torch.Tensor,
        prompts: list[str],
        cond_tokens: torch.Tensor | None,
        prefix: EncodedPrefix | None = None,
    ) -> torch.Tensor:
        """Predicted velocity (noise - data) for patch tokens ``x_t`` at times ``t``.

        ``prefix`` (from ``encode_prefix``) is the cached prefix of a sampling loop; without it the prefix
        is encoded here, with gradients, as in training.
        """
        if prefix is None:
            prefix = self.encode_prefix(prompts, cond_tokens)
        n = self.cfg.n_patches
        noise = (
            self.gen_in(x_t) + self.gen_pos + self.time_mlp(timestep_embedding(t))[:, None] + self.noise_type
        )
        if cond_tokens is not None:
            noise = noise + self.cond_align(cond_tokens)
        b, p = prefix.valid.shape
        allowed = torch.cat(
            [prefix.valid[:, None, :].expand(b, n, p), torch.ones((b, n, n), dtype=torch.bool)], dim=2
        )
        out = self.gen_lm(
            inputs_embeds=noise,
            attention_mask=self._mask(allowed, noise.dtype),
            position_ids=torch.arange(p, p + n)[None].expand(b, -1),
            past_key_values=prefix.cache,
            use_cache=True,
        )
        prefix.cache.crop(-n)  # drop this step's n noise keys and values: the next step brings its own
        return self.gen_out(out.last_hidden_state)

    def generation_loss(
        self,
        targets: torch.Tensor,
        prompts: list[str],
        conditions: torch.Tensor | None,
        generator: torch.Generator,
        t_shift: float = 0.5,
    ) -> torch.Tensor:
        """Rectified-flow loss: x_t = t*noise + (1-t)*x, predict noise - x; t ~ sigmoid(N(0,1) + shift)."""
        x0 = patchify(targets * 2.0 - 1.0, self.cfg.patch_size)
        noise = torch.randn(x0.shape, generator=generator)
        t = torch.sigmoid(torch.randn(x0.shape[0], generator=generator) + t_shift)
        x_t = t[:, None, None] * noise + (1 - t[:, None, None]) * x0
        cond = self.vit_tokens(conditions) if conditions is not None else None
        v = self.velocity(x_t, t, prompts, cond)
        return nn.functional.mse_loss(v, noise - x0)

    @torch.no_grad()
    def generate(
        self,
        prompts: list[str],
        conditions: torch.Tensor | None,
        generator: torch.Generator,
        steps: int = 20,
    ) -> torch.Tensor:
        """Euler sampling from t=1 to t=0 in ``steps`` even steps with ``diffusers``' flow-matching
        scheduler; the prefix is encoded once and its keys and values serve every step.

        Returns images in [0, 1], B x 3 x S x S."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        cfg = self.cfg
        scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
        scheduler.set_timesteps(sigmas=torch.linspace(1.0, 0.0, steps + 1)[:-1].tolist())  # it appends 0
        cond = self.vit_tokens(conditions) if conditions is not None else None
        prefix = self.encode_prefix(prompts, cond)
        x = torch.randn((len(prompts), cfg.n_patches, cfg.patch_dim), generator=generator)
        for i, timestep in enumerate(scheduler.timesteps):
            t = scheduler.sigmas[i].expand(len(prompts))
            v = self.velocity(x, t, prompts, cond, prefix=prefix)
            x = scheduler.step(v, timestep, x).prev_sample
        img = unpatchify(x, cfg.patch_size, cfg.image_size)
        return ((img + 1.0) / 2.0).clamp(0.0, 1.0)


def save_model(model: TinyUMM, out_dir: str | Path) -> None:
    """safetensors weights + JSON config; written to a temp dir and renamed by the caller's atomic_dir."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(asdict(model.cfg), indent=1, sort_keys=True) + "\n")


def load_model(model_dir: str | Path) -> TinyUMM:
    """Load weights from safetensors only (never pickle)."""
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    cfg_path, weights = model_dir / "config.json", model_dir / "model.safetensors"
    for p in (cfg_path, weights):
        if not p.is_file():
            raise FileNotFoundError(f"{p} missing: {model_dir} is not a saved tiny UMM (run its train rule)")
    model = TinyUMM(TinyUMMConfig.from_dict(json.loads(cfg_path.read_text())))
    missing, unexpected = model.load_state_dict(load_file(str(weights)), strict=False)
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise ValueError(
            f"{weights}: weights do not match the config (missing {missing}, unexpected {unexpected})"
        )
    return model


def load_vit(model: TinyUMM, model_dir: str | Path) -> None:
    """Load only the ViT of a saved tiny UMM into ``model`` (safetensors), whatever the rest of it was."""
    from safetensors.torch import load_file

    weights = Path(model_dir) / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} missing: {model_dir} is not a saved tiny UMM")
    state = {k.removeprefix("vit."): v for k, v in load_file(str(weights)).items() if k.startswith("vit.")}
    model.vit.load_state_dict(state)  # strict: a ViT of another shape fails here, naming the keys
