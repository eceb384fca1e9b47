"""Crossover numbers against hand-computed answers on constructed seeds × sizes scores."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from dlvsml.analysis.crossover import (
    CROSSED,
    MISSING_FAMILY,
    NEURAL_AHEAD,
    NOT_IN_RANGE,
    crossover,
    crossover_summary,
    crossovers,
    extrapolated_crossing,
    gap_matrix,
    trend,
)
from dlvsml.analysis.curves import fit_curve
from dlvsml.analysis.frame import tidy
from tests.unit.test_analysis_frame import synthetic_results


def _scores(gaps: dict[int, list[float]], classical: float = 0.5) -> pd.DataFrame:
    """A tidy frame whose neural - classical gap is ``gaps[size][seed]`` (one model a family)."""
    rows = []
    for size, per_seed in gaps.items():
        for seed, gap in enumerate(per_seed):
            for family, model, score in (
                ("classical", "gbm", classical),
                ("neural", "mlp", classical + gap),
            ):
                rows.append(
                    {
                        "dataset": "toy",
                        "modality": "tabular",
                        "task": "binary",
                        "train_size": size,
                        "model": model,
                        "family": family,
                        "seed": seed,
                        "score": score,
                        "validation": score,
                    }
                )
    return pd.DataFrame(rows)


def _crossing(gap_small: float, gap_large: float) -> float:
    """Hand formula: linear in log size between 100 and 1000 where the gap reaches 0."""
    return 100 * 10 ** (-gap_small / (gap_large - gap_small))


# Every seed is behind by 0.1 at 100 rows and ahead by 0.05 ... 0.4 at 1000 rows.
AHEAD = [0.05, 0.1, 0.2, 0.4]
FOUR_SEEDS = {100: [-0.1] * 4, 1000: AHEAD}


def test_crossover_of_the_mean_gap_is_the_hand_computed_size() -> None:
    result = crossover(_scores(FOUR_SEEDS), "toy", n_boot=200)
    assert result["status"] == CROSSED and result["n_seeds"] == 4
    assert np.isclose(result["crossover_size"], _crossing(-0.1, np.mean(AHEAD)))  # 222.8


def test_the_bootstrap_resamples_all_seeds_together() -> None:
    """Each resample averages four seeds, so its crossing reaches a single seed's extreme only
    when all four picks are that seed (1 in 256): the 95 % interval lies strictly inside the
    single seeds' crossings. Resampling one seed at a time puts a quarter of the resamples at
    each seed's own crossing, and the interval on the extremes."""
    result = crossover(_scores(FOUR_SEEDS), "toy", n_boot=2000)
    earliest, latest = _crossing(-0.1, max(AHEAD)), _crossing(-0.1, min(AHEAD))  # 158.5, 464.2
    assert earliest * 1.05 < result["ci_low"] < result["crossover_size"]
    assert result["crossover_size"] < result["ci_high"] < latest / 1.05
    assert result["share_no_crossing"] == 0.0
    # and it is the interval of the exact resampling distribution (all 4**4 equally likely picks)
    exact = [_crossing(-0.1, np.mean(picks)) for picks in itertools.product(AHEAD, repeat=4)]
    low, high = np.percentile(exact, [2.5, 97.5])
    assert np.isclose(result["ci_low"], low, rtol=0.05) and np.isclose(
        result["ci_high"], high, rtol=0.05
    )


def test_gap_at_largest_is_the_mean_gap_at_the_largest_size() -> None:
    gaps = {1000: [0.3, 0.1, 0.2], 100: [-0.2, -0.4, -0.3], 300: [0.05, 0.05, 0.05]}
    result = crossover(_scores(gaps), "toy", n_boot=100)
    assert np.isclose(result["gap_at_largest"], 0.2)  # (0.3 + 0.1 + 0.2) / 3
    assert (result["min_size"], result["max_size"], result["n_sizes"]) == (100, 1000, 3)


def test_crossovers_is_crossover_per_dataset_with_the_same_resampling() -> None:
    frame = pd.concat(
        [
            _scores({100: [-0.1, -0.2, -0.05], 1000: [0.1, 0.3, 0.2]}).assign(dataset="b"),
            _scores({100: [-0.3, -0.1, -0.2], 1000: [0.2, 0.05, 0.1]}).assign(dataset="a"),
        ]
    )
    table = crossovers(frame, n_boot=150, seed=5)
    assert table["dataset"].tolist() == ["a", "b"]
    for row in table.to_dict("records"):
        alone = crossover(frame, row["dataset"], n_boot=150, seed=5)
        assert (row["ci_low"], row["ci_high"]) == (alone["ci_low"], alone["ci_high"])
    assert crossovers(frame, n_boot=150, seed=5).equals(table)  # reproducible


def test_crossover_summary_counts_and_quartiles_per_modality() -> None:
    table = pd.DataFrame(
        {
            "modality": ["text", "image", "image", "image", "image", "text"],
            "status": [NOT_IN_RANGE, CROSSED, CROSSED, NEURAL_AHEAD, CROSSED, NOT_IN_RANGE],
            "crossover_size": [None, 100.0, 300.0, None, 200.0, None],
        }
    )
    summary = crossover_summary(table)
    assert summary.columns.tolist() == [
        "modality", "n_datasets", "n_crossed", "n_neural_ahead", "n_not_in_range",
        "median", "q25", "q75",
    ]  # fmt: skip
    image, text = summary.to_dict("records")  # sorted by modality
    assert image == {
        "modality": "image",
        "n_datasets": 4,
        "n_crossed": 3,
        "n_neural_ahead": 1,
        "n_not_in_range": 0,
        "median": 200.0,
        "q25": 150.0,
        "q75": 250.0,
    }
    assert {key: text[key] for key in list(text)[:5]} == {
        "modality": "text",
        "n_datasets": 2,
        "n_crossed": 0,
        "n_neural_ahead": 0,
        "n_not_in_range": 2,
    }
    assert all(pd.isna(text[key]) for key in ("median", "q25", "q75"))  # none crossed


def test_gap_matrix_keeps_every_size_and_seed_where_both_families_ran() -> None:
    frame = _scores({100: [-0.1, -0.2, -0.3, 0.0], 300: [0.1, 0.2, 0.3, 0.0], 3000: [0.1] * 4})
    neural = frame["family"] == "neural"
    lost = (
        (neural & (frame["seed"] == 2) & (frame["train_size"] == 300))  # one cell
        | (neural & (frame["train_size"] == 3000))  # a size without neural cells
        | (neural & (frame["seed"] == 3))  # a seed without neural cells
    )
    sizes, gap = gap_matrix(frame[~lost], "toy")
    assert sizes.tolist() == [100.0, 300.0]
    expected = np.array([[-0.1, 0.1], [-0.2, 0.2], [-0.3, np.nan]])
    assert np.allclose(gap, expected, equal_nan=True)
    sizes, gap = gap_matrix(frame[frame["family"] == "classical"], "toy")
    assert sizes.shape == (0,) and gap.shape == (0, 0)


def test_trend_known_answers() -> None:
    sizes = np.array([100.0, 1000.0])
    assert trend(sizes[:1], np.array([-0.1]))[0] == "unknown"
    assert np.isnan(trend(sizes[:1], np.array([-0.1]))[1])
    direction, slope = trend(sizes, np.array([-0.2, -0.1]))  # behind, catching up
    assert direction == "shrinking" and np.isclose(slope, 0.1)
    assert trend(sizes, np.array([0.1, 0.1])) == ("flat", 0.0)
    assert trend(sizes, np.array([-0.1, 0.1]))[0] == "shrinking"  # mean 0 counts as behind
    assert trend(sizes, np.array([0.05, 0.1]))[0] == "growing"  # ahead and pulling away
    assert trend(sizes, np.array([0.1, 0.05]))[0] == "shrinking"  # ahead, lead melting


def _saturating(classical_at_1000: float) -> pd.DataFrame:
    models = {
        "gbm": ("classical", lambda n: classical_at_1000 + 0.02 * np.log10(n / 1000)),
        "mlp": ("neural", lambda n: classical_at_1000 - 0.06 + 0.06 * np.log10(n / 1000)),
    }
    return tidy(synthetic_results(models, sizes=(125, 250, 500, 1000), seeds=2, noise=0.0))


def _family_fits(frame: pd.DataFrame) -> dict:
    means = frame.groupby(["family", "train_size"])["score"].mean()
    return {
        family: fit_curve(means.loc[family].index.to_numpy(float), means.loc[family].to_numpy())
        for family in ("classical", "neural")
    }


def test_extrapolated_crossing_is_the_first_grid_size_past_the_fitted_crossing() -> None:
    frame = _saturating(0.95)
    fits = _family_fits(frame)
    crossing = brentq(lambda n: fits["neural"].predict(n) - fits["classical"].predict(n), 1e3, 1e5)
    step = 100 ** (1 / 399)  # the search grid: 400 sizes from the largest to 100 × it
    assert crossing <= extrapolated_crossing(frame, "toy") < crossing * step


def test_no_extrapolation_without_a_trustworthy_fit() -> None:
    frame = _saturating(0.95)
    two_sizes = frame[frame["train_size"].isin([500, 1000])]  # too few points for any curve
    assert extrapolated_crossing(two_sizes, "toy") is None
    noisy = frame.assign(
        score=frame["score"] + np.random.default_rng(0).normal(0, 0.05, len(frame))
    )
    assert min(fit.r2 for fit in _family_fits(noisy).values()) < 0.8
    assert extrapolated_crossing(noisy, "toy") is None


def test_a_dataset_without_both_families_has_every_field_empty() -> None:
    frame = pd.concat(
        [
            _scores(FOUR_SEEDS).assign(dataset="other", modality="image"),
            _scores({100: [0.1]}).query("family == 'classical'"),  # one cell
        ]
    )
    empty = {
        "crossover_size": None,
        "ci_low": None,
        "ci_high": None,
        "share_no_crossing": None,
        "status": MISSING_FAMILY,
        "trend": "unknown",
        "extrapolated": False,
    }
    assert crossover(frame, "toy") == {"dataset": "toy", "modality": "tabular", **empty}
    assert crossover(frame, "absent") == {"dataset": "absent", "modality": None, **empty}


def test_no_extrapolated_crossing_when_neural_is_ahead_at_the_largest_size() -> None:
    models = {
        "gbm": ("classical", lambda n: 0.80 + 0.02 * np.log10(n / 1000)),
        "mlp": ("neural", lambda n: 0.85 + 0.03 * np.log10(n / 1000)),
    }
    frame = tidy(synthetic_results(models, sizes=(125, 250, 500, 1000), seeds=2, noise=0.0))
    assert extrapolated_crossing(frame, "toy") is None  # nothing to cross: it already has


def test_a_summary_without_any_crossing_leaves_the_sizes_empty() -> None:
    table = pd.DataFrame({"modality": ["text"], "status": [NOT_IN_RANGE], "crossover_size": [None]})
    row = crossover_summary(table).iloc[0]
    assert (row["median"], row["q25"], row["q75"]) == (None, None, None)
