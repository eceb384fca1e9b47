"""The headline: for each dataset, which family wins, by how much, from what size, how surely.

One row per dataset (per dataset and budget when the results hold several budgets): the family
whose validation-chosen model (`curves.family_best`) scores best at the **largest size
measured** (the data the user has), its model, the margin over the other family with a
t-interval over seeds (only with ≥ `curves.MIN_SEEDS` seeds, clipped to what a score gap can
be), the size from which the winner leads for good when the lead changed within the sizes
measured, a one-sample t-test of the per-seed margins, and whether the verdict rests on
budget-bound cells.

A verdict is one of the two families, ``tie`` (margin below ``min_gap``), or ``no signal``:
when no model beat chance (the ``no_signal`` cell flag), the families are not tied, both are
useless, and the table says so instead of reporting a margin between two guesses.

Example::

    table = verdicts(tidy(results))
    table[["dataset", "winner", "winner_model", "margin", "switch", "significance"]]
    modality_sentences(table)  # one sentence per modality
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from dlvsml.analysis.crossover import CROSSED, crossing_size, extrapolated_crossing, gap_matrix
from dlvsml.analysis.curves import MIN_SEEDS, family_best, mean_ci
from dlvsml.analysis.frame import score_range

TIE, NO_SIGNAL, UNKNOWN = "tie", "no signal", "unknown"
# Cell flags other parts of dlvsml may add to the results frame; absent means "not measured".
NO_SIGNAL_COLUMN = "no_signal"  # no model of the cell beat the dummy (chance)
BUDGET_BOUND_COLUMN = "budget_bound"  # the cell's score was cut short by its budget
BUDGET_COLUMN = "budget"  # the budget a cell ran under, when a spec gives several
VERDICT_COLUMNS = [
    "dataset", "budget", "modality", "score_name", "winner", "winner_model", "margin",
    "margin_low", "margin_high", "largest_size", "switch_size", "switch", "extrapolated_size",
    "p_value", "significant", "significance", "budget_bound", "n_sizes", "n_seeds",
]  # fmt: skip


def verdicts(frame: pd.DataFrame, min_gap: float = 0.005, alpha: float = 0.05) -> pd.DataFrame:
    """One verdict row per dataset (and budget) of a tidy frame; columns `VERDICT_COLUMNS`."""
    if frame.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    by_budget = BUDGET_COLUMN in frame and frame[BUDGET_COLUMN].nunique() > 1
    keys = ["dataset", BUDGET_COLUMN] if by_budget else ["dataset"]
    rows = []
    for key, group in frame.groupby(keys, sort=True):
        budget = key[1] if by_budget else None
        rows.append(_verdict(group, budget, min_gap, alpha))
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def _verdict(group: pd.DataFrame, budget: object, min_gap: float, alpha: float) -> dict:
    dataset = str(group["dataset"].iloc[0])
    score_name = str(group["score_name"].iloc[0])
    row = dict.fromkeys(VERDICT_COLUMNS) | {
        "dataset": dataset,
        "budget": budget,
        "modality": group["modality"].iloc[0],
        "score_name": score_name,
        "largest_size": int(group["train_size"].max()),
        "n_sizes": int(group["train_size"].nunique()),
        "n_seeds": int(group["seed"].nunique()),
        "budget_bound": _budget_bound(group),
    }
    if _no_signal(group):
        return row | {"winner": NO_SIGNAL, "significance": "no model beat chance"}
    sizes, gap = gap_matrix(group, dataset)
    if sizes.size == 0:
        families = sorted(group["family"].unique())
        return row | {"winner": UNKNOWN, "significance": f"only {', '.join(families)} measured"}
    mean_gap = np.nanmean(gap, axis=0)
    margins = gap[:, -1][np.isfinite(gap[:, -1])]
    neural_ahead = mean_gap[-1] > 0
    sign = 1.0 if neural_ahead else -1.0
    low, high = score_range(score_name)
    width = high - low
    margin, margin_low, margin_high = mean_ci(sign * margins, bounds=(-width, width))
    row |= {
        "largest_size": int(sizes[-1]),
        "n_sizes": int(sizes.size),
        "n_seeds": int(margins.size),
        "margin": margin,
        "margin_low": margin_low,
        "margin_high": margin_high,
    } | _significance(sign * margins, alpha)
    if margin < min_gap:
        return row | {"winner": TIE, "margin": abs(margin), "switch": "–"}
    winner, loser = ("neural", "classical") if neural_ahead else ("classical", "neural")
    row |= {"winner": winner, "winner_model": _chosen_model(group, winner, int(sizes[-1]))}
    status, switch_size = crossing_size(sizes, sign * mean_gap)
    if status == CROSSED:
        row |= {"switch_size": switch_size, "switch": f"{loser} ahead below ≈ {switch_size:,.0f}"}
    else:
        row["switch"] = f"{winner} ahead at every size"
    if winner == "classical":
        row["extrapolated_size"] = extrapolated_crossing(group, dataset)
    return row


def _significance(margins: np.ndarray, alpha: float) -> dict:
    """One-sample t-test of the winner's per-seed margins at the largest size against 0."""
    if margins.size < MIN_SEEDS:
        return {"significance": f"too few seeds to test ({margins.size}; need ≥{MIN_SEEDS})"}
    if np.ptp(margins) == 0:
        return {"significance": "no spread across seeds to test"}
    p_value = float(stats.ttest_1samp(margins, 0.0).pvalue)
    significant = p_value < alpha
    word = "significant" if significant else "not significant"
    return {
        "p_value": p_value,
        "significant": significant,
        "significance": f"{word}, p = {p_value:.2g}",
    }


def _chosen_model(group: pd.DataFrame, family: str, size: int) -> str:
    """The model validation chose most often for ``family`` at ``size`` (ties: name order)."""
    best = family_best(group)
    chosen = best[(best["family"] == family) & (best["train_size"] == size)]["model"]
    counts = chosen.value_counts()
    return str(sorted(counts[counts == counts.max()].index)[0])


def _no_signal(group: pd.DataFrame) -> bool:
    """Every cell at the largest size is flagged as no better than chance."""
    if NO_SIGNAL_COLUMN not in group:
        return False
    largest = group[group["train_size"] == group["train_size"].max()][NO_SIGNAL_COLUMN]
    flags = largest.dropna().astype(bool)
    return bool(len(flags)) and bool(flags.all())


def _budget_bound(group: pd.DataFrame) -> bool | None:
    """Whether any cell at the largest size was budget-bound; None when no cell says."""
    if BUDGET_BOUND_COLUMN not in group:
        return None
    largest = group[group["train_size"] == group["train_size"].max()][BUDGET_BOUND_COLUMN]
    flags = largest.dropna()
    return bool(flags.astype(bool).any()) if len(flags) else None


def modality_sentences(table: pd.DataFrame) -> list[str]:
    """One plain sentence per modality summarising its verdict rows."""
    sentences: list[str] = []
    if table.empty:
        return sentences
    for modality, group in table.groupby("modality", sort=True):
        parts = []
        for outcome in ("classical", "neural", TIE, NO_SIGNAL, UNKNOWN):
            rows = group[group["winner"] == outcome]
            if not len(rows):
                continue
            names = ", ".join(_named(row) for row in rows.to_dict("records"))
            label = {
                TIE: "tie on",
                NO_SIGNAL: "no model beats chance on",
                UNKNOWN: "one family only on",
            }.get(outcome, f"{outcome} wins on")
            parts.append(f"{label} {len(rows)} ({names})")
        significant = int(group["significant"].fillna(False).astype(bool).sum())
        total = len(group)
        noun = "dataset" if total == 1 else "datasets"
        sentences.append(
            f"{str(modality).capitalize()}, {total} {noun}: {'; '.join(parts)}; "
            f"significant on {significant} of {total}."
        )
    return sentences


def _named(row: dict) -> str:
    name = str(row["dataset"]) + (f" at budget {row['budget']}" if row.get("budget") else "")
    size = row.get("switch_size")
    if size is not None and np.isfinite(size):
        return f"{name}, from ≈ {size:,.0f}"
    return name


DISPLAY_COLUMNS = {
    "dataset": "Dataset",
    "winner": "Winner",
    "model": "Model",
    "margin": "Margin (95% CI)",
    "switch": "Lead changes",
    "significance": "Significance",
    "budget_bound": "Budget-bound",
    "measured": "Measured",
}


def display_rows(table: pd.DataFrame) -> list[dict[str, str]]:
    """The verdict table as text cells (keys `DISPLAY_COLUMNS`), for the report and terminal."""
    rows = []
    for row in table.to_dict("records"):
        dataset = str(row["dataset"]) + (f" @ {row['budget']}" if row.get("budget") else "")
        switch = row["switch"] or "–"
        if row.get("extrapolated_size") is not None and np.isfinite(row["extrapolated_size"]):
            switch += f"; neural may overtake ≈ {row['extrapolated_size']:,.0f} (extrapolated)"
        bound = row["budget_bound"]
        rows.append(
            {
                "dataset": dataset,
                "winner": str(row["winner"]),
                "model": row["winner_model"] or "–",
                "margin": _margin_text(row),
                "switch": switch,
                "significance": row["significance"] or "–",
                "budget_bound": UNKNOWN if bound is None else ("yes" if bound else "no"),
                "measured": f"{row['n_sizes']} sizes to {row['largest_size']:,}, "
                f"{row['n_seeds']} seed{'s' if row['n_seeds'] != 1 else ''}",
            }
        )
    return rows


def _margin_text(row: dict) -> str:
    margin = row["margin"]
    if margin is None or not np.isfinite(margin):
        return "–"
    text = f"{margin:.3f} {row['score_name']}"
    low, high = row["margin_low"], row["margin_high"]
    if low is not None and np.isfinite(low):
        return f"{text} ({low:.3f} – {high:.3f})"
    return f"{text} (no interval: < {MIN_SEEDS} seeds)"
