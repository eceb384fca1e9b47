"""Friedman, Wilcoxon and win/tie/loss on frames where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlvsml.analysis.frame import tidy
from dlvsml.analysis.stats import (
    SizeRegimes,
    cd_diagram,
    family_comparison,
    family_pairs,
    friedman_tests,
    wilcoxon_test,
    win_tie_loss,
)
from tests.unit.test_analysis_frame import synthetic_results

OFFSETS = {"xgb": 0.06, "rf": 0.04, "mlp": 0.0, "cnn": -0.02}
FAMILY = {"xgb": "classical", "rf": "classical", "mlp": "neural", "cnn": "neural"}


def ranked_suite(n_datasets: int, sizes: tuple[int, ...] = (100, 500, 2000)) -> pd.DataFrame:
    """Datasets of varying difficulty on which the models' order never changes."""
    frames = []
    for index in range(n_datasets):
        models = {
            name: (FAMILY[name], lambda n, o=offset + 0.03 * index: 0.7 + o + 0 * n)
            for name, offset in OFFSETS.items()
        }
        frames.append(synthetic_results(models, f"d{index}", sizes=sizes, seeds=3, rng_seed=index))
    return tidy(pd.concat(frames))


def test_regimes_bucket_train_sizes() -> None:
    labels = SizeRegimes(bounds=(100, 1000)).label(np.array([50, 100, 101, 1000, 5000]))
    assert labels.tolist() == ["small", "small", "medium", "medium", "large"]


def test_friedman_finds_the_consistent_winner_with_ranks_and_cd_diagram() -> None:
    results = friedman_tests(ranked_suite(6))
    assert [(r.regime, r.n_datasets) for r in results] == [("small", 6), ("medium", 6)]
    small = results[0]
    assert small.p_value < 0.01 and small.message is None
    assert small.average_ranks.index.tolist() == ["xgb", "rf", "mlp", "cnn"]
    assert small.average_ranks["xgb"] == 1.0
    assert small.posthoc.loc["xgb", "cnn"] < 0.05  # the extremes differ under Nemenyi
    assert cd_diagram(small) is not None


def test_too_few_datasets_or_models_is_a_message_not_a_crash() -> None:
    result = friedman_tests(ranked_suite(2))[0]
    assert result.message == "not enough datasets (n=2; need ≥3)" and result.p_value is None
    assert cd_diagram(result) is None
    two_models = ranked_suite(4)
    two_models = two_models[two_models["model"].isin(["xgb", "mlp"])]
    assert "not enough models" in friedman_tests(two_models)[0].message


def test_wilcoxon_and_win_tie_loss_favour_the_better_family() -> None:
    pairs = family_pairs(ranked_suite(4))
    assert len(pairs) == 12 and (pairs["gap"] < 0).all()
    test = wilcoxon_test(pairs)
    assert test["p_value"] < 0.01 and test["better"] == "classical"
    assert np.isclose(test["median"], -0.06, atol=0.01)
    assert win_tie_loss(pairs) == {"neural_wins": 0, "ties": 0, "classical_wins": 12}
    assert win_tie_loss(pairs, tie_tolerance=0.1)["ties"] == 12
    assert wilcoxon_test(pairs.head(3))["p_value"] is None  # too few pairs to test


def test_family_comparison_has_overall_and_per_regime_rows() -> None:
    table = family_comparison(ranked_suite(4)).set_index(["modality", "regime"])
    assert table.loc[("all", "all"), "n_pairs"] == 12
    assert table.loc[("tabular", "small"), "better"] == "classical"
    assert table.loc[("tabular", "medium"), "classical_wins"] == 4


def test_a_model_skipped_at_some_sizes_does_not_bias_the_others() -> None:
    frame = ranked_suite(4, sizes=(100, 200, 400))
    # "cnn" ran only at size 100 everywhere: it is dropped, and the rest keep all sizes.
    frame = frame[(frame["model"] != "cnn") | (frame["train_size"] == 100)]
    result = friedman_tests(frame)[0]
    assert result.models == ["mlp", "rf", "xgb"]
    assert result.families == {"mlp": "neural", "rf": "classical", "xgb": "classical"}
    assert result.average_ranks.index.tolist() == ["xgb", "rf", "mlp"]
