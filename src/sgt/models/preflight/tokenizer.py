"""A stand-in byte-level BPE tokenizer for preflight runs where the model folder holds no tokenizer.

The preflight needs no weights, and a CPU node (or CI) may have no model folder at all. Upstream BAGEL and
OmniGen2 read Qwen2's byte-level BPE files (``vocab.json``, ``merges.txt``); this one is trained on the
export's own texts, so text lengths in tokens are close to a real English BPE's, and it carries the
special tokens the checkout names. Reports name it as a stand-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

QWEN2_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
TOKENIZER_FILES = ("vocab.json", "merges.txt")


def has_tokenizer(folder: str | Path | None) -> bool:
    """``folder`` holds byte-level BPE files a Qwen2 tokenizer loads (the real model folder, on a cluster)."""
    return folder is not None and all((Path(folder) / f).is_file() for f in TOKENIZER_FILES)


def build_stand_in_tokenizer(
    texts: Iterable[str],
    out: str | Path,
    *,
    special_tokens: Sequence[str] = QWEN2_SPECIAL,
    vocab_size: int = 4000,
) -> Path:
    """Train a byte-level BPE on ``texts``; save its ``vocab.json`` and ``merges.txt`` in ``out``."""
    from tokenizers import ByteLevelBPETokenizer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        list(texts), vocab_size=vocab_size, min_frequency=2, special_tokens=list(special_tokens)
    )
    bpe.save_model(str(out))
    (out / "STAND_IN").write_text("byte-level BPE trained on the export's texts by sgt's preflight\n")
    return out
