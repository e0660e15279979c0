"""Linear separability of two classes' features: PCA to 50 then t-SNE (Fig. 7's picture) and a linear
probe (the number behind it). t-SNE distances are not comparable across runs; probe accuracy is.

The probe must be able to fail and to tell models apart. On the demo's 49 eval-split crops (33 squares, 16
rectangles) every model scored 1.0 +- 0.0: held-out, but a test fold of 10 crops moves in steps of 0.1, and
the picture's PCA kept 49 dimensions for 49 points, where an in-sample fit separates any labelling. So the
probe sees several hundred crops a class (sgt.analysis.features.heldout_crops), fits on PCA-reduced features
with at most half as many dimensions as training samples, fits scaling and PCA inside each outer training
fold only, and picks the L2 strength C by an inner stratified cross-validation on that fold alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_POINTS = 5  # below this a 2-D embedding says nothing
# the inner fold's grid of C: the shipped base picks 1e-3 (320 crops a class, 50 dims), random labels 1e-4;
# above 1 the L2 term no longer matters with 50 dimensions and 500 samples
CS: tuple[float, ...] = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
INNER_FOLDS = 3


@dataclass(frozen=True, slots=True)
class Embedding:
    coords: npt.NDArray[np.float64]  # N x 2
    pca_dim: int
    perplexity: float


@dataclass(frozen=True, slots=True)
class ProbeResult:
    accuracy: float  # mean held-out accuracy over outer folds; NaN when a class has fewer than 2 samples
    accuracy_std: float  # std over outer folds
    folds: int
    chance: float  # share of the larger class: what always guessing it scores
    n_per_class: tuple[int, ...] = ()  # in the order of the sorted class labels
    pca_dim: int = 0  # PCA dimensions the probe fitted on (the smallest over folds)
    chosen_c: tuple[float, ...] = ()  # the C the inner fold picked, one per outer fold

    @property
    def median_c(self) -> float:
        return float(np.median(self.chosen_c)) if self.chosen_c else math.nan


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
    pca = PCA(n_components=dim, svd_solver="randomized", random_state=seed)
    reduced = pca.fit_transform(np.asarray(features, dtype=np.float32)).astype(np.float64)
    used = min(float(perplexity), (n - 1) / 3.0)
    coords = TSNE(
        n_components=2, perplexity=used, init="pca", learning_rate="auto", random_state=seed
    ).fit_transform(reduced)
    return Embedding(coords.astype(np.float64), dim, used)


def probe_dim(pca_dim: int, n_train: int, n_features: int) -> int:
    """PCA dimensions for a fold of ``n_train`` samples: at most ``pca_dim`` and at most half of n_train,
    so the probe always has more samples than dimensions."""
    return max(1, min(pca_dim, n_features, n_train // 2))


def _logistic(c: float) -> Any:
    """L2 logistic regression; Newton-Cholesky suits 50 dimensions and took a fifth of lbfgs's time."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, solver="newton-cholesky", max_iter=1000)


def probe_accuracy(
    features: npt.NDArray[np.floating],
    labels: npt.ArrayLike,
    *,
    folds: int = 5,
    pca_dim: int = 50,
    cs: Sequence[float] = CS,
    inner_folds: int = INNER_FOLDS,
    seed: int = 0,
) -> ProbeResult:
    """Held-out accuracy of an L2 logistic regression on PCA-reduced, standardised features.

    Outer: stratified ``folds``-fold cross-validation (fewer when the smaller class has fewer samples).
    Inside each outer training fold: scaling and PCA are fitted, and C is picked from ``cs`` by a stratified
    ``inner_folds``-fold cross-validation on that fold (GridSearchCV); the test fold is never seen.
    """
    from sklearn.decomposition import KernelPCA
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, dtype=np.float32)  # ViT tokens are float32; float64 PCA took 4x as long
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    chance = float(counts.max() / counts.sum()) if counts.size else math.nan
    n_per_class = tuple(int(c) for c in counts)
    k = min(folds, int(counts.min())) if classes.size == 2 else 0
    if k < 2:
        return ProbeResult(math.nan, math.nan, 0, chance, n_per_class)
    scores, chosen, dims = [], [], []
    for train, test in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(x, y):
        scaler = StandardScaler().fit(x[train])
        dim = probe_dim(pca_dim, len(train), x.shape[1])
        # PCA through the n x n Gram matrix (a linear-kernel KernelPCA is exact PCA): with fewer samples than
        # features (640 x 8192 ViT tokens) it took 2 s where sklearn's full-SVD PCA took 19 s
        pca = KernelPCA(n_components=dim, kernel="linear", eigen_solver="dense")
        pca.fit(scaler.transform(x[train]))
        z_train = pca.transform(scaler.transform(x[train]))
        inner = min(inner_folds, int(np.unique(y[train], return_counts=True)[1].min()))
        c = 1.0  # one sample of a class in this fold: no inner split possible, C stays 1
        if inner >= 2:
            cv = StratifiedKFold(n_splits=inner, shuffle=True, random_state=seed)
            grid = GridSearchCV(_logistic(1.0), {"C": list(cs)}, cv=cv, scoring="accuracy")
            c = float(grid.fit(z_train, y[train]).best_params_["C"])
        clf = _logistic(c).fit(z_train, y[train])
        pred = clf.predict(pca.transform(scaler.transform(x[test])))
        scores.append(float((pred == y[test]).mean()))
        chosen.append(c)
        dims.append(dim)
    return ProbeResult(
        float(np.mean(scores)), float(np.std(scores)), k, chance, n_per_class, min(dims), tuple(chosen)
    )
