"""The config as the plan reads it: merged like ``--configfile``, validated, repo paths resolved."""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from sgt.config import check_config, resolve_repo_paths, validate_config
from sgt.io import read_yaml

SCHEMA = Path("workflow") / "schemas" / "config.schema.yaml"


def keys_sorted(node: Any) -> Any:
    """``node`` with every mapping's keys in sorted order, recursively."""
    if isinstance(node, dict):
        return {k: keys_sorted(node[k]) for k in sorted(node)}
    return node


def load_config(*paths: str | Path) -> dict[str, Any]:
    """The config of ``--configfile paths...``: each file merged over the ones before it with Snakemake's own
    merge (``snakemake.utils.update_config``); not validated."""
    from snakemake.utils import update_config

    config: dict[str, Any] = {}
    for path in paths:
        update_config(config, read_yaml(path) or {})
    return config


def prepare_config(config: MutableMapping[str, Any], repo: str | Path) -> None:
    """Validate ``config`` against the schema (filling defaults), resolve repo paths, check it; in place.

    Model settings get sorted keys: they reach jobs as params, and Snakemake reruns a job whose params
    changed, key order included. An overlay that only spelled out a default (study.yaml's finetune.engine)
    reordered them and retrained every variant ``make demo`` had trained; sorted, equal settings are equal.
    """
    repo = Path(repo)
    validate_config(config, repo / SCHEMA)
    # Files shipped with the repository (published numbers, the tiny base checkpoint, the LLaVA mixture) are
    # named relative to it, so a run with `--directory elsewhere` still finds them.
    resolve_repo_paths(config, repo)
    check_config(config)
    config["models"] = {m: keys_sorted(spec) for m, spec in config["models"].items()}
