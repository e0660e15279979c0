"""A tiny random Qwen2.5-VL (OmniGen2's MLLM) as released + a fine-tuned copy as the SGT fork saves it.

Run with the Python of the checkout's environment (transformers of its pin). Writes BASE (config, weights,
a byte-level BPE tokenizer with Qwen2.5-VL's special tokens, image processor, chat template) and
CKPT/model_1.safetensors (model index 1: the text encoder, other weights).
Usage: python omnigen2_tiny.py TEXTS_FILE BASE CKPT
"""

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from tokenizers import ByteLevelBPETokenizer
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2TokenizerFast,
    Qwen2VLImageProcessor,
)

SPECIAL = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Qwen2.5-VL's chat layout for [image, text] turns (system prompt left out)
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
    "{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<|vision_start|><|image_pad|>"
    "<|vision_end|>{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

texts, base, ckpt = Path(sys.argv[1]).read_text().splitlines(), Path(sys.argv[2]), Path(sys.argv[3])
base.mkdir(parents=True, exist_ok=True)
bpe = ByteLevelBPETokenizer()
bpe.train_from_iterator(texts, vocab_size=600, min_frequency=2, special_tokens=SPECIAL)
bpe.save_model(str(base))
tok = Qwen2TokenizerFast(
    vocab_file=str(base / "vocab.json"),
    merges_file=str(base / "merges.txt"),
    eos_token="<|im_end|>",
    pad_token="<|endoftext|>",
)
tok.add_special_tokens({"additional_special_tokens": SPECIAL[1:]})
ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL}
images = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=224 * 224)
Qwen2_5_VLProcessor(image_processor=images, tokenizer=tok, chat_template=TEMPLATE).save_pretrained(base)


def tiny(seed):
    torch.manual_seed(seed)
    cfg = Qwen2_5_VLConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=64,
        vocab_size=len(tok) + 8,
        rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "num_heads": 2,
            "out_hidden_size": 32,
            "intermediate_size": 64,
            "fullatt_block_indexes": [1],
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        tie_word_embeddings=False,
    )
    return Qwen2_5_VLForConditionalGeneration(cfg)


tiny(0).save_pretrained(base)
ckpt.mkdir(parents=True, exist_ok=True)
save_file({k: v.contiguous() for k, v in tiny(1).state_dict().items()}, str(ckpt / "model_1.safetensors"))
