"""The size × budget map on constructed results, against winners and crossovers worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dlvsml.analysis.budget_map import (
    budget_crossovers,
    budget_map_figure,
    budget_squares,
    largest_budget,
)
from dlvsml.analysis.crossover import CROSSED, NOT_IN_RANGE
from dlvsml.analysis.frame import tidy

FAMILY = {"linear": "classical", "rf": "classical", "mlp": "neural"}
# (budget, size, model): validation score, test score per seed 0 and 1, budget-bound seeds.
# rf has the best test scores but the worst validation: never chosen, so its flag never counts.
CELLS = {
    (0, 100, "linear"): (0.80, (0.80, 0.82), ()),
    (0, 100, "rf"): (0.70, (0.90, 0.90), (0, 1)),
    (0, 100, "mlp"): (0.75, (0.70, 0.72), ()),
    (0, 1000, "linear"): (0.85, (0.85, 0.87), ()),
    (0, 1000, "rf"): (0.60, (0.95, 0.95), ()),
    (0, 1000, "mlp"): (0.80, (0.80, 0.82), ()),
    (1, 100, "linear"): (0.80, (0.80, 0.82), ()),
    (1, 100, "rf"): (0.70, (0.90, 0.90), ()),
    (1, 100, "mlp"): (0.76, (0.76, 0.76), ()),
    (1, 1000, "linear"): (0.85, (0.85, 0.87), ()),
    (1, 1000, "rf"): (0.60, (0.95, 0.95), ()),
    (1, 1000, "mlp"): (0.90, (0.95, 0.97), (1,)),
}
LABELS = {0: "2t", 1: "8t"}


def _results() -> pd.DataFrame:
    rows = []
    for (budget, size, model), (validation, tests, bound) in CELLS.items():
        for seed, test in enumerate(tests):
            rows.append(
                {
                    "dataset": "d",
                    "modality": "tabular",
                    "task": "binary",
                    "status": "finished",
                    "metric": "balanced_accuracy",
                    "train_size": size,
                    "model": model,
                    "family": FAMILY[model],
                    "seed": seed,
                    "validation_score": validation,
                    "test_balanced_accuracy": test,
                    "budget_index": budget,
                    "budget": LABELS[budget],
                    "budget_bound": seed in bound,
                }
            )
    return pd.DataFrame(rows)


def test_winners_margins_and_bound_squares_by_hand() -> None:
    squares = budget_squares(tidy(_results())).set_index(["budget_index", "train_size"])
    expected = {  # (winner, margin, budget-bound): means of the validation-chosen models
        (0, 100): ("classical", 0.81 - 0.71, False),
        (0, 1000): ("classical", 0.86 - 0.81, False),
        (1, 100): ("classical", 0.81 - 0.76, False),
        (1, 1000): ("neural", 0.96 - 0.86, True),
    }
    assert set(squares.index) == set(expected)
    for where, (winner, margin, bound) in expected.items():
        square = squares.loc[where]
        assert square["winner"] == winner
        assert square["margin"] == pytest.approx(margin)
        assert bool(square["budget_bound"]) is bound
    assert list(squares["budget"]) == ["2t", "2t", "8t", "8t"]


def test_crossover_per_budget_by_hand() -> None:
    crossings = budget_crossovers(tidy(_results())).set_index("budget_index")
    assert crossings.loc[0, "status"] == NOT_IN_RANGE
    assert pd.isna(crossings.loc[0, "crossover_size"])
    # gap -0.05 at 100, +0.10 at 1000: a third of the way in log size, 100 * 10 ** (1 / 3).
    assert crossings.loc[1, "status"] == CROSSED
    assert crossings.loc[1, "crossover_size"] == pytest.approx(100 * 10 ** (1 / 3))


def test_cells_without_budgets_are_one_budget_and_largest_budget_filters() -> None:
    old = _results().drop(columns=["budget_index", "budget", "budget_bound"])
    old = old[old["model"].ne("rf")].drop_duplicates(["train_size", "model", "seed"])
    squares = budget_squares(tidy(old))
    assert list(squares["budget_index"]) == [0, 0] and not squares["budget_bound"].any()
    assert set(largest_budget(tidy(_results()))["budget_index"]) == {1}


def test_map_figure_draws_every_square() -> None:
    frame = tidy(_results())
    figure = budget_map_figure(budget_squares(frame), budget_crossovers(frame), "d")
    axis = figure.axes[0]
    hatched = [patch for patch in axis.patches if patch.get_hatch()]
    assert len(axis.patches) == 4 and len(hatched) == 1
    assert [t.get_text() for t in axis.get_yticklabels()] == ["2t", "8t"]
    assert any(math.isclose(line.get_xdata()[0], 0.5 + 1 / 3) for line in axis.lines)
