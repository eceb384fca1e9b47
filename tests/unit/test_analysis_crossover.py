"""Crossover sizes against curves whose true crossing is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from dlvsml.analysis.crossover import (
    CROSSED,
    MISSING_FAMILY,
    NEURAL_AHEAD,
    NOT_IN_RANGE,
    crossing_size,
    crossover,
    crossover_summary,
    crossovers,
)
from dlvsml.analysis.frame import tidy
from tests.unit.test_analysis_frame import (
    classical_curve,
    crossing_pair,
    neural_curve,
    synthetic_results,
)

TRUE_CROSSING = brentq(lambda n: neural_curve(n) - classical_curve(n), 30, 1000)


def test_true_crossing_of_the_constructed_curves() -> None:
    assert 100 < TRUE_CROSSING < 115  # the curves below are built around it


def test_interpolates_on_log_size_between_the_sign_change() -> None:
    status, size = crossing_size(np.array([100, 400]), np.array([-0.1, 0.1]))
    assert status == CROSSED and np.isclose(size, 200)
    # Neural ahead, then behind, then ahead for good: the sustained change is the later one.
    status, size = crossing_size(np.array([10, 100, 1000, 10000]), np.array([0.1, -0.1, -0.1, 0.1]))
    assert status == CROSSED and np.isclose(size, np.sqrt(1000 * 10000))


def test_crossover_estimate_and_ci_cover_the_true_size() -> None:
    result = crossover(tidy(crossing_pair(seeds=8, noise=0.005)), "toy", n_boot=400)
    assert result["status"] == CROSSED
    assert abs(result["crossover_size"] - TRUE_CROSSING) / TRUE_CROSSING < 0.15
    assert result["ci_low"] <= TRUE_CROSSING <= result["ci_high"]
    assert result["ci_high"] / result["ci_low"] < 2  # and the interval is informative
    assert result["share_no_crossing"] < 0.05
    assert not result["extrapolated"]


def test_no_crossing_in_range_reports_a_shrinking_gap_and_extrapolates() -> None:
    result = crossover(tidy(crossing_pair(sizes=(25, 40, 60, 80))), "toy", n_boot=200)
    assert result["status"] == NOT_IN_RANGE and result["crossover_size"] is None
    assert result["trend"] == "shrinking" and result["gap_slope_per_decade"] > 0
    assert result["extrapolated"] and 80 < result["extrapolated_size"] < 200
    assert result["share_no_crossing"] > 0.9


def test_classical_pulling_away_is_a_growing_gap_without_extrapolation() -> None:
    models = {
        "gbm": ("classical", lambda n: 0.6 + 0.08 * np.log10(n)),
        "mlp": ("neural", lambda n: 0.6 + 0.02 * np.log10(n)),
    }
    result = crossover(tidy(synthetic_results(models)), "toy", n_boot=200)
    assert result["status"] == NOT_IN_RANGE
    assert result["trend"] == "growing" and result["gap_slope_per_decade"] < 0
    assert not result["extrapolated"]


def test_neural_ahead_everywhere_and_missing_family() -> None:
    ahead = crossover(tidy(crossing_pair(sizes=(400, 800, 1600))), "toy", n_boot=100)
    assert ahead["status"] == NEURAL_AHEAD
    alone = tidy(synthetic_results({"gbm": ("classical", classical_curve)}))
    assert crossover(alone, "toy")["status"] == MISSING_FAMILY


def test_summary_per_modality() -> None:
    frames = [
        crossing_pair(dataset=f"t{index}", sizes=sizes, seeds=3, rng_seed=index)
        for index, sizes in enumerate([(25, 50, 100, 200), (50, 100, 200), (25, 50, 80)])
    ]
    table = crossovers(tidy(pd.concat(frames)), n_boot=100)
    summary = crossover_summary(table).iloc[0]
    assert (summary["n_datasets"], summary["n_crossed"], summary["n_not_in_range"]) == (3, 2, 1)
    assert 80 < summary["q25"] <= summary["median"] <= summary["q75"] < 150


def test_a_single_seed_gives_an_estimate_without_an_interval() -> None:
    result = crossover(tidy(crossing_pair(seeds=1, noise=0.0)), "toy")
    assert result["status"] == CROSSED and abs(result["crossover_size"] - TRUE_CROSSING) < 10
    assert result["ci_low"] is None and result["share_no_crossing"] is None


def test_extrapolation_is_refused_when_the_crossing_needs_a_score_above_one() -> None:
    def suite(classical_at_1000: float) -> pd.DataFrame:
        models = {
            "gbm": ("classical", lambda n: classical_at_1000 + 0.02 * np.log10(n / 1000)),
            "mlp": ("neural", lambda n: classical_at_1000 - 0.06 + 0.06 * np.log10(n / 1000)),
        }
        return tidy(synthetic_results(models, sizes=(125, 250, 500, 1000), seeds=2, noise=0.0))

    # Both cross 1.5 decades past 1,000 examples: at a score of 0.98, and of 1.02 (impossible).
    plausible = crossover(suite(0.95), "toy", n_boot=50)
    assert plausible["extrapolated"] and 20_000 < plausible["extrapolated_size"] < 50_000
    impossible = crossover(suite(0.99), "toy", n_boot=50)
    assert impossible["trend"] == "shrinking" and not impossible["extrapolated"]
