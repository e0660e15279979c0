"""Eval folders VLMEvalKit's classes load: BAGEL's released files beside the run's EMA, and OmniGen2's
fine-tuned Qwen2.5-VL loaded back through transformers' own ``from_pretrained``."""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from sgt.models.backends.eval_folder import (
    BAGEL_OPENS,
    bagel_eval_folder,
    qwen25vl_eval_folder,
)


def _bagel_base(root: Path) -> Path:
    base = root / "BAGEL-7B-MoT"
    base.mkdir()
    for name in (
        "llm_config.json",
        "vit_config.json",
        "config.json",
        "tokenizer_config.json",
        "generation_config.json",
    ):
        (base / name).write_text("{}")
    for name in ("vocab.json", "merges.txt", "tokenizer.json"):
        (base / name).write_text("x")
    save_file({"w": torch.zeros(2)}, base / "ae.safetensors")
    save_file({"w": torch.zeros(2)}, base / "ema.safetensors")  # the released weights: must not be used
    return base


def _bagel_checkpoint(root: Path) -> Path:
    ckpt = root / "run" / "checkpoints" / "0001000"
    ckpt.mkdir(parents=True)
    save_file({"w": torch.ones(2)}, ckpt / "ema.safetensors")
    save_file({"w": torch.full((2,), 2.0)}, ckpt / "model.safetensors")
    (ckpt / "scheduler.pt").write_bytes(b"")
    return ckpt


def test_bagel_folder_has_every_file_bagel_opens_with_the_runs_ema(tmp_path):
    base, ckpt = _bagel_base(tmp_path), _bagel_checkpoint(tmp_path)
    out = tmp_path / "eval"
    bagel_eval_folder(base, ckpt, out)
    for name in BAGEL_OPENS:
        assert (out / name).is_file(), name
    assert (out / "ema.safetensors").resolve() == (ckpt / "ema.safetensors").resolve()
    assert not (out / "model.safetensors").exists()  # Bagel would fall back to it; only the EMA is there
    assert (out / "ae.safetensors").resolve() == (base / "ae.safetensors").resolve()
    assert not (out / "scheduler.pt").exists()


def test_bagel_folder_without_ema_uses_the_trained_weights(tmp_path):
    base, ckpt = _bagel_base(tmp_path), _bagel_checkpoint(tmp_path)
    (ckpt / "ema.safetensors").unlink()
    bagel_eval_folder(base, ckpt, tmp_path / "eval")
    assert (tmp_path / "eval" / "ema.safetensors").resolve() == (ckpt / "model.safetensors").resolve()


def test_bagel_folder_names_a_missing_base_file_and_leaves_nothing(tmp_path):
    base, ckpt = _bagel_base(tmp_path), _bagel_checkpoint(tmp_path)
    (base / "vit_config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"vit_config\.json.*models\.bagel\.model_path"):
        bagel_eval_folder(base, ckpt, tmp_path / "eval")
    assert not (tmp_path / "eval").exists()


def _opened_in_model_path(source: str) -> set[str]:
    """File names ``os.path.join(self.model_path, "<name>")`` opens in a VLMEvalKit class's source."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in {"os.path.join", "osp.join"}
            and node.args
            and "model_path" in ast.unparse(node.args[0])
        ):
            names |= {
                a.value for a in node.args[1:] if isinstance(a, ast.Constant) and isinstance(a.value, str)
            }
    return names


@pytest.mark.skipif(not os.environ.get("SGT_VLMEVALKIT_CHECKOUT"), reason="needs a VLMEvalKit checkout")
def test_bagel_opens_no_file_the_folder_lacks_in_the_real_checkout():
    source = Path(os.environ["SGT_VLMEVALKIT_CHECKOUT"], "vlmeval/vlm/bagel_umm.py").read_text()
    opened = _opened_in_model_path(source)
    assert {"ema.safetensors", "llm_config.json", "vit_config.json", "ae.safetensors"} <= opened
    assert opened - {"model.safetensors"} <= set(BAGEL_OPENS)  # model.safetensors: only without an EMA
    assert "Qwen2Tokenizer.from_pretrained(self.model_path)" in source  # vocab.json + merges.txt


# ---------------------------------------------------------------- OmniGen2: its Qwen2.5-VL


def _tiny_qwen(seed: int, hidden: int = 32):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    torch.manual_seed(seed)
    cfg = Qwen2_5_VLConfig(
        text_config=dict(
            hidden_size=hidden,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            intermediate_size=64,
            vocab_size=128,
            rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
            tie_word_embeddings=True,
        ),
        vision_config=dict(
            depth=1,
            hidden_size=32,
            num_heads=2,
            out_hidden_size=hidden,
            intermediate_size=64,
            fullatt_block_indexes=[0],
        ),
        tie_word_embeddings=True,
    )
    return Qwen2_5_VLForConditionalGeneration(cfg)


@pytest.fixture(scope="module")
def qwen_base(tmp_path_factory):
    """A Qwen2.5-VL folder as released: config, processor files and (base) weights."""
    root = tmp_path_factory.mktemp("qwen")
    _tiny_qwen(0).save_pretrained(root / "Qwen2.5-VL-3B-Instruct")
    base = root / "Qwen2.5-VL-3B-Instruct"
    for name in ("preprocessor_config.json", "tokenizer_config.json", "chat_template.json"):
        (base / name).write_text("{}")
    (base / "vocab.json").write_text("{}")
    return base


def _old_layout(key: str) -> str:
    """Parameter names as transformers < 4.52 saved Qwen2.5-VL (``model.layers``, ``visual``)."""
    return re.sub(r"^model\.visual\.", "visual.", re.sub(r"^model\.language_model\.", "model.", key))


@pytest.mark.parametrize("layout", ["current", "pre-4.52"])
def test_qwen_folder_loads_the_fine_tuned_weights(tmp_path, qwen_base, layout):
    from transformers import Qwen2_5_VLForConditionalGeneration

    tuned = _tiny_qwen(1)
    state = tuned.state_dict()  # lm_head shares the embedding's storage, as FSDP's full state dict does
    if layout == "pre-4.52":
        state = {_old_layout(k): v for k, v in state.items()}
    ckpt = tmp_path / "checkpoint-2500"
    ckpt.mkdir()
    torch.save(state, ckpt / "pytorch_model_fsdp_1.bin")
    torch.save({"x": torch.zeros(1)}, ckpt / "pytorch_model_fsdp.bin")  # the DiT (model 0): not read
    out = tmp_path / "eval"
    qwen25vl_eval_folder(qwen_base, ckpt, out)

    for name in ("config.json", "preprocessor_config.json", "tokenizer_config.json", "chat_template.json"):
        assert (out / name).resolve() == (qwen_base / name).resolve()
    assert json.loads((out / "config.json").read_text())["architectures"] == [
        "Qwen2_5_VLForConditionalGeneration"
    ]
    loaded = Qwen2_5_VLForConditionalGeneration.from_pretrained(out)
    base = Qwen2_5_VLForConditionalGeneration.from_pretrained(qwen_base)
    for key, value in tuned.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert not torch.equal(loaded.state_dict()["lm_head.weight"], base.state_dict()["lm_head.weight"])


def test_qwen_folder_refuses_a_checkpoint_of_another_shape(tmp_path, qwen_base):
    ckpt = tmp_path / "checkpoint-10"
    ckpt.mkdir()
    save_file(
        {k: v.clone() for k, v in _tiny_qwen(2).state_dict().items() if "visual" not in k},
        ckpt / "model_1.safetensors",
    )
    with pytest.raises(ValueError, match=r"parameters of .*config\.json missing"):
        qwen25vl_eval_folder(qwen_base, ckpt, tmp_path / "eval")
    assert not (tmp_path / "eval").exists()


def test_qwen_folder_names_a_checkpoint_without_a_text_encoder(tmp_path, qwen_base):
    ckpt = tmp_path / "checkpoint-10"
    ckpt.mkdir()
    torch.save({"x": torch.zeros(1)}, ckpt / "pytorch_model_fsdp.bin")
    with pytest.raises(
        FileNotFoundError, match=r"pytorch_model_fsdp_1\.bin or model_1\.safetensors.*SGT fork"
    ):
        qwen25vl_eval_folder(qwen_base, ckpt, tmp_path / "eval")


def test_qwen_folder_is_written_in_the_names_every_transformers_reads(tmp_path, qwen_base):
    """transformers 4.49 (VLMEvalKit's env, pinned by the bagel package) knows only the pre-4.52 names."""
    from safetensors import safe_open

    ckpt = tmp_path / "checkpoint-1"
    ckpt.mkdir()
    torch.save(
        _tiny_qwen(3).state_dict(), ckpt / "pytorch_model_fsdp_1.bin"
    )  # 4.52+ names, as the fork saves
    qwen25vl_eval_folder(qwen_base, ckpt, tmp_path / "eval")
    with safe_open(tmp_path / "eval" / "model.safetensors", "pt") as f:
        keys = set(f.keys())
    assert any(k.startswith("visual.") for k in keys) and any(k.startswith("model.layers.") for k in keys)
    assert not any(k.startswith(("model.language_model.", "model.visual.")) for k in keys)


# --- the released model (the study's variant without a mix): no run, its own files linked ---


def test_released_bagel_eval_folder_links_the_released_ema(tmp_path):
    from sgt.models.backends import get_backend

    base = _bagel_base(tmp_path)
    backend = get_backend("bagel", checkout=tmp_path, model_path=base)
    backend.eval_folder(None, tmp_path / "eval")
    for name in BAGEL_OPENS:
        assert (tmp_path / "eval" / name).resolve() == (base / name).resolve(), name


def test_released_omnigen2_eval_folder_is_the_qwen_it_was_built_on(tmp_path, qwen_base):
    from transformers import Qwen2_5_VLForConditionalGeneration

    from sgt.models.backends import get_backend

    backend = get_backend(
        "omnigen2", checkout=tmp_path, model_path=tmp_path, vae_path=tmp_path, text_encoder_path=qwen_base
    )
    backend.eval_folder(None, tmp_path / "eval")
    loaded = Qwen2_5_VLForConditionalGeneration.from_pretrained(tmp_path / "eval")
    released = Qwen2_5_VLForConditionalGeneration.from_pretrained(qwen_base)
    for key, value in released.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_released_omnigen2_eval_folder_refuses_a_folder_without_weights(tmp_path):
    from sgt.models.backends.eval_folder import released_qwen25vl_folder

    empty = tmp_path / "qwen"
    empty.mkdir()
    for name in ("config.json", "preprocessor_config.json", "tokenizer_config.json"):
        (empty / name).write_text("{}")
    with pytest.raises(FileNotFoundError, match="no model"):
        released_qwen25vl_folder(empty, tmp_path / "eval")
    assert not (tmp_path / "eval").exists()


def test_released_omnigen2_generation_folder_links_the_whole_release(tmp_path):
    from sgt.models.backends import get_backend
    from sgt.models.backends.generation_folder import PIPELINE_OPENS

    release = tmp_path / "OmniGen2"
    for name in (
        *PIPELINE_OPENS,
        "transformer/diffusion_pytorch_model.safetensors",
        "mllm/model.safetensors",
    ):
        (release / name).parent.mkdir(parents=True, exist_ok=True)
        (release / name).write_text("x")
    backend = get_backend(
        "omnigen2", checkout=tmp_path, model_path=release, vae_path=release, text_encoder_path=release
    )
    backend.generation_folder(None, tmp_path / "unused", tmp_path / "gen")
    files = sorted(p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file())
    assert sorted(p.relative_to(tmp_path / "gen").as_posix() for p in (tmp_path / "gen").rglob("*")
                  if p.is_symlink()) == files  # fmt: skip
    (release / "vae" / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"vae/config\.json.*model_path"):
        backend.generation_folder(None, tmp_path / "unused", tmp_path / "gen2")
