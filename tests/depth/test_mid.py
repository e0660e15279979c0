import numpy as np
import pytest

from sgt.data.coco import CocoDataset
from sgt.data.records import Sample
from sgt.depth import DepthStore, StoreWriter, attach_depth
from sgt.targets import mid
from sgt.targets.registry import TASKS, resolve_task, task_params


def _sample(depth: np.ndarray | None, space: str = "disparity") -> Sample:
    image = np.zeros((4, 5, 3), np.uint8)
    return Sample(image_id=9, file_name="9.jpg", source="t", image=image, depth=depth, depth_space=space)


def test_depth_task_is_registered_mid_level():
    task = TASKS["depth"]
    assert task.level == "mid" and task.needs == ("depth",) and task.make is mid.depth
    assert task_params(task, {}) == {}


def test_target_is_min_max_normalised_and_replicated():
    disparity = np.arange(20, dtype=np.float32).reshape(4, 5)
    disparity[0, 0] = np.nan
    condition, target = resolve_task("depth")(_sample(disparity), np.random.default_rng(0))
    assert condition.shape == target.shape == (4, 5, 3) and target.dtype == np.uint8
    assert (target[..., 0] == target[..., 1]).all() and (target[..., 1] == target[..., 2]).all()
    assert target[0, 0, 0] == 0 and target[0, 1, 0] == 0 and target[-1, -1, 0] == 255
    assert np.all(np.diff(target[1:, :, 0].ravel().astype(int)) >= 0)  # order kept: nearer is brighter


def test_metric_depth_is_inverted_so_near_is_bright():
    """The toy world's depth (larger is farther) gives the same target as its disparity 1 / depth."""
    depth = np.linspace(1.0, 20.0, 20, dtype=np.float32).reshape(4, 5)
    _, from_depth = mid.depth(_sample(depth, "depth"), np.random.default_rng(0))
    _, from_disparity = mid.depth(_sample(1.0 / depth, "disparity"), np.random.default_rng(0))
    np.testing.assert_array_equal(from_depth, from_disparity)
    assert from_depth[0, 0, 0] == 255 and from_depth[-1, -1, 0] == 0  # nearest brightest


def test_constant_map_gives_black_target():
    _, target = mid.depth(_sample(np.full((4, 5), 3.0)), np.random.default_rng(0))
    assert not target.any()


def test_missing_or_mismatched_depth_is_an_error():
    with pytest.raises(ValueError, match="attach_depth"):
        mid.depth(_sample(None), np.random.default_rng(0))
    with pytest.raises(ValueError, match="another data set"):
        mid.depth(_sample(np.ones((3, 3))), np.random.default_rng(0))


def test_attach_depth_replaces_the_data_set_depth(toy_root, tmp_path):
    sample = CocoDataset(toy_root, "train2017").load(1)
    est = np.random.default_rng(0).random((sample.height, sample.width)).astype(np.float32)
    with StoreWriter(tmp_path / "a.npz", space="disparity", estimator="x") as w:
        w.add(1, est)
    with DepthStore([tmp_path / "a.npz"]) as store:
        filled = attach_depth(sample, store)
    np.testing.assert_allclose(filled.depth, est, rtol=1e-3)
    assert sample.depth_space == "depth" and filled.depth_space == "disparity"
    _, target = mid.depth(filled, np.random.default_rng(0))
    assert target.shape == (*sample.image.shape[:2], 3)
