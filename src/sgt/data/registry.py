"""Image sources behind one interface, chosen by ``data.source``: the toy world, COCO 2017 and SA-1B.

Subset selection, target synthesis and data validation only call ``open_dataset`` / ``validate_root`` and
the ``Dataset`` protocol (image ids, image path, caption, ``load -> Sample``), so they run unchanged on any
registered source. Adding a source is one ``register`` call with an opener, a validator and the config keys
it needs (``options``); there are no if-chains on the source name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sgt.data.records import Sample

if TYPE_CHECKING:
    from sgt.data.archive import ExtractLimits


class Dataset(Protocol):
    """What every source offers; ``load`` raises ``CorruptImageError`` for an unreadable image."""

    source: str
    skipped: Counter[str]

    def image_ids(self) -> list[int]: ...

    def image_path(self, image_id: int) -> Path: ...

    def caption(self, image_id: int) -> str: ...

    def load(self, image_id: int) -> Sample: ...


Opener = Callable[..., Dataset]  # (root, split, *, panoptic, **options) -> Dataset
Validator = Callable[..., dict[str, Any]]  # (root, splits, *, limits, **options) -> summary


@dataclass(frozen=True, slots=True)
class SourceKind:
    name: str
    open: Opener
    validate: Validator
    options: Callable[[Mapping[str, Any]], dict[str, Any]]  # config["data"] -> opener/validator kwargs


SOURCES: dict[str, SourceKind] = {}


def register(
    name: str,
    opener: Opener,
    validator: Validator,
    options: Callable[[Mapping[str, Any]], dict[str, Any]] = lambda data: {},
) -> SourceKind:
    if name in SOURCES:
        raise ValueError(f"data source {name!r} registered twice")
    SOURCES[name] = SourceKind(name, opener, validator, options)
    return SOURCES[name]


def _kind(source: str) -> SourceKind:
    if source not in SOURCES:
        raise KeyError(f"unknown data source {source!r} (data.source); known: {', '.join(sorted(SOURCES))}")
    return SOURCES[source]


def open_dataset(
    source: str, root: str | Path, split: str, *, panoptic: bool | None = None, **options: Any
) -> Dataset:
    """One split of ``root`` read as ``source``; ``panoptic=False`` skips panoptic PNGs nobody reads."""
    return _kind(source).open(root, split, panoptic=panoptic, **options)


def validate_root(
    source: str,
    root: str | Path,
    splits: Sequence[str],
    *,
    limits: ExtractLimits | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Check ``root`` has ``source``'s layout for ``splits`` before any job relies on it; returns counts.
    ``limits`` (``data.extract``) caps any archive the check unpacks (COCO's nested panoptic zips)."""
    return _kind(source).validate(root, splits, limits=limits, **options)


def source_options(data: Mapping[str, Any]) -> dict[str, Any]:
    """The source-specific keyword arguments of ``open_dataset``/``validate_root`` from ``config["data"]``."""
    return _kind(data["source"]).options(data)


def _coco(name: str) -> Opener:
    def opener(root: str | Path, split: str, *, panoptic: bool | None = None) -> Dataset:
        from sgt.data.coco import CocoDataset

        return CocoDataset(root, split, source=name, panoptic=panoptic)

    return opener


def _validate_coco(
    root: str | Path, splits: Sequence[str], *, limits: ExtractLimits | None = None
) -> dict[str, Any]:
    """Unpack COCO's nested panoptic zips if they are still packed (a no-op on the toy world), then check."""
    from sgt.data.roots import unpack_coco_panoptic, validate_coco_root

    unpack_coco_panoptic(root, splits, limits=limits)
    return validate_coco_root(root, splits)


def _open_sa1b(
    root: str | Path, split: str, *, panoptic: bool | None = None, eval_split: str, eval_fraction: float
) -> Dataset:
    from sgt.data.sa1b import SA1BDataset

    # segments (the panoptic view) are derived from the masks themselves, so ``panoptic`` changes nothing
    return SA1BDataset(root, split, eval_split=eval_split, eval_fraction=eval_fraction)


def _validate_sa1b(
    root: str | Path,
    splits: Sequence[str],
    *,
    eval_split: str,
    eval_fraction: float,
    limits: ExtractLimits | None = None,  # nothing nested to unpack
) -> dict[str, Any]:
    from sgt.data.roots import validate_sa1b_root

    return validate_sa1b_root(root, splits=splits, eval_split=eval_split, eval_fraction=eval_fraction)


def _sa1b_options(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"eval_split": data["eval_split"], "eval_fraction": float(data["sa1b"]["eval_fraction"])}


register("toyworld", _coco("toyworld"), _validate_coco)
register("coco", _coco("coco"), _validate_coco)
register("sa1b", _open_sa1b, _validate_sa1b, _sa1b_options)
