"""The time budget inside one fit: every family keeps to the clock and says how training ended.

No wall-clock thresholds: a clock whose limit is already spent, or no limit at all, makes each
recipe's decision the same on a quiet and on a loaded machine.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import balanced_accuracy_score

from dlvsml.models import ModelContext, fit_estimator, get_model
from dlvsml.models.pipeline import FeatureMemo
from dlvsml.models.time_budget import BudgetExceeded, fit_clock, training_end

SPENT = 1e-9  # a limit that is over before the first step ends


def _digits() -> tuple[np.ndarray, ...]:
    digits = load_digits()
    images, y = digits.images.astype(np.uint8), digits.target
    return images[:1200], y[:1200], images[1200:], y[1200:]


def _context(modality: str, task: str, n_classes: int, **settings) -> ModelContext:
    shape = (8, 8) if modality == "image" else None
    return ModelContext(
        modality=modality, task=task, n_classes=n_classes, image_shape=shape, **settings
    )


def _fit(name: str, limit: float | None, params: dict | None = None, modality: str = "image"):
    X, y, X_val, y_val = _digits()
    spec = get_model(name)
    model = spec.build({**spec.defaults, **(params or {})}, _context(modality, "multiclass", 10))
    with fit_clock(limit, predict_rows=len(y_val)):
        fit_estimator(model, X, y, (X_val, y_val))
    return model, balanced_accuracy_score(y_val, model.predict(X_val))


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_a_forest_grows_all_its_trees_without_a_clock_and_one_chunk_when_time_is_up(
    name: str,
) -> None:
    whole, _ = _fit(name, None, {"model__n_estimators": 20})
    assert training_end(whole) == ("max_iter", 20)
    cut, score = _fit(name, SPENT, {"model__n_estimators": 20})
    assert training_end(cut) == ("clock", 8)  # the first chunk, then the clock
    assert len(cut.steps[-1][1].estimators_) == 8
    assert cut.get_params()["model__n_estimators"] == 20  # its parameters are unchanged
    assert score > 0.5  # still a model


@pytest.mark.parametrize("name", ["xgboost", "lightgbm"])
def test_a_booster_stops_adding_rounds_when_time_is_up_and_keeps_what_it_trained(
    name: str,
) -> None:
    cut, score = _fit(name, SPENT)
    assert training_end(cut) == ("clock", 1)
    assert score > 0.3  # one round of ten classes' trees, well above chance (0.1)
    free, _ = _fit(
        name, None, {"model__early_stopping_rounds": 5, "model__estimator__learning_rate": 0.3}
    )
    stopped_by, rounds = training_end(free)
    assert stopped_by == "converged" and 5 < rounds < 1000  # early stopping ended it


def test_linear_on_breast_cancer_with_a_generous_budget_converged() -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    spec = get_model("linear")
    model = spec.build(dict(spec.defaults), _context("tabular", "binary", 2, time_limit=600.0))
    model.fit(X, y)
    stopped_by, iterations = training_end(model)
    assert stopped_by == "converged" and 0 < iterations < 2000
    assert model.stopped_by_ == "converged"  # the pipeline says it too


def test_a_solver_whose_first_iterations_overrun_the_budget_is_refused_with_the_reason() -> None:
    with pytest.raises(BudgetExceeded, match=r"cannot fit 1,200 rows within the time budget"):
        _fit("linear", SPENT)
    with pytest.raises(BudgetExceeded, match=r"raise budget\.seconds or use a smaller train size"):
        _fit("svm", SPENT)


def test_an_iteration_cap_stops_a_solver_that_has_not_converged() -> None:
    model, _ = _fit("linear", None, {"model__C": 1e3})
    learner = model.steps[-1][1]
    learner.set_params(max_iter=3)
    X, y, _, _ = _digits()
    with fit_clock(None):
        model.fit(X, y)
    assert training_end(model) == ("max_iter", 3)


def test_knn_counts_its_prediction_cost() -> None:
    whole, _ = _fit("knn", None)
    assert training_end(whole) == ("converged", 1200)
    with pytest.raises(BudgetExceeded, match=r"k-NN cannot score 597 rows against 1,200"):
        _fit("knn", SPENT)


def test_cached_featurisation_is_charged_at_its_cold_cost() -> None:
    X, y, X_val, y_val = _digits()
    spec = get_model("linear")
    params = {**spec.defaults, "features__kind": "hog"}
    memo, charged = FeatureMemo(), []
    for _ in range(2):
        with fit_clock(None) as clock:
            memo.fit(spec.build(params, _context("image", "multiclass", 10)), X, y, (X_val, y_val))
        charged.append(clock.charged)
    assert memo.hits == 1
    cold = next(iter(memo._entries.values()))
    # Computed: its real time counted. Served from the memo: charged what computing it took.
    assert charged == [0.0, cold.seconds + cold.val_seconds]


def test_a_cnn_given_2_s_on_3000_images_is_stopped_by_the_clock(shared_data) -> None:
    data = np.load(shared_data / "image" / "mnist_test_10k.npz")
    X, y = data["X"][:3000], data["y"][:3000]
    spec = get_model("cnn")
    context = _context("image", "multiclass", 10, time_limit=2.0)
    model = spec.build(dict(spec.defaults), replace(context, image_shape=X.shape[1:]))
    model.fit(X, y)
    assert model.stopped_by_ == "clock"
    assert model.n_iter_done_ == len(model.history_) >= 1


def test_a_net_stopped_by_the_clock_says_so_with_its_epochs() -> None:
    model, _ = _fit("cnn", SPENT, {"max_epochs": 30})
    assert training_end(model) == ("clock", 1)
    free, _ = _fit("cnn", None, {"max_epochs": 2})
    assert free.stopped_by_ == "max_iter" and free.n_iter_done_ == 2


def test_trial_records_and_the_cell_say_how_training_ended_and_what_it_cost(
    tmp_path, monkeypatch
) -> None:
    from dlvsml.run.cell import run_cell
    from dlvsml.run.plan import plan_cells
    from dlvsml.spec import parse_spec

    monkeypatch.chdir(tmp_path)
    spec = parse_spec(
        {
            "name": "ended",
            "datasets": ["builtin:breast_cancer"],
            "train_sizes": [300],
            "models": ["linear", "random_forest"],
            "seeds": [0],
            "budget": {"trials": 2, "seconds": 600},
        }
    )
    linear, forest = (run_cell(spec, cell, n_threads=1) for cell in plan_cells(spec).cells)
    assert [(t.state, t.stopped_by) for t in linear.trials] == [("COMPLETE", "converged")] * 2
    assert all(0 < t.n_iter_done < 2000 for t in linear.trials)
    assert (forest.trials[0].stopped_by, forest.trials[0].n_iter_done) == ("max_iter", 200)
    measured = linear.measurements
    assert measured["tuning_wall_seconds"] >= measured["tuning_seconds"] > 0
    assert measured["tuning_cpu_seconds"] > 0 and measured["fit_cpu_seconds"] > 0
    assert measured["n_threads"] == 1 and linear.device == "cpu"
