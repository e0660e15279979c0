"""Per-shard depth estimates as ``.npz``: one float16 array per image, written as a stream.

Why npz: maps differ in size per image (COCO), ``np.load`` reads one entry at a time without unpacking the
shard, and the writer appends entries one by one so a shard never sits in memory. float16 keeps about three
significant digits (relative error 5e-4) at half the size, far below the 0.4 discrepancy threshold.

Layout: ``map_<image_id>`` (H x W float16), ``image_ids`` (int64, write order), ``space`` (``disparity`` or
``depth``) and ``estimator`` (its registry name).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from sgt.data.records import Sample
from sgt.io import atomic_path

MAP_PREFIX = "map_"


class StoreWriter:
    """Append maps to a new shard; the file appears under its name only when the ``with`` block succeeds."""

    def __init__(self, path: str | Path, *, space: str, estimator: str) -> None:
        self.path = Path(path)
        self.space, self.estimator = space, estimator
        self.ids: list[int] = []

    def __enter__(self) -> StoreWriter:
        self._ctx = atomic_path(self.path, suffix=".npz")
        tmp = self._ctx.__enter__()
        self._zip = zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
        return self

    def _put(self, name: str, array: npt.NDArray[np.generic]) -> None:
        with self._zip.open(f"{name}.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array(fh, np.require(array, requirements="C"), allow_pickle=False)

    def add(self, image_id: int, values: npt.NDArray[np.floating]) -> None:
        if image_id in self.ids:
            raise ValueError(f"{self.path}: image {image_id} written twice")
        self._put(f"{MAP_PREFIX}{int(image_id)}", np.asarray(values, np.float16))
        self.ids.append(int(image_id))

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self._put("image_ids", np.asarray(self.ids, np.int64))
            self._put("space", np.asarray(self.space))
            self._put("estimator", np.asarray(self.estimator))
        self._zip.close()
        self._ctx.__exit__(kind, value, tb)


class DepthStore:
    """Read-only view over one estimator's shards: ``store[image_id]`` is a float32 map."""

    def __init__(self, paths: Iterable[str | Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self._files: list[np.lib.npyio.NpzFile] = []
        self._where: dict[int, int] = {}
        spaces, names = set(), set()
        for path in self.paths:
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path}: no such depth-estimate shard; run depth_estimate for it first"
                )
            npz = np.load(path, allow_pickle=False)
            if "image_ids" not in npz.files or "space" not in npz.files:
                raise ValueError(
                    f"{path}: not a depth-estimate shard (no image_ids/space); delete and rerun it"
                )
            for image_id in npz["image_ids"].tolist():
                if image_id in self._where:
                    raise ValueError(
                        f"image {image_id} is in both {self.paths[self._where[image_id]]} and {path}"
                    )
                self._where[int(image_id)] = len(self._files)
            spaces.add(str(npz["space"].reshape(-1)[0]))
            names.add(str(npz["estimator"].reshape(-1)[0]))
            self._files.append(npz)
        if len(spaces) > 1:
            raise ValueError(
                f"shards {self.paths} mix depth spaces {sorted(spaces)}; one estimator per store"
            )
        self.space = spaces.pop() if spaces else "disparity"
        self.estimator = ",".join(sorted(names))

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def __iter__(self) -> Iterator[int]:
        return iter(self._where)

    def __getitem__(self, image_id: int) -> npt.NDArray[np.float32]:
        if image_id not in self._where:
            raise KeyError(f"image {image_id} has no estimate in {[str(p) for p in self.paths]}")
        return self._files[self._where[image_id]][f"{MAP_PREFIX}{image_id}"].astype(np.float32)

    def close(self) -> None:
        for f in self._files:
            f.close()

    def __enter__(self) -> DepthStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def attach_depth(sample: Sample, store: DepthStore) -> Sample:
    """``sample`` with ``depth`` replaced by its estimate, ``depth_space`` by the store's space.

    How the ``depth`` task receives the kept map and ``derain_dehaze`` its haze depth: a data set's own depth
    (the toy world's exact metric depth) never reaches them when the workflow attaches estimates.
    """
    values = store[sample.image_id]
    if values.shape != (sample.height, sample.width):
        raise ValueError(
            f"image {sample.image_id}: estimate is {values.shape}, image is {(sample.height, sample.width)}; "
            "the estimate store belongs to another data set: rerun depth_estimate"
        )
    return replace(sample, depth=values, depth_space=store.space)
