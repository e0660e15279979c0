"""Probe accuracy and t-SNE on synthetic features whose separability is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sgt.analysis.separability import embed_tsne, probe_accuracy, probe_dim


def _blobs(shift: float, n: int = 60, dim: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.array(["square"] * n + ["rectangle"] * n)
    feats = rng.normal(size=(2 * n, dim))
    feats[n:, :5] += shift  # class means differ along 5 directions by ``shift`` standard deviations
    return feats, labels


def _knn_purity(coords: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    d = ((coords[:, None] - coords[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argsort(d, axis=1)[:, :k]
    return float((labels[nearest] == labels[:, None]).mean())


def test_probe_separates_separable_classes_and_not_identical_ones() -> None:
    feats, labels = _blobs(shift=4.0)
    good = probe_accuracy(feats, labels, folds=5, seed=0)
    assert good.accuracy > 0.95 and good.folds == 5 and good.chance == pytest.approx(0.5)
    feats, labels = _blobs(shift=0.0)
    chance = probe_accuracy(feats, labels, folds=5, seed=0)
    assert 0.3 < chance.accuracy < 0.7


def test_probe_on_random_labels_stays_near_chance() -> None:
    """Issue #23: 49 crops in 49 PCA dimensions separated any labelling (accuracy 1.0). With 300 samples a
    class in 2000 dimensions, PCA fitted per training fold and C chosen by an inner fold, a labelling that
    carries no signal scores near chance, while the same features with a real linear signal score high."""
    n, dim = 300, 2000
    rng = np.random.default_rng(7)
    feats = rng.normal(size=(2 * n, dim)) + 3.0 * rng.normal(size=(2 * n, 1)) * rng.normal(size=(1, dim))
    labels = np.array(["square"] * n + ["rectangle"] * n)
    for seed in range(3):
        shuffled = np.random.default_rng(seed).permutation(labels)
        res = probe_accuracy(feats, shuffled, folds=5, pca_dim=50, seed=seed)
        assert res.chance == pytest.approx(0.5) and abs(res.accuracy - res.chance) < 0.07, res
        assert res.pca_dim == 50 and res.n_per_class == (n, n) and len(res.chosen_c) == 5
    signal = feats.copy()
    signal[n:] += 0.15 * rng.normal(size=(1, dim))  # a mean shift spread over all 2000 dimensions
    real = probe_accuracy(signal, labels, folds=5, pca_dim=50, seed=0)
    assert real.accuracy > 0.9 and real.accuracy_std < 0.05


def test_probe_never_has_as_many_dimensions_as_training_samples() -> None:
    assert probe_dim(50, 512, 8192) == 50
    assert probe_dim(50, 39, 8192) == 19  # the demo's old eval split: 49 crops, 39 per training fold
    assert probe_dim(50, 400, 30) == 30
    feats, labels = _blobs(shift=0.0, n=20, dim=400)
    res = probe_accuracy(feats, labels, folds=5, pca_dim=50, seed=0)
    assert res.pca_dim == 16 and 0.2 < res.accuracy < 0.8  # 32 training samples: 16 dimensions


def test_probe_is_seeded_and_handles_tiny_classes() -> None:
    feats, labels = _blobs(shift=0.5)
    assert probe_accuracy(feats, labels, seed=3) == probe_accuracy(feats, labels, seed=3)
    one = probe_accuracy(feats[:61], labels[:61])  # a single sample of the second class
    assert math.isnan(one.accuracy) and one.folds == 0
    few = probe_accuracy(feats[:63], labels[:63], folds=5)
    assert few.folds == 3


def test_tsne_keeps_separable_clusters_apart() -> None:
    feats, labels = _blobs(shift=6.0, n=50, dim=80)  # 100 points: perplexity 30 is kept
    emb = embed_tsne(feats, pca_dim=50, perplexity=30.0, seed=0)
    assert emb.coords.shape == (100, 2) and emb.pca_dim == 50 and emb.perplexity == 30.0
    assert _knn_purity(emb.coords, labels) > 0.95
    feats, labels = _blobs(shift=0.0, n=50, dim=80)
    mixed = embed_tsne(feats, pca_dim=50, perplexity=30.0, seed=0)
    assert _knn_purity(mixed.coords, labels) < 0.75
    again = embed_tsne(feats, pca_dim=50, perplexity=30.0, seed=0)
    assert np.array_equal(mixed.coords, again.coords)


def test_tsne_lowers_perplexity_for_few_points_and_refuses_too_few() -> None:
    feats, _ = _blobs(shift=1.0, n=5, dim=8)
    emb = embed_tsne(feats, pca_dim=50, perplexity=30.0, seed=0)
    assert emb.pca_dim == 8 and emb.perplexity == pytest.approx(3.0)
    with pytest.raises(ValueError, match="at least"):
        embed_tsne(feats[:4])
