"""A stand-in Qwen2.5-VL tokenizer and processor for OmniGen2's preflight, when no real one is on the node.

OmniGen2 reads its text tokenizer (``AutoTokenizer``) and, in the SGT fork, a Qwen2.5-VL processor
(``AutoProcessor``) from ``text_encoder_path``. The preflight checks routing, labels and batch shapes, not
token ids, so a byte-level tokenizer whose special tokens are the ones the checkout's own prompts use (found
by reading its sources, as a test fixture would) is enough; images go through transformers' own Qwen2-VL
image processor and ``Qwen2_5_VLProcessor`` code, so image-token expansion is the real one. The folder
carries :data:`MARKER`, and the report names the stand-in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sgt.io import atomic_write_json

MARKER = "sgt_stand_in.json"
TOKEN = re.compile(r"<\|[a-z_]+\|>")
# Qwen2.5-VL tokens the processor needs whether or not the checkout's prompts spell them
REQUIRED = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
# the layout of the checkout's own hand-written prompts: <|im_start|>role\ncontent<|im_end|>\n
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def has_tokenizer(folder: Path) -> bool:
    """``folder`` holds a real tokenizer (use it, not the stand-in)."""
    return any((Path(folder) / f).is_file() for f in TOKENIZER_FILES)


def checkout_special_tokens(checkout: Path) -> list[str]:
    """The ``<|...|>`` tokens the checkout's Python sources use, plus those the Qwen processor needs."""
    found: set[str] = set(REQUIRED)
    for path in sorted(Path(checkout).rglob("*.py")):
        if "experiments" not in path.parts:
            found |= set(TOKEN.findall(path.read_text(encoding="utf-8", errors="replace")))
    return sorted(found)


def build(checkout: Path, dest: Path) -> Path:
    """Save the stand-in tokenizer into ``dest`` (loadable with ``AutoTokenizer.from_pretrained``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = checkout_special_tokens(checkout)
    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|endoftext|>", eos_token="<|im_end|>")
    fast.chat_template = CHAT_TEMPLATE
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(dest)
    atomic_write_json(dest / MARKER, {"special_tokens": specials, "source": str(checkout)})
    return dest


def install(folder: Path) -> None:
    """Make ``AutoProcessor.from_pretrained(folder, ...)`` return the stand-in processor (probe process only).

    transformers' ``Qwen2_5_VLProcessor`` also wants a video processor, which needs torchvision; ours has
    none, so a subclass takes the image processor and tokenizer only.
    """
    from transformers import AutoProcessor, AutoTokenizer, Qwen2_5_VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    from transformers.processing_utils import ProcessorMixin

    class StandInProcessor(Qwen2_5_VLProcessor):
        def __init__(self, image_processor: Any, tokenizer: Any) -> None:
            self.image_token, self.video_token = "<|image_pad|>", "<|video_pad|>"
            self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
            self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
            ProcessorMixin.__init__(self, image_processor, tokenizer)

    folder = Path(folder).resolve()
    real = AutoProcessor.from_pretrained.__func__  # type: ignore[attr-defined]

    def from_pretrained(cls: Any, path: Any, *args: Any, **kwargs: Any) -> Any:
        if Path(str(path)).resolve() != folder:
            return real(cls, path, *args, **kwargs)
        pixels = {k: kwargs[k] for k in ("min_pixels", "max_pixels") if k in kwargs}
        return StandInProcessor(Qwen2VLImageProcessorPil(**pixels), AutoTokenizer.from_pretrained(folder))

    AutoProcessor.from_pretrained = classmethod(from_pretrained)  # type: ignore[method-assign]


def describe(folder: Path) -> dict[str, Any]:
    """What the stand-in in ``folder`` was built from (for the report)."""
    return json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
