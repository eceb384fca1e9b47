"""Tuning metrics and test metrics: the right metric per task, right values, honest NaNs."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from dlvsml.metrics import Predictions, direction, predict, resolve_metric, score, task_metrics


def test_auto_metric_per_task_and_its_direction() -> None:
    assert resolve_metric("auto", "binary") == "balanced_accuracy"
    assert resolve_metric("auto", "multiclass") == "balanced_accuracy"
    assert resolve_metric("auto", "regression") == "rmse"
    assert resolve_metric("log_loss", "binary") == "log_loss"
    assert direction("balanced_accuracy") == "maximize"
    assert direction("rmse") == "minimize"
    assert direction("log_loss") == "minimize"
    assert direction("r2") == "maximize"


def test_classification_metrics_on_known_predictions() -> None:
    y = np.array([0, 0, 0, 1])
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.3, 0.7]])
    found = task_metrics("binary", y, Predictions(proba.argmax(1), proba, 0.0), n_classes=2)
    assert found["accuracy"] == pytest.approx(0.75)
    assert found["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert found["roc_auc"] == pytest.approx(1.0)
    expected_loss = -np.mean(np.log([0.9, 0.8, 0.4, 0.7]))
    assert found["log_loss"] == pytest.approx(expected_loss)
    assert set(found) == {"accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss"}


def test_regression_metrics_on_known_predictions() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0])
    y_pred = np.array([1.0, 2.0, 3.0, 6.0])
    found = task_metrics("regression", y, Predictions(y_pred, None, 0.0), n_classes=None)
    assert found["rmse"] == pytest.approx(1.0)
    assert found["mae"] == pytest.approx(0.5)
    assert found["r2"] == pytest.approx(1 - 4 / 5)
    assert set(found) == {"rmse", "mae", "r2"}


def test_probabilistic_metrics_are_left_out_without_probabilities() -> None:
    y = np.array([0, 1, 1, 0])
    predictions = Predictions(np.array([0, 1, 0, 0]), None, 0.0)
    assert np.isnan(score("roc_auc", y, predictions, 2))
    assert "log_loss" not in task_metrics("binary", y, predictions, 2)
    assert task_metrics("binary", y, predictions, 2)["accuracy"] == pytest.approx(0.75)


def test_probabilities_are_aligned_when_a_class_was_never_seen() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = np.where(X[:, 0] > 0, 2, 0)  # class 1 exists in the data but not in this subsample
    model = LogisticRegression().fit(X, y)
    found = predict(model, X, "multiclass", n_classes=3)
    assert found.proba.shape == (60, 3)
    assert np.allclose(found.proba[:, 1], 0.0)
    assert np.allclose(found.proba.sum(axis=1), 1.0)
    assert found.predict_seconds >= 0
    y_true = np.concatenate([y[:-1], [1]])
    assert np.isfinite(score("log_loss", y_true, found, 3))


def test_a_pipeline_is_featurised_once_and_predicts_what_the_pipeline_predicts() -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    calls = []

    def counted(X):
        calls.append(len(X))
        return X / X.max(axis=0)

    X, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(FunctionTransformer(counted), LogisticRegression(max_iter=500))
    model.fit(X[:400], y[:400])
    calls.clear()
    found = predict(model, X[400:], "binary", 2)
    assert calls == [len(X) - 400]  # predict and predict_proba share one featurisation
    np.testing.assert_array_equal(found.y_pred, model.predict(X[400:]))
    np.testing.assert_allclose(found.proba, model.predict_proba(X[400:]))


def test_a_model_with_predict_with_proba_is_asked_once() -> None:
    from sklearn.datasets import load_breast_cancer

    class OnePass(LogisticRegression):
        passes = 0

        def predict_proba(self, X):
            OnePass.passes += 1
            return super().predict_proba(X)

        def predict_with_proba(self, X):
            proba = self.predict_proba(X)
            return self.classes_[proba.argmax(1)], proba

    X, y = load_breast_cancer(return_X_y=True)
    model = OnePass(max_iter=5000).fit(X[:400], y[:400])
    OnePass.passes = 0
    found = predict(model, X[400:], "binary", 2)
    assert OnePass.passes == 1
    np.testing.assert_array_equal(found.y_pred, model.predict(X[400:]))
