"""Learning-curve figure of one dataset: family curves with CI bands, models, crossover marked.

Example::

    learning_curve_figure(model_curves(frame), family_curves(frame), crossover(frame, "adult"))
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from dlvsml.analysis.costs import FAMILY_COLOURS
from dlvsml.analysis.crossover import CROSSED
from dlvsml.analysis.ticks import declutter, size_ticks


def learning_curve_figure(
    model_points: pd.DataFrame,
    family_points: pd.DataFrame,
    crossing: dict | None = None,
    score_name: str = "score",
) -> Figure:
    """Score against train size (log axis, a tick at each size measured) for one dataset.

    Thin dashed lines are single models; thick lines with 95% CI bands (from 3 seeds on) are
    the families' models chosen on validation. A vertical line marks the crossover, a band its
    bootstrap CI; an extrapolated crossover is drawn dotted beyond the data. Lines are named in
    a legend beside the axes: labels at the line ends ran off the figure and into each other.
    """
    figure = Figure(figsize=(7.2, 3.8), layout="constrained")
    axis = figure.subplots()
    for family, curve in family_points.groupby("family", sort=True):
        colour = FAMILY_COLOURS.get(family, "grey")
        axis.fill_between(curve["train_size"], curve["ci_low"], curve["ci_high"], color=colour,
                          alpha=0.2, lw=0)  # fmt: skip
        axis.plot(curve["train_size"], curve["mean"], marker="o", lw=2, color=colour,
                  label=f"best {family} (chosen on validation)")  # fmt: skip
    styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
    for index, (model, curve) in enumerate(model_points.groupby("curve", sort=True)):
        colour = FAMILY_COLOURS.get(curve["family"].iloc[0], "grey")
        axis.plot(curve["train_size"], curve["mean"], ls=styles[index % len(styles)], lw=1,
                  alpha=0.6, color=colour, label=str(model))  # fmt: skip
    if crossing:
        _mark_crossover(axis, crossing)
    sizes = pd.concat([model_points["train_size"], family_points["train_size"]])
    size_ticks(axis, sizes)
    axis.set_xlabel("train size (examples)")
    axis.set_ylabel(f"test {score_name}")
    axis.set_title(str(family_points["dataset"].iloc[0]) if len(family_points) else "")
    axis.grid(alpha=0.3)
    figure.legend(loc="outside right upper", fontsize=8, frameon=False)
    declutter(figure)
    return figure


def _mark_crossover(axis: Axes, crossing: dict) -> None:
    if crossing.get("status") == CROSSED:
        size = crossing["crossover_size"]
        axis.axvline(size, color="black", lw=1, label=f"crossover ≈ {size:,.0f}")
        if crossing.get("ci_low") is not None:
            axis.axvspan(crossing["ci_low"], crossing["ci_high"], color="black", alpha=0.08)
    elif crossing.get("extrapolated"):
        size = crossing["extrapolated_size"]
        axis.axvline(size, color="black", lw=1, ls=":", label=f"extrapolated ≈ {size:,.0f}")
