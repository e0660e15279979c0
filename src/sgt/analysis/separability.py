"""Linear separability of two classes' features: PCA to 50 then t-SNE (Fig. 7's picture) and a linear
probe (the number behind it). t-SNE distances are not comparable across runs; probe accuracy is."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MIN_POINTS = 5  # below this a 2-D embedding says nothing


@dataclass(frozen=True, slots=True)
class Embedding:
    coords: npt.NDArray[np.float64]  # N x 2
    pca_dim: int
    perplexity: float


@dataclass(frozen=True, slots=True)
class ProbeResult:
    accuracy: float  # mean held-out accuracy over folds; NaN when a class has fewer than 2 samples
    accuracy_std: float
    folds: int
    chance: float  # share of the larger class: what always guessing it scores


def embed_tsne(
    features: npt.NDArray[np.floating], *, pca_dim: int = 50, perplexity: float = 30.0, seed: int = 0
) -> Embedding:
    """PCA to ``pca_dim`` (fewer if there are fewer samples), then 2-D t-SNE.

    t-SNE looks at the 3 * perplexity nearest neighbours, so with few points the perplexity is lowered to
    (n - 1) / 3; the value used is returned, so small runs still work and say what they did.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    n = features.shape[0]
    if n < MIN_POINTS:
        raise ValueError(f"t-SNE needs at least {MIN_POINTS} samples, got {n}")
    dim = min(pca_dim, n, features.shape[1])
    reduced = PCA(n_components=dim, svd_solver="full").fit_transform(features.astype(np.float64))
    used = min(float(perplexity), (n - 1) / 3.0)
    coords = TSNE(
        n_components=2, perplexity=used, init="pca", learning_rate="auto", random_state=seed
    ).fit_transform(reduced)
    return Embedding(coords.astype(np.float64), dim, used)


def probe_accuracy(
    features: npt.NDArray[np.floating], labels: npt.ArrayLike, *, folds: int = 5, seed: int = 0
) -> ProbeResult:
    """Held-out accuracy of an L2 logistic regression on standardised features, stratified k-fold.

    Scaling is fitted on each training fold only. Folds drop to the smaller class's count when it has
    fewer than ``folds`` samples.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    chance = float(counts.max() / counts.sum()) if counts.size else math.nan
    k = min(folds, int(counts.min())) if classes.size == 2 else 0
    if k < 2:
        return ProbeResult(math.nan, math.nan, 0, chance)
    scores = []
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(features, y):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
        clf.fit(features[train], y[train])
        scores.append(float((clf.predict(features[test]) == y[test]).mean()))
    return ProbeResult(float(np.mean(scores)), float(np.std(scores)), k, chance)
