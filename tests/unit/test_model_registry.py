"""The model registry: lookup, filtering, and the contract every registered model keeps."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from dlvsml.data.dataset import MODALITIES, TASKS
from dlvsml.errors import ModelError
from dlvsml.models import ModelContext, all_models, fit_estimator, get_model, models_for, register
from tests.conftest import run_cli

CLASSICAL_NAMES = {"linear", "random_forest", "extra_trees", "xgboost", "lightgbm", "svm", "knn"}


def test_unknown_model_error_names_the_known_ones() -> None:
    with pytest.raises(ModelError) as raised:
        get_model("xgbost")
    message = str(raised.value)
    assert "'xgbost'" in message
    assert all(name in message for name in ("xgboost", "lightgbm", "linear"))


def test_registered_names_are_unique_and_match_their_specs() -> None:
    models = all_models()
    assert set(models) >= CLASSICAL_NAMES
    assert all(spec.name == name for name, spec in models.items())
    with pytest.raises(ValueError, match="registered twice"):
        register(models["linear"])


def test_every_spec_declares_known_modalities_tasks_and_family() -> None:
    for spec in all_models().values():
        assert spec.family in {"classical", "neural"}, spec.name
        assert spec.modalities and spec.modalities <= set(MODALITIES), spec.name
        assert spec.tasks and spec.tasks <= set(TASKS), spec.name
        assert spec.description, spec.name


def test_models_for_filters_by_modality_task_and_family() -> None:
    text_regression = {spec.name for spec in models_for("text", "regression")}
    assert {"linear", "svm", "xgboost", "lightgbm"} <= text_regression
    assert not {"knn", "random_forest", "extra_trees"} & text_regression
    image = models_for("image", "multiclass")
    assert all(spec.supports("image", "multiclass") for spec in image)
    families = [spec.family for spec in image]
    assert families == sorted(families, key=lambda f: f != "classical"), "classical first"
    classical = models_for("tabular", "binary", family="classical")
    assert {spec.name for spec in classical} == CLASSICAL_NAMES
    assert models_for("audio", "binary") == []


def _contexts(spec):
    for modality in sorted(spec.modalities):
        for task in sorted(spec.tasks):
            shape = (8, 8) if modality == "image" else None
            yield ModelContext(modality=modality, task=task, image_shape=shape, train_size=500)


def test_defaults_answer_every_search_space_question_and_build() -> None:
    """Trial 0 of tuning replays the defaults, so they must cover each space they seed."""
    for spec in all_models().values():
        for context in _contexts(spec):
            trial = optuna.trial.FixedTrial(dict(spec.defaults))
            where = f"{spec.name} ({context.modality}, {context.task})"
            try:
                params = spec.search_space(trial, context)
            except ValueError as error:
                pytest.fail(f"{where}: a default lies outside its search space: {error}")
            assert all(params[key] == spec.defaults[key] for key in params), where
            model = spec.build(params, context)
            assert hasattr(model, "fit") and hasattr(model, "predict"), where
            if context.task != "regression":
                assert hasattr(model, "predict_proba"), where


def _settings(estimator: BaseEstimator) -> dict[str, str]:
    """Every leaf parameter of an estimator, nested ones included, as text."""
    params = estimator.get_params(deep=True)
    return {k: repr(v) for k, v in params.items() if k != "steps" and not hasattr(v, "fit")}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_params_are_the_estimators_own_so_set_params_rebuilds_the_model(seed) -> None:
    """A logged best configuration, set on a model built with the defaults, gives the model
    that tuning built from it (sampled names are scikit-learn's ``step__param`` names)."""
    for spec in all_models().values():
        for context in _contexts(spec):
            where = f"{spec.name} ({context.modality}, {context.task})"
            sampler = optuna.samplers.RandomSampler(seed=seed)
            trial = optuna.create_study(sampler=sampler).ask()
            params = spec.search_space(trial, context)
            tuned = spec.build(params, context)
            rebuilt = spec.build(spec.defaults, context).set_params(**params)
            assert _settings(rebuilt) == _settings(tuned), where
            assert params == {k: tuned.get_params()[k] for k in params}, where


def test_kernel_svm_refuses_large_cells() -> None:
    assert get_model("svm").max_train_size == 10_000
    assert get_model("linear").max_train_size is None


class _Recorder(ClassifierMixin, BaseEstimator):
    def fit(self, X, y, validation_data=None):
        self.validation_data_ = validation_data
        self.classes_ = np.unique(y)
        return self


class _Plain(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self


def test_fit_estimator_passes_validation_only_to_models_that_take_it() -> None:
    X, y = np.zeros((4, 1)), np.array([0, 1, 0, 1])
    assert fit_estimator(_Recorder(), X, y, (X, y)).validation_data_ is not None
    assert fit_estimator(_Recorder(), X, y).validation_data_ is None
    assert fit_estimator(_Plain(), X, y, (X, y)).classes_.tolist() == [0, 1]


def test_models_command_lists_classical_models_as_json() -> None:
    result = run_cli("models", "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert set(listed) >= CLASSICAL_NAMES
    assert listed["xgboost"]["family"] == "classical"
    assert listed["xgboost"]["modalities"] == ["image", "tabular", "text"]
    assert listed["knn"]["modalities"] == ["image", "tabular"]
    assert listed["svm"]["tasks"] == ["binary", "multiclass", "regression"]


# Runs in a fresh interpreter: lists the models as `dlvsml models --json` does, validates the
# quick spec's explicit names (nets among them), and prints the heavy libraries it imported.
_LIST_AND_VALIDATE = """
import contextlib, io, sys
from dlvsml.cli import app
from dlvsml.spec import load_spec
with contextlib.redirect_stdout(io.StringIO()):
    app(["models", "--json"], standalone_mode=False)
spec = load_spec("experiments/quick.yaml")
assert "mlp" in spec.models and "fasttext" in spec.models, spec.models
print(sorted(name for name in ("torch", "mlflow") if name in sys.modules))
"""


def test_listing_and_validating_model_names_imports_no_torch() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", _LIST_AND_VALIDATE],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"imported: {result.stdout.strip()}"
