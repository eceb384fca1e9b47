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


def learning_curve_figure(
    model_points: pd.DataFrame,
    family_points: pd.DataFrame,
    crossing: dict | None = None,
    score_name: str = "score",
) -> Figure:
    """Score against train size (log axis) for one dataset's points.

    Thin dashed lines are single models; thick lines with 95% CI bands are the families' models
    chosen on validation. A vertical line marks the crossover, a band its bootstrap CI; an
    extrapolated crossover is drawn dotted beyond the data.
    """
    figure = Figure(figsize=(6.4, 3.8))
    axis = figure.subplots()
    for model, curve in model_points.groupby("curve", sort=True):
        colour = FAMILY_COLOURS.get(curve["family"].iloc[0], "grey")
        axis.plot(curve["train_size"], curve["mean"], ls="--", lw=0.8, alpha=0.5, color=colour)
        last = curve.iloc[-1]
        axis.annotate(model, (last["train_size"], last["mean"]), fontsize=6, color=colour,
                      xytext=(2, 0), textcoords="offset points", alpha=0.7)  # fmt: skip
    for family, curve in family_points.groupby("family", sort=True):
        colour = FAMILY_COLOURS.get(family, "grey")
        axis.fill_between(curve["train_size"], curve["ci_low"], curve["ci_high"], color=colour,
                          alpha=0.2, lw=0)  # fmt: skip
        axis.plot(curve["train_size"], curve["mean"], marker="o", lw=2, color=colour,
                  label=f"best {family} (chosen on validation)")  # fmt: skip
    if crossing:
        _mark_crossover(axis, crossing)
    axis.set_xscale("log")
    axis.set_xlabel("train size (examples)")
    axis.set_ylabel(f"test {score_name}")
    axis.set_title(str(family_points["dataset"].iloc[0]) if len(family_points) else "")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
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
