"""Cost tables and the time-to-accuracy Pareto front."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlvsml.analysis.costs import cost_table, pareto_figure, pareto_front
from dlvsml.analysis.frame import tidy
from tests.unit.test_analysis_frame import synthetic_results


def test_cost_table_medians_per_family() -> None:
    models = {"gbm": ("classical", lambda n: 0.8 + 0 * n), "mlp": ("neural", lambda n: 0.7 + 0 * n)}
    frame = tidy(synthetic_results(models, sizes=(100, 200), seeds=3))
    table = cost_table(frame, by=("family",)).set_index("family")
    assert 1.0 <= table.loc["classical", "fit_seconds"] <= 1.1
    assert 10.0 <= table.loc["neural", "fit_seconds"] <= 11.0
    assert table.loc["neural", "n_cells"] == 6
    assert np.isclose(table.loc["classical", "mean_score"], 0.8, atol=0.01)


def test_pareto_front_keeps_only_undominated_models() -> None:
    # fast+good dominates slow+worse; slow+best is kept; fast+worse is kept (fastest).
    frames = [
        synthetic_results(
            {name: (family, lambda n, s=score: s + 0 * n)},
            seeds=2,
            noise=0.0,
            seconds={family: seconds},
        )
        for name, family, score, seconds in [
            ("fast_good", "classical", 0.80, 1.0),
            ("slow_worse", "neural", 0.75, 50.0),
            ("slow_best", "neural", 0.85, 100.0),
            ("fastest_poor", "classical", 0.60, 0.1),
        ]
    ]
    front = pareto_front(tidy(pd.concat(frames))).set_index("model")
    assert front["pareto"].to_dict() == {
        "fast_good": True,
        "fastest_poor": True,
        "slow_best": True,
        "slow_worse": False,
    }
    assert np.isclose(front.loc["slow_best", "gap_to_best"], 0.0)
    assert np.isclose(front.loc["fast_good", "gap_to_best"], -0.05)
    assert len(pareto_figure(front.reset_index()).axes) == 1
