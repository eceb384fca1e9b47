"""Learning curves: score against train size, per model and per family, with seed CIs and fits.

A **family curve** at one train size is the test score of the family's model that did best on
*validation* (chosen separately for each seed, as a practitioner with one run would choose).
Choosing on the test score instead would pick, at every size, whichever model got lucky on the
test split: the maximum of several noisy estimates is biased upwards, more so for the family with
more models, so the comparison of families would be optimistic and unfair.

Curves are summarised over seeds by the mean and a 95% t-interval, only with at least
``MIN_SEEDS`` seeds (with two, t = 12.7 stretches the band far past anything a score can be)
and always clipped to the range the score can take (`frame.score_range`). Parametric fits follow the
learning-curve database (LCDB, Mohr et al.) written in score space (higher is better); the one
with the smallest residual standard error wins. A fit is not trusted blindly: each curve carries
``non_monotone`` (the score drops between sizes by more than seed noise), ``non_convex`` (the gain
per extra example grows, where a well-behaved curve has diminishing returns) and ``bad_fit`` (too
few sizes, or the best fit explains little: R² below a threshold).

Example::

    points = family_curves(tidy(results))
    fits = curve_fits(points)  # one row per (dataset, curve) with flags
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from dlvsml.analysis.frame import score_range

GROUP = ["dataset", "modality", "task", "train_size"]
POINT_COLUMNS = [
    "dataset", "modality", "task", "curve", "family", "train_size",
    "mean", "ci_low", "ci_high", "n_seeds", "models",
]  # fmt: skip
MIN_NOISE = 0.01  # score noise assumed when a size has no interval (too few seeds)
MIN_SEEDS = 3  # fewer seeds give no interval: with 2, a t-interval is 12.7 standard errors wide


def family_best(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, size, family, seed): the model with the best validation score, and its score.

    Cells without a validation score cannot be chosen. Ties go to the model name that sorts first,
    so the choice is reproducible.
    """
    chosen = frame[np.isfinite(frame["validation"].astype(float))]
    order = [*GROUP, "family", "seed", "validation", "model"]
    chosen = chosen.sort_values(order, ascending=[True] * 6 + [False, True])
    chosen = chosen.drop_duplicates([*GROUP, "family", "seed"], keep="first")
    return chosen.sort_values([*GROUP, "family", "seed"]).reset_index(drop=True)


def model_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over seeds of each model's score at each train size."""
    return _summarise(frame.assign(curve=frame["model"]))


def family_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over seeds of each family's validation-selected score at each size."""
    best = family_best(frame)
    return _summarise(best.assign(curve=best["family"]))


def mean_ci(
    values: np.ndarray,
    level: float = 0.95,
    bounds: tuple[float, float] = (-np.inf, np.inf),
) -> tuple[float, float, float]:
    """Mean and t-interval clipped to ``bounds``; NaN bounds with fewer than `MIN_SEEDS` values.

    >>> mean_ci([0.9, 0.95], bounds=(0.0, 1.0))  # two seeds: no interval
    (0.925, nan, nan)
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if values.size < MIN_SEEDS:
        return mean, np.nan, np.nan
    half = stats.t.ppf(0.5 + level / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
    low, high = bounds
    return mean, float(np.clip(mean - half, low, high)), float(np.clip(mean + half, low, high))


def _summarise(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for keys, group in frame.groupby([*GROUP[:3], "curve", "family", "train_size"], sort=True):
        bounds = score_range(group["score_name"].iloc[0]) if "score_name" in group else None
        mean, low, high = mean_ci(group["score"].to_numpy(), bounds=bounds or (-np.inf, np.inf))
        models = group["model"].value_counts()
        rows.append([*keys, mean, low, high, int(group["seed"].nunique()), ",".join(models.index)])
    return pd.DataFrame(rows, columns=POINT_COLUMNS)


@dataclass(frozen=True)
class CurveModel:
    """A parametric learning-curve shape: score = function(train_size, *params)."""

    function: Callable[..., np.ndarray]
    initial: Callable[[np.ndarray, np.ndarray], list[float]]
    bounds: tuple[list[float], list[float]]

    @property
    def n_params(self) -> int:
        return len(self.bounds[0])


def _span(y: np.ndarray) -> float:
    return float(max(np.ptp(y), 1e-3))


CURVE_MODELS: dict[str, CurveModel] = {
    "pow2": CurveModel(  # a·n^c: a power law without an asymptote
        lambda n, a, c: a * np.power(n, c),
        lambda n, y: [float(max(y[0], 1e-3)), 0.05],
        ([-np.inf, -2.0], [np.inf, 2.0]),
    ),
    "log2": CurveModel(  # a + b·log n: constant gain per doubling
        lambda n, a, b: a + b * np.log(n),
        lambda n, y: [float(y[0]), 0.01],
        ([-np.inf, -np.inf], [np.inf, np.inf]),
    ),
    "ilog2": CurveModel(  # a - b / log n: slowly saturating
        lambda n, a, b: a - b / np.log(n),
        lambda n, y: [float(y[-1]), 0.1],
        ([-np.inf, -np.inf], [np.inf, np.inf]),
    ),
    "pow3": CurveModel(  # a - b·n^-c: saturating power law (the classic learning curve)
        lambda n, a, b, c: a - b * np.power(n, -c),
        lambda n, y: [float(y[-1]) + 0.1 * _span(y), 1.0, 0.5],
        ([-np.inf, -np.inf, 0.0], [np.inf, np.inf, 3.0]),
    ),
    "exp3": CurveModel(  # a - b·exp(-c·n): saturates faster than any power law
        lambda n, a, b, c: a - b * np.exp(-c * n),
        lambda n, y: [float(y[-1]), _span(y), 1.0 / float(np.median(n))],
        ([-np.inf, -np.inf, 0.0], [np.inf, np.inf, np.inf]),
    ),
    "mmf4": CurveModel(  # (a·b + c·n^d) / (b + n^d): sigmoid in log n (Morgan-Mercer-Flodin)
        lambda n, a, b, c, d: (a * b + c * np.power(n, d)) / (b + np.power(n, d)),
        lambda n, y: [float(y[0]), float(np.median(n)), float(y[-1]), 1.0],
        ([-np.inf, 1e-9, -np.inf, 0.0], [np.inf, np.inf, np.inf, 5.0]),
    ),
}


@dataclass(frozen=True)
class CurveFit:
    """The best parametric fit of one curve."""

    model: str
    params: tuple[float, ...]
    r2: float
    residual_se: float

    def predict(self, train_size: np.ndarray | float) -> np.ndarray:
        return CURVE_MODELS[self.model].function(np.asarray(train_size, dtype=float), *self.params)


def fit_curve(train_sizes: np.ndarray, scores: np.ndarray) -> CurveFit | None:
    """Fit every curve model with fewer parameters than points; keep the smallest residual SE.

    The residual standard error sqrt(RSS / (points - parameters)) is the residual criterion: it
    does not reward a 4-parameter curve for threading 5 points. None when nothing fits.
    """
    n = np.asarray(train_sizes, dtype=float)
    y = np.asarray(scores, dtype=float)
    keep = np.isfinite(y) & (n > 1)
    n, y = n[keep], y[keep]
    fits = []
    for name, model in CURVE_MODELS.items():
        if n.size <= model.n_params:
            continue
        params = _least_squares(model, n, y)
        if params is None:
            continue
        residuals = y - model.function(n, *params)
        rss = float(residuals @ residuals)
        total = float(((y - y.mean()) ** 2).sum())
        r2 = 1.0 - rss / total if total > 0 else (1.0 if rss < 1e-12 else 0.0)
        fits.append(
            CurveFit(
                name, tuple(map(float, params)), r2, float(np.sqrt(rss / (n.size - model.n_params)))
            )
        )
    return min(fits, key=lambda fit: fit.residual_se) if fits else None


def _least_squares(model: CurveModel, n: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Levenberg-Marquardt from a sensible start; a solution outside the bounds is discarded.

    Unbounded LM (MINPACK) is ~30× faster than the bounded trust-region solver here, and a fit
    that needs a parameter outside its bounds (say a decaying exponent turned growing) is not
    that curve shape anyway.
    """
    lower, upper = (np.asarray(bound, dtype=float) for bound in model.bounds)
    initial = np.clip(model.initial(n, y), lower, upper)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            params, _ = optimize.curve_fit(model.function, n, y, p0=initial, maxfev=2000)
        except (RuntimeError, ValueError, optimize.OptimizeWarning):
            return None
    inside = np.all((params >= lower) & (params <= upper))
    predicted = model.function(n, *params)
    return params if inside and np.all(np.isfinite(predicted)) else None


def curve_fits(points: pd.DataFrame, min_r2: float = 0.8, min_sizes: int = 3) -> pd.DataFrame:
    """One row per (dataset, curve): best fit, its R², and the shape flags described above.

    ``bad_fit`` is true when the curve has fewer than ``min_sizes`` sizes, nothing fits, or the
    fit's R² is below ``min_r2`` (a flat curve has little variance to explain, so it is flagged
    too: its fit says nothing about where it is heading).
    """
    rows = []
    for (dataset, curve), group in points.groupby(["dataset", "curve"], sort=True):
        group = group.sort_values("train_size")
        sizes, means = group["train_size"].to_numpy(float), group["mean"].to_numpy(float)
        noise = _noise(group)
        fit = fit_curve(sizes, means) if sizes.size >= min_sizes else None
        rows.append(
            {
                "dataset": dataset,
                "modality": group["modality"].iloc[0],
                "curve": curve,
                "family": group["family"].iloc[0],
                "n_sizes": int(sizes.size),
                "fit": fit.model if fit else None,
                "params": list(fit.params) if fit else None,
                "fit_r2": fit.r2 if fit else np.nan,
                "non_monotone": non_monotone(means, noise),
                "non_convex": non_convex(sizes, means, noise),
                "bad_fit": fit is None or fit.r2 < min_r2,
            }
        )
    return pd.DataFrame(rows)


def _noise(group: pd.DataFrame) -> np.ndarray:
    """Half-width of each size's CI; MIN_NOISE where too few seeds give no interval."""
    half = (group["ci_high"] - group["ci_low"]).to_numpy(float) / 2
    return np.where(np.isfinite(half), half, MIN_NOISE)


def non_monotone(means: np.ndarray, noise: np.ndarray) -> bool:
    """True when the score falls from one size to the next by more than both sizes' noise."""
    drops = means[:-1] - means[1:]
    return bool(np.any(drops > np.hypot(noise[:-1], noise[1:])))


def non_convex(sizes: np.ndarray, means: np.ndarray, noise: np.ndarray) -> bool:
    """True when the gain per extra example grows between consecutive intervals beyond noise."""
    if sizes.size < 3:
        return False
    widths = np.diff(sizes)
    slopes = np.diff(means) / widths
    slack = np.hypot(noise[:-1], noise[1:]) / widths
    return bool(np.any(np.diff(slopes) > slack[:-1] + slack[1:]))
