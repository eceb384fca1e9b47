"""What each model costs: time to tune and fit, prediction latency, memory, size, money.

Medians, not means: one slow cell (a cold cache, a busy machine) should not speak for a model.
The time-to-accuracy **Pareto front** of a modality keeps the models no other model beats on
both median tuning time and score. Score here is the mean **gap to the best model** of the same
(dataset, train size), so 0 means "best everywhere"; raw scores averaged over datasets would
reward models that happened to run only on easy datasets.

Example::

    front = pareto_front(tidy(results))
    pareto_figure(front).savefig("pareto.png")
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dlvsml.analysis.frame import MEASURES
from dlvsml.analysis.ticks import declutter, plain_log_ticks

# Every recorded measure except the validation score is a cost.
COST_COLUMNS = tuple(column for column in MEASURES if column != "validation_score")
FAMILY_COLOURS = {"classical": "#1f77b4", "neural": "#d62728"}


def cost_table(
    frame: pd.DataFrame, by: tuple[str, ...] = ("modality", "family", "model")
) -> pd.DataFrame:
    """Median of every recorded cost column, mean score and cell count, per group of ``by``."""
    columns = [c for c in COST_COLUMNS if c in frame and frame[c].notna().any()]
    grouped = frame.groupby(list(by), sort=True)
    table = grouped[columns].median()
    table["mean_score"] = grouped["score"].mean()
    table["n_cells"] = grouped.size()
    return table.reset_index()


def score_gaps(frame: pd.DataFrame) -> pd.Series:
    """Each cell's score minus the best model's mean score at its (dataset, train size)."""
    means = frame.groupby(["dataset", "train_size", "model"])["score"].transform("mean")
    best = means.groupby([frame["dataset"], frame["train_size"]]).transform("max")
    return frame["score"] - best


def pareto_front(frame: pd.DataFrame) -> pd.DataFrame:
    """Per modality and model: median tuning seconds, mean gap to best, and ``pareto`` flag."""
    with_gap = frame.assign(gap_to_best=score_gaps(frame))
    grouped = with_gap.groupby(["modality", "model", "family"], sort=True)
    table = grouped.agg(
        tuning_seconds=("tuning_seconds", "median"), gap_to_best=("gap_to_best", "mean")
    ).reset_index()
    table["pareto"] = False
    for _, group in table.groupby("modality"):
        for index, row in group.iterrows():
            others = group.drop(index)
            dominated = (
                (others["tuning_seconds"] <= row["tuning_seconds"])
                & (others["gap_to_best"] >= row["gap_to_best"])
                & (
                    (others["tuning_seconds"] < row["tuning_seconds"])
                    | (others["gap_to_best"] > row["gap_to_best"])
                )
            )
            table.loc[index, "pareto"] = bool(
                np.isfinite(row["tuning_seconds"]) and not dominated.any()
            )
    return table


def pareto_figure(front: pd.DataFrame) -> Figure:
    """One panel per modality: tuning time (log) against gap to best, the front joined by a line."""
    modalities = sorted(front["modality"].unique())
    figure = Figure(figsize=(4.8 * max(1, len(modalities)), 3.8), layout="constrained")
    axes = figure.subplots(1, max(1, len(modalities)), squeeze=False)
    for axis, modality in zip(axes[0], modalities, strict=False):
        group = front[front["modality"] == modality]
        for family, rows in group.groupby("family"):
            axis.scatter(
                rows["tuning_seconds"], rows["gap_to_best"],
                color=FAMILY_COLOURS.get(family, "grey"), label=family, zorder=3,
            )  # fmt: skip
            for _, row in rows.iterrows():
                axis.annotate(row["model"], (row["tuning_seconds"], row["gap_to_best"]), fontsize=7,
                              xytext=(3, 3), textcoords="offset points")  # fmt: skip
        edge = group[group["pareto"]].sort_values("tuning_seconds")
        axis.step(edge["tuning_seconds"], edge["gap_to_best"], where="post", color="black", lw=1)
        axis.margins(x=0.2, y=0.15)  # room for the model names beside the points
        plain_log_ticks(axis)
        axis.set_title(modality)
        axis.set_xlabel("median tuning seconds per cell")
        axis.set_ylabel("mean score gap to best model")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    declutter(figure)
    return figure
