"""Figures a person reads: ticks at the sizes measured, no label over another, nothing cut off.

Overlaps are measured on the figure's own text extents (matplotlib's renderer), not on pixels.
"""

from __future__ import annotations

import numpy as np

from dlvsml.analysis import crossover, family_curves, learning_curve_figure, model_curves, tidy
from dlvsml.analysis.costs import pareto_figure, pareto_front
from dlvsml.analysis.ticks import overlapping_tick_labels, sticks_out
from tests.unit.test_analysis_frame import classical_curve, neural_curve, synthetic_results

SIZES = (50, 60, 150, 400, 1000, 1200, 5000)
MODELS = {
    "hist_gradient_boosting": ("classical", classical_curve),
    "random_forest": ("classical", classical_curve),
    "logistic_regression": ("classical", classical_curve),
    "ft_transformer": ("neural", neural_curve),
    "mlp": ("neural", neural_curve),
    "resnet_tabular": ("neural", neural_curve),
}


def test_learning_curves_tick_the_sizes_measured_and_keep_labels_apart() -> None:
    frame = tidy(synthetic_results(MODELS, sizes=SIZES, seeds=3))
    figure = learning_curve_figure(
        model_curves(frame), family_curves(frame), crossover(frame, "toy", n_boot=50)
    )
    axis = figure.axes[0]
    assert sorted(axis.get_xticks()) == list(SIZES)
    shown = [label.get_text() for label in axis.get_xticklabels() if label.get_visible()]
    assert {"50", "150", "400", "1,000", "5,000"} <= set(shown)
    assert not overlapping_tick_labels(figure)
    assert not sticks_out(figure)  # every model's name fits (in the legend)
    legend = [text.get_text() for text in figure.legends[0].get_texts()]
    assert set(MODELS) <= set(legend)


def test_pareto_ticks_are_plain_numbers_that_do_not_overlap() -> None:
    frame = tidy(synthetic_results(MODELS, sizes=(100, 200), seeds=2))
    rng = np.random.default_rng(0)
    # Tuning times from a tenth of a second to hours: the range that overlapped before.
    frame["tuning_seconds"] = 10 ** rng.uniform(-1, 4.3, len(frame))
    figure = pareto_figure(pareto_front(frame))
    labels = [label.get_text() for label in figure.axes[0].get_xticklabels() if label.get_text()]
    assert labels and not any("×" in label or "^" in label for label in labels), labels
    assert not overlapping_tick_labels(figure)
    assert not sticks_out(figure)
