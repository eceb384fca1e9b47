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
from dlvsml.models.time_budget import BudgetExceeded, Clock, fit_clock, training_end
from dlvsml.records import CellData
from dlvsml.tuning.budget import Ledger

# A trial is not started with less than this share of the budget's seconds left.
MIN_TRIAL_SHARE = 0.05


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
        self.budget_seconds = seconds
        self.refused = False  # a model refused the time left (`BudgetExceeded`)
        self.maximise = direction(metric) == "maximize"
        # number, score, model, fit seconds, CPU seconds
        self.best: tuple[int, float, Any, float, float] | None = None
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
                with fit_clock(self._time_left(), len(self.data.y_val)) as clock:
                    cpu = time.process_time()
                    estimator, fit_seconds, value = self.fit_and_score(params, context)
                    cpu = time.process_time() - cpu
                break
            except optuna.TrialPruned:
                raise
            except BudgetExceeded as exc:  # no model fits the time left: the study is over
                trial.set_user_attr("longest_step_seconds", clock.longest_step)
                self.refused = True
                trial.study.stop()
                raise _failed(trial, exc) from exc
            except Exception as exc:  # any model failure: retried once, then recorded
                error = exc
        else:
            raise _failed(trial, error) from error
        fault_point("trial_fitted")
        trial.set_user_attr("fit_seconds", fit_seconds)
        self._account(trial, estimator, clock, cpu)
        if self.best is None or self._better(value, self.best[1]):
            self.best = (trial.number, value, estimator, fit_seconds, cpu)
        return value

    def _account(self, trial: optuna.Trial, estimator: Any, clock: Clock, cpu: float) -> None:
        """Record how the trial's training ended and what it cost; cached featurisation's
        charged seconds count toward the cell's budget like seconds spent."""
        stopped_by, n_iter_done = training_end(estimator)
        trial.set_user_attr("stopped_by", stopped_by)
        trial.set_user_attr("n_iter_done", n_iter_done)
        trial.set_user_attr("cpu_seconds", cpu)
        trial.set_user_attr("charged_seconds", clock.charged)
        trial.set_user_attr("longest_step_seconds", clock.longest_step)
        if self.deadline is not None:
            self.deadline -= clock.charged
        if self.time_is_up():
            trial.study.stop()

    def time_is_up(self) -> bool:
        """Whether a model refused the time left, or too little is left for another trial
        (`MIN_TRIAL_SHARE` of the budget: a trial takes at least one round or epoch)."""
        if self.refused:
            return True
        if self.best is None:  # every cell gets one trial to produce a model, however short
            return False
        if self.deadline is None or not self.budget_seconds:
            return False
        return self.deadline - time.monotonic() < MIN_TRIAL_SHARE * self.budget_seconds

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
        # A trial started with little time left still gets to fit one step (round, epoch).
        return None if self.deadline is None else max(0.01, self.deadline - time.monotonic())


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
