"""Stand-in of ``vlmeval.vlm`` with the two classes our models use, their upstream constructor parameters.

Upstream: ``Bagel`` in vlm/bagel_umm.py, ``Qwen2VLChat`` in vlm/qwen2_vl/model.py. Constructing either loads
weights, so here it raises: the harness must replace ``__init__``, as it does for the real classes.
"""

from __future__ import annotations

from typing import Any


class BaseModel:
    INTERLEAVE = False


class Bagel(BaseModel):
    INTERLEAVE = True

    def __init__(
        self,
        model_path: str = "ByteDance-Seed/BAGEL-7B-MoT",
        mode: str = "understanding",
        precision: str = "bf16",
        out_img_dir: str = "./output_image/test_bagel/",
        **kwargs: Any,
    ) -> None:
        raise RuntimeError(f"stand-in Bagel would load weights from {model_path}")


class Qwen2VLChat(BaseModel):
    INTERLEAVE = True

    def __init__(
        self,
        model_path: str,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        total_pixels: int | None = None,
        max_new_tokens: int = 2048,
        use_custom_prompt: bool = True,
        system_prompt: str | None = None,
        verbose: bool = False,
        **kwargs: Any,
    ) -> None:
        raise RuntimeError(f"stand-in Qwen2VLChat would load weights from {model_path}")
