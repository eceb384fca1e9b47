"""The objective of a cell's study: build, fit on train, score on validation.

A trial that raises is retried once, then recorded failed with its reason; the best fitted
model stays in memory so the winner is not refitted. Featurisers fitted on the cell's data are
memoised across trials (`FeatureMemo`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import optuna

from dlvsml.faults import fault_point
from dlvsml.metrics import direction, predict, score
from dlvsml.models import ModelContext, ModelSpec
from dlvsml.models.pipeline import FeatureMemo
from dlvsml.records import CellData
from dlvsml.tuning.budget import Ledger


class TrialFailed(Exception):
    """A trial that raised twice; Optuna records it FAIL and the study goes on."""


class Objective:
    """Build, fit on train, score on validation; keep the best fitted model in memory."""

    def __init__(
        self,
        model: ModelSpec,
        context: ModelContext,
        data: CellData,
        metric: str,
        ledger: Ledger,
        seconds: float | None,
    ) -> None:
        self.model, self.context, self.data, self.metric = model, context, data, metric
        self.ledger = ledger
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.maximise = direction(metric) == "maximize"
        self.best: tuple[int, float, Any, float] | None = None  # number, score, model, seconds
        self.features = FeatureMemo()  # featurisers fitted on this cell's data, by parameters

    def __call__(self, trial: optuna.Trial) -> float:
        if self.ledger.surplus(trial):
            trial.set_user_attr("surplus", True)
            trial.study.stop()
            raise _failed(trial, RuntimeError("the budget was reached by other workers"))
        context = replace(self.context, trial=trial, time_limit=self._time_left())
        try:  # e.g. defaults outside the search space: this trial fails, the others go on
            params = self.model.search_space(trial, context)
        except Exception as exc:
            raise _failed(trial, exc) from exc
        trial.set_user_attr("params", _plain(params))
        error: Exception | None = None
        for _ in range(2):
            try:
                estimator, fit_seconds, value = self.fit_and_score(params, context)
                break
            except optuna.TrialPruned:
                raise
            except Exception as exc:  # any model failure: retried once, then recorded
                error = exc
        else:
            raise _failed(trial, error) from error
        fault_point("trial_fitted")
        trial.set_user_attr("fit_seconds", fit_seconds)
        if self.best is None or self._better(value, self.best[1]):
            self.best = (trial.number, value, estimator, fit_seconds)
        return value

    def fit_and_score(
        self, params: Mapping[str, Any], context: ModelContext
    ) -> tuple[Any, float, float]:
        estimator = self.model.build(params, context)
        validation = (self.data.X_val, self.data.y_val)
        estimator = self.features.fit(estimator, self.data.X_train, self.data.y_train, validation)
        fit_seconds = self.features.fit_seconds  # as without the memo: featurisation included
        model, X_val = self.features.featurised(estimator, self.data.X_val)
        predictions = predict(model, X_val, context.task, context.n_classes)
        value = score(self.metric, self.data.y_val, predictions, context.n_classes)
        if not math.isfinite(value):
            raise FloatingPointError(
                f"validation {self.metric} is not finite (diverged, NaN predictions, "
                "or a metric the model cannot give)"
            )
        return estimator, fit_seconds, value

    def _better(self, value: float, than: float) -> bool:
        return value > than if self.maximise else value < than

    def _time_left(self) -> float | None:
        return None if self.deadline is None else max(1.0, self.deadline - time.monotonic())


def _failed(trial: optuna.Trial, error: Exception) -> TrialFailed:
    """Record why a trial failed (the tracker logs it) and the exception Optuna catches."""
    reason = f"{type(error).__name__}: {error}"[:500]
    trial.set_user_attr("fail_reason", reason)
    return TrialFailed(reason)


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as JSON values (Optuna stores user attributes as JSON; MLflow logs them)."""
    return {key: _json_value(value) for key, value in params.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, str | int | float | bool | None) else str(value)
