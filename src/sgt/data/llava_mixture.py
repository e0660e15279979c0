"""Which LLaVA-OneVision subsets the VQA SFT data draws from, and how many samples of each.

A mixture is ``data.llava.subsets`` (subset folder -> sample count) or a YAML file shipped in ``config/``
(``data.llava.mixture``) that groups the subsets by category and names where the counts come from. Both are
read when the workflow starts, from local files only, so planning never touches the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgt.data.sources import check_relative_name
from sgt.io import read_yaml

_MIXTURE_KEYS = {"source", "repo", "categories", "dropped", "notes"}


@dataclass(frozen=True, slots=True)
class LlavaSettings:
    """``data.llava`` after validation: what to fetch (repo at revision) and what to draw (subsets)."""

    repo: str
    revision: str  # a 40-hex commit, or a branch/tag resolved once at download and recorded
    subsets: dict[str, int]  # subset folder -> rows to draw, in mixture order
    seed: int
    source: str  # where the counts come from, for logs and the report


def check_subset_name(name: object, *, where: str) -> str:
    """A subset is one folder of the repository: a single safe path part (parentheses and commas allowed)."""
    if not isinstance(name, str):
        raise ValueError(f"{where}: subset name {name!r} must be a string")
    try:
        parts = check_relative_name(name, what=where).parts
    except ValueError as err:
        raise ValueError(f"{err}; name a top-level folder of the dataset repository") from None
    if len(parts) != 1:
        raise ValueError(f"{where}: {name!r} is nested; name a top-level folder of the dataset repository")
    return name


def _count(value: object, *, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: the sample count must be a positive integer, got {value!r}")
    return value


def load_mixture(path: str | Path) -> tuple[dict[str, int], str, str | None]:
    """Read a mixture file: (subset -> count in file order, its named source, its repo or None).

    Format: ``source: <text>``, optional ``repo``, ``categories: {<category>: {<subset>: <count>}}``, and
    free-form ``dropped``/``notes`` documenting choices. A subset may appear in one category only.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: mixture file not found (data.llava.mixture); fix the path")
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict) or not data["categories"]:
        raise ValueError(f"{path}: expected 'categories: {{<category>: {{<subset>: <count>}}}}'")
    unknown = sorted(set(data) - _MIXTURE_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(_MIXTURE_KEYS)}")
    if not str(data.get("source") or "").strip():
        raise ValueError(f"{path}: name where the counts come from under 'source'")
    subsets: dict[str, int] = {}
    for category, members in data["categories"].items():
        if not isinstance(members, dict) or not members:
            raise ValueError(f"{path}: category {category!r} must map subsets to sample counts")
        for name, count in members.items():
            where = f"{path}: categories.{category}.{name}"
            check_subset_name(name, where=where)
            if name in subsets:
                raise ValueError(f"{where}: subset listed twice; keep it in one category")
            subsets[name] = _count(count, where=where)
    return subsets, str(data["source"]).strip(), data.get("repo")


def llava_settings(llava: Mapping[str, Any], seed: int) -> LlavaSettings:
    """Validate ``data.llava`` (and its mixture file); errors name the key and the fix."""
    if llava.get("files"):
        raise ValueError(
            "data.llava.files was replaced: name subsets (dataset folders) with sample counts under "
            "data.llava.subsets, or a mixture file under data.llava.mixture (config/llava_onevision_sgt.yaml "
            "is the paper's); the shards are listed at data.llava.revision with huggingface_hub"
        )
    given, mixture = dict(llava.get("subsets") or {}), llava.get("mixture")
    if bool(given) == bool(mixture):
        raise ValueError(
            "data.llava: set exactly one of subsets ({<subset folder>: <samples>}) and mixture (a mixture "
            "file such as config/llava_onevision_sgt.yaml)"
        )
    repo = str(llava["repo"])
    if mixture:
        subsets, source, mixture_repo = load_mixture(mixture)
        if mixture_repo is not None and mixture_repo != repo:
            raise ValueError(
                f"data.llava.mixture: {mixture} names subsets of {mixture_repo!r} but data.llava.repo is "
                f"{repo!r}; set data.llava.repo: {mixture_repo}"
            )
    else:
        subsets = {
            check_subset_name(name, where="data.llava.subsets"): _count(n, where=f"data.llava.subsets.{name}")
            for name, n in given.items()
        }
        source = "data.llava.subsets"
    revision = str(llava["revision"])
    if not revision.strip():
        raise ValueError("data.llava.revision is empty; pin a 40-hex commit or name a branch such as main")
    own_seed = llava.get("seed")
    return LlavaSettings(repo, revision, subsets, seed if own_seed is None else int(own_seed), source)
