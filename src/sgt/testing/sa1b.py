"""Small SA-1B-format data for tests and demos: toy-world images with SAM-like overlapping masks, packed
into tar shards the way Meta ships them (``./sa_<id>.jpg`` and ``./sa_<id>.json`` at the top level)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from sgt.data.coco import CocoDataset
from sgt.data.sa1b import write_sample


def sa1b_from_toyworld(
    toy_root: str | Path, out: str | Path, *, per_shard: int, split: str = "train2017"
) -> list[Path]:
    """Write every toy-world image of ``split`` as an SA-1B sample into ``out/sa_<NNNNNN>/``, ``per_shard``
    images a shard; returns the shard folders.

    The masks are what SAM would return on such a scene: each object (the toy world's instance masks) plus
    every panoptic segment (stuff regions and objects again), so wholes and duplicates overlap.
    """
    toy = CocoDataset(toy_root, split)
    folders = []
    for k, image_id in enumerate(toy.image_ids()):
        folder = Path(out) / f"sa_{k // per_shard:06d}"
        sample = toy.load(image_id)
        masks = [i.mask for i in sample.instances] + [s.mask for s in sample.segments]
        write_sample(folder, image_id, sample.image, masks)
        if folder not in folders:
            folders.append(folder)
    return folders


def tar_shard(folder: str | Path) -> bytes:
    """The shard folder as an uncompressed tar with ``./``-prefixed members, as SA-1B's tars are."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path in sorted(Path(folder).iterdir()):
            info = tf.gettarinfo(str(path), f"./{path.name}")
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(path, "rb") as fh:
                tf.addfile(info, fh)
    return buf.getvalue()
