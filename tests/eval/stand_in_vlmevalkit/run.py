"""Stand-in of VLMEvalKit's run.py: the parts ``sgt.eval.vlmeval.conformance`` calls (see README.md).

``parse_args`` defines the flags our adapter uses, with upstream's names, types and choices, plus the few the
harness reads (``--data-config``, ``--use-vllm``, ``--api-mode``); any other flag is an argparse error, as
upstream for a flag it lacks. The builders follow upstream's lookup: a config class in ``vlmeval.api`` first,
then ``vlmeval.vlm``; a dataset class in ``vlmeval.dataset``, given only the params its ``__init__`` names.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
from typing import Any

from vlmeval.config import supported_VLM
from vlmeval.dataset import build_dataset, supported_video_datasets  # noqa: F401 - run.py's namespace
from vlmeval.smp import load  # noqa: F401 - run.py reads --config with it


def build_model_from_config(cfg: dict[str, Any], model_name: str, use_vllm: bool = False) -> Any:
    import vlmeval.api
    import vlmeval.vlm

    config = copy.deepcopy(cfg[model_name])
    if use_vllm:
        config["use_vllm"] = use_vllm
    if "class" not in config:
        return supported_VLM[model_name](**config)
    cls_name = config.pop("class")
    for namespace in (vlmeval.api, vlmeval.vlm):
        if hasattr(namespace, cls_name):
            return getattr(namespace, cls_name)(**config)
    raise ValueError(f"Class {cls_name} is not supported in `vlmeval.api` or `vlmeval.vlm`")


def build_dataset_from_config(
    cfg: dict[str, Any], dataset_name: str, *, strict: bool = False, extra_kwargs: dict | None = None
) -> Any:
    import vlmeval.dataset

    config = copy.deepcopy(cfg[dataset_name])
    if config == {}:
        return supported_video_datasets[dataset_name](**(extra_kwargs or {}))
    if "class" not in config:
        raise ValueError(f"`class` must be set for dataset config {dataset_name}")
    cls_name = config.pop("class")
    for k, v in (extra_kwargs or {}).items():
        config.setdefault(k, v)
    if not hasattr(vlmeval.dataset, cls_name):
        raise ValueError(f"Class {cls_name} is not supported in `vlmeval.dataset`")
    cls = getattr(vlmeval.dataset, cls_name)
    accepted = inspect.signature(cls.__init__).parameters
    unknown = sorted(k for k in config if k not in accepted)
    if strict and unknown:
        raise ValueError(f"Unsupported parameter(s) for dataset class {cls_name}: {', '.join(unknown)}")
    return cls(**{k: v for k, v in config.items() if k in accepted})


def get_judge_kwargs(dataset_name: str, dataset_type: str, args: argparse.Namespace) -> dict[str, Any]:
    """Upstream picks a default judge per dataset type when ``--judge`` is absent; ours always sets it."""
    kwargs: dict[str, Any] = {"nproc": 4, "verbose": False, "retry": 6}
    kwargs["model"] = args.judge if args.judge is not None else "gpt-4o-mini"
    return kwargs


def _data_config(raw: str | None) -> dict[str, Any]:
    value = json.loads(raw) if raw and raw.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("--data-config must be a JSON dict")
    return value


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="stand-in of VLMEvalKit's run.py")
    parser.add_argument("--data", type=str, nargs="+")
    parser.add_argument("--model", type=str, nargs="+")
    parser.add_argument("--config", type=str)
    parser.add_argument("--data-config", type=str, default=None)
    parser.add_argument("--work-dir", type=str, default="./outputs")
    parser.add_argument("--mode", type=str, default="all", choices=["all", "infer", "eval"])
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--use-vllm", action="store_true")
    parser.add_argument("--judge", type=str, default=None)
    parser.add_argument("--api-mode", action="store_true")
    args = parser.parse_args()
    try:
        args.data_config = _data_config(args.data_config)
    except ValueError as e:
        parser.error(str(e))
    return args


def main() -> None:
    raise SystemExit("stand-in run.py: nothing to run; it exists for the conformance harness")


if __name__ == "__main__":
    main()
