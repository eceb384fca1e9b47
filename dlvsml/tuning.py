"""Tuning: one Optuna study per cell, persistent, so an interrupted cell continues where it was.

The study is named by the cell key and lives in an RDB storage (``sqlite:///optuna.db`` in the
working directory by default, any RDB URL from the spec's ``optuna_storage``). Only trials
that gave a result (complete or pruned) count toward the budget, so a resumed study runs what is
missing and no more, and a FAILED cell run again gets its budget again. TPE is seeded with the
cell seed; trial 0 is the model's defaults; neural models (which report a higher-is-better
score each epoch through ``ctx.trial``) are pruned by the median rule. A trial that raises is
retried once, then recorded failed with its reason. Every model of a cell gets the same budget.

Several workers (processes, machines; ``worker`` numbers them) can tune one study at once
through a shared RDB such as PostgreSQL: the budget holds in total, because trials running
elsewhere count toward it before a worker starts one, and a trial whose number shows it was
started past the budget in a race is dropped (recorded FAIL with ``surplus``, never scored). Each
running trial sends a heartbeat; one whose worker died goes stale after `GRACE_SECONDS`, is
recorded FAIL, and is retried once with the same parameters by a surviving worker. A worker
waits for the others' running trials before it picks the best.

Example::

    outcome = tune(cell.key, get_model("linear"), context, data,
                   metric="balanced_accuracy", budget=spec.budget, storage=storage_url(spec))
    outcome.params, outcome.validation_score
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import FixedTrial, FrozenTrial, TrialState

from dlvsml.errors import TrackingError
from dlvsml.faults import fault_point
from dlvsml.metrics import direction, predict, score
from dlvsml.models import ModelContext, ModelSpec
from dlvsml.models.pipeline import FeatureMemo
from dlvsml.models.time_budget import BudgetExceeded, Clock, fit_clock, training_end
from dlvsml.spec import Budget, ExperimentSpec
from dlvsml.sqlite import use_wal

# Trials that count toward the budget: those that gave a result. Failed ones do not, so
# re-running a FAILED cell (after fixing what broke it) gets its whole budget again.
_COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)
# Trials that take budget: counted, plus those running now (here or in another worker).
_TAKEN = (*_COUNTED, TrialState.RUNNING)
# A running trial records a heartbeat this often; one silent for GRACE_SECONDS is stale (its
# worker died): it is failed and retried once.
# DLVSML_TRIAL_GRACE_SECONDS shortens the grace where a resume should not wait a minute for the
# trial of a killed run (the fault tests); heartbeats come at a third of it, at most every 10 s.
GRACE_SECONDS = int(os.environ.get("DLVSML_TRIAL_GRACE_SECONDS", "60"))
HEARTBEAT_SECONDS = max(1, min(10, GRACE_SECONDS // 3))
_POLL_SECONDS = 1.0  # how often a worker looks whether the others' trials have finished
# A trial is not started with less than this share of the budget's seconds left.
MIN_TRIAL_SHARE = 0.05
_RETRY_OF = "failed_trial"  # system attribute Optuna gives the retry of a stale trial
_ENQUEUED = "fixed_params"  # system attribute of an enqueued trial (the defaults, or a retry)


class EpochScorePruner(optuna.pruners.BasePruner):
    """The median rule on per-epoch validation scores, where higher is better.

    A trial is stopped when its best score so far (early stopping keeps its best epoch, so one
    noisy epoch should not end it) is below the median of the completed trials' scores at the
    same epoch; only after ``n_startup_trials`` completed trials and ``n_warmup_steps`` epochs.
    Replaying 27 unpruned studies (`benchmarks/tuning_efficiency.py`), comparing the current
    epoch after 2 trials and 2 epochs pruned the eventual best trial in 13 of them; this rule
    did so in 4, for 67 % of the epochs instead of 43 %.

    Neural trainers report a higher-is-better score each epoch whatever the cell's metric, so
    Optuna's MedianPruner (which reads the study's direction) would prune the best trials of a
    cell that minimises RMSE; this one compares scores the way the trainer means them. The
    completed trials are read once per trial, not once per epoch (a storage query each).
    """

    def __init__(self, n_startup_trials: int = 3, n_warmup_steps: int = 5) -> None:
        self.n_startup_trials, self.n_warmup_steps = n_startup_trials, n_warmup_steps
        self._curves: tuple[int, list[dict[int, float]]] = (-1, [])  # trial number, curves

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        others = [curve[step] for curve in self._completed(study, trial.number) if step in curve]
        if len(others) < self.n_startup_trials:
            return False
        scores = [v for s, v in trial.intermediate_values.items() if s <= step and v == v]
        return not scores or max(scores) < float(np.nanmedian(others))

    def _completed(self, study: optuna.Study, number: int) -> list[dict[int, float]]:
        """Per-epoch scores of the completed trials, read at the first decision of a trial."""
        if self._curves[0] != number:
            completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            self._curves = (number, [dict(t.intermediate_values) for t in completed])
        return self._curves[1]


PRUNERS: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
    "classical": optuna.pruners.NopPruner,
    "neural": EpochScorePruner,
}


class TrialFailed(Exception):
    """A trial that raised twice; Optuna records it FAIL and the study goes on."""


class TuningFailed(RuntimeError):
    """No trial of a cell completed; the message lists why, ``trials`` holds every trial."""

    def __init__(self, message: str, trials: list[TrialRecord]) -> None:
        super().__init__(message)
        self.trials = trials


@dataclass(frozen=True)
class CellData:
    """The rows a cell tunes on: train and validation, both carved from its subsample."""

    X_train: Any
    y_train: np.ndarray
    X_val: Any
    y_val: np.ndarray


@dataclass(frozen=True)
class TrialRecord:
    """One trial as the tracker logs it (a nested MLflow run)."""

    number: int
    state: str
    params: dict[str, Any]
    value: float | None
    seconds: float | None
    reason: str | None = None
    # How the trial's model ended training (`dlvsml.models.time_budget.training_end`).
    stopped_by: str | None = None
    n_iter_done: int | None = None


@dataclass
class TuningOutcome:
    """The best trial's fitted model and what the study did."""

    estimator: Any
    params: dict[str, Any]
    validation_score: float
    fit_seconds: float
    tuning_seconds: float
    trials: list[TrialRecord]
    metric: str
    fit_cpu_seconds: float = 0.0  # process CPU seconds of the best model's fit and scoring


def storage_url(spec: ExperimentSpec) -> str:
    """The spec's ``optuna_storage``, else ``optuna.db`` in the working directory."""
    return spec.optuna_storage or f"sqlite:///{Path.cwd() / 'optuna.db'}"


@lru_cache(maxsize=8)
def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage (one per process and URL) with heartbeats, so a dead worker's trial is
    retried; SQLite waits for locks instead of failing."""
    retries = 2  # e.g. another worker was creating the same tables at the same moment
    while True:
        try:
            return _rdb_storage(url)
        except ImportError as exc:
            raise TrackingError(
                f"cannot open the Optuna storage {url!r}: its database driver is missing "
                f"({exc.__cause__ or exc}); for PostgreSQL: pip install 'dlvsml[postgres]'"
            ) from None
        except Exception as exc:  # SQLAlchemy raises many types; all mean "unusable URL"
            if not retries:
                raise TrackingError(
                    f"cannot open the Optuna storage {url!r} ({exc}); set optuna_storage to an "
                    "RDB URL such as sqlite:///optuna.db or postgresql+psycopg://user@host:5432/db"
                ) from None
            retries -= 1
            time.sleep(1.0)


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    use_wal(url)
    engine_kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else None
    with warnings.catch_warnings(category=optuna.exceptions.ExperimentalWarning):
        warnings.simplefilter("ignore")
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=1
            ),
        )


def tune(
    study_name: str,
    model: ModelSpec,
    context: ModelContext,
    data: CellData,
    *,
    metric: str,
    budget: Budget,
    storage: str,
    on_trial: Callable[[int, float | None], None] | None = None,
    worker: int = 0,
) -> TuningOutcome:
    """Run (or continue) the cell's study until its budget is spent; return the best model.

    ``worker`` 0 is the suite's own; other numbers are extra workers on the same study (they
    sample with their own seed and leave the defaults trial to worker 0)."""
    optuna.logging.set_verbosity(logging.ERROR)
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(storage),
        sampler=optuna.samplers.TPESampler(  # constant liar: workers spread out, not pile up
            seed=_sampler_seed(context.seed, worker),
            n_startup_trials=_startup(budget),
            constant_liar=True,
        ),
        pruner=PRUNERS[model.family](),
        direction=direction(metric),
        load_if_exists=True,
    )
    _fail_stale(study)
    if worker == 0 and model.defaults and _defaults_missing(study, budget):
        study.enqueue_trial(dict(model.defaults))
    objective = _Objective(model, context, data, metric, _seconds_left(study, budget), budget)
    attempts = _Attempts(_trials_left(study, budget))
    callbacks: list[Callable[..., None]] = [attempts]
    if budget.trials is not None:  # trials started by other workers meanwhile count too
        callbacks.append(optuna.study.MaxTrialsCallback(budget.trials, states=_TAKEN))
    if on_trial:
        callbacks.append(_report(on_trial))
    _run_trials(study, objective, budget, callbacks, attempts)
    return _outcome(study, objective, metric)


class _Attempts:
    """Stops a worker after the trials it may attempt: what was left of the budget when it
    started (failed trials use an attempt; retries of a dead worker's trials do not)."""

    def __init__(self, left: int | None) -> None:
        self.left = left

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if self.left is not None and _RETRY_OF not in trial.system_attrs:
            self.left -= 1
        if self.spent:
            study.stop()


def _run_trials(
    study: optuna.Study,
    objective: _Objective,
    budget: Budget,
    callbacks: list[Callable[..., None]],
    attempts: _Attempts,
) -> None:
    """Attempt this worker's share of the budget; then, while other workers' trials run, wait
    (one may be the best) and run the retries of trials whose worker died (they turn up as
    WAITING once the dead trial's heartbeat goes stale)."""
    while True:
        _fail_stale(study)
        retries = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        left = _budget_left(study, budget) and not objective.time_is_up()
        if left and (retries or not attempts.spent):
            study.optimize(
                objective,
                timeout=_seconds_left(study, budget),
                catch=(TrialFailed,),
                callbacks=callbacks,
            )
            continue
        if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            return
        time.sleep(_POLL_SECONDS)


def _defaults_missing(study: optuna.Study, budget: Budget) -> bool:
    """Whether the defaults have not run (or are not queued or running) and budget is left:
    they go first in a new study, and again when a failed cell is re-run."""
    live = study.get_trials(deepcopy=False, states=(*_TAKEN, TrialState.WAITING))
    return _budget_left(study, budget) and not any(_ENQUEUED in t.system_attrs for t in live)


def _fail_stale(study: optuna.Study) -> None:
    """Fail (and enqueue a retry of) running trials whose worker stopped sending heartbeats."""
    with warnings.catch_warnings(category=optuna.exceptions.ExperimentalWarning):
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)


def _sampler_seed(seed: int, worker: int) -> int:
    """The cell's seed for worker 0; a different, reproducible seed for each extra worker (the
    same seed would make every worker propose the same parameters)."""
    if worker == 0:
        return seed
    return int(np.random.SeedSequence([seed, worker]).generate_state(1)[0])


class _Objective:
    """Build, fit on train, score on validation; keep the best fitted model in memory."""

    def __init__(
        self,
        model: ModelSpec,
        context: ModelContext,
        data: CellData,
        metric: str,
        seconds: float | None,
        budget: Budget | None = None,
    ) -> None:
        self.model, self.context, self.data, self.metric = model, context, data, metric
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.budget_seconds = seconds
        self.refused = False  # a model refused the time left (`BudgetExceeded`)
        self.max_trials = None if budget is None else budget.trials
        self.maximise = direction(metric) == "maximize"
        # number, score, model, fit seconds, CPU seconds
        self.best: tuple[int, float, Any, float, float] | None = None
        self.features = FeatureMemo()  # featurisers fitted on this cell's data, by parameters

    def __call__(self, trial: optuna.Trial) -> float:
        if self._surplus(trial):
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

    def _surplus(self, trial: optuna.Trial) -> bool:
        """Whether trials started before this one (in any worker) already take the budget."""
        if self.max_trials is None:
            return False
        taken = trial.study.get_trials(deepcopy=False, states=_TAKEN)
        return sum(other.number < trial.number for other in taken) >= self.max_trials

    def _better(self, value: float, than: float) -> bool:
        return value > than if self.maximise else value < than

    def _time_left(self) -> float | None:
        # A trial started with little time left still gets to fit one step (round, epoch).
        return None if self.deadline is None else max(0.01, self.deadline - time.monotonic())


def _failed(trial: optuna.Trial, error: Exception) -> TrialFailed:
    reason = f"{type(error).__name__}: {error}"[:500]
    trial.set_user_attr("fail_reason", reason)
    return TrialFailed(reason)


def _outcome(study: optuna.Study, objective: _Objective, metric: str) -> TuningOutcome:
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get("surplus")]
    records = [_record(t) for t in trials]
    if not any(t.state == TrialState.COMPLETE for t in trials):
        reasons = "; ".join(f"trial {r.number}: {r.reason or r.state}" for r in records[:3])
        raise TuningFailed(f"no trial completed ({reasons})", records)
    best = study.best_trial
    if objective.best is not None and objective.best[0] == best.number:
        _, value, estimator, fit_seconds, fit_cpu_seconds = objective.best
    else:  # the best trial ran before an interruption: refit it from its params
        params = objective.model.search_space(FixedTrial(best.params), objective.context)
        fit_cpu_seconds = time.process_time()
        estimator, fit_seconds, value = objective.fit_and_score(params, objective.context)
        fit_cpu_seconds = time.process_time() - fit_cpu_seconds
    return TuningOutcome(
        estimator=estimator,
        params=best.user_attrs.get("params", dict(best.params)),
        validation_score=value,
        fit_seconds=fit_seconds,
        tuning_seconds=sum(r.seconds or 0.0 for r in records),
        trials=records,
        metric=metric,
        fit_cpu_seconds=fit_cpu_seconds,
    )


def _record(trial: FrozenTrial) -> TrialRecord:
    seconds = trial.duration.total_seconds() if trial.duration is not None else None
    return TrialRecord(
        number=trial.number,
        state=trial.state.name,
        params=trial.user_attrs.get("params", dict(trial.params)),
        value=trial.value if trial.state == TrialState.COMPLETE else None,
        seconds=seconds,
        reason=trial.user_attrs.get("fail_reason"),
        stopped_by=trial.user_attrs.get("stopped_by"),
        n_iter_done=trial.user_attrs.get("n_iter_done"),
    )


def _trials_left(study: optuna.Study, budget: Budget) -> int | None:
    if budget.trials is None:
        return None
    return budget.trials - len(study.get_trials(deepcopy=False, states=_TAKEN))


def _budget_left(study: optuna.Study, budget: Budget) -> bool:
    trials, seconds = _trials_left(study, budget), _seconds_left(study, budget)
    return (trials is None or trials > 0) and (seconds is None or seconds > 0)


def _seconds_left(study: optuna.Study, budget: Budget) -> float | None:
    if budget.seconds is None:
        return None
    spent = sum(  # cached featurisation counts at its cold cost (`time_budget.Clock.charge`)
        t.duration.total_seconds() + t.user_attrs.get("charged_seconds", 0.0)
        for t in study.get_trials(deepcopy=False, states=_COUNTED)
        if t.duration is not None
    )
    return budget.seconds - spent


def _startup(budget: Budget) -> int:
    # TPE's 10 random start-up trials would use up a small budget; keep half of it for TPE.
    return 10 if budget.trials is None else max(1, min(10, budget.trials // 2))


def _report(on_trial: Callable[[int, float | None], None]) -> Callable[..., None]:
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        fault_point("trial_done")
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        on_trial(trial.number, study.best_value if completed else None)

    return callback


def _plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Params as JSON values (Optuna stores user attributes as JSON; MLflow logs them)."""
    return {key: _json_value(value) for key, value in params.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, str | int | float | bool | None) else str(value)
