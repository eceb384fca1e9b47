"""A finished cell's best parameters, as logged to MLflow, rebuild its model with ``set_params``.

A tiny real suite (one table, one size, a linear model, a booster and a net, two trials each)
runs through the runner; for each cell, the ``best_params`` read back through `dlvsml.tracking`
are set on a model freshly built with the defaults, which is refitted on the cell's training
rows (the harness's own split functions) and must score the logged validation score again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dlvsml.data import load_dataset
from dlvsml.data.splits import cell_rows
from dlvsml.metrics import predict, score
from dlvsml.models import fit_estimator, get_model
from dlvsml.run.cell import cell_context
from dlvsml.run.plan import plan_cells
from dlvsml.run.resources import limit_threads, threads_per_worker
from dlvsml.run.suite import run_spec
from dlvsml.spec import parse_spec
from dlvsml.tracking import results_frame, tracking_uri

SPEC = {
    "name": "rebuild",
    "datasets": ["builtin:breast_cancer"],
    "train_sizes": [80],
    "models": ["linear", "lightgbm", "mlp"],
    "seeds": [1],
    "budget": {"trials": 2},  # trials only: the refit must not depend on the clock
    "device": "cpu",
}


def test_logged_best_params_rebuild_each_familys_model(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the MLflow and Optuna stores go here
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))
    spec = parse_spec(SPEC)
    summary = run_spec(spec, progress=False)
    assert summary.failed == [] and len(summary.finished) == 3

    rows = results_frame(spec.name, tracking_uri(spec)).set_index("model")
    n_threads = threads_per_worker(1)  # as the local executor runs each cell
    limit_threads(n_threads)
    for cell in plan_cells(spec).cells:
        logged = rows.loc[cell.model]
        best = json.loads(logged["best_params"])
        dataset = load_dataset(cell.dataset_uri)
        indices = cell_rows(dataset.y, dataset.task, cell.train_size, cell.seed, spec.split)
        X_train, y_train = dataset.take(indices.train)
        X_val, y_val = dataset.take(indices.validation)
        context = cell_context(cell, spec, dataset, n_threads)
        model = get_model(cell.model)
        rebuilt = model.build(model.defaults, context).set_params(**best)
        fit_estimator(rebuilt, X_train, y_train, (X_val, y_val))
        predictions = predict(rebuilt, X_val, dataset.task, dataset.n_classes)
        value = score(logged["metric"], y_val, predictions, dataset.n_classes)
        assert value == pytest.approx(logged["validation_score"], rel=1e-9, abs=1e-12), (
            f"{cell.model}: {best}"
        )
    assert os.listdir(tmp_path)  # the suite wrote its stores in the test's folder
