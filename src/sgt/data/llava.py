"""LLaVA-OneVision rows (parquet: id, image{bytes}, conversations[{from, value}]) drawn into our VQA JSONL.

Each subset gives exactly its configured number of rows (all of them, logged, when it has fewer), drawn by
a generator seeded from (seed, subset) over the subset's rows in path order: the draw depends neither on
the order shards are read in nor on the other subsets, so changing one count redraws one subset only.
A row keeps its whole conversation (``QA.turns``, written as LLaVA ``conversations``) for backends that
train on it whole; the ``<image>`` placeholder is dropped because every backend inserts the image itself.
Rows without an image (text-only, e.g. the magpie subsets) or without a question-answer pair are skipped
and counted, since every reader of ``sgt.data.vqa.read_jsonl`` needs an image.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow.parquet as pq

from sgt.data.hub import verified_files
from sgt.data.images import CorruptImageError, decode_image
from sgt.data.vqa import QA, conversation_turns, write_jsonl
from sgt.io import atomic_write_bytes, sha256_bytes
from sgt.seeding import rng_for

logger = logging.getLogger(__name__)

COLUMNS = ("image", "conversations")


def draw_rows(total: int, count: int, seed: int, subset: str) -> npt.NDArray[np.int64]:
    """Sorted indices of ``min(count, total)`` distinct rows out of ``total``, seeded by (seed, subset)."""
    rng = rng_for(seed, "llava", subset)
    return np.sort(rng.choice(total, size=min(count, total), replace=False)).astype(np.int64)


def _rows(paths: Sequence[Path], picks: npt.NDArray[np.int64]) -> Iterator[tuple[str, dict]]:
    """(where, row) of the picked global row indices, reading one row group at a time."""
    start = 0  # global index of the current row group's first row
    for path in paths:
        pf = pq.ParquetFile(path)
        missing = sorted(set(COLUMNS) - set(pf.schema_arrow.names))
        if missing:
            raise ValueError(f"{path}: no {missing} column(s); not a LLaVA-OneVision shard")
        file_start = start
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            lo, hi = np.searchsorted(picks, [start, start + n])
            if hi > lo:
                table = pf.read_row_group(g, columns=list(COLUMNS)).take(picks[lo:hi] - start)
                for k, row in zip(picks[lo:hi], table.to_pylist(), strict=True):
                    yield f"{path}:row {k - file_start}", row
            start += n


def _record(row: dict, where: str, subset: str, image_dir: Path, counts: Counter[str]) -> QA | None:
    image = row.get("image") or {}
    data = image.get("bytes") if isinstance(image, dict) else None
    if not data:
        counts["text-only rows skipped"] += 1
        return None
    turns = conversation_turns(row.get("conversations"))
    if not turns:
        counts["rows without a question-answer pair skipped"] += 1
        return None
    try:
        decode_image(data, where)
    except CorruptImageError as err:
        logger.warning("%s", err)
        counts["corrupt images skipped"] += 1
        return None
    path = image_dir / f"{sha256_bytes(data)[:32]}.img"
    if not path.exists():
        atomic_write_bytes(path, data)
    (question, answer), rest = turns[0], turns[1:]
    counts["records"] += 1
    counts["multi-turn records"] += bool(rest)
    return QA(-1, str(path.resolve()), question, answer, subset, tuple(turns) if rest else ())


def build_llava_vqa(
    manifests: Mapping[str, str | Path],
    counts: Mapping[str, int],
    seed: int,
    out_jsonl: str | Path,
    image_dir: str | Path,
) -> Counter[str]:
    """Draw ``counts[subset]`` rows of each subset (its files named by ``manifests[subset]``, each checked
    against its sha256) and write them as one VQA JSONL plus the images it points at (named by content)."""
    if set(manifests) != set(counts):
        raise ValueError(
            f"LLaVA subsets with a count {sorted(counts)} differ from those with a manifest "
            f"{sorted(manifests)}"
        )
    image_dir = Path(image_dir)
    image_dir.mkdir(parents=True, exist_ok=True)
    verified = {subset: verified_files(manifests[subset]) for subset in counts}
    for subset, (manifest, _) in verified.items():
        if manifest.subset != subset:
            raise ValueError(f"{manifests[subset]} describes {manifest.subset!r}, not {subset!r}; delete it")
    commits = sorted({(m.repo, m.commit) for m, _ in verified.values()})
    if len(commits) > 1:
        raise ValueError(
            f"the subset manifests come from different commits {commits}; pin data.llava.revision to one "
            "commit and rerun the download_llava jobs"
        )
    total: Counter[str] = Counter()
    records: list[QA] = []
    for subset, want in counts.items():
        paths = sorted(verified[subset][1])  # rows in path order, whatever order the manifest lists them in
        n_rows = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
        picks = draw_rows(n_rows, want, seed, subset)
        if len(picks) < want:
            logger.warning("%s has %d rows, fewer than the %d asked for: taking all", subset, n_rows, want)
        got: Counter[str] = Counter({"rows drawn": len(picks)})
        for where, row in _rows(paths, picks):
            rec = _record(row, where, subset, image_dir, got)
            if rec is not None:
                records.append(rec)
        logger.info("%s: %d of %d rows drawn: %s", subset, len(picks), n_rows, dict(got))
        total.update(got)
    if not records:
        raise ValueError(f"no VQA record with an image in subsets {sorted(counts)}; pick subsets with images")
    write_jsonl(records, out_jsonl)
    logger.info("LLaVA-OneVision: %s", dict(total))
    return total
