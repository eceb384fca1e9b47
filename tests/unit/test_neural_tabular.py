"""Tabular nets learn real data, handle strings and NaNs, and standardise regression targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import balanced_accuracy_score, r2_score

from dlvsml.models import get_model
from dlvsml.models.neural.tabular_features import TabularFeatures
from tests.unit.neural_data import breast_cancer, context, diabetes

CHEAP = {
    "mlp": {"max_epochs": 30, "d_hidden": 64, "n_blocks": 2},
    "resnet": {"max_epochs": 30, "d_hidden": 64, "n_blocks": 1},
    "ft_transformer": {"max_epochs": 30, "d_token": 32, "n_blocks": 1, "n_heads": 4, "lr": 1e-3},
}


@pytest.mark.parametrize("name", sorted(CHEAP))
def test_classifier_beats_dummy_on_breast_cancer(name: str) -> None:
    X_train, X_test, y_train, y_test = breast_cancer()
    spec = get_model(name)
    est = spec.build({**spec.defaults, **CHEAP[name]}, context("tabular", "binary"))
    est.fit(X_train, y_train)
    dummy = DummyClassifier().fit(X_train, y_train)
    assert balanced_accuracy_score(y_test, dummy.predict(X_test)) == 0.5
    assert balanced_accuracy_score(y_test, est.predict(X_test)) > 0.9
    proba = est.predict_proba(X_test)
    assert proba.shape == (len(y_test), 2) and np.allclose(proba.sum(1), 1)
    assert list(est.classes_) == [0, 1] and len(est.history_) == est.n_epochs_


@pytest.mark.parametrize("name", ["mlp", "resnet"])
def test_regressor_beats_dummy_on_diabetes(name: str) -> None:
    X_train, X_test, y_train, y_test = diabetes()
    spec = get_model(name)
    est = spec.build({**spec.defaults, **CHEAP[name], "lr": 3e-3}, context("tabular", "regression"))
    est.fit(X_train, y_train)
    dummy = DummyRegressor().fit(X_train, y_train)
    assert r2_score(y_test, dummy.predict(X_test)) < 0.01
    assert r2_score(y_test, est.predict(X_test)) > 0.3
    # The target is standardised inside: predictions come back on the original scale.
    assert abs(est.predict(X_test).mean() - y_test.mean()) < 0.3 * y_test.std()
    assert not hasattr(est, "predict_proba")
    best = max(est.history_, key=lambda h: h["val_score"])
    assert 0.2 < best["val_score"] < 1.0  # the validation R² each epoch reports to Optuna


def _with_strings_and_gaps(X: pd.DataFrame) -> pd.DataFrame:
    """Breast cancer plus a string column that carries the signal, and missing numbers."""
    frame = X.copy()
    frame["size_band"] = pd.cut(frame["worst area"], 4, labels=["s", "m", "l", "xl"]).astype(str)
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("worst")])
    frame.loc[frame.index[::7], "mean radius"] = np.nan
    return frame


def test_string_categories_and_missing_values_are_featurised() -> None:
    X_train, X_test, y_train, y_test = breast_cancer()
    train, test = _with_strings_and_gaps(X_train), _with_strings_and_gaps(X_test)
    test.loc[test.index[0], "size_band"] = "never seen"
    spec = get_model("ft_transformer")
    est = spec.build({**spec.defaults, **CHEAP["ft_transformer"]}, context("tabular", "binary"))
    est.fit(train, y_train)
    assert est.features_.categorical_ == ["size_band"]
    assert balanced_accuracy_score(y_test, est.predict(test)) > 0.85


def test_features_are_fitted_on_training_rows_only() -> None:
    train = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0], "c": ["a", "b", "a", None]})
    features = TabularFeatures().fit(train)
    numbers, codes = features.transform(pd.DataFrame({"x": [100.0, np.nan], "c": ["b", "z"]}))
    assert features.cardinalities == [3] and features.n_numeric == 2  # x + its missing flag
    assert numbers[0, 0] == numbers.max() and numbers[1].tolist() == [0.0, 1.0]
    assert codes[:, 0].tolist() == [2, 0]  # "z" was not seen in training: code 0
