"""How well the filter catches bad estimates: a toy-world experiment with known corruptions, and a histogram.

Estimator A is the toy world's exact depth (as disparity under a random affine map, like a relative model),
B is exact depth with seeded log-normal noise (like a metric model). A known fraction of B's maps is corrupted
(upside-down flip, shuffled blocks, near/far inversion); the filter's discards are scored against that truth.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sgt.depth.corrupt import CORRUPTIONS
from sgt.depth.estimate import estimate_shard
from sgt.depth.filter import PoolExhaustedError, filter_depth, judge, read_filter_table
from sgt.depth.store import DepthStore, StoreWriter
from sgt.seeding import rng_for

logger = logging.getLogger(__name__)


def corrupt_store(src: str | Path, out: str | Path, fraction: float, seed: int) -> dict[int, str]:
    """Copy store ``src`` to ``out`` with ``fraction`` of maps corrupted in turn; return id -> kind."""
    with DepthStore([src]) as store:
        ids = list(store)
        rng = rng_for(seed, "corrupt")
        chosen = sorted(rng.choice(ids, size=round(fraction * len(ids)), replace=False).tolist())
        kinds = list(CORRUPTIONS)
        truth = {int(i): kinds[k % len(kinds)] for k, i in enumerate(chosen)}
        with StoreWriter(out, space=store.space, estimator=f"{store.estimator}+corrupted") as writer:
            for image_id in ids:
                values = store[image_id]
                if image_id in truth:
                    values = CORRUPTIONS[truth[image_id]](values, rng_for(seed, "corrupt", image_id))
                writer.add(image_id, values)
    return truth


def _scores(discarded: set[int], corrupted: set[int]) -> dict[str, float]:
    hit = len(discarded & corrupted)
    precision = hit / len(discarded) if discarded else 1.0
    recall = hit / len(corrupted) if corrupted else 1.0
    return {
        "precision": precision,
        "recall": recall,
        "true_discards": hit,
        "false_discards": len(discarded - corrupted),
    }


def measure_filter(
    workdir: str | Path,
    *,
    n_images: int = 200,
    corrupt_fraction: float = 0.2,
    noise: float = 0.05,
    threshold: float = 0.4,
    n_needed: int | None = None,
    seed: int = 0,
    plot: str | Path | None = None,
    toy_root: str | Path | None = None,
) -> dict[str, Any]:
    """Run the toy-world experiment in ``workdir``; return discard precision/recall and filter stats."""
    from sgt.data.coco import CocoDataset
    from sgt.data.toyworld import ToyWorldSpec, write_toyworld

    work = Path(workdir)
    if toy_root is None:  # else reuse a toy world (its first n_images train images)
        toy_root = write_toyworld(ToyWorldSpec(n_train=n_images, n_val=0, seed=seed), work / "toyworld")
    root = Path(toy_root)
    ids = CocoDataset(root, "train2017").image_ids()[:n_images]
    if len(ids) < n_images:
        raise ValueError(f"{root}: has {len(ids)} train images, fewer than n_images={n_images}")
    a, b_clean, b = work / "a.npz", work / "b_clean.npz", work / "b.npz"
    estimate_shard(
        "ground_truth_noise",
        {"noise": 0.0, "output_space": "disparity"},
        root,
        "train2017",
        ids,
        a,
        seed=seed,
    )
    estimate_shard(
        "ground_truth_noise",
        {"noise": noise, "output_space": "depth"},
        root,
        "train2017",
        ids,
        b_clean,
        seed=seed,
    )
    truth = corrupt_store(b_clean, b, corrupt_fraction, seed)

    with DepthStore([a]) as sa, DepthStore([b]) as sb:
        judged = {i: judge(sa, sb, i, threshold) for i in ids}
    discarded = {i for i, (kept, _) in judged.items() if not kept}
    result: dict[str, Any] = {
        "n_images": n_images,
        "n_corrupted": len(truth),
        "noise": noise,
        "threshold": threshold,
        **_scores(discarded, set(truth)),
        "recall_by_corruption": {
            kind: float(np.mean([i in discarded for i, k in truth.items() if k == kind]))
            for kind in sorted(set(truth.values()))
        },
        "discrepancy_clean_p50": float(np.median([judged[i][1].discrepancy for i in ids if i not in truth])),
        "discrepancy_clean_max": float(max(judged[i][1].discrepancy for i in ids if i not in truth)),
    }
    if plot is not None:
        values = np.array([judged[i][1].discrepancy for i in ids])
        plot_discrepancy_histogram(values, threshold, plot, corrupted=np.array([i in truth for i in ids]))
    need = n_needed if n_needed is not None else n_images // 2
    try:
        summary = filter_depth([a], [b], ids, need, threshold, seed, work / "filter.parquet")
    except PoolExhaustedError as err:  # a result here, not a crash: the threshold rejects too much
        result["filter"] = {"n_needed": need, "error": str(err)}
        logger.info("depth filter on the toy world: %s", result)
        return result
    table = read_filter_table(work / "filter.parquet").to_pandas()
    kept = set(table.loc[table["kept"], "image_id"].astype(int))
    result["filter"] = {
        "n_needed": need,
        "n_kept": summary.n_kept,
        "n_evaluated": summary.n_evaluated,
        "n_replacements": summary.n_replacements,
        "overlap": summary.overlap,
        "corrupted_kept": len(kept & set(truth)),
        **_scores(
            {int(i) for i in table.loc[~table["kept"], "image_id"]}, set(truth) & set(table["image_id"])
        ),
    }
    logger.info("depth filter on the toy world: %s", result)
    return result


def plot_discrepancy_histogram(
    discrepancies: npt.ArrayLike,
    threshold: float,
    out: str | Path,
    *,
    corrupted: npt.ArrayLike | None = None,
    title: str = "Depth consistency (AbsRel after alignment)",
    group_names: tuple[str, str] = ("clean", "corrupted"),
) -> Path:
    """Histogram of per-image discrepancies and the threshold; non-comparable (inf) ones in the last bin.

    ``corrupted`` marks the images stacked as ``group_names[1]``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sgt.io import atomic_path

    d = np.asarray(discrepancies, np.float64)
    finite = np.isfinite(d)
    top = max(2.0 * threshold, float(np.quantile(d[finite], 0.99)) if finite.any() else 1.0)
    bins = np.linspace(0.0, top * 1.05, 41)
    shown = np.where(finite, np.minimum(d, bins[-1] - 1e-9), bins[-1] - 1e-9)  # inf and overflow -> last bin
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    groups = [("all images", np.ones_like(finite))]
    if corrupted is not None:
        bad = np.asarray(corrupted, bool)
        groups = [(group_names[0], ~bad), (group_names[1], bad)]
    ax.hist([shown[m] for _, m in groups], bins=bins, stacked=True, label=[g for g, _ in groups])
    ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold}")
    ax.set_xlabel(f"discrepancy (last bin: > {bins[-2]:.2f} or not comparable, n={int((~finite).sum())} inf)")
    ax.set_ylabel("images")
    ax.set_title(title, fontsize=10)  # the default size overflows the 6.4-inch figure for long titles
    ax.legend(loc="upper right")
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return out


def plot_filter_table(table: str | Path, threshold: float, out: str | Path) -> Path:
    """The report's histogram: every image the filter judged (initial and replacement), kept vs discarded."""
    t = read_filter_table(table).to_pandas()
    kept = t["kept"].to_numpy(bool)
    return plot_discrepancy_histogram(
        t["discrepancy"].to_numpy(np.float64),
        threshold,
        out,
        corrupted=~kept,
        group_names=("kept", "discarded"),
        title=(
            f"Depth consistency: {len(t)} images judged, {int((~kept).sum())} discarded, "
            f"{int((kept & (t['role'] == 'replacement').to_numpy()).sum())} replacements"
        ),
    )
