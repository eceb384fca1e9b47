"""The shared trainer through a real estimator: history, early stopping, pruning, divergence."""

from __future__ import annotations

import pickle

import numpy as np
import optuna
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import log_loss

from dlvsml.errors import ModelError
from dlvsml.models import get_model
from dlvsml.models.neural.estimator import SharedRef, effective_batch_size
from dlvsml.models.neural.image_nets import Augment
from dlvsml.models.neural.tabular import TabularNet
from dlvsml.models.neural.trainer import NonFiniteLossError, _batches
from tests.unit.neural_data import breast_cancer, context


def _mlp(**params) -> TabularNet:
    base = dict(arch="mlp", n_blocks=2, d_hidden=64, max_epochs=8, n_threads=1, device="cpu")
    return TabularNet(**{**base, **params})


def test_history_has_one_entry_per_epoch_with_the_diagnostics() -> None:
    X_train, _, y_train, _ = breast_cancer()
    est = _mlp(max_epochs=6, patience=100, scheduler="cosine").fit(X_train, y_train)
    assert [h["epoch"] for h in est.history_] == list(range(6)) == list(range(est.n_epochs_))
    keys = {"train_loss", "val_loss", "val_score", "grad_norm", "lr", "seconds"}
    assert all(keys <= set(h) and np.isfinite([h[k] for k in keys]).all() for h in est.history_)
    lrs = [h["lr"] for h in est.history_]
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] < lrs[0]  # cosine decays
    assert est.history_[-1]["train_loss"] < est.history_[0]["train_loss"]


def test_early_stopping_uses_validation_data_and_restores_the_best_weights() -> None:
    X_train, X_test, y_train, y_test = breast_cancer()
    X_small, y_small = X_train.iloc[:60], y_train[:60]
    # A wide net, a high learning rate and 60 rows overfit quickly; test rows are the validation.
    est = _mlp(d_hidden=256, lr=1e-2, max_epochs=200, patience=5)
    est.fit(X_small, y_small, validation_data=(X_test, y_test))
    assert est.n_train_ == 60 and est.n_val_ == len(y_test)  # nothing carved from training
    assert est.stop_reason_ == "early_stopping" and est.n_epochs_ < 200
    val_losses = [h["val_loss"] for h in est.history_]
    best = int(np.argmin(val_losses))
    assert best == est.n_epochs_ - 1 - 5  # stopped `patience` epochs after the best
    restored = log_loss(y_test, est.predict_proba(X_test))
    assert restored == pytest.approx(val_losses[best], rel=1e-4)
    assert restored < val_losses[-1]


def test_without_validation_data_a_stratified_fraction_is_carved() -> None:
    X_train, _, y_train, _ = breast_cancer()
    est = _mlp(max_epochs=1, validation_fraction=0.25).fit(X_train, y_train)
    assert est.n_val_ == int(np.ceil(0.25 * len(y_train)))
    assert est.n_train_ + est.n_val_ == len(y_train)


def test_without_any_validation_split_the_schedule_still_runs_to_max_epochs() -> None:
    X_train, _, y_train, _ = breast_cancer()
    est = _mlp(max_epochs=4, validation_fraction=0, scheduler="cosine").fit(X_train, y_train)
    assert est.n_val_ == 0 and est.n_epochs_ == 4 and est.stop_reason_ == "max_epochs"
    assert all(np.isnan(h["val_loss"]) for h in est.history_)
    assert est.history_[-1]["lr"] < est.history_[0]["lr"]


def test_same_seed_gives_identical_predictions_and_another_seed_differs() -> None:
    X_train, X_test, y_train, _ = breast_cancer()
    first = _mlp(random_state=3).fit(X_train, y_train).predict_proba(X_test)
    again = _mlp(random_state=3).fit(X_train, y_train).predict_proba(X_test)
    other = _mlp(random_state=4).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


class _PruneAtOnce(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def test_an_optuna_pruner_stops_the_fit_after_the_first_report() -> None:
    X_train, _, y_train, _ = breast_cancer()
    study = optuna.create_study(direction="maximize", pruner=_PruneAtOnce())
    trial = study.ask()
    spec = get_model("mlp")
    est = spec.build({"max_epochs": 5, "d_hidden": 32}, context("tabular", "binary", trial=trial))
    with pytest.raises(optuna.TrialPruned):
        est.fit(X_train, y_train)
    reported = study.trials[0].intermediate_values
    assert list(reported) == [0] and 0.5 < reported[0] <= 1.0  # validation accuracy of epoch 0


def test_a_diverging_net_raises_a_clear_model_error() -> None:
    X_train, _, y_train, _ = breast_cancer()
    with pytest.raises(NonFiniteLossError, match="lower the learning rate") as info:
        _mlp(lr=1e10, grad_clip=None, max_epochs=5).fit(X_train, y_train)
    assert isinstance(info.value, ModelError)


def test_time_limit_stops_training() -> None:
    X_train, _, y_train, _ = breast_cancer()
    est = _mlp(max_epochs=10_000, patience=10_000, time_limit=0.5).fit(X_train, y_train)
    assert est.stop_reason_ == "time_limit" and est.n_epochs_ < 10_000
    # every epoch but the last was allowed only while the limit had not been reached
    assert sum(h["seconds"] for h in est.history_[:-1]) <= 0.5


def test_device_choice_is_recorded_and_bad_devices_are_model_errors() -> None:
    X_train, _, y_train, _ = breast_cancer()
    est = _mlp(max_epochs=1, device="auto").fit(X_train, y_train)
    expected = "cuda" if torch.cuda.is_available() else est.device_.type
    assert est.device_.type == expected and est.device_reason_.startswith("auto")
    with pytest.raises(ModelError, match="device 'tpu'"):
        _mlp(device="tpu").fit(X_train, y_train)


def test_clone_shares_the_optuna_trial_instead_of_copying_it() -> None:
    trial = optuna.create_study().ask()
    est = _mlp(trial=SharedRef(trial))
    assert clone(est).trial.obj is trial


def test_a_fitted_model_built_for_a_trial_pickles_without_the_trial() -> None:
    X_train, X_test, y_train, _ = breast_cancer()
    trial = optuna.create_study(direction="maximize").ask()
    spec = get_model("mlp")
    est = spec.build({"max_epochs": 2, "d_hidden": 32}, context("tabular", "binary", trial=trial))
    est.fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(est))
    assert restored.trial.obj is None
    np.testing.assert_array_equal(restored.predict_proba(X_test), est.predict_proba(X_test))


def test_fitting_leaves_the_global_torch_rng_alone() -> None:
    X_train, _, y_train, _ = breast_cancer()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _mlp(max_epochs=1).fit(X_train, y_train)
    assert torch.equal(torch.rand(3), expected)


def test_small_training_sets_still_get_several_steps_per_epoch() -> None:
    assert effective_batch_size(512, 100_000) == 512
    assert effective_batch_size(512, 240) == 60
    assert _batches(5, 2) == [(0, 2), (2, 4)]  # a last batch of one row is dropped
    assert _batches(4, 2) == [(0, 2), (2, 4)]


def test_augmentation_translates_images_and_flips_only_colour() -> None:
    torch.manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).view(2, 3, 8, 8) + 1
    (out,) = Augment(padding=1, flip=True)((x,))
    assert out.shape == x.shape and not torch.equal(out, x)
    values = set(x.flatten().tolist()) | {0.0}
    assert set(out.flatten().tolist()) <= values  # pixels move or become padding, never change
