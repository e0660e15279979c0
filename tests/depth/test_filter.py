from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from sgt.depth.filter import PoolExhaustedError, filter_depth, kept_ids
from sgt.depth.store import DepthStore, StoreWriter


def _depth(image_id: int) -> np.ndarray:
    rng = np.random.default_rng(image_id)
    depth = np.linspace(20.0, 2.0, 24)[:, None].repeat(32, axis=1)
    depth[4:12, 5:15] = rng.uniform(3, 8)
    return depth


def _stores(
    tmp_path: Path, ids: list[int], bad: set[int], missing: set[int] = frozenset()
) -> tuple[Path, Path]:
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    with (
        StoreWriter(a, space="disparity", estimator="a") as wa,
        StoreWriter(b, space="depth", estimator="b") as wb,
    ):
        for i in ids:
            d = _depth(i)
            wa.add(i, 0.5 / d + 0.1)
            if i not in missing:
                wb.add(i, d[::-1] if i in bad else d * 1.01)
    return a, b


def test_replacements_keep_the_count_and_skip_discards(tmp_path):
    pool = list(range(100, 140))
    bad = {101, 104, 107, 120, 121, 125, 130, 133}
    a, b = _stores(tmp_path, pool, bad, missing={102})
    out = tmp_path / "filter.parquet"
    summary = filter_depth([a], [b], pool, 10, 0.4, seed=5, out=out)
    table = pq.read_table(out).to_pandas()
    kept = table.loc[table["kept"], "image_id"].tolist()
    assert summary.n_kept == len(kept) == 10
    assert not set(kept) & (bad | {102})
    assert table["image_id"].is_unique  # never drawn twice
    discarded = set(table.loc[~table["kept"], "image_id"])
    assert discarded == (bad | {102}) & set(table["image_id"])
    assert table.loc[table["image_id"] == 102, "reason"].item() == "missing_estimate"
    initial = table.loc[table["role"] == "initial", "image_id"].tolist()
    assert initial == pool[:10]
    assert set(table.loc[table["role"] == "replacement", "image_id"]) <= set(pool[10:])
    assert summary.overlap == pytest.approx(len(set(kept) & set(pool[:10])) / 10)
    assert kept_ids(out) == sorted(kept, key=pool.index)


def test_same_seed_same_table_other_seed_other_draws(tmp_path):
    pool = list(range(1, 61))
    bad = set(range(1, 21))
    a, b = _stores(tmp_path, pool, bad)
    filter_depth([a], [b], pool, 20, 0.4, seed=1, out=tmp_path / "x.parquet")
    filter_depth([a], [b], pool, 20, 0.4, seed=1, out=tmp_path / "y.parquet")
    filter_depth([a], [b], pool, 20, 0.4, seed=2, out=tmp_path / "z.parquet")
    assert (tmp_path / "x.parquet").read_bytes() == (tmp_path / "y.parquet").read_bytes()
    assert kept_ids(tmp_path / "x.parquet") != kept_ids(tmp_path / "z.parquet")


def test_pool_running_dry_fails_clearly(tmp_path):
    pool = list(range(1, 11))
    a, b = _stores(tmp_path, pool, bad={1, 2, 3, 4})
    with pytest.raises(PoolExhaustedError, match="kept 6 of 8"):
        filter_depth([a], [b], pool, 8, 0.4, seed=0, out=tmp_path / "f.parquet")
    assert not (tmp_path / "f.parquet").exists()


def test_bad_pool_arguments(tmp_path):
    a, b = _stores(tmp_path, [1, 2, 3], bad=set())
    with pytest.raises(ValueError, match="duplicates"):
        filter_depth([a], [b], [1, 2, 2], 1, 0.4, 0, tmp_path / "f.parquet")
    with pytest.raises(ValueError, match="n_needed"):
        filter_depth([a], [b], [1, 2, 3], 4, 0.4, 0, tmp_path / "f.parquet")


def test_store_round_trip_and_errors(tmp_path):
    p = tmp_path / "s.npz"
    with StoreWriter(p, space="depth", estimator="x") as w:
        w.add(7, np.full((3, 4), 2.5, np.float32))
        with pytest.raises(ValueError, match="written twice"):
            w.add(7, np.ones((3, 4)))
    with DepthStore([p]) as store:
        assert store.space == "depth" and list(store) == [7] and 7 in store
        assert store[7].dtype == np.float32 and store[7].shape == (3, 4)
        with pytest.raises(KeyError, match="no estimate"):
            store[8]
    with pytest.raises(ValueError, match="in both"):
        DepthStore([p, p])
    with pytest.raises(FileNotFoundError, match="depth_estimate"):
        DepthStore([tmp_path / "nope.npz"])


def test_failed_writer_leaves_no_file(tmp_path):
    p = tmp_path / "s.npz"
    with pytest.raises(RuntimeError), StoreWriter(p, space="depth", estimator="x") as w:
        w.add(1, np.ones((2, 2)))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
