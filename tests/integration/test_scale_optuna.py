"""Shared Optuna studies on a real PostgreSQL server: workers split one cell's budget exactly,
and a killed worker's trial is retried by another.

Skipped only where PostgreSQL's server binaries are absent (Debian: apt-get install postgresql).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dlvsml import records, stores, tuning
from dlvsml.models import ModelContext, ModelSpec
from dlvsml.spec import Budget
from tests.integration.postgres import postgres_bin, postgres_server

PG_BIN = postgres_bin()
pytestmark = pytest.mark.skipif(
    PG_BIN is None, reason="PostgreSQL server binaries are absent (apt-get install postgresql)"
)
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    assert PG_BIN is not None
    with postgres_server(PG_BIN) as url:
        yield url


def _space(trial: optuna.Trial, ctx: ModelContext) -> dict:
    return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}


def _build(seconds: float):
    def build(params: dict, ctx: ModelContext):
        if ctx.trial is not None:  # None when refitting the best trial another worker ran
            ctx.trial.set_user_attr("pid", os.getpid())
        time.sleep(seconds)  # slow enough that the workers' trials overlap
        return make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=500))

    return build


def _worker(url: str, study: str, trials: int, worker: int, seconds: float) -> None:
    """One tuning worker (a spawned process) with short heartbeats, as a test can wait for."""
    stores.HEARTBEAT_SECONDS, stores.GRACE_SECONDS = 1, 3
    X, y = load_breast_cancer(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(y))
    data = records.CellData(X[rows[:80]], y[rows[:80]], X[rows[80:120]], y[rows[80:120]])
    model = ModelSpec(
        name="slow_logistic",
        family="classical",
        modalities=frozenset({"tabular"}),
        tasks=frozenset({"binary"}),
        search_space=_space,
        build=_build(seconds),
        defaults={"C": 0.5},
    )
    tuning.tune(
        study,
        model,
        ModelContext(modality="tabular", task="binary", n_classes=2, seed=0),
        data,
        metric="balanced_accuracy",
        budget=Budget(trials=trials),
        storage=url,
        worker=worker,
    )


def _start(*args) -> multiprocessing.Process:
    process = SPAWN.Process(target=_worker, args=args)
    process.start()
    return process


def _trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=url).get_trials()


def test_two_workers_split_one_budget_exactly(postgres_url: str) -> None:
    workers = [_start(postgres_url, "shared", 10, worker, 0.4) for worker in (0, 1)]
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0

    trials = _trials(postgres_url, "shared")
    numbers = [t.number for t in trials]
    assert len(set(numbers)) == len(numbers)
    counted = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(counted) == 10
    # A trial started past the budget in a race is dropped as surplus; nothing else failed,
    # nothing is left running or waiting.
    others = [t for t in trials if t not in counted]
    assert all(t.state == TrialState.FAIL and t.user_attrs["surplus"] for t in others)
    assert len({t.user_attrs["pid"] for t in counted}) == 2  # both workers tuned
    assert sum(t.params == {"C": 0.5} for t in counted) == 1  # worker 0 ran the defaults
    assert len({t.params["C"] for t in counted}) == 10  # workers sample different points


def test_a_killed_workers_trial_is_retried_by_another(postgres_url: str) -> None:
    stuck = _start(postgres_url, "crash", 6, 0, 600.0)  # worker 0 hangs in trial 0 (defaults)
    deadline = time.monotonic() + 60
    while not any(t.state == TrialState.RUNNING for t in _safe_trials(postgres_url, "crash")):
        assert time.monotonic() < deadline, "worker 0 never started a trial"
        time.sleep(0.2)
    stuck.kill()
    stuck.join()
    survivor = _start(postgres_url, "crash", 6, 1, 0.05)
    survivor.join(timeout=120)
    assert survivor.exitcode == 0

    trials = _trials(postgres_url, "crash")
    by_state = Counter(t.state for t in trials)
    assert by_state == {TrialState.COMPLETE: 6, TrialState.FAIL: 1}
    dead = next(t for t in trials if t.state == TrialState.FAIL)
    assert dead.number == 0 and dead.params == {"C": 0.5}
    retry = next(t for t in trials if t.system_attrs.get("failed_trial") == dead.number)
    assert retry.state == TrialState.COMPLETE and retry.params == dead.params
    assert retry.user_attrs["pid"] == survivor.pid


def _safe_trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return _trials(url, study)
    except KeyError:  # the worker has not created the study yet
        return []
