"""A tiny suite end to end: what MLflow holds, shared subsamples, failures that do not stop it."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from dlvsml.cli import app
from dlvsml.data import load_dataset, test_split
from dlvsml.data.splits import cell_rows
from dlvsml.errors import TrackingError
from dlvsml.models import get_model
from dlvsml.run import cell as cell_module
from dlvsml.run.plan import plan_cells
from dlvsml.run.suite import run_spec
from dlvsml.spec import parse_spec
from dlvsml.tracking import finished_cell_keys, results_frame, tracking_uri

SPEC = {
    "name": "tiny",
    "datasets": ["builtin:breast_cancer", "builtin:diabetes"],
    "train_sizes": [40, 80],
    "models": ["linear", "mlp"],
    # Seconds cap the nets' trials (the trainer stops at the time left), keeping the test short.
    "budget": {"trials": 2, "seconds": 3},
}
CELL_TAGS = {"dataset", "modality", "task", "train_size", "model", "family", "seed", "cell_key"}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def _test_rows(uri: str) -> tuple[np.ndarray, np.ndarray]:
    """The test rows and their labels, from the data layer's public split with default settings."""
    dataset = load_dataset(uri)
    _, test = test_split(dataset.y, dataset.task, fraction=0.2, cap=5000)
    return test, dataset.y[test]


def _dummy_score(uri: str, task: str) -> float:
    """What a model that learned nothing scores on the test rows: the majority class's share
    (accuracy), or the spread of the targets (RMSE of predicting their mean)."""
    _, y_test = _test_rows(uri)
    if task == "regression":
        return float(np.std(y_test))
    return float(np.unique(y_test, return_counts=True)[1].max() / len(y_test))


def _runs(client: MlflowClient, name: str, kind: str) -> list:
    experiment = client.get_experiment_by_name(name)
    return client.search_runs([experiment.experiment_id], f"tags.kind = '{kind}'")


def test_tiny_suite_is_logged_completely(workdir: Path) -> None:
    spec = parse_spec(SPEC)
    summary = run_spec(spec, progress=False)
    assert summary.failed == [] and len(summary.finished) == 8
    assert (workdir / "mlflow.db").is_file() and (workdir / "optuna.db").is_file()

    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    cells = {run.info.run_name: run for run in _runs(client, "tiny", "cell")}
    assert set(cells) == {c.label for c in plan_cells(spec).cells}
    for label, run in cells.items():
        tags, metrics = run.data.tags, run.data.metrics
        assert run.info.status == "FINISHED" and tags["status"] == "finished"
        assert set(tags) >= CELL_TAGS and tags["spec"] == "tiny" and tags["device"] == "cpu"
        assert label == f"{tags['dataset']}/{tags['train_size']}/{tags['model']}/{tags['seed']}"
        assert metrics["tuning_seconds"] > 0 and metrics["fit_seconds"] > 0
        assert metrics["peak_memory_mb"] > 0 and metrics["predict_seconds_per_1k"] > 0
        assert 1 <= metrics["n_trials_complete"] <= 2
        size_metric = "param_count" if tags["family"] == "neural" else "model_bytes"
        assert metrics[size_metric] > 0
        expected = (
            {"test_rmse", "test_mae", "test_r2"}
            if tags["task"] == "regression"
            else {"test_accuracy", "test_balanced_accuracy", "test_f1_macro", "test_roc_auc"}
        )
        assert expected <= set(metrics)
        best = json.loads(tags["best_params"])
        assert {k: str(v) for k, v in best.items()} == run.data.params
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        plot = "residuals.png" if tags["task"] == "regression" else "confusion_matrix.png"
        assert plot in artifacts
        if tags["family"] == "neural":
            assert {"history.json", "history.csv"} <= artifacts

    trials = _runs(client, "tiny", "trial")
    assert 8 <= len(trials) <= 8 * 2
    parents = defaultdict(list)
    for trial in trials:
        parents[trial.data.tags["mlflow.parentRunId"]].append(trial)
        assert trial.data.params and "validation_score" in trial.data.metrics
    assert set(parents) == {run.info.run_id for run in cells.values()}

    # Every model of a (dataset, size, seed) saw the same rows; the test rows never.
    by_group = defaultdict(set)
    for run in cells.values():
        tags = run.data.tags
        group = (tags["dataset"], tags["train_size"], tags["seed"])
        by_group[group].add((tags["train_indices_sha"], tags["validation_indices_sha"]))
    assert all(len(hashes) == 1 for hashes in by_group.values())
    assert len({h for hashes in by_group.values() for h in hashes}) == 4
    for cell in plan_cells(spec).cells:
        dataset = load_dataset(cell.dataset_uri)
        rows = cell_rows(dataset.y, dataset.task, cell.train_size, cell.seed, spec.split)
        assert not set(rows.train) & set(rows.test) and not set(rows.validation) & set(rows.test)
        tags = cells[cell.label].data.tags
        assert tags["test_indices_sha"] == rows.digests()["test_indices_sha"]
        assert tags["train_indices_sha"] == rows.digests()["train_indices_sha"]

    frame = results_frame("tiny")
    assert len(frame) == 8 and set(frame["status"]) == {"finished"}
    # The models learned something: better than the majority class / the mean on the test rows.
    linear = frame[frame["model"] == "linear"].set_index("task")
    assert (
        linear.loc["binary", "test_accuracy"] > _dummy_score(SPEC["datasets"][0], "binary") + 0.2
    ).all()
    assert (
        linear.loc["regression", "test_rmse"] < _dummy_score(SPEC["datasets"][1], "regression")
    ).all()

    again = run_spec(spec, progress=False)
    assert again.already_done == 8 and again.finished == [] and again.failed == []
    assert len(_runs(client, "tiny", "cell")) == 8


def test_models_fit_on_pool_rows_and_are_scored_on_the_test_rows(workdir: Path) -> None:
    """Checked independently of the digests the run records: in this dataset the label is `x`
    on the pool rows and `1 - x` on the test rows (found with the data layer's public split).
    A model fitted and validated on pool rows only scores 1 on validation and 0 on test; test
    rows swapped into validation, training or scoring change one of the two."""
    label = np.arange(200) % 2
    _, test = test_split(label, "binary", fraction=0.2, cap=5000)
    x = label.copy()
    x[test] = 1 - label[test]
    pd.DataFrame({"x": x, "label": label}).to_csv(workdir / "canary.csv", index=False)
    spec = parse_spec(
        {
            "name": "canary",
            "datasets": ["file:canary.csv?target=label"],
            "train_sizes": [40, 100],
            "models": ["linear", "random_forest"],
            "metric": "accuracy",
            "budget": {"trials": 1},
        }
    )
    summary = run_spec(spec, progress=False)
    assert summary.failed == [] and len(summary.finished) == 4
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    for run in _runs(client, "canary", "cell"):
        metrics = run.data.metrics
        assert metrics["validation_score"] == 1.0, run.info.run_name
        assert metrics["test_accuracy"] == 0.0, run.info.run_name


def test_failing_and_slow_cells_are_recorded_and_the_suite_goes_on(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(params, ctx):
        raise RuntimeError("this model is broken")

    real = get_model
    monkeypatch.setattr(
        cell_module,
        "get_model",
        lambda name: replace(real(name), build=broken) if name == "linear" else real(name),
    )
    spec = parse_spec({**SPEC, "datasets": ["builtin:breast_cancer"], "train_sizes": [40]})
    summary = run_spec(spec, progress=False)
    assert summary.finished == ["breast_cancer/40/mlp/0"]
    [(label, reason)] = summary.failed
    assert label == "breast_cancer/40/linear/0" and "this model is broken" in reason
    frame = results_frame("tiny").set_index("model")
    assert frame.loc["linear", "status"] == "failed"
    assert "this model is broken" in frame.loc["linear", "failure_reason"]
    assert finished_cell_keys("tiny") == {frame.loc["mlp", "cell_key"]}
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    failed_trials = [
        run
        for run in _runs(client, "tiny", "trial")
        if run.data.tags["cell_key"] == frame.loc["linear", "cell_key"]
    ]
    assert [run.info.status for run in failed_trials] == ["FAILED", "FAILED"]
    assert all("broken" in run.data.tags["fail_reason"] for run in failed_trials)

    monkeypatch.undo()
    monkeypatch.chdir(workdir)
    timed = parse_spec(
        {
            **SPEC,
            "name": "timed",
            "datasets": ["builtin:breast_cancer"],
            "train_sizes": [40],
            "models": ["mlp"],
            "cell_timeout": 0.05,
        }
    )
    summary = run_spec(timed, progress=False)
    assert [reason for _, reason in summary.failed] == ["exceeded cell_timeout of 0.05 s"]

    retried = run_spec(spec, progress=False)  # the failed cell runs again; the finished does not
    assert retried.finished == ["breast_cancer/40/linear/0"] and retried.already_done == 1


def test_cli_run_and_results(workdir: Path) -> None:
    (workdir / "spec.yaml").write_text(
        "name: clitiny\ndatasets: [builtin:wine]\ntrain_sizes: [30]\nmodels: [linear]\n"
        "budget: {trials: 2}\n"
    )
    cli = CliRunner()
    ran = cli.invoke(app, ["run", "spec.yaml", "--json"])
    assert ran.exit_code == 0, ran.output
    summary = json.loads(ran.stdout)
    assert summary["finished"] == ["wine/30/linear/0"] and summary["failed"] == []
    shown = cli.invoke(app, ["results", "spec.yaml", "--json"])
    [row] = json.loads(shown.stdout)
    assert row["task"] == "multiclass"
    assert row["test_accuracy"] > _dummy_score("builtin:wine", "multiclass") + 0.2
    table = cli.invoke(app, ["results", "spec.yaml"])
    assert "wine" in table.stdout and "linear" in table.stdout
    csv = cli.invoke(app, ["results", "spec.yaml", "--csv"]).stdout.splitlines()
    assert csv[0].startswith("run_id,") and len(csv) == 2
    again = cli.invoke(app, ["run", "spec.yaml"])
    assert again.exit_code == 0 and "already finished" in again.stdout


def test_store_comes_from_spec_then_environment_and_plain_folders_are_refused(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{workdir / 'env.db'}")
    assert tracking_uri() == f"sqlite:///{workdir / 'env.db'}"
    spec = parse_spec({**SPEC, "tracking_uri": f"sqlite:///{workdir / 'spec.db'}"})
    assert tracking_uri(spec) == f"sqlite:///{workdir / 'spec.db'}"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert tracking_uri() == f"sqlite:///{workdir / 'mlflow.db'}"
    with pytest.raises(TrackingError, match="plain folder"):
        run_spec(parse_spec({**SPEC, "tracking_uri": "file:./mlruns"}), progress=False)
    with pytest.raises(TrackingError, match="Optuna storage"):
        run_spec(parse_spec({**SPEC, "optuna_storage": "nosuchdb://x"}), progress=False)
    assert results_frame("never-run").empty
