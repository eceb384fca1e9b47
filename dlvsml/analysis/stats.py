"""Significance: do the differences between models and families survive across datasets?

- **Friedman + post-hoc** (Demšar 2006): per modality and size regime, each dataset is a block
  and each model a treatment; a model's value in a block is its mean score over the regime's sizes
  and seeds. Average ranks (1 = best), Friedman's p-value, and Nemenyi pairwise p-values that
  feed a critical-difference diagram.
- **Wilcoxon signed-rank**: best classical vs best neural (each chosen on validation) over
  (dataset, train size) pairs.
- **Win/tie/loss** counts of the same pairs, with a tie tolerance on the score gap.

Too little data gives a result whose ``message`` says what is missing instead of an exception.

Example::

    pairs = family_pairs(tidy(results))
    wilcoxon_test(pairs[pairs["modality"] == "tabular"])
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scikit_posthocs as sp
from matplotlib.figure import Figure
from scipy import stats

from dlvsml.analysis.costs import FAMILY_COLOURS
from dlvsml.analysis.curves import family_best

MIN_DATASETS = 3
MIN_MODELS = 3


@dataclass(frozen=True)
class SizeRegimes:
    """Train-size buckets: ``small`` up to bounds[0], ``medium`` up to bounds[1], else ``large``.

    The defaults echo the usual advice: under ~1,000 labelled rows is small for any learner, and
    under 10,000 is where deep learning is said to be "prone to overfitting".
    """

    bounds: tuple[int, ...] = (1000, 10000)
    labels: tuple[str, ...] = ("small", "medium", "large")

    def label(self, train_size: pd.Series | np.ndarray) -> np.ndarray:
        index = np.searchsorted(np.asarray(self.bounds), np.asarray(train_size), side="left")
        return np.asarray(self.labels, dtype=object)[index]


@dataclass
class FriedmanResult:
    """Friedman test of models across datasets in one modality and size regime."""

    modality: str
    regime: str
    n_datasets: int
    models: list[str] = field(default_factory=list)
    families: dict[str, str] = field(default_factory=dict)
    statistic: float | None = None
    p_value: float | None = None
    average_ranks: pd.Series | None = None
    posthoc: pd.DataFrame | None = None
    message: str | None = None

    def as_dict(self) -> dict:
        ranks = None if self.average_ranks is None else self.average_ranks.to_dict()
        return {
            "modality": self.modality,
            "regime": self.regime,
            "n_datasets": self.n_datasets,
            "models": self.models,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "average_ranks": ranks,
            "message": self.message,
        }


def block_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Datasets × models table of mean scores over the (dataset, size) rows every model has.

    A model missing on more than half of the (dataset, size) rows (skipped above its size limit,
    say) is left out; then only rows where all remaining models ran are averaged, so no model's
    mean is taken over easier, smaller sizes than another's.
    """
    table = frame.groupby(["dataset", "train_size", "model"])["score"].mean().unstack("model")
    table = table.loc[:, table.notna().mean() > 0.5].dropna(axis=0, how="any")
    return table.groupby(level="dataset").mean()


def friedman_test(frame: pd.DataFrame, modality: str, regime: str) -> FriedmanResult:
    """Friedman and Nemenyi over the models of a (pre-filtered) tidy frame."""
    table = block_scores(frame)
    result = FriedmanResult(modality, regime, n_datasets=len(table), models=list(table.columns))
    families = frame.drop_duplicates("model").set_index("model")["family"]
    result.families = families[result.models].to_dict()
    if len(table) < MIN_DATASETS:
        result.message = f"not enough datasets (n={len(table)}; need ≥{MIN_DATASETS})"
        return result
    if table.shape[1] < MIN_MODELS:
        result.message = f"not enough models run on every dataset (n={table.shape[1]}; need ≥3)"
        return result
    statistic, p_value = stats.friedmanchisquare(*(table[m].to_numpy() for m in table.columns))
    result.statistic, result.p_value = float(statistic), float(p_value)
    ranks = table.rank(axis=1, ascending=False).mean().sort_values()
    result.average_ranks = ranks
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result.posthoc = sp.posthoc_nemenyi_friedman(table.reset_index(drop=True))
    return result


def friedman_tests(frame: pd.DataFrame, regimes: SizeRegimes | None = None) -> list[FriedmanResult]:
    """`friedman_test` for every modality and size regime present in a tidy frame."""
    regimes = regimes or SizeRegimes()
    labelled = frame.assign(regime=regimes.label(frame["train_size"]))
    results = []
    for modality in sorted(labelled["modality"].unique()):
        for regime in regimes.labels:
            subset = labelled[(labelled["modality"] == modality) & (labelled["regime"] == regime)]
            if len(subset):
                results.append(friedman_test(subset, modality, regime))
    return results


def cd_diagram(result: FriedmanResult, alpha: float = 0.05) -> Figure | None:
    """Critical-difference diagram of a Friedman result; None when the test was not run."""
    if result.average_ranks is None or result.posthoc is None:
        return None
    figure = Figure(figsize=(7, 0.6 + 0.3 * len(result.models)))
    axis = figure.subplots()
    colours = {
        model: FAMILY_COLOURS.get(result.families.get(model), "grey") for model in result.models
    }
    sp.critical_difference_diagram(
        result.average_ranks, result.posthoc, alpha=alpha, ax=axis, color_palette=colours
    )
    p_text = f"Friedman p = {result.p_value:.3g}, {result.n_datasets} datasets"
    axis.set_title(f"{result.modality}, {result.regime} sizes ({p_text})", fontsize=9)
    figure.tight_layout()
    return figure


def family_pairs(frame: pd.DataFrame, regimes: SizeRegimes | None = None) -> pd.DataFrame:
    """Per (dataset, size): mean score of the best classical and best neural model, and the gap.

    The best model of a family is chosen on validation per seed (`curves.family_best`); the pair
    averages over seeds, so each (dataset, size) counts once.
    """
    regimes = regimes or SizeRegimes()
    best = family_best(frame)
    table = best.pivot_table(
        index=["dataset", "modality", "train_size"], columns="family", values="score"
    )
    columns = ["dataset", "modality", "train_size", "regime", "classical", "neural", "gap"]
    if not {"classical", "neural"} <= set(table.columns):
        return pd.DataFrame(columns=columns)
    pairs = table[["classical", "neural"]].dropna().reset_index()
    pairs["gap"] = pairs["neural"] - pairs["classical"]
    pairs["regime"] = regimes.label(pairs["train_size"])
    return pairs[columns]


def wilcoxon_test(pairs: pd.DataFrame, column: str = "gap", min_pairs: int = 6) -> dict:
    """Wilcoxon signed-rank of ``column`` against 0 (positive: neural better), with direction.

    With fewer than ``min_pairs`` pairs even a unanimous sign cannot reach p < 0.05, so the test
    is reported as not run.
    """
    values = pairs[column].astype(float).to_numpy()
    values = values[np.isfinite(values)]
    result = {
        "n_pairs": int(values.size),
        "n_datasets": int(pairs["dataset"].nunique()) if "dataset" in pairs else None,
        "median": float(np.median(values)) if values.size else None,
        "statistic": None,
        "p_value": None,
        "better": None,
        "message": None,
    }
    if values.size < min_pairs or np.all(values == 0):
        result["message"] = f"not enough pairs (n={values.size}; need ≥{min_pairs})"
        return result
    test = stats.wilcoxon(values)
    result["statistic"], result["p_value"] = float(test.statistic), float(test.pvalue)
    result["better"] = "neural" if result["median"] > 0 else "classical"
    return result


def win_tie_loss(pairs: pd.DataFrame, tie_tolerance: float = 0.005) -> dict[str, int]:
    """Counts of pairs where neural wins, ties (|gap| ≤ tolerance) or loses, from neural's side."""
    gap = pairs["gap"].astype(float)
    return {
        "neural_wins": int((gap > tie_tolerance).sum()),
        "ties": int((gap.abs() <= tie_tolerance).sum()),
        "classical_wins": int((gap < -tie_tolerance).sum()),
    }


def family_comparison(
    frame: pd.DataFrame, regimes: SizeRegimes | None = None, tie_tolerance: float = 0.005
) -> pd.DataFrame:
    """Wilcoxon and win/tie/loss of the family pairs, per modality and regime and overall."""
    pairs = family_pairs(frame, regimes)
    groups = [("all", "all", pairs)]
    for (modality, regime), group in pairs.groupby(["modality", "regime"], sort=True):
        groups.append((modality, regime, group))
    rows = []
    for modality, regime, group in groups:
        test = wilcoxon_test(group)
        rows.append(
            {"modality": modality, "regime": regime, **test, **win_tie_loss(group, tie_tolerance)}
        )
    return pd.DataFrame(rows)
