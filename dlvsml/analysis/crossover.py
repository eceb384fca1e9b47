"""Crossover: the train size from which the best neural model beats the best classical one.

The gap is neural minus classical family score (each family's model chosen on validation, see
`curves.family_best`), per seed and size. The crossover is where the mean gap turns for good from
≤ 0 to > 0: the last size where neural is not ahead, provided it is ahead at every larger size;
the size is interpolated linearly in log(train size) between those two sizes, because curves are
sampled on a roughly geometric grid.

Uncertainty comes from the seeds (at least ``curves.MIN_SEEDS`` of them): resample seeds with
replacement (the same seeds for both families, since a seed fixes the subsample both saw),
recompute the crossover, and report the 2.5-97.5 percentiles and the share of resamples in which
there is no crossing in range.

When there is no crossing in range, the gap's trend (least-squares slope of the gap on log10 size)
says whether neural is catching up, and if the fitted family curves (`curves.fit_curve`, both
trustworthy) cross beyond the largest size, where: that estimate is marked ``extrapolated``.

Example::

    table = crossovers(tidy(results))
    crossover_summary(table)  # per modality: median and IQR of crossover sizes
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from dlvsml.analysis.curves import MIN_SEEDS, family_best, fit_curve

CROSSED = "crossed"
NEURAL_AHEAD = "neural ahead at every observed size"
NOT_IN_RANGE = "not within the observed range"
MISSING_FAMILY = "needs both families"
MAX_SCORE = 1.0  # no score used here (accuracy-type, ROC AUC, R², -log loss) can exceed it


def crossing_size(train_sizes: np.ndarray, gap: np.ndarray) -> tuple[str, float | None]:
    """(status, size) of the first sustained change of the gap from ≤ 0 to > 0."""
    sizes, gap = np.asarray(train_sizes, float), np.asarray(gap, float)
    if np.all(gap > 0):
        return NEURAL_AHEAD, None
    if gap[-1] <= 0:
        return NOT_IN_RANGE, None
    last = int(np.flatnonzero(gap <= 0)[-1])
    low, high = np.log(sizes[last]), np.log(sizes[last + 1])
    share = -gap[last] / (gap[last + 1] - gap[last])
    return CROSSED, float(np.exp(low + share * (high - low)))


def gap_matrix(frame: pd.DataFrame, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Train sizes and the seeds × sizes matrix of neural - classical scores for one dataset.

    Only seeds and sizes where both families have a chosen model count.
    """
    best = family_best(frame[frame["dataset"] == dataset])
    table = best.pivot_table(index=["seed", "train_size"], columns="family", values="score")
    if not {"classical", "neural"} <= set(table.columns):
        return np.array([]), np.empty((0, 0))
    gap = (table["neural"] - table["classical"]).unstack("train_size")
    gap = gap.dropna(axis=1, how="all").dropna(axis=0, how="all")
    return gap.columns.to_numpy(float), gap.to_numpy(float)


def trend(train_sizes: np.ndarray, mean_gap: np.ndarray) -> tuple[str, float]:
    """Whether |gap| shrinks or grows with size, and the gap's slope per tenfold size."""
    if len(train_sizes) < 2:
        return "unknown", np.nan
    slope = float(stats.linregress(np.log10(train_sizes), mean_gap).slope)
    if abs(slope) < 1e-4:
        return "flat", slope
    behind = float(np.mean(mean_gap)) <= 0
    return ("shrinking" if (slope > 0) == behind else "growing"), slope


def extrapolated_crossing(
    frame: pd.DataFrame, dataset: str, factor: float = 100.0, min_r2: float = 0.8
) -> float | None:
    """Where the fitted family curves cross beyond the largest size (up to ``factor`` × it).

    None when either fit is untrustworthy, or when the crossing needs a score above 1: a curve
    without an asymptote (log2, pow2) keeps rising forever, which no real score can.
    """
    best = family_best(frame[frame["dataset"] == dataset])
    means = best.groupby(["family", "train_size"])["score"].mean()
    fits = {}
    for family in ("classical", "neural"):
        if family not in means.index.get_level_values(0):
            return None
        curve = means.loc[family]
        fit = fit_curve(curve.index.to_numpy(float), curve.to_numpy(float))
        if fit is None or fit.r2 < min_r2:
            return None
        fits[family] = fit
    largest = float(best["train_size"].max())
    grid = np.geomspace(largest, largest * factor, 400)
    neural = fits["neural"].predict(grid)
    ahead = np.flatnonzero(neural - fits["classical"].predict(grid) > 0)
    if not ahead.size or ahead[0] == 0 or neural[ahead[0]] > MAX_SCORE:
        return None
    return float(grid[ahead[0]])


def crossover(frame: pd.DataFrame, dataset: str, n_boot: int = 1000, seed: int = 0) -> dict:
    """The crossover of one dataset with its bootstrap CI, trend and any extrapolated estimate."""
    sizes, gap = gap_matrix(frame, dataset)
    rows = frame[frame["dataset"] == dataset]
    row: dict = {"dataset": dataset, "modality": rows["modality"].iloc[0] if len(rows) else None}
    empty = {"crossover_size": None, "ci_low": None, "ci_high": None, "share_no_crossing": None}
    if sizes.size == 0:
        return row | empty | {"status": MISSING_FAMILY, "trend": "unknown", "extrapolated": False}
    mean_gap = np.nanmean(gap, axis=0)
    status, size = crossing_size(sizes, mean_gap)
    # Resampling one or two seeds gives one or three distinct means: no interval, not a fake one.
    enough = gap.shape[0] >= MIN_SEEDS
    samples = _bootstrap(sizes, gap, n_boot, seed) if enough else np.array([])
    crossed = samples[np.isfinite(samples)]
    direction, slope = trend(sizes, mean_gap)
    extrapolated = extrapolated_crossing(frame, dataset) if status == NOT_IN_RANGE else None
    return row | {
        "status": status,
        "crossover_size": size,
        "ci_low": float(np.percentile(crossed, 2.5)) if crossed.size else None,
        "ci_high": float(np.percentile(crossed, 97.5)) if crossed.size else None,
        "share_no_crossing": float(1 - crossed.size / len(samples)) if len(samples) else None,
        "trend": direction,
        "gap_slope_per_decade": slope,
        "gap_at_largest": float(mean_gap[-1]),
        "extrapolated": extrapolated is not None,
        "extrapolated_size": extrapolated,
        "min_size": int(sizes.min()),
        "max_size": int(sizes.max()),
        "n_sizes": int(sizes.size),
        "n_seeds": int(gap.shape[0]),
    }


def _bootstrap(sizes: np.ndarray, gap: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Crossover size of each seed resample; NaN where that resample does not cross in range."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, gap.shape[0], size=(n_boot, gap.shape[0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a size no resampled seed has
        means = np.nanmean(gap[picks], axis=1)
    found = np.full(n_boot, np.nan)
    for index, mean_gap in enumerate(means):
        usable = np.isfinite(mean_gap)
        status, size = crossing_size(sizes[usable], mean_gap[usable])
        if status == CROSSED:
            found[index] = size
    return found


def crossovers(frame: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """`crossover` for every dataset of a tidy frame, one row each."""
    rows = [crossover(frame, name, n_boot, seed) for name in sorted(frame["dataset"].unique())]
    return pd.DataFrame(rows)


def crossover_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per modality: how many datasets cross, and the median and IQR of their crossover sizes."""
    rows = []
    for modality, group in table.groupby("modality", sort=True):
        sizes = group.loc[group["status"] == CROSSED, "crossover_size"].astype(float)
        rows.append(
            {
                "modality": modality,
                "n_datasets": len(group),
                "n_crossed": int(sizes.size),
                "n_neural_ahead": int((group["status"] == NEURAL_AHEAD).sum()),
                "n_not_in_range": int((group["status"] == NOT_IN_RANGE).sum()),
                "median": float(sizes.median()) if sizes.size else None,
                "q25": float(sizes.quantile(0.25)) if sizes.size else None,
                "q75": float(sizes.quantile(0.75)) if sizes.size else None,
            }
        )
    return pd.DataFrame(rows)
