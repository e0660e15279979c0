import json
import os


class Qwen2Tokenizer:
    """Byte-level BPE from vocab.json and merges.txt, with the few methods BAGEL's data code calls."""

    def __init__(self, folder):
        from tokenizers import ByteLevelBPETokenizer

        self._bpe = ByteLevelBPETokenizer(
            os.path.join(folder, "vocab.json"), os.path.join(folder, "merges.txt")
        )
        with open(os.path.join(folder, "vocab.json")) as fh:
            self.vocab = json.load(fh)
        self.special_tokens_map = {"eos_token": "<|endoftext|>"}

    @classmethod
    def from_pretrained(cls, folder):
        return cls(folder)

    def add_tokens(self, tokens):
        return self._bpe.add_special_tokens(tokens)

    def convert_tokens_to_ids(self, token):
        return self._bpe.token_to_id(token)

    def encode(self, text):
        return self._bpe.encode(text).ids

    def decode(self, ids, skip_special_tokens=False):
        return self._bpe.decode(ids, skip_special_tokens=skip_special_tokens)
