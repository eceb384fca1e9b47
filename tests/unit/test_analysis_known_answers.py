"""Crossover numbers against hand-computed answers on constructed seeds × sizes scores."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from dlvsml.analysis.crossover import CROSSED, crossover


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
