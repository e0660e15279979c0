import json
from pathlib import Path

import numpy as np
import pytest

from sgt.data.records import Sample
from sgt.depth import ESTIMATORS, DepthStore, build_tiny_random, estimate_shard, make_estimator
from sgt.depth.hf import dpt_resize_shape


def _sample(image_id: int, h: int, w: int) -> Sample:
    rng = np.random.default_rng(image_id)
    image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    return Sample(image_id=image_id, file_name=f"{image_id}.jpg", source="test", image=image)


@pytest.fixture(scope="module", params=["depth_anything_v2", "depthpro"])
def tiny(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = build_tiny_random(request.param, tmp_path_factory.mktemp("tiny") / request.param, seed=0)
    return request.param, out


def test_registry_names():
    assert {"depth_anything_v2", "depthpro", "ground_truth_noise"} <= set(ESTIMATORS)


def test_tiny_model_is_saved_like_a_checkpoint(tiny):
    _, path = tiny
    names = {p.name for p in path.iterdir()}
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= names
    assert not any(n.endswith(".bin") for n in names)
    assert "size" in json.loads((path / "preprocessor_config.json").read_text())


def test_wrapper_loads_local_dir_and_returns_input_size(tiny):
    kind, path = tiny
    est = make_estimator(kind, {"model": str(path), "batch_size": 2, "device": "auto"})
    samples = [
        _sample(1, 37, 51),
        _sample(2, 37, 51),
        _sample(3, 60, 30),
    ]  # two shape groups, one split batch
    maps = est.estimate(samples)
    assert [m.shape for m in maps] == [(37, 51), (37, 51), (60, 30)]
    assert all(m.dtype == np.float32 for m in maps)
    assert est.space == ("disparity" if kind == "depth_anything_v2" else "depth")
    if kind == "depthpro":  # metric depth from the inverse-depth head: positive everywhere
        assert all(np.isfinite(m).all() and (m > 0).all() for m in maps)
    again = est.estimate(samples[:1])[0]
    np.testing.assert_allclose(again, maps[0], rtol=1e-5, atol=1e-6)  # batching does not change a map


def test_missing_model_dir_names_the_fix(tmp_path):
    est = make_estimator("depth_anything_v2", {"model": str(tmp_path / "nowhere")})
    with pytest.raises((FileNotFoundError, OSError), match="nowhere"):
        est.estimate([_sample(1, 8, 8)])


def test_config_errors_name_the_key():
    with pytest.raises(KeyError, match="unknown depth estimator 'midas'"):
        make_estimator("midas", {})
    with pytest.raises(ValueError, match="depth.estimators.depthpro: unknown key"):
        make_estimator("depthpro", {"model": "x", "size": 3})
    with pytest.raises(ValueError, match="output_space"):
        make_estimator("ground_truth_noise", {"output_space": "inverse"})


def test_dpt_resize_matches_the_reference_processor():
    # DPTImageProcessor on a 480x640 image with Depth-Anything-V2's config gives 518x686 pixel values.
    assert dpt_resize_shape(480, 640, (518, 518), True, 14) == (518, 686)
    assert dpt_resize_shape(640, 480, (518, 518), True, 14) == (686, 518)
    assert dpt_resize_shape(37, 51, (518, 518), False, 14) == (518, 518)


def test_ground_truth_estimates_on_the_toy_world(toy_root, tmp_path):
    ids = [1, 2, 3]
    out = tmp_path / "b.npz"
    stats = estimate_shard("ground_truth_noise", {"noise": 0.1}, toy_root, "train2017", ids, out, seed=4)
    assert stats.written == 3 and stats.space == "depth"
    again = tmp_path / "b2.npz"
    estimate_shard("ground_truth_noise", {"noise": 0.1}, toy_root, "train2017", ids, again, seed=4)
    with DepthStore([out]) as s, DepthStore([again]) as s2:
        assert sorted(s) == ids and s.space == "depth" and s.estimator == "ground_truth_noise"
        assert s[1].shape == (120, 160)
        np.testing.assert_array_equal(s[2], s2[2])  # seeded


def test_ground_truth_needs_exact_depth():
    est = make_estimator("ground_truth_noise", {})
    with pytest.raises(ValueError, match="toy world only"):
        est.estimate([_sample(1, 4, 4)])


def test_ground_truth_corrupts_a_seeded_share_and_the_filter_sees_it(toy_root):
    from sgt.data.coco import CocoDataset
    from sgt.depth.align import compare_maps
    from sgt.depth.corrupt import corruption_for

    samples = [CocoDataset(toy_root, "train2017").load(i) for i in range(1, 11)]
    clean = make_estimator("ground_truth_noise", {"noise": 0.0}, seed=2).estimate(samples)
    bad = make_estimator("ground_truth_noise", {"noise": 0.0, "corrupt_fraction": 0.5}, seed=2)
    maps = bad.estimate(samples)
    hit = [corruption_for(2, s.image_id, 0.5) for s in samples]
    assert 0 < sum(h is not None for h in hit) < len(samples)
    for s, c, m, kind in zip(samples, clean, maps, hit, strict=True):
        if kind is None:
            np.testing.assert_array_equal(c, m)
        else:
            assert not np.array_equal(c, m), (s.image_id, kind)
            assert compare_maps(s.depth, m, a_space="depth", b_space="depth").discrepancy > 0.1, kind
    with pytest.raises(ValueError, match="corrupt_fraction"):
        make_estimator("ground_truth_noise", {"corrupt_fraction": 1.5})
