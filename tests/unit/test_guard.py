"""The learning guard's parts: its vectorised null scores equal dlvsml's metrics, the dummy
scores chance, and a pair counts as unlearned only when every cell is flagged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dlvsml.guard import _VECTORISED, dummy_score, unlearned_pairs
from dlvsml.metrics import Predictions, score


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("metric", sorted(_VECTORISED))
def test_vectorised_null_equals_the_metric(metric: str, k: int) -> None:
    rng = np.random.default_rng(k)
    if metric in ("rmse", "mae", "r2"):
        y, best = rng.normal(size=60), Predictions(rng.normal(size=60), None, 0.0)
    elif metric == "roc_auc" and k != 2:
        pytest.skip("multiclass ROC AUC is scored one shuffle at a time")
    else:
        y = rng.integers(0, k, 60)
        best = Predictions(rng.integers(0, k, 60), rng.dirichlet(np.ones(k), 60), 0.0)
    labels = np.array([rng.permutation(y) for _ in range(4)])
    expected = [score(metric, row, best, k) for row in labels]
    assert np.allclose(_VECTORISED[metric](labels, best), expected)


def test_dummy_scores_chance_on_balanced_accuracy() -> None:
    y_train, y_val = np.array([0] * 90 + [1] * 10), np.array([0] * 18 + [1] * 2)
    value = dummy_score(y_train, y_val, task="binary", metric="balanced_accuracy", n_classes=2)
    assert value == 0.5


def test_unlearned_pairs_need_every_cell_flagged() -> None:
    frame = pd.DataFrame(
        {
            "dataset": ["a", "a", "a", "a"],
            "train_size": [100, 100, 200, 200],
            "no_signal": ["true", True, "true", False],
        }
    )
    pairs = unlearned_pairs(frame)
    assert list(zip(pairs["dataset"], pairs["train_size"], strict=True)) == [("a", 100)]
