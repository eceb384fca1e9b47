"""The headline verdict table: one row per dataset, its winner, margin, switch and significance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlvsml.analysis.frame import tidy
from dlvsml.analysis.verdicts import NO_SIGNAL, TIE, modality_sentences, verdicts
from tests.unit.test_analysis_crossover import TRUE_CROSSING
from tests.unit.test_analysis_frame import crossing_pair, synthetic_results


def _flat(dataset: str, classical: float, neural: float, **kwargs) -> pd.DataFrame:
    models = {
        "gbm": ("classical", lambda n: classical + 0 * n),
        "mlp": ("neural", lambda n: neural + 0 * n),
    }
    return synthetic_results(models, dataset=dataset, sizes=(50, 100, 200), **kwargs)


def test_one_row_per_dataset_with_winner_margin_switch_and_significance() -> None:
    frame = tidy(
        pd.concat(
            [
                crossing_pair(dataset="crosses", seeds=5),  # neural overtakes near 108
                _flat("classical_data", 0.9, 0.8, seeds=5, rng_seed=1),
                _flat("level", 0.8, 0.8, seeds=5, noise=0.0005, rng_seed=2),
            ]
        )
    )
    table = verdicts(frame).set_index("dataset")
    assert sorted(table.index) == ["classical_data", "crosses", "level"]

    crosses = table.loc["crosses"]
    assert (crosses["winner"], crosses["winner_model"]) == ("neural", "mlp")
    assert 0.5 * TRUE_CROSSING < crosses["switch_size"] < 2 * TRUE_CROSSING
    assert "classical ahead below" in crosses["switch"]
    assert crosses["margin_low"] <= crosses["margin"] <= crosses["margin_high"]
    assert crosses["significant"]

    classical = table.loc["classical_data"]
    assert (classical["winner"], classical["winner_model"]) == ("classical", "gbm")
    assert abs(classical["margin"] - 0.1) < 0.02 and classical["margin"] > 0
    assert classical["switch"] == "classical ahead at every size"
    assert classical["budget_bound"] is None  # no cell says: unknown, not "no"

    assert table.loc["level", "winner"] == TIE
    sentences = modality_sentences(verdicts(frame))
    assert len(sentences) == 1 and "classical wins on 1 (classical_data)" in sentences[0]
    assert "neural wins on 1 (crosses, from ≈" in sentences[0]


def test_two_seeds_give_a_margin_but_no_interval_and_no_test() -> None:
    row = verdicts(tidy(_flat("d", 0.9, 0.8, seeds=2))).iloc[0]
    assert row["winner"] == "classical" and np.isfinite(row["margin"])
    assert np.isnan(row["margin_low"]) and row["p_value"] is None
    assert "too few seeds" in row["significance"]


def test_no_signal_is_not_a_tie_and_budget_bound_flags_are_read() -> None:
    results = _flat("noise", 0.5, 0.5, seeds=3, noise=0.0)
    results["no_signal"] = True
    results["budget_bound"] = results["model"] == "mlp"
    row = verdicts(tidy(results)).iloc[0]
    assert row["winner"] == NO_SIGNAL and row["winner"] != TIE
    assert bool(row["budget_bound"])
