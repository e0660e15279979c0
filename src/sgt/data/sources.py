"""Where the study's data comes from: default URLs and checksums, overridable from config.

COCO does not publish checksums. The MD5s and sizes below are the values that many independent download
scripts have pinned for years (PaddleDetection, GluonCV-era scripts, LVIS tooling); they are community
records, not COCO's word. If upstream ever re-packs an archive, the download fails with a message naming
the config key to override. Every download is also recorded in a sha256 manifest (see ``sgt.data.download``),
so later copies are checked against the first one.

SA-1B links are personal and expire (Meta's CDN URLs carry an ``oe=`` expiry), so they come from the links
file each user downloads from https://ai.meta.com/datasets/segment-anything-downloads/ .
LLaVA-OneVision's SFT data comes from a Hugging Face dataset repository through ``huggingface_hub``
(``sgt.data.hub``), not from URLs built here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

COCO_BASE_URL = "http://images.cocodataset.org/"
SA1B_HEADER = ("file_name", "cdn_link")

_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._()+,=@ -]*$")
_HEX = {"md5": 32, "sha1": 40, "sha256": 64}


@dataclass(frozen=True, slots=True)
class Source:
    """One remote file: where to get it, the relative path to store it under, and what it must match."""

    name: str  # relative POSIX path under the download folder
    url: str
    size: int | None = None
    md5: str | None = None
    sha256: str | None = None
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold a token: never logged

    def __post_init__(self) -> None:
        check_relative_name(self.name, what=f"download name for {self.url}")
        for algo in ("md5", "sha256"):
            digest = getattr(self, algo)
            if digest is not None and not re.fullmatch(rf"[0-9a-f]{{{_HEX[algo]}}}", digest):
                raise ValueError(
                    f"{self.name}: {algo} {digest!r} is not {_HEX[algo]} lowercase hex digits; "
                    "fix it in config"
                )
        if self.size is not None and self.size < 0:
            raise ValueError(f"{self.name}: size must be non-negative, got {self.size}")


def check_relative_name(name: str, *, what: str) -> PurePosixPath:
    """A relative path of plain parts: no absolute paths, ``..``, empty parts or odd characters."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or "\\" in name:
        raise ValueError(f"{what}: {name!r} must be a relative POSIX path")
    for part in path.parts:
        if part in (".", "..") or not _SAFE_PART.match(part):
            raise ValueError(f"{what}: {name!r} has an unsafe path part {part!r}")
    return path


# Archive id -> Source. Sizes in bytes; md5s are community records (see module docstring).
COCO_2017: dict[str, Source] = {
    "train2017": Source(
        "train2017.zip",
        COCO_BASE_URL + "zips/train2017.zip",
        size=19_336_861_798,
        md5="cced6f7f71b7629ddf16f17bbcfab6b2",
    ),
    "val2017": Source(
        "val2017.zip",
        COCO_BASE_URL + "zips/val2017.zip",
        size=815_585_330,
        md5="442b8da7639aecaf257c1dceb8ba8c80",
    ),
    "annotations": Source(
        "annotations_trainval2017.zip",
        COCO_BASE_URL + "annotations/annotations_trainval2017.zip",
        size=252_907_541,
        md5="f4bbac642086de4f52a3fdda2de5fa2c",
    ),
    "panoptic_annotations": Source(
        "panoptic_annotations_trainval2017.zip",
        COCO_BASE_URL + "annotations/panoptic_annotations_trainval2017.zip",
        size=860_725_834,
        md5="4170db65fc022c9c296af880dbca6055",
    ),
}

# Which archives each split needs; panoptic PNGs sit in nested zips inside the panoptic archive.
COCO_SPLIT_ARCHIVES: dict[str, tuple[str, ...]] = {
    "train2017": ("train2017", "annotations", "panoptic_annotations"),
    "val2017": ("val2017", "annotations", "panoptic_annotations"),
}

_OVERRIDABLE = ("url", "size", "md5", "sha256")


def coco_sources(
    overrides: Mapping[str, Mapping[str, Any]] | None = None, *, base_url: str | None = None
) -> dict[str, Source]:
    """COCO 2017 archives, with ``base_url`` swapping the host (a mirror, ``file:///mirror/``) and
    per-archive ``overrides`` (``{"train2017": {"url": ..., "md5": null}}``) taking precedence."""
    out: dict[str, Source] = {}
    overrides = overrides or {}
    unknown = set(overrides) - set(COCO_2017)
    if unknown:
        raise KeyError(
            f"data.coco.archives: unknown archive(s) {sorted(unknown)}; known: {sorted(COCO_2017)}"
        )
    for key, src in COCO_2017.items():
        if base_url:
            src = replace(src, url=base_url.rstrip("/") + "/" + src.url.removeprefix(COCO_BASE_URL))
        extra = dict(overrides.get(key, {}))
        bad = set(extra) - set(_OVERRIDABLE)
        if bad:
            raise KeyError(f"data.coco.archives.{key}: unknown key(s) {sorted(bad)}; allowed: {_OVERRIDABLE}")
        out[key] = replace(src, **extra)
    return out


_SA1B_FIX = (
    "each line must be '<file name><TAB><url>' (Meta's file starts with the header "
    "'file_name<TAB>cdn_link'); "
    "download a fresh links file from https://ai.meta.com/datasets/segment-anything-downloads/ and point "
    "data.sa1b.links_file at it"
)


def read_sa1b_links(path: str | Path, *, n_shards: int | None = None, first: int = 0) -> list[Source]:
    """Parse an SA-1B links file: ``file_name<TAB>url`` lines, optionally under Meta's header line.

    Shards (the ``.tar`` lines) are taken in file order from index ``first``; ``n_shards=None`` takes all of
    them. Errors name the file, the line and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: SA-1B links file not found (data.sa1b.links_file); download it from "
            "https://ai.meta.com/datasets/segment-anything-downloads/ after accepting the licence and set "
            "data.sa1b.links_file to its path, or set data.sa1b.download: false and point data.root at an "
            "extracted copy"
        )
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a text file ({err}); {_SA1B_FIX}") from err
    sources: list[Source] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip() or (lineno == 1 and tuple(line.split("\t")) == SA1B_HEADER):
            continue
        fields = line.split("\t")
        if len(fields) != 2 or not fields[1].startswith(("http://", "https://", "file://")):
            raise ValueError(
                f"{path}:{lineno}: expected 'file_name<TAB>url', got {line[:120]!r}; {_SA1B_FIX}"
            )
        name, url = fields
        if "/" in name or name in seen:
            raise ValueError(f"{path}:{lineno}: file name {name!r} is nested or repeated; {_SA1B_FIX}")
        seen.add(name)
        try:
            sources.append(Source(name, url))
        except ValueError as err:
            raise ValueError(f"{path}:{lineno}: {err}; {_SA1B_FIX}") from err
    tars = [s for s in sources if s.name.endswith(".tar")]
    if not tars:
        raise ValueError(f"{path}: lists no .tar shard; {_SA1B_FIX}")
    if first < 0 or (n_shards is not None and n_shards < 0):
        raise ValueError(f"data.sa1b: first_shard ({first}) and n_shards ({n_shards}) must be non-negative")
    end = len(tars) if n_shards is None else first + n_shards
    if end > len(tars):
        raise ValueError(
            f"{path}: asked for SA-1B shards {first}..{end - 1} but the links file lists {len(tars)} tar "
            "files; lower data.sa1b.n_shards or data.sa1b.first_shard"
        )
    return tars[first:end]


def sa1b_shard_sources(sa1b: Mapping[str, Any]) -> dict[str, Source]:
    """The shards ``config["data"]["sa1b"]`` selects, by shard stem (``sa_000000``), with the known
    size/md5/sha256 of ``checksums`` attached. Checked when the workflow starts, before any job."""
    if not sa1b.get("links_file"):
        raise ValueError(
            "data.sa1b.links_file is not set: SA-1B links are personal, so download the links file from "
            "https://ai.meta.com/datasets/segment-anything-downloads/ and set data.sa1b.links_file, or set "
            "data.sa1b.download: false and point data.root at an extracted copy"
        )
    links = sa1b["links_file"]
    listed = {s.name for s in read_sa1b_links(links)}
    checksums = dict(sa1b.get("checksums") or {})
    unknown = sorted(set(checksums) - listed)
    if unknown:
        raise ValueError(
            f"data.sa1b.checksums: {unknown} are not listed in {links}; use the file names of the links file"
        )
    selected = read_sa1b_links(links, n_shards=sa1b.get("n_shards", 1), first=sa1b.get("first_shard", 0))
    out = {}
    for src in selected:
        try:
            out[PurePosixPath(src.name).stem] = replace(src, **checksums.get(src.name, {}))
        except (TypeError, ValueError) as err:
            raise ValueError(f"data.sa1b.checksums.{src.name}: {err}") from err
    return out
