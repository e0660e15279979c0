"""Fig. 8b: how much attention the generation (noise) tokens put on object, position, colour and other
prompt words during the first sampling steps, over GenEval-style prompts from the toy-world vocabulary.

As in the paper (Sec. 7.5, Fig. 12), the noisy image tokens are the queries and the prompt tokens the keys;
a group's mass is the attention its tokens receive, summed over the group's tokens and averaged over heads
and noise-token queries. Masses are reported for every key group (the four word groups, bos and the noise
tokens themselves, which sum to 1) and as each word group's share of the four word groups together,
which is what the figure plots. Prompts are text-to-image (no condition image), like GenEval's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sgt.analysis.attention import capture_attention, group_masses, normalise
from sgt.data.toyworld import COLORS, THINGS
from sgt.seeding import rng_for, torch_seed_for

logger = logging.getLogger(__name__)
WORD_GROUPS = ("object", "position", "colour", "other")
KEY_GROUPS = (*WORD_GROUPS, "bos", "noise")
POSITIONS = ("left of", "right of", "above", "below")
POSITION_WORDS = frozenset({"left", "right", "above", "below"})


def geneval_prompts(n: int, seed: int) -> list[str]:
    """``n`` distinct GenEval-style prompts cycling through position, colour-attribute and both.

    GenEval's templates: "a photo of a X right of a Y" (position), "a photo of a red X and a blue Y"
    (colour attribute); the third template binds colours and a relation in one prompt.
    """
    rng = rng_for(seed, "geneval-prompts")
    objects, colours = sorted(THINGS.values()), sorted(COLORS)
    prompts: list[str] = []
    for attempt in range(100 * n):
        if len(prompts) == n:
            break
        a, b = (str(x) for x in rng.choice(objects, 2, replace=False))
        ca, cb = (str(x) for x in rng.choice(colours, 2, replace=False))
        rel = str(rng.choice(POSITIONS))
        template = attempt % 3
        if template == 0:
            prompt = f"a photo of a {a} {rel} a {b}"
        elif template == 1:
            prompt = f"a photo of a {ca} {a} and a {cb} {b}"
        else:
            prompt = f"a photo of a {ca} {a} {rel} a {cb} {b}"
        if prompt not in prompts:
            prompts.append(prompt)
    if len(prompts) < n:
        raise ValueError(f"only {len(prompts)} distinct prompts can be made, {n} requested")
    return prompts


def word_group(word: str) -> str:
    if word in POSITION_WORDS:
        return "position"
    if word in COLORS:
        return "colour"
    if word in THINGS.values():
        return "object"
    return "other"


def prompt_token_groups(tokenizer: Any, prompt: str) -> dict[str, list[int]]:
    """Word group -> positions of the prompt's tokens in [bos, prompt tokens] (bos is position 0)."""
    groups: dict[str, list[int]] = {g: [] for g in WORD_GROUPS}
    pos, ids = 1, []
    for word in prompt.lower().split():
        word_ids = tokenizer.encode(word)
        groups[word_group(word)].extend(range(pos, pos + len(word_ids)))
        pos += len(word_ids)
        ids += word_ids
    if ids != tokenizer.encode(prompt):
        raise ValueError(f"prompt {prompt!r} does not tokenise word by word; use space-separated words")
    return groups


def prompt_attention(
    model: Any, prompts: Sequence[str], *, seed: int, steps: int, timesteps: int = 3
) -> list[dict[str, Any]]:
    """Per (prompt, timestep, layer, key group): the mass from noise-token queries, and word-group shares.

    Sampling follows ``TinyUMM.generate``'s Euler schedule over ``steps`` steps; only the first
    ``timesteps`` are run.
    """
    import torch

    if timesteps > steps:
        raise ValueError(f"analysis.timesteps ({timesteps}) exceeds eval.sampling_steps ({steps})")
    model.eval()
    cfg, rows = model.cfg, []
    ts = torch.linspace(1.0, 0.0, steps + 1)
    # the noise tokens are the generation expert's queries; its keys are [prefix, noise tokens]
    with torch.no_grad(), capture_attention(model.gen_lm) as layers:
        for p_idx, prompt in enumerate(prompts):
            words = prompt_token_groups(model.tokenizer, prompt)
            g = torch.Generator().manual_seed(torch_seed_for(seed, "fig8b", p_idx))
            x = torch.randn((1, cfg.n_patches, cfg.patch_dim), generator=g)
            encoded = model.encode_prefix([prompt], None)  # once per prompt, as sampling does
            for k in range(timesteps):
                v = model.velocity(x, torch.full((1,), float(ts[k])), [prompt], None, prefix=encoded)
                x = x - (ts[k] - ts[k + 1]) * v
                queries, length = layers[0].shape[-2:]
                prefix = length - cfg.n_patches
                groups = {**words, "bos": [0], "noise": list(range(prefix, length))}
                for layer, attn in enumerate(layers):
                    masses = group_masses(attn[0], range(queries - cfg.n_patches, queries), groups)
                    shares = normalise({w: masses[w] for w in WORD_GROUPS})
                    for name in KEY_GROUPS:
                        rows.append(
                            {
                                "prompt": p_idx,
                                "timestep": k,
                                "layer": layer,
                                "group": name,
                                "mass": masses[name],
                                "share": shares.get(name),
                            }
                        )
    return rows


def summarise(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Average over prompts: one row per (timestep, layer, group); word groups' shares get share_low/high,
    the 95% t-interval over the prompts (empty for bos and noise, which have no share)."""
    from sgt.intervals import t_interval

    keys = sorted({(r["timestep"], r["layer"]) for r in rows})
    out = []
    for t, layer in keys:
        for name in KEY_GROUPS:
            sel = [r for r in rows if r["timestep"] == t and r["layer"] == layer and r["group"] == name]
            words = name in WORD_GROUPS
            share, low, high, _ = t_interval([r["share"] for r in sel]) if words else ("", "", "", 0)
            out.append(
                {
                    "timestep": t,
                    "layer": layer,
                    "group": name,
                    "mass": round(float(np.mean([r["mass"] for r in sel])), 6),
                    "share": round(share, 6) if words else "",
                    "n_prompts": len(sel),
                    "share_low": round(low, 6) if words else "",
                    "share_high": round(high, 6) if words else "",
                }
            )
    return out
