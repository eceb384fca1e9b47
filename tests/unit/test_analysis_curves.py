"""Learning curves: selection on validation, seed CIs, parametric fits and shape flags."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlvsml.analysis.curves import curve_fits, family_best, family_curves, fit_curve, model_curves
from dlvsml.analysis.frame import tidy
from tests.unit.test_analysis_frame import SIZES, synthetic_results


def test_family_best_chooses_on_validation_not_test() -> None:
    results = synthetic_results(
        {
            "lucky": ("classical", lambda n: 0.9 + 0 * n),
            "steady": ("classical", lambda n: 0.8 + 0 * n),
        },
        sizes=(100,),
        seeds=2,
        noise=0.0,
    )
    # "lucky" has the better test score but the worse validation score: it must not be chosen.
    results.loc[results["model"] == "lucky", "validation_score"] = 0.5
    best = family_best(tidy(results))
    assert best["model"].unique().tolist() == ["steady"]
    assert np.allclose(best["score"], 0.8)


def test_curves_average_seeds_with_a_confidence_interval() -> None:
    frame = tidy(synthetic_results({"gbm": ("classical", lambda n: 0.7 + 0 * n)}, seeds=10))
    points = model_curves(frame)
    assert len(points) == len(SIZES)
    assert (points["n_seeds"] == 10).all()
    assert ((points["ci_low"] < 0.7) & (points["ci_high"] > 0.7)).mean() >= 0.7
    assert (points["ci_high"] - points["ci_low"]).between(0.001, 0.02).all()
    assert family_curves(frame)["curve"].unique().tolist() == ["classical"]


def test_fit_recovers_a_saturating_power_law() -> None:
    sizes = np.array(SIZES, dtype=float)
    fit = fit_curve(sizes, 0.9 - 0.5 * sizes**-0.3)
    assert fit is not None and fit.model == "pow3"
    assert np.allclose(fit.params, (0.9, 0.5, 0.3), atol=1e-3)
    assert abs(float(fit.predict(10_000.0)) - (0.9 - 0.5 * 10_000**-0.3)) < 1e-3


def _points(means: list[float], sizes: tuple[int, ...] = (100, 200, 400, 800)) -> pd.DataFrame:
    means_array = np.asarray(means)
    return pd.DataFrame(
        {
            "dataset": "toy",
            "modality": "tabular",
            "curve": "gbm",
            "family": "classical",
            "train_size": sizes,
            "mean": means_array,
            "ci_low": means_array - 0.004,
            "ci_high": means_array + 0.004,
            "n_seeds": 8,
        }
    )


def test_a_dip_beyond_noise_is_flagged_non_monotone() -> None:
    dip = curve_fits(_points([0.70, 0.80, 0.72, 0.85])).iloc[0]
    smooth = curve_fits(_points([0.70, 0.78, 0.81, 0.83])).iloc[0]
    wobble = curve_fits(_points([0.70, 0.78, 0.777, 0.83])).iloc[0]  # within seed noise
    assert dip["non_monotone"] and not smooth["non_monotone"] and not wobble["non_monotone"]
    assert not smooth["non_convex"] and not smooth["bad_fit"]


def test_accelerating_curve_is_flagged_non_convex() -> None:
    sizes = np.array([100, 200, 400, 800])
    flags = curve_fits(_points(list(0.5 + 0.3 * (sizes / 800) ** 2))).iloc[0]
    assert flags["non_convex"] and not flags["non_monotone"]


def test_bad_fit_when_too_few_sizes_or_no_shape_explains_the_points() -> None:
    two = curve_fits(_points([0.7, 0.8], sizes=(100, 200))).iloc[0]
    assert two["bad_fit"] and two["fit"] is None
    zigzag = curve_fits(_points([0.70, 0.90, 0.70, 0.90, 0.70], sizes=(50, 100, 200, 400, 800)))
    assert zigzag.iloc[0]["bad_fit"] and zigzag.iloc[0]["fit_r2"] < 0.8


def test_an_interval_needs_three_seeds_and_stays_within_the_score_range() -> None:
    # Near the ceiling with a wide spread: an unclipped t-interval would pass 1 (and below 0).
    def near_one(n: np.ndarray) -> np.ndarray:
        return 0.97 + 0 * n

    for seeds in (2, 3, 5):
        frame = tidy(synthetic_results({"gbm": ("classical", near_one)}, seeds=seeds, noise=0.2))
        frame["score"] = frame["score"].clip(0, 1)  # a real balanced accuracy cannot leave [0, 1]
        points = model_curves(frame)
        if seeds < 3:
            assert points["ci_low"].isna().all() and points["ci_high"].isna().all()
            continue
        assert points["ci_low"].notna().all(), points
        assert (points["ci_low"] >= 0).all() and (points["ci_high"] <= 1).all(), points
        assert (points["ci_low"] <= points["mean"]).all()
        assert (points["mean"] <= points["ci_high"]).all()
