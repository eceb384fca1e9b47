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

A study that ``continues`` another (the same cell at the next smaller budget, when the budget is
an axis) starts with copies of that study's finished trials (`optuna.Study.add_trials`, tagged
``reused_from``): they keep their states and durations, so the ledger counts them toward this
budget's trials and seconds and only the difference is run; TPE samples from them, the defaults
are not run again, and the best of them is refitted if it stays the best.

Example::

    outcome = tune(cell.key, get_model("linear"), context, data,
                   metric="balanced_accuracy", budget=spec.budget, storage=storage_url(spec))
    outcome.params, outcome.validation_score
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.trial import FixedTrial, FrozenTrial, TrialState

from dlvsml.faults import fault_point
from dlvsml.metrics import direction
from dlvsml.models import ModelContext, ModelSpec
from dlvsml.records import CellData, TrialRecord
from dlvsml.spec import Budget
from dlvsml.stale_trials import OthersWait, fail_dead_trials
from dlvsml.stores import open_storage
from dlvsml.tuning.budget import COUNTED, TAKEN, Balance, Ledger
from dlvsml.tuning.objective import Objective, TrialFailed
from dlvsml.tuning.pruners import PRUNERS

_ENQUEUED = "fixed_params"  # system attribute of an enqueued trial (the defaults, or a retry)


class TuningFailed(RuntimeError):
    """No trial of a cell completed; the message lists why, ``trials`` holds every trial."""

    def __init__(self, message: str, trials: list[TrialRecord]) -> None:
        super().__init__(message)
        self.trials = trials


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
    continues: str | None = None,
) -> TuningOutcome:
    """Run (or continue) the cell's study until its budget is spent; return the best model.

    ``worker`` 0 is the suite's own; other numbers are extra workers on the same study (they
    sample with their own seed and leave the defaults trial to worker 0). ``continues`` names
    the study of a smaller budget whose finished trials a new study starts from."""
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
    fail_dead_trials(study)
    if worker == 0 and continues and not study.get_trials(deepcopy=False):
        _reuse(study, continues, storage)
    ledger = Ledger(budget)
    balance = ledger.open(study)
    if worker == 0 and model.defaults and _defaults_missing(balance):
        study.enqueue_trial(dict(model.defaults))
    objective = Objective(model, context, data, metric, ledger, balance.seconds_left)
    callbacks: list[Callable[..., None]] = [ledger]
    if on_trial:
        callbacks.append(_report(on_trial))
    _run_trials(study, objective, ledger, callbacks)
    return _outcome(study, objective, metric)


def _run_trials(
    study: optuna.Study,
    objective: Objective,
    ledger: Ledger,
    callbacks: list[Callable[..., None]],
) -> None:
    """Attempt this worker's share of the budget; then, while other workers' trials run, wait
    (one may be the best) and run the retries of trials whose worker died (they turn up as
    WAITING once the dead trial is recognised, see `dlvsml.stale_trials`)."""
    others = OthersWait(study.study_name)
    while True:
        balance = ledger.read(study)
        retries = balance.in_state(TrialState.WAITING)
        left = not balance.exhausted and not objective.time_is_up()
        if left and (retries or not ledger.attempts_spent):
            study.optimize(
                objective, timeout=balance.seconds_left, catch=(TrialFailed,), callbacks=callbacks
            )
            continue
        if not others.others_running(study):
            return


def _defaults_missing(balance: Balance) -> bool:
    """Whether the defaults have not run (or are not queued or running) and budget is left:
    they go first in a new study, and again when a failed cell is re-run."""
    live = balance.in_state(*TAKEN, TrialState.WAITING)
    return not balance.exhausted and not any(_ENQUEUED in t.system_attrs for t in live)


def _reuse(study: optuna.Study, source_name: str, storage: str) -> None:
    """Copy the finished trials of ``source_name`` (if that study exists yet) into ``study``."""
    try:
        source = optuna.load_study(study_name=source_name, storage=open_storage(storage))
    except KeyError:  # the smaller budget has not run (yet): this study starts from nothing
        return
    finished = source.get_trials(deepcopy=False, states=COUNTED)
    copies = []
    for trial in finished:
        if not trial.user_attrs.get("surplus"):
            twin = copy.deepcopy(trial)
            twin.user_attrs = {**trial.user_attrs, "reused_from": source_name}
            copies.append(twin)
    study.add_trials(copies)


def _sampler_seed(seed: int, worker: int) -> int:
    """The cell's seed for worker 0; a different, reproducible seed for each extra worker (the
    same seed would make every worker propose the same parameters)."""
    if worker == 0:
        return seed
    return int(np.random.SeedSequence([seed, worker]).generate_state(1)[0])


def _outcome(study: optuna.Study, objective: Objective, metric: str) -> TuningOutcome:
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
        reused_from=trial.user_attrs.get("reused_from"),
        stopped_by=trial.user_attrs.get("stopped_by"),
        n_iter_done=trial.user_attrs.get("n_iter_done"),
    )


def _startup(budget: Budget) -> int:
    # TPE's 10 random start-up trials would use up a small budget; keep half of it for TPE.
    return 10 if budget.trials is None else max(1, min(10, budget.trials // 2))


def _report(on_trial: Callable[[int, float | None], None]) -> Callable[..., None]:
    def callback(study: optuna.Study, trial: FrozenTrial) -> None:
        fault_point("trial_done")
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        on_trial(trial.number, study.best_value if completed else None)

    return callback
