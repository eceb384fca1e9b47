"""Faults: a suite killed at each named point (`dlvsml.faults`), then Ctrl-C, then resumed.

One real `dlvsml run` after another on the same SQLite stores, each ended by ``DLVSML_FAULT`` at
a different point; after every crash the cells that FINISHED keep their run (id, start and end
time), and at the end every cell has exactly one FINISHED parent run and nothing is left
RUNNING. Model failures (an exception, a diverging net, a cell past its time or memory limit)
fail only their own cell, with the reason in MLflow.
"""

from __future__ import annotations

import resource
from dataclasses import replace
from pathlib import Path

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient

from dlvsml.models import get_model
from dlvsml.run import cell as cell_module
from dlvsml.run.plan import plan_cells
from dlvsml.run.suite import run_spec
from dlvsml.spec import load_spec, parse_spec
from dlvsml.tracking import results_frame
from tests.conftest import run_cli

SPEC = """\
name: faults
datasets: [builtin:breast_cancer]
train_sizes: [40, 80]
models: [linear]
seeds: [0, 1]
budget: {trials: 2}
"""
# (DLVSML_FAULT, exit code, cells FINISHED afterwards): the n-th pass of a point ends the run.
STEPS = [
    ("cell_data:2", -9, 1),  # the second cell's data loaded: its run open, no trial yet
    ("trial_fitted:2", -9, 1),  # inside its second trial: fitted, result not stored
    ("trial_done:2", -9, 2),  # the stale trial retried, the cell done; the next cell's 1st trial
    ("cell_logging:1", -9, 2),  # that cell tuned and tested, killed half-way through logging
    ("trial_done:1:INT", 130, 3),  # Ctrl-C in the last cell's first trial
    ("", 0, 4),  # no fault: the suite completes
]


def _cell_runs(client: MlflowClient) -> dict[str, list]:
    experiment = client.get_experiment_by_name("faults")
    runs: dict[str, list] = {}
    for run in client.search_runs([experiment.experiment_id], "tags.kind = 'cell'"):
        runs.setdefault(run.data.tags["cell_key"], []).append(run)
    return runs


def _finished(client: MlflowClient) -> dict[str, tuple]:
    return {
        key: (run.info.run_id, run.info.start_time, run.info.end_time)
        for key, runs in _cell_runs(client).items()
        for run in runs
        if run.info.status == "FINISHED"
    }


def test_killed_at_every_point_then_interrupted_then_resumed(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    keys = [cell.key for cell in plan_cells(load_spec(tmp_path / "spec.yaml")).cells]
    done: dict[str, tuple] = {}
    for fault, code, n_finished in STEPS:
        env = {"DLVSML_FAULT": fault, "DLVSML_TRIAL_GRACE_SECONDS": "3", "MLFLOW_TRACKING_URI": ""}
        result = run_cli("run", "spec.yaml", cwd=tmp_path, env=env, timeout=240)
        assert result.returncode == code, (fault, result.stdout, result.stderr[-2000:])
        assert "Traceback" not in result.stderr
        finished = _finished(client)
        assert set(finished) == set(keys[:n_finished]), fault
        for key, run in done.items():  # nothing that finished was recomputed or logged again
            assert finished[key] == run, f"{fault}: finished cell {key} changed"
        done = finished
        if code == 130:  # the progress display, then one line that says how to resume
            last = result.stderr.strip().splitlines()[-1]
            assert last == "interrupted; re-run the same command to resume where it stopped"

    runs = _cell_runs(client)
    assert set(runs) == set(keys)
    for key, cell_runs in runs.items():
        assert [r.info.status for r in cell_runs].count("FINISHED") == 1, key
        for run in cell_runs:
            if run.info.status != "FINISHED":
                assert run.info.status == "FAILED"
                assert run.data.tags["failure_reason"].startswith("interrupted")
    stale = [r for cell_runs in runs.values() for r in cell_runs if r.info.status == "FAILED"]
    assert len(stale) == 5  # one cell left open by each of the five faults
    experiment = client.get_experiment_by_name("faults").experiment_id
    assert client.search_runs([experiment], "attributes.status = 'RUNNING'") == []
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    states = {
        key: [t.state.name for t in optuna.load_study(study_name=key, storage=storage).trials]
        for key in keys
    }
    assert all(s.count("COMPLETE") == 2 for s in states.values()), states
    # Only the trial killed before its result was stored ran again (FAIL, then its retry).
    assert sorted(states[keys[1]]) == ["COMPLETE", "COMPLETE", "FAIL"]
    assert [len(s) for k, s in states.items() if k != keys[1]] == [2, 2, 2]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def _raises(params: dict, ctx) -> None:
    raise RuntimeError("this model is broken")


class _Sleeper:
    def fit(self, X, y, **kwargs):
        import time

        time.sleep(60)


class _Hog:
    def fit(self, X, y, **kwargs):
        self.buffer_ = np.empty(6 * 1024**3, dtype=np.uint8)  # 6 GB reserved, never touched


def _diverging(real):
    return lambda params, ctx: real.build({**params, "lr": 1e6, "max_epochs": 3}, ctx)


def test_failing_models_fail_only_their_cell_with_the_reason_in_mlflow(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception, a NaN loss, a cell past its time limit and one past its memory limit."""
    real = get_model
    broken = {
        "knn": lambda m: replace(m, build=_raises),
        "mlp": lambda m: replace(m, build=_diverging(m)),
        "svm": lambda m: replace(m, build=lambda params, ctx: _Sleeper()),
        "random_forest": lambda m: replace(m, build=lambda params, ctx: _Hog()),
    }
    monkeypatch.setattr(
        cell_module, "get_model", lambda name: broken.get(name, lambda m: m)(real(name))
    )
    spec = parse_spec(
        {
            "name": "broken",
            "datasets": ["builtin:breast_cancer"],
            "train_sizes": [40],
            "models": ["linear", *broken],
            "budget": {"trials": 1},
            "cell_timeout": 8,
            "cell_memory_mb": 1500,
        }
    )
    limit_before = resource.getrlimit(resource.RLIMIT_AS)
    summary = run_spec(spec, progress=False)
    assert summary.finished == ["breast_cancer/40/linear/0"]
    reasons = dict(summary.failed)
    frame = results_frame("broken").set_index("model")
    assert frame.loc["linear", "status"] == "finished"
    expected = {
        "knn": "this model is broken",
        "mlp": "training loss became nan",
        "svm": "exceeded cell_timeout of 8 s",
        "random_forest": "exceeded cell_memory_mb of 1500 MB",
    }
    for model, text in expected.items():
        assert text in reasons[f"breast_cancer/40/{model}/0"], reasons
        assert frame.loc[model, "status"] == "failed" and frame.loc[model, "run_status"] == "FAILED"
        assert text in frame.loc[model, "failure_reason"]
    assert "MemoryError" in frame.loc["random_forest", "failure_reason"]
    assert resource.getrlimit(resource.RLIMIT_AS) == limit_before  # the guard was lifted
