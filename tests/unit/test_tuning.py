"""Tuning: persistent studies that resume, defaults first, retries, failures, pruning."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dlvsml.models import ModelContext, ModelSpec
from dlvsml.records import CellData
from dlvsml.spec import Budget
from dlvsml.tuning import EpochScorePruner, TuningFailed, tune


def _logistic(
    calls: list[float] | None = None, fail_first: int = 0, sleep: float = 0.0
) -> ModelSpec:
    def search_space(trial: optuna.Trial, ctx: ModelContext) -> dict:
        return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}

    def build(params: dict, ctx: ModelContext):
        if calls is not None:
            calls.append(params["C"])
            if len(calls) <= fail_first:
                raise RuntimeError("flaky build")
        time.sleep(sleep)  # a slow fit, for the seconds budget
        return make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=500))

    return ModelSpec(
        name="test_logistic",
        family="classical",
        modalities=frozenset({"tabular"}),
        tasks=frozenset({"binary"}),
        search_space=search_space,
        build=build,
        defaults={"C": 0.5},
    )


@pytest.fixture(scope="module")
def data() -> CellData:
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(y))
    return CellData(X[rows[:80]], y[rows[:80]], X[rows[80:120]], y[rows[80:120]])


def _tune(
    model: ModelSpec,
    data: CellData,
    tmp_path: Path,
    trials: int,
    name: str = "cell",
    seconds: float | None = None,
):
    return tune(
        name,
        model,
        ModelContext(modality="tabular", task="binary", n_classes=2, seed=3),
        data,
        metric="balanced_accuracy",
        budget=Budget(trials=trials, seconds=seconds),
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
    )


def test_defaults_first_best_model_fitted_and_study_resumes(tmp_path: Path, data) -> None:
    first = _tune(_logistic(), data, tmp_path, trials=3)
    assert [t.number for t in first.trials] == [0, 1, 2]
    assert first.trials[0].params == {"C": 0.5}
    assert all(t.state == "COMPLETE" for t in first.trials)
    best = max(first.trials, key=lambda t: t.value)
    assert first.params == best.params
    assert first.validation_score == pytest.approx(best.value)
    assert first.estimator.predict(data.X_val).shape == data.y_val.shape
    assert first.tuning_seconds > 0 and first.fit_seconds > 0

    # The same budget again runs nothing: finished trials count toward it.
    calls: list[float] = []
    again = _tune(_logistic(calls), data, tmp_path, trials=3)
    assert len(again.trials) == 3
    assert again.params == first.params
    assert len(calls) == 1  # only the refit of the best trial, whose model was not in memory
    # A larger budget runs only what is missing.
    more = _tune(_logistic(), data, tmp_path, trials=5)
    assert [t.number for t in more.trials] == [0, 1, 2, 3, 4]


def test_the_seconds_budget_alone_stops_the_study(tmp_path: Path, data) -> None:
    # A trials cap far above what 1 s of 0.2 s fits allows: only the seconds can stop it.
    outcome = _tune(_logistic(sleep=0.2), data, tmp_path, trials=200, seconds=1.0)
    seconds = [t.seconds or 0.0 for t in outcome.trials]
    assert all(t.state == "COMPLETE" for t in outcome.trials)
    assert 2 <= len(seconds) < 200
    # A trial starts only while counted seconds are left (and at least 5 % of them, so a trial
    # can fit a step), and the study uses most of them before it stops.
    assert sum(seconds) >= 0.5 and sum(seconds[:-1]) < 1.0


def test_a_failing_trial_is_retried_once(tmp_path: Path, data) -> None:
    calls: list[float] = []
    outcome = _tune(_logistic(calls, fail_first=1), data, tmp_path, trials=2)
    assert [t.state for t in outcome.trials] == ["COMPLETE", "COMPLETE"]
    assert len(calls) == 3  # trial 0 twice (the retry succeeded), trial 1 once


def test_a_trial_failing_twice_is_recorded_and_no_completion_fails_the_cell(
    tmp_path: Path, data
) -> None:
    calls: list[float] = []
    with pytest.raises(TuningFailed, match="flaky build"):
        _tune(_logistic(calls, fail_first=100), data, tmp_path, trials=2)
    assert len(calls) == 4
    study = optuna.load_study(study_name="cell", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    states = [t.state.name for t in study.trials]
    assert states == ["FAIL", "FAIL"]
    assert "RuntimeError: flaky build" in study.trials[0].user_attrs["fail_reason"]


@pytest.mark.parametrize("study_direction", ["minimize", "maximize"])
def test_pruner_reads_epoch_scores_as_higher_is_better(study_direction: str) -> None:
    study = optuna.create_study(direction=study_direction, pruner=EpochScorePruner(2, 1))
    for final in (0.8, 0.9):
        trial = study.ask()
        for epoch in range(3):
            trial.report(final - 0.1 * (2 - epoch), epoch)
        study.tell(trial, 1.0)
    weak, strong = study.ask(), study.ask()
    weak.report(0.1, 2)
    strong.report(0.95, 2)
    assert weak.should_prune()
    assert not strong.should_prune()
    early = study.ask()
    early.report(0.0, 0)  # within the warm-up epochs: never pruned
    assert not early.should_prune()


def test_defaults_outside_the_search_space_fail_one_trial_not_the_cell(
    tmp_path: Path, data
) -> None:
    def search_space(trial: optuna.Trial, ctx: ModelContext) -> dict:
        return {"C": trial.suggest_categorical("C", [0.1, 1.0])}

    model = replace(_logistic(), search_space=search_space, defaults={"C": 5.0})
    outcome = _tune(model, data, tmp_path, trials=3)
    assert [t.state for t in outcome.trials] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert "ValueError" in outcome.trials[0].reason


def test_pruner_judges_a_trial_by_its_best_epoch_so_far() -> None:
    study = optuna.create_study(direction="maximize", pruner=EpochScorePruner(2, 1))
    for _ in range(2):
        trial = study.ask()
        for epoch, value in enumerate((0.5, 0.7, 0.8)):
            trial.report(value, epoch)
        study.tell(trial, 0.8)
    dipped = study.ask()
    dipped.report(0.85, 1)
    dipped.report(0.6, 2)  # one bad epoch after a good one: kept (early stopping keeps the best)
    assert not dipped.should_prune()
    behind = study.ask()
    behind.report(0.5, 1)
    behind.report(0.6, 2)
    assert behind.should_prune()


def test_pruner_reads_the_completed_trials_once_per_trial() -> None:
    class Counting(optuna.storages.InMemoryStorage):
        reads = 0

        def get_all_trials(self, *args, **kwargs):
            Counting.reads += 1
            return super().get_all_trials(*args, **kwargs)

    study = optuna.create_study(storage=Counting(), pruner=EpochScorePruner(1, 0))
    first = study.ask()
    first.report(0.5, 0)
    study.tell(first, 0.5)
    trial = study.ask()
    Counting.reads = 0
    for epoch in range(20):
        trial.report(0.9, epoch)
        trial.should_prune()
    assert Counting.reads <= 2
