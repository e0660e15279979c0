"""The request/result plumbing every extractor (``bagel_extract``, ``omnigen2_extract``) shares.

An extractor runs with ``python -m`` in a checkout's environment, which lacks our data stack (cv2,
pycocotools): this module imports only the standard library (torch inside :func:`torch_device`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def read_request(argv: list[str] | None, description: str) -> tuple[argparse.Namespace, dict[str, Any]]:
    """Parse ``--request``/``--out`` and read the request JSON that :mod:`sgt.analysis.cluster.run` wrote."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--request", required=True, help="JSON written by sgt.analysis.cluster.run")
    parser.add_argument("--out", required=True, help="JSON of what was measured")
    args = parser.parse_args(argv)
    return args, json.loads(Path(args.request).read_text(encoding="utf-8"))


def torch_device(req: Mapping[str, Any]) -> str:
    """The device to measure on (a GPU when there is one), torch held to the request's threads."""
    import torch

    torch.set_num_threads(max(1, int(req.get("threads", 1))))
    return "cuda" if torch.cuda.is_available() else "cpu"


def question_items(arrays: Mapping[str, Any], questions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Fig. 8a's items: each sampled question with its reference answer and image (``question_image_<i>``)."""
    return [
        {"image": arrays[f"question_image_{i}"], "question": q["question"], "answer": q["answer"]}
        for i, q in enumerate(questions)
    ]


def write_result(path: str | Path, out: Mapping[str, Any]) -> None:
    """Write what was measured, with which of our modules ran in the checkout's environment."""
    record = {**out, "sgt_modules": sorted(m for m in sys.modules if m.startswith("sgt"))}
    Path(path).write_text(json.dumps(record), encoding="utf-8")
