"""Scores: the tuning metric of a cell and the test metrics every cell records.

``metric: auto`` tunes classification on **balanced accuracy** (it equals accuracy on balanced
data and does not reward predicting the majority class on imbalanced sets such as mammography)
and regression on **RMSE** (minimised). Probabilistic metrics (ROC AUC, log loss) are recorded on
the test split whenever the model has ``predict_proba``.

Example::

    resolve_metric("auto", "binary")  # 'balanced_accuracy'
    task_metrics("binary", y_true, y_pred, proba, n_classes=2)["roc_auc"]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

AUTO_METRIC = {
    "binary": "balanced_accuracy",
    "multiclass": "balanced_accuracy",
    "regression": "rmse",
}
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss")
REGRESSION_METRICS = ("rmse", "mae", "r2")


@dataclass(frozen=True)
class _Metric:
    score: Callable[[np.ndarray, np.ndarray, np.ndarray | None, int | None], float]
    needs_proba: bool
    greater_is_better: bool


def _roc_auc(y: np.ndarray, _: np.ndarray, proba: np.ndarray | None, k: int | None) -> float:
    if k == 2:
        return float(skm.roc_auc_score(y, proba[:, 1]))
    return float(skm.roc_auc_score(y, proba, multi_class="ovr", labels=list(range(k))))


_METRICS: dict[str, _Metric] = {
    "accuracy": _Metric(lambda y, p, _, __: float(skm.accuracy_score(y, p)), False, True),
    "balanced_accuracy": _Metric(
        lambda y, p, _, __: float(skm.balanced_accuracy_score(y, p)), False, True
    ),
    "f1_macro": _Metric(
        lambda y, p, _, __: float(skm.f1_score(y, p, average="macro", zero_division=0)),
        False,
        True,
    ),
    "roc_auc": _Metric(_roc_auc, True, True),
    "log_loss": _Metric(
        lambda y, _, q, k: float(skm.log_loss(y, q, labels=list(range(k)))), True, False
    ),
    "rmse": _Metric(lambda y, p, _, __: float(skm.root_mean_squared_error(y, p)), False, False),
    "mae": _Metric(lambda y, p, _, __: float(skm.mean_absolute_error(y, p)), False, False),
    "r2": _Metric(lambda y, p, _, __: float(skm.r2_score(y, p)), False, True),
}


@dataclass(frozen=True)
class Predictions:
    """What a fitted model says about some rows, and how long ``predict`` took."""

    y_pred: np.ndarray
    proba: np.ndarray | None
    predict_seconds: float


def resolve_metric(metric: str, task: str) -> str:
    """The metric a cell is tuned on (``auto`` picks per task, see the module docstring)."""
    return AUTO_METRIC[task] if metric == "auto" else metric


def direction(metric: str) -> str:
    """``maximize`` or ``minimize``, as Optuna spells it."""
    return "maximize" if _METRICS[metric].greater_is_better else "minimize"


def predict(estimator: Any, X: Any, task: str, n_classes: int | None) -> Predictions:
    """Predictions (and class probabilities aligned to 0..K-1, when the model has them).

    A model with ``predict_with_proba`` (dlvsml's boosters and nets, whose ``predict`` is the
    argmax of their probabilities) gives both from one pass over ``X``."""
    start = time.perf_counter()
    model, features = _featurised(estimator, X)
    if task != "regression" and hasattr(model, "predict_with_proba"):
        y_pred, proba = model.predict_with_proba(features)  # one pass gives both
    else:
        y_pred, proba = model.predict(features), None
    seconds = time.perf_counter() - start
    if task != "regression" and proba is None and hasattr(model, "predict_proba"):
        proba = model.predict_proba(features)
    if proba is not None:
        proba = _aligned_proba(model, np.asarray(proba), n_classes)
    return Predictions(np.asarray(y_pred), proba, seconds)


def _featurised(estimator: Any, X: Any) -> tuple[Any, Any]:
    """A pipeline's final model and ``X`` through its other steps, so that predictions and
    probabilities share one featurisation (TF-IDF or HOG of a test split takes seconds)."""
    steps = getattr(estimator, "steps", None)
    if not isinstance(steps, list) or len(steps) < 2:
        return estimator, X
    return steps[-1][1], estimator[:-1].transform(X)


def score(
    metric: str, y_true: np.ndarray, predictions: Predictions, n_classes: int | None
) -> float:
    """One metric; NaN when it cannot be computed (e.g. no probabilities, one class present)."""
    spec = _METRICS[metric]
    if spec.needs_proba and predictions.proba is None:
        return float("nan")
    if not np.all(np.isfinite(predictions.y_pred.astype(float))):
        return float("nan")
    try:
        return spec.score(y_true, predictions.y_pred, predictions.proba, n_classes)
    except ValueError:
        return float("nan")


def task_metrics(
    task: str, y_true: np.ndarray, predictions: Predictions, n_classes: int | None
) -> dict[str, float]:
    """Every test metric of the task; those that cannot be computed are left out."""
    names = REGRESSION_METRICS if task == "regression" else CLASSIFICATION_METRICS
    values = {name: score(name, y_true, predictions, n_classes) for name in names}
    return {name: value for name, value in values.items() if np.isfinite(value)}


def _aligned_proba(estimator: Any, proba: np.ndarray, n_classes: int | None) -> np.ndarray:
    # A model trained on a small subsample may not have seen every class: give those columns 0.
    # float32 outputs of nets are renormalised so log loss sees probabilities that sum to one.
    proba = proba.astype(np.float64)
    classes = getattr(estimator, "classes_", None)
    if n_classes is not None and classes is not None and proba.shape[1] != n_classes:
        full = np.zeros((proba.shape[0], n_classes))
        full[:, np.asarray(classes, dtype=int)] = proba
        proba = full
    totals = proba.sum(axis=1, keepdims=True)
    return np.divide(proba, totals, out=np.full_like(proba, np.nan), where=totals > 0)
