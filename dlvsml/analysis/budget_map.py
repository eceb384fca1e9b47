"""The size × budget map: which family wins at each train size under each tuning budget.

A spec with several ``budgets`` measures every cell once per budget. For each dataset and
budget, each family's model is chosen on validation per seed (`curves.family_best`, as on the
learning curves); a square (train size, budget) is won by the family with the higher mean test
score over seeds, by ``margin`` (the difference of those means, never negative; equal means are a
``tie``). A square is ``budget_bound`` when a chosen model's cell was (`dlvsml.run.budget_flags`):
its verdict says what wins under that budget, and may change with more compute. The crossover
size per budget is `crossover.crossing_size` on that budget's mean gap (neural - classical).

Cells recorded without a budget (before budgets existed) count as budget 0. The other analyses
read one budget only, the largest (`largest_budget`), so no cell is compared twice.

Example::

    squares = budget_squares(tidy(results))  # one row per dataset, budget, size
    budget_crossovers(tidy(results))  # crossover size per dataset and budget
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from dlvsml.analysis.costs import FAMILY_COLOURS
from dlvsml.analysis.crossover import CROSSED, MISSING_FAMILY, crossing_size
from dlvsml.analysis.curves import family_best

SQUARE_COLUMNS = [
    "dataset", "budget_index", "budget", "train_size", "winner", "margin",
    "classical", "neural", "budget_bound", "n_seeds",
]  # fmt: skip
CROSSOVER_COLUMNS = ["dataset", "budget_index", "budget", "status", "crossover_size"]


def with_budget(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``budget_index``, ``budget`` and ``budget_bound`` (defaults for cells
    recorded before budgets and flags existed)."""
    frame = frame.copy()
    index = frame["budget_index"] if "budget_index" in frame else pd.Series(0, frame.index)
    frame["budget_index"] = pd.to_numeric(index, errors="coerce").fillna(0).astype(int)
    label = frame["budget"] if "budget" in frame else pd.Series(None, frame.index, dtype=object)
    frame["budget"] = label.where(label.notna(), "budget " + frame["budget_index"].astype(str))
    bound = frame["budget_bound"] if "budget_bound" in frame else pd.Series(False, frame.index)
    frame["budget_bound"] = bound.fillna(False).astype(bool)
    return frame


def largest_budget(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the cells of the largest budget (all cells when the spec has one budget)."""
    if frame.empty or "budget_index" not in frame:
        return frame
    index = pd.to_numeric(frame["budget_index"], errors="coerce").fillna(0)
    return frame[index == index.max()].reset_index(drop=True)


def budget_squares(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, budget, train size) where both families have a chosen model."""
    frame = with_budget(frame)
    rows = []
    for (dataset, index), cells in frame.groupby(["dataset", "budget_index"], sort=True):
        chosen = family_best(cells)
        for size, square in chosen.groupby("train_size", sort=True):
            rows.append(_square(square, dataset, index, cells["budget"].iloc[0], size))
    squares = pd.DataFrame([row for row in rows if row], columns=SQUARE_COLUMNS)
    return squares.sort_values(["dataset", "budget_index", "train_size"], ignore_index=True)


def _square(square: pd.DataFrame, dataset: str, index: int, label: str, size: int) -> dict:
    """A square's winner from the seeds where both families have a chosen model."""
    scores = square.pivot_table(index="seed", columns="family", values="score").dropna()
    if not {"classical", "neural"} <= set(scores.columns) or scores.empty:
        return {}
    classical, neural = float(scores["classical"].mean()), float(scores["neural"].mean())
    winner = "tie" if classical == neural else "neural" if neural > classical else "classical"
    bound = square[square["seed"].isin(scores.index)]["budget_bound"].astype(bool).any()
    return {
        "dataset": dataset,
        "budget_index": int(index),
        "budget": label,
        "train_size": int(size),
        "winner": winner,
        "margin": abs(neural - classical),
        "classical": classical,
        "neural": neural,
        "budget_bound": bool(bound),
        "n_seeds": len(scores),
    }


def budget_crossovers(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and budget: the crossover status and size (`crossover.crossing_size`)."""
    squares = budget_squares(frame)
    rows = []
    for (dataset, index), group in with_budget(frame).groupby(["dataset", "budget_index"]):
        mine = squares[(squares["dataset"] == dataset) & (squares["budget_index"] == index)]
        status, size = MISSING_FAMILY, None
        if len(mine):
            gap = (mine["neural"] - mine["classical"]).to_numpy(float)
            status, size = crossing_size(mine["train_size"].to_numpy(float), gap)
        rows.append([dataset, int(index), group["budget"].iloc[0], status, size])
    return pd.DataFrame(rows, columns=CROSSOVER_COLUMNS)


def budget_map_figure(squares: pd.DataFrame, crossings: pd.DataFrame, dataset: str) -> Figure:
    """One dataset's map: train size across, budget up; each square coloured by its winner,
    with the margin written in it and hatched when budget-bound; a bar marks the crossover."""
    mine = squares[squares["dataset"] == dataset]
    sizes = sorted(mine["train_size"].unique())
    budgets = mine.drop_duplicates("budget_index").sort_values("budget_index")
    figure = Figure(figsize=(1.4 + 1.1 * len(sizes), 1.0 + 0.6 * len(budgets)))
    axis = figure.subplots()
    for _, square in mine.iterrows():
        x, y = sizes.index(square["train_size"]), _row(budgets, square["budget_index"])
        colour = FAMILY_COLOURS.get(square["winner"], "lightgrey")
        axis.add_patch(
            Rectangle(
                (x, y),
                1,
                1,
                facecolor=colour,
                alpha=0.55,
                edgecolor="white",
                hatch="///" if square["budget_bound"] else None,
                lw=1.5,
            )
        )
        text = f"{square['winner']}\n+{square['margin']:.3f}"
        axis.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=7)
    for _, crossing in crossings[crossings["dataset"] == dataset].iterrows():
        if crossing["status"] == CROSSED and crossing["budget_index"] in set(
            budgets["budget_index"]
        ):
            x = _position(sizes, float(crossing["crossover_size"]))
            y = _row(budgets, crossing["budget_index"])
            axis.plot([x, x], [y, y + 1], color="black", lw=2)
    axis.set_xlim(0, len(sizes))
    axis.set_ylim(0, len(budgets))
    axis.set_xticks(np.arange(len(sizes)) + 0.5, [f"{size:,}" for size in sizes])
    axis.set_yticks(np.arange(len(budgets)) + 0.5, list(budgets["budget"]))
    axis.set_xlabel("train size (examples); bar: crossover; hatched: budget-bound")
    axis.set_ylabel("tuning budget")
    axis.set_title(f"{dataset}: winning family and margin")
    figure.tight_layout()
    return figure


def _row(budgets: pd.DataFrame, index: int) -> int:
    return list(budgets["budget_index"]).index(index)


def _position(sizes: list[int], size: float) -> float:
    """Where a size falls on the map's axis: interpolated in log size between square centres."""
    centres = np.arange(len(sizes)) + 0.5
    return float(np.interp(np.log(size), np.log(np.asarray(sizes, float)), centres))
