import numpy as np
import pytest

from sgt.depth.measure import CORRUPTIONS, measure_filter, plot_discrepancy_histogram


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_corruptions_change_the_map(kind):
    values = np.linspace(1, 20, 12 * 16, dtype=np.float32).reshape(12, 16)
    out = CORRUPTIONS[kind](values, np.random.default_rng(0))
    assert out.shape == values.shape and not np.array_equal(out, values)


def test_filter_catches_corrupted_estimates(toy_root, tmp_path):
    r = measure_filter(
        tmp_path,
        n_images=10,
        corrupt_fraction=0.3,
        noise=0.05,
        n_needed=5,
        seed=0,
        toy_root=toy_root,
        plot=tmp_path / "hist.png",
    )
    assert r["n_corrupted"] == 3
    assert r["recall"] == 1.0 and r["precision"] == 1.0
    assert r["discrepancy_clean_max"] < 0.4
    assert r["filter"]["n_kept"] == 5 and r["filter"]["corrupted_kept"] == 0
    assert (tmp_path / "hist.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_histogram_handles_only_infinite_values(tmp_path):
    out = plot_discrepancy_histogram([np.inf, np.inf], 0.4, tmp_path / "h.png")
    assert out.stat().st_size > 0
