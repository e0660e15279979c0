"""The depth branch of config/test.yaml in Snakemake: pool, estimates, filter, histogram, depth targets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TARGETS = (
    "results/targets/depth/manifest.parquet",
    "results/depth/train2017/discrepancy.png",
    "results/depth/train2017/estimates/tiny_depth_anything_v2/shard-000.npz",
    "results/depth/train2017/estimates/tiny_depthpro/shard-000.npz",
)


def _run(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--cores", "2", "-d", str(workdir)]
    cmd += [*args, *TARGETS, "--configfile", str(REPO / "config" / "test.yaml")]
    # jobs run in the workdir: this checkout's sgt must be on the path absolutely, not an installed copy
    path = os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": path}
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env, timeout=1800)


def _png(data: bytes) -> np.ndarray:
    import cv2

    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


@pytest.mark.slow
def test_depth_branch_keeps_consistent_maps_and_targets_use_them(tmp_path: Path) -> None:
    from snakemake.utils import validate

    from sgt.data.coco import CocoDataset
    from sgt.data.subset import shard_image_ids
    from sgt.depth.corrupt import corruption_for
    from sgt.depth.store import DepthStore
    from sgt.targets.mid import normalise_depth

    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    validate(cfg, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))  # fills the schema's defaults
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr[-5000:]
    res = tmp_path / "results"
    table = pq.read_table(res / "depth" / "train2017" / "filter.parquet").to_pandas()
    n = cfg["targets"]["n_per_task"]
    kept = table.loc[table["kept"]]
    assert len(kept) == n and table["image_id"].is_unique
    # the reference stand-in corrupts a seeded share of its maps: exactly those are discarded
    frac = cfg["depth"]["estimators"]["toy_metric"]["corrupt_fraction"]
    corrupted = {int(i) for i in table["image_id"] if corruption_for(cfg["seed"], int(i), frac)}
    discarded = set(table.loc[~table["kept"], "image_id"].astype(int))
    assert discarded and discarded <= corrupted
    assert (table.loc[~table["kept"], "discrepancy"] > cfg["depth"]["threshold"]).all()
    replacements = table.loc[table["kept"] & (table["role"] == "replacement")]
    assert len(replacements) == (~table.loc[table["role"] == "initial", "kept"]).sum()
    shared = [i for k in range(2) for i in shard_image_ids(res / "subsets" / "train2017.json", "shared", k)]
    assert table.loc[table["role"] == "initial", "image_id"].tolist() == shared

    # depth targets: the kept images only, each its normalised target estimate (near bright), not toy depth
    rows = pq.read_table(res / "targets" / "depth" / "shard-000.parquet").to_pandas()
    rows = [
        *rows.itertuples(),
        *pq.read_table(res / "targets" / "depth" / "shard-001.parquet").to_pandas().itertuples(),
    ]
    assert sorted(r.image_id for r in rows) == sorted(kept["image_id"].astype(int))
    dataset = CocoDataset(res / "data" / "toyworld", "train2017")
    estimates = sorted((res / "depth" / "train2017" / "estimates" / "toy_relative").glob("*.npz"))
    with DepthStore(estimates) as store:
        assert store.space == "disparity"
        for r in rows[:4]:
            target = _png(r.target_png)
            expected = normalise_depth(store[r.image_id])
            assert np.array_equal(target[..., 0], expected) and np.array_equal(target[..., 0], target[..., 2])
            depth = dataset.load(r.image_id).depth
            near, far = (
                np.unravel_index(depth.argmin(), depth.shape),
                np.unravel_index(depth.argmax(), depth.shape),
            )
            assert target[near][0] > target[far][0]  # nearer is brighter

    histogram = res / "depth" / "train2017" / "discrepancy.png"
    assert histogram.read_bytes()[:4] == b"\x89PNG"
    for name in ("tiny_depth_anything_v2", "tiny_depthpro"):
        with DepthStore([res / "depth" / "train2017" / "estimates" / name / "shard-000.npz"]) as s:
            assert len(s) == n + int(np.ceil(n * cfg["depth"]["reserve_fraction"]))

    second = _run(tmp_path)
    assert second.returncode == 0 and "Nothing to be done" in second.stdout + second.stderr
