"""The tidy results frame every analysis starts from: finished cells, one comparable score.

Cells are compared on one **score** per task, oriented so that higher is better:

- classification: the test value of the metric the cell was tuned on (balanced accuracy by
  default), so the model chosen on validation is judged on the same yardstick on test; a
  lower-is-better tuning metric (log loss) is negated.
- regression: **test R²**, not RMSE. RMSE is in the target's units, so differences and "share of
  the best score" would mean something different on every dataset; R² is unit-free, and ranks are
  the same as for RMSE on one test split (R² = 1 - MSE / Var(y_test)).

``validation`` is the cell's validation score oriented the same way (higher is better); it is
what model selection inside a family uses, never the test score.

Example::

    tidy(results_frame("quick"))[["dataset", "train_size", "model", "score", "score_name"]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlvsml.metrics import direction

FAMILIES = ("classical", "neural")
KEYS = ("dataset", "modality", "task", "train_size", "model", "family", "seed")
MEASURES = (
    "validation_score",
    "tuning_seconds",
    "fit_seconds",
    "predict_seconds_per_1k",
    "peak_memory_mb",
    "param_count",
    "model_bytes",
    "cost_usd",
)
# Tuning metric -> (test column used as score, sign making higher better).
_SCORE_OF_METRIC = {
    "accuracy": ("test_accuracy", 1.0),
    "balanced_accuracy": ("test_balanced_accuracy", 1.0),
    "f1_macro": ("test_f1_macro", 1.0),
    "roc_auc": ("test_roc_auc", 1.0),
    "log_loss": ("test_log_loss", -1.0),
    "rmse": ("test_r2", 1.0),
    "mae": ("test_r2", 1.0),
    "r2": ("test_r2", 1.0),
}
# Range of each score as `tidy` orients it (log loss negated): intervals are clipped to it.
_SCORE_RANGES = {
    "accuracy": (0.0, 1.0),
    "balanced_accuracy": (0.0, 1.0),
    "f1_macro": (0.0, 1.0),
    "roc_auc": (0.0, 1.0),
    "r2": (-np.inf, 1.0),
    "log_loss": (-np.inf, 0.0),
    "rmse": (0.0, np.inf),
    "mae": (0.0, np.inf),
}
_DEFAULT_METRIC = {
    "binary": "balanced_accuracy",
    "multiclass": "balanced_accuracy",
    "regression": "rmse",
}


def tidy(results: pd.DataFrame) -> pd.DataFrame:
    """Finished cells with ``score``, ``score_name`` and oriented ``validation`` columns.

    Columns the store lacks (no cell reported memory, say) are added as NaN so downstream code
    never has to ask. Cells without a finite score are dropped.
    """
    frame = results.copy()
    for column in (*KEYS, "status", "metric"):
        if column not in frame:
            frame[column] = pd.Series(dtype=object)
    for column in MEASURES:
        if column not in frame:
            frame[column] = np.nan
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame = frame[frame["status"].astype(str) == "finished"].copy()
    metric = frame["metric"].where(frame["metric"].notna(), frame["task"].map(_DEFAULT_METRIC))
    frame["metric"] = metric
    frame["score"] = np.nan
    frame["score_name"] = ""
    frame["validation"] = np.nan
    for name, rows in frame.groupby("metric").groups.items():
        column, sign = _SCORE_OF_METRIC.get(str(name), (f"test_{name}", 1.0))
        test = frame[column] if column in frame else pd.Series(np.nan, frame.index)
        frame.loc[rows, "score"] = pd.to_numeric(test.loc[rows], errors="coerce") * sign
        frame.loc[rows, "score_name"] = column.removeprefix("test_")
        validation_sign = 1.0 if _maximised(str(name)) else -1.0
        frame.loc[rows, "validation"] = frame.loc[rows, "validation_score"] * validation_sign
    frame = frame[np.isfinite(frame["score"].astype(float))]
    frame["train_size"] = frame["train_size"].astype(int)
    frame["seed"] = frame["seed"].astype(int)
    return frame.reset_index(drop=True)


def score_range(score_name: str) -> tuple[float, float]:
    """The values a score can take (``tidy`` orientation); unknown scores are unbounded.

    >>> score_range("balanced_accuracy")
    (0.0, 1.0)
    """
    return _SCORE_RANGES.get(str(score_name), (-np.inf, np.inf))


def _maximised(metric: str) -> bool:
    try:
        return direction(metric) == "maximize"
    except KeyError:
        return True


def failures(results: pd.DataFrame) -> pd.DataFrame:
    """Cells that did not finish (failed, skipped, still running), with their reasons."""
    if results.empty or "status" not in results:
        return pd.DataFrame(columns=["dataset", "train_size", "model", "seed", "status", "reason"])
    frame = results[results["status"].astype(str) != "finished"].copy()
    reason = frame["failure_reason"] if "failure_reason" in frame else pd.Series("", frame.index)
    frame["reason"] = reason.fillna("").astype(str)
    columns = ["dataset", "train_size", "model", "seed", "status", "reason"]
    return frame[columns].sort_values(columns[:4]).reset_index(drop=True)
