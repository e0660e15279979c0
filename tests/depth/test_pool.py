"""The filter's pool starts with the shared subset, the depth task's shards are cut from the kept list, and
the depth config is checked at start."""

from pathlib import Path

import numpy as np
import pytest

from sgt.data.subset import select_from_root, shard_image_ids
from sgt.depth.filter import filter_depth, filter_pool, task_shard_ids
from sgt.depth.measure import plot_filter_table
from sgt.depth.pool import build_pool, pool_shard_ids, read_pool, write_pool
from sgt.depth.settings import check_depth_config, estimator_args
from sgt.depth.store import StoreWriter


@pytest.fixture()
def subset(toy_root: Path, tmp_path: Path) -> Path:
    out = tmp_path / "subset.json"
    select_from_root(toy_root, "train2017", {"shared": 6}, seed=1, shard_size=4, out=out)
    return out


def test_pool_is_the_shared_subset_then_reserve(toy_root, subset, tmp_path):
    shared = shard_image_ids(subset, "shared", 0) + shard_image_ids(subset, "shared", 1)
    pool = build_pool(
        toy_root, "train2017", subset, group="shared", n_reserve=3, n_shards=2, shard_size=5, seed=1
    )
    assert pool.n_needed == 6 and list(pool.image_ids[:6]) == shared
    assert len(pool.image_ids) == 9 and len(set(pool.image_ids)) == 9
    assert [len(s) for s in pool.shards] == [5, 4]
    write_pool(pool, tmp_path / "pool.json")
    assert read_pool(tmp_path / "pool.json") == pool
    assert pool_shard_ids(tmp_path / "pool.json", 1) == list(pool.shards[1])
    with pytest.raises(IndexError, match="shards 0..1"):
        pool_shard_ids(tmp_path / "pool.json", 2)
    # a toy world of 10 images has only 4 reserve images: the pool shrinks, trailing shards are empty
    short = build_pool(
        toy_root, "train2017", subset, group="shared", n_reserve=8, n_shards=3, shard_size=5, seed=1
    )
    assert len(short.image_ids) == 10 and short.shards[2] == ()


def test_pool_refuses_a_subset_from_another_seed(toy_root, subset):
    with pytest.raises(ValueError, match="another root or seed"):
        build_pool(
            toy_root, "train2017", subset, group="shared", n_reserve=1, n_shards=1, shard_size=9, seed=2
        )


def _maps(path: Path, space: str, ids: list[int], bad: set[int]) -> Path:
    with StoreWriter(path, space=space, estimator=path.stem) as w:
        for i in ids:
            d = np.linspace(20.0, 2.0, 12)[:, None].repeat(8, axis=1) + i % 3
            w.add(i, (d[::-1] if i in bad else d) if space == "depth" else 1.0 / d)
    return path


def test_depth_task_shards_are_the_kept_images_in_pool_order(toy_root, subset, tmp_path):
    pool = build_pool(
        toy_root, "train2017", subset, group="shared", n_reserve=4, n_shards=1, shard_size=10, seed=1
    )
    write_pool(pool, tmp_path / "pool.json")
    ids = list(pool.image_ids)
    bad = {ids[1], ids[4]}
    a = _maps(tmp_path / "a.npz", "disparity", ids, set())
    b = _maps(tmp_path / "b.npz", "depth", ids, bad)
    summary = filter_pool(tmp_path / "pool.json", [a], [b], 0.4, 0, tmp_path / "f.parquet")
    assert summary.n_kept == 6 and summary.n_replacements == 2
    shards = [task_shard_ids(subset, "shared", k, tmp_path / "f.parquet") for k in (0, 1)]
    assert [len(s) for s in shards] == [4, 2]  # the subset's shard size
    kept = shards[0] + shards[1]
    assert not set(kept) & bad and kept == sorted(kept, key=ids.index)
    assert set(ids[:6]) - bad <= set(kept)
    assert task_shard_ids(subset, "shared", 1) == shard_image_ids(subset, "shared", 1)
    png = plot_filter_table(tmp_path / "f.parquet", 0.4, tmp_path / "h.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    # the same table with the plain filter: the pool file only supplies ids and the count
    filter_depth([a], [b], ids, 6, 0.4, 0, tmp_path / "g.parquet")
    assert (tmp_path / "g.parquet").read_bytes() == (tmp_path / "f.parquet").read_bytes()


def test_depth_config_checks_name_the_key():
    est = {
        "a": {"kind": "ground_truth_noise", "noise": 0.1},
        "b": {"kind": "depthpro", "model": "apple/DepthPro-hf"},
        "t": {"kind": "depth_anything_v2", "tiny": True},
    }
    ok = {"target": "a", "reference": "b", "also_estimate": ["t"], "estimators": est}
    check_depth_config(ok)
    assert estimator_args("t", est["t"]) == ("depth_anything_v2", {"model": "results/depth/models/t"})
    for bad, named in [
        ({**ok, "reference": "c"}, "depth.reference: 'c'"),
        ({**ok, "reference": "a"}, "same estimator"),
        ({**ok, "also_estimate": ["z"]}, "depth.also_estimate: 'z'"),
        ({**ok, "estimators": {**est, "x": {"kind": "midas"}}}, "depth.estimators.x.kind"),
        ({**ok, "estimators": {**est, "x": {"kind": "ground_truth_noise", "tiny": True}}}, "x.tiny"),
        ({**ok, "estimators": {**est, "x": {"kind": "depthpro", "modle": "y"}}}, "depth.estimators.x"),
    ]:
        with pytest.raises(ValueError, match=named):
            check_depth_config(bad)


def _study_config(corrupt_fraction: float) -> dict:
    """config.yaml with study.yaml over it, validated as the workflow does, the reference's corruption set."""
    import yaml
    from snakemake.utils import update_config

    from sgt.config import validate_config

    repo = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    update_config(cfg, yaml.safe_load((repo / "config" / "study.yaml").read_text()))
    cfg["depth"]["estimators"]["toy_metric"]["corrupt_fraction"] = corrupt_fraction
    validate_config(cfg, repo / "workflow" / "schemas" / "config.schema.yaml")
    return cfg


def test_a_pool_the_corruption_leaves_too_small_stops_planning_naming_the_keys():
    from sgt.config import ConfigError, check_config, resolve_repo_paths

    repo = Path(__file__).resolve().parents[2]
    cfg = _study_config(0.25)  # the study's first setting: it stopped 33 minutes into a run
    resolve_repo_paths(cfg, repo)
    with pytest.raises(ConfigError) as err:
        check_config(cfg)
    message = str(err.value)
    for named in ("corrupt_fraction=0.25", "targets.n_per_task=400", "480 pool images", "n_train=480"):
        assert named in message, (named, message)
    shipped = _study_config(0.1)  # what study.yaml and config.yaml ship
    resolve_repo_paths(shipped, repo)
    check_config(shipped)


def test_the_capacity_count_follows_the_estimators_own_draw():
    from sgt.depth.corrupt import corruption_for
    from sgt.depth.settings import pool_capacity_problem

    cfg = _study_config(0.25)
    corrupted = sum(corruption_for(0, i + 1, 0.25) is not None for i in range(480))
    assert f"corrupts {corrupted} of" in pool_capacity_problem(cfg)
    cfg["targets"]["n_per_task"] = 480 - corrupted  # exactly what can pass: no problem
    cfg["targets"]["shard_size"] = 120
    assert pool_capacity_problem(cfg) is None
