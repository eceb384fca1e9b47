"""Image nets learn 8×8 digits and run on colour images."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from dlvsml.models import get_model
from dlvsml.models.neural.image_nets import n_stages_for
from tests.unit.neural_data import SHARED_DATA, context, digits

CHEAP = {"max_epochs": 6, "width": 16, "n_stages": 2}


@pytest.mark.parametrize("name", ["cnn", "resnet_small"])
def test_beats_dummy_on_digits(name: str) -> None:
    X_train, X_test, y_train, y_test = digits()
    assert X_train.dtype == np.uint8 and X_train.shape[1:] == (8, 8)
    spec = get_model(name)
    est = spec.build({**spec.defaults, **CHEAP}, context("image", "multiclass", n_classes=10))
    est.fit(X_train, y_train)
    dummy_accuracy = np.bincount(y_train).max() / len(y_train)  # about 0.1
    assert accuracy_score(y_test, est.predict(X_test)) > dummy_accuracy + 0.6
    assert est.pixel_scale_ == 16.0  # digits are 0-16, learned from the training images


def test_same_seed_same_predictions_with_augmentation() -> None:
    X_train, X_test, y_train, _ = digits()
    spec = get_model("cnn")
    ctx = context("image", "multiclass", seed=5)
    params = {**spec.defaults, **CHEAP, "max_epochs": 2, "augment": True}
    first = spec.build(params, ctx).fit(X_train, y_train).predict_proba(X_test)
    again = spec.build(params, ctx).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(first, again)


def test_colour_images_train_and_predict() -> None:
    path = SHARED_DATA / "image" / "cifar10_15k.npz"
    if not path.exists():
        pytest.skip("../shared/data/image/cifar10_15k.npz is absent")
    with np.load(path) as data:
        key_x = next(k for k in data.files if data[k].ndim == 4)
        key_y = next(k for k in data.files if data[k].ndim == 1)
        X, y = data[key_x][:300], data[key_y][:300]
    spec = get_model("resnet_small")
    est = spec.build({**spec.defaults, **CHEAP, "max_epochs": 1}, context("image", "multiclass"))
    est.fit(X[:240], y[:240])
    proba = est.predict_proba(X[240:])
    assert X.shape[1:] == (32, 32, 3) and proba.shape == (60, len(np.unique(y[:240])))
    with pytest.raises(ValueError, match="fitted on"):
        est.predict(X[240:, :16, :16])


def test_stages_adapt_to_the_image_size() -> None:
    assert (
        n_stages_for(8, 8, 3) == 2 and n_stages_for(32, 32, 3) == 3 and n_stages_for(4, 4, 3) == 1
    )
