"""Per-cell figures logged as MLflow artifacts: confusion matrix or residual plot (Agg, no GUI)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def confusion_matrix_figure(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str] | None, title: str
) -> Figure:
    """Counts of true (rows) against predicted (columns) classes on the test split."""
    n_classes = len(class_names) if class_names else int(max(y_true.max(), y_pred.max())) + 1
    names = list(class_names) if class_names else [str(k) for k in range(n_classes)]
    counts = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(counts, (y_true.astype(int), y_pred.astype(int)), 1)
    # Fixed margins instead of a layout engine, and the counts written in the cells instead of
    # a colour bar: a third of the drawing time, and this figure is drawn for every cell.
    side = min(10.0, 1.8 + 0.4 * n_classes)
    left, bottom, top, right = 1.1, 1.0, 0.45, 0.2  # inches: tick labels, axis labels, title
    figure = Figure(figsize=(side + left + right, side + bottom + top))
    width, height = figure.get_size_inches()
    figure.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height
    )
    axes = figure.subplots()
    axes.imshow(counts, cmap="Blues")
    if n_classes <= 30:
        low, span = counts.min(), max(1, counts.max() - counts.min())  # imshow's colour scale
        for (row, col), count in np.ndenumerate(counts):
            dark = (count - low) / span > 0.55
            axes.text(
                col,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    ticks = range(n_classes)
    axes.set_xticks(ticks, [name[:12] for name in names], rotation=90, fontsize=7)
    axes.set_yticks(ticks, [name[:12] for name in names], fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    return figure


def residual_figure(y_true: np.ndarray, y_pred: np.ndarray, title: str) -> Figure:
    """Residuals against predictions on the test split: structure here means a biased model."""
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    axes = figure.subplots()
    axes.scatter(y_pred, y_true - y_pred, s=6, alpha=0.5)
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true − predicted")
    axes.set_title(title, fontsize=9)
    return figure
