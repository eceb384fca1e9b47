"""The learning guard: did a cell's best model learn anything the dummy does not know?

A model predicting the majority class scores 0.5 balanced accuracy; two such models "tie". So every
cell also scores the dummy (``sklearn.dummy``: class priors / the training mean) on its validation
split, and is flagged ``no_signal`` when its best model does not beat it convincingly:

- its validation score is not better than the dummy's, or
- a permutation test says a score as good is likely from predictions that know nothing about the
  labels: the best model's validation predictions are scored against `PERMUTATIONS` shuffles of
  the validation labels, and the share at least as good (the p-value) is above `ALPHA` divided by
  the number of trials (the best of *n* trials was picked on these same rows, so *n* chances;
  at most `MAX_CORRECTION`).

Only validation rows are used, so the flag is known before the test split is looked at, like the
model choice itself. `unlearned_pairs` turns flags into (dataset, size) pairs where no model of any
family learned: the report calls these "no model learned", not a tie, and the recommender's
evidence leaves them out.

Example::

    signal = learning_signal(outcome.estimator, data, task="binary", metric="balanced_accuracy",
                             n_classes=2, n_trials=5, seed=0)
    signal.no_signal, signal.dummy_score, signal.p_value
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.dummy import DummyClassifier, DummyRegressor

from dlvsml.metrics import Predictions, direction, predict, score

PERMUTATIONS = 1000
SLOW_PERMUTATIONS = 200  # for a metric scored one shuffle at a time (multiclass ROC AUC)
ALPHA = 0.05
MAX_CORRECTION = 10  # at most ALPHA / 10, which `SLOW_PERMUTATIONS` can still reach


@dataclass(frozen=True)
class Signal:
    """The guard's verdict on one cell (all on its validation split)."""

    no_signal: bool
    dummy_score: float
    p_value: float


def learning_signal(
    estimator: Any,
    X_val: Any,
    y_val: np.ndarray,
    y_train: np.ndarray,
    *,
    task: str,
    metric: str,
    n_classes: int | None,
    n_trials: int,
    seed: int,
) -> Signal:
    """Compare the fitted best model with the dummy on the validation rows (see module doc)."""
    best = predict(estimator, X_val, task, n_classes)
    dummy = dummy_score(y_train, y_val, task=task, metric=metric, n_classes=n_classes)
    sign = 1.0 if direction(metric) == "maximize" else -1.0
    value = score(metric, y_val, best, n_classes)
    shuffled = np.random.default_rng(seed).permuted(
        np.broadcast_to(np.asarray(y_val), (PERMUTATIONS, len(y_val))), axis=1
    )
    null = _scores(metric, shuffled, best, n_classes)
    as_good = int(np.sum(sign * null[np.isfinite(null)] >= sign * value - 1e-12))
    p_value = (as_good + 1) / (len(null) + 1)
    beats = bool(np.isfinite(value) and sign * value > sign * dummy + 1e-12)
    corrected = ALPHA / min(max(1, n_trials), MAX_CORRECTION)
    return Signal(no_signal=not beats or p_value > corrected, dummy_score=dummy, p_value=p_value)


def _scores(metric: str, labels: np.ndarray, best: Predictions, k: int | None) -> np.ndarray:
    """``metric`` of fixed predictions against each row of ``labels`` (shuffled y_val): one
    array operation where the metric allows, else `score` on the first `SLOW_PERMUTATIONS`."""
    fast = _VECTORISED.get(metric)
    has_proba = best.proba is not None or metric not in ("roc_auc", "log_loss")
    if fast is not None and has_proba and (metric != "roc_auc" or k == 2):
        return fast(labels, best)
    return np.array([score(metric, row, best, k) for row in labels[:SLOW_PERMUTATIONS]])


def _balanced_accuracy(labels: np.ndarray, best: Predictions) -> np.ndarray:
    classes = np.unique(labels[0])
    recalls = [
        ((labels == c) & (best.y_pred == c)).sum(1) / (labels[0] == c).sum() for c in classes
    ]
    return np.mean(recalls, axis=0)


def _f1_macro(labels: np.ndarray, best: Predictions) -> np.ndarray:
    classes = np.union1d(labels[0], best.y_pred)
    f1 = [
        2
        * ((labels == c) & (best.y_pred == c)).sum(1)
        / ((labels[0] == c).sum() + (best.y_pred == c).sum())
        for c in classes
    ]
    return np.mean(f1, axis=0)


def _roc_auc(labels: np.ndarray, best: Predictions) -> np.ndarray:
    ranks = rankdata(best.proba[:, 1])  # Mann-Whitney: AUC from the positives' rank sum
    positive = labels == 1
    n1 = positive[0].sum()
    n0 = labels.shape[1] - n1
    return (np.where(positive, ranks, 0).sum(1) - n1 * (n1 + 1) / 2) / (n1 * n0)


def _log_loss(labels: np.ndarray, best: Predictions) -> np.ndarray:
    proba = np.clip(best.proba, 1e-15, 1.0)
    return -np.log(proba[np.arange(labels.shape[1]), labels.astype(int)]).mean(1)


def _r2(labels: np.ndarray, best: Predictions) -> np.ndarray:
    total = ((labels[0] - labels[0].mean()) ** 2).sum()  # the same for every shuffle
    return 1 - ((labels - best.y_pred) ** 2).sum(1) / total


_VECTORISED: dict[str, Callable[[np.ndarray, Predictions], np.ndarray]] = {
    "accuracy": lambda labels, best: (labels == best.y_pred).mean(1),
    "balanced_accuracy": _balanced_accuracy,
    "f1_macro": _f1_macro,
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "rmse": lambda labels, best: np.sqrt(((labels - best.y_pred) ** 2).mean(1)),
    "mae": lambda labels, best: np.abs(labels - best.y_pred).mean(1),
    "r2": _r2,
}


def dummy_score(
    y_train: np.ndarray, y_val: np.ndarray, *, task: str, metric: str, n_classes: int | None
) -> float:
    """The validation score of the dummy fitted on the training labels (priors or mean)."""
    if task == "regression":
        dummy: Any = DummyRegressor(strategy="mean")
    else:
        dummy = DummyClassifier(strategy="prior")
    dummy.fit(np.zeros((len(y_train), 1)), y_train)
    predictions: Predictions = predict(dummy, np.zeros((len(y_val), 1)), task, n_classes)
    return score(metric, y_val, predictions, n_classes)


def unlearned_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """(dataset, train_size) pairs of a tidy frame where every finished cell is ``no_signal``.

    Cells recorded before the guard existed (no flag) count as having learned."""
    columns = ["dataset", "train_size", "n_cells"]
    if frame.empty or "no_signal" not in frame:
        return pd.DataFrame(columns=columns)
    flags = frame.assign(no_signal=frame["no_signal"].map(_flag))
    grouped = flags.groupby(["dataset", "train_size"], sort=True)["no_signal"]
    pairs = grouped.agg(["all", "size"]).reset_index()
    pairs = pairs[pairs["all"]].rename(columns={"size": "n_cells"})
    return pairs[columns].reset_index(drop=True)


def drop_unlearned(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the cells of `unlearned_pairs` (nothing to compare there)."""
    pairs = unlearned_pairs(frame)
    if pairs.empty:
        return frame
    keys = set(zip(pairs["dataset"], pairs["train_size"], strict=True))
    keep = [(d, s) not in keys for d, s in zip(frame["dataset"], frame["train_size"], strict=True)]
    return frame[keep].reset_index(drop=True)


def _flag(value: Any) -> bool:
    """A flag as MLflow tags, JSON or pandas give it back (``"true"``, True, NaN for none)."""
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value) if value is not None and value == value else False
