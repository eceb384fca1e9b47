"""The seconds budget alone stops tuning, seen through a real run's MLflow records."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from dlvsml.run.suite import run_spec
from dlvsml.spec import parse_spec

TRIALS = 30  # far more than fit in the seconds budget (a trial takes ~0.1-1 s here)
SECONDS = 1.0


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.mark.timeout(300)  # with the seconds ignored, 30 trials take a minute: fail, do not hang
def test_the_seconds_budget_alone_stops_tuning(workdir: Path) -> None:
    spec = parse_spec(
        {
            "name": "seconds",
            "datasets": ["builtin:breast_cancer"],
            "train_sizes": [40],
            "models": ["linear"],
            "budget": {"trials": TRIALS, "seconds": SECONDS},
        }
    )
    summary = run_spec(spec, progress=False)
    assert summary.failed == [] and len(summary.finished) == 1
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("seconds")
    [cell] = client.search_runs([experiment.experiment_id], "tags.kind = 'cell'")
    trials = client.search_runs([experiment.experiment_id], "tags.kind = 'trial'")
    seconds = [trial.data.metrics["trial_seconds"] for trial in trials]
    assert 1 <= len(trials) == cell.data.metrics["n_trials"] < TRIALS
    # No trial starts once the budget is spent: all but the last one fit within it.
    assert sum(seconds) - max(seconds) <= SECONDS
