"""Nets learn within their first epochs at small n: batch sizing and BatchNorm recalibration."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import Tensor, nn

from dlvsml.models.neural import ImageNet, TabularNet
from dlvsml.models.neural import trainer as trainer_module
from dlvsml.models.neural.estimator import MIN_STEPS_PER_EPOCH, effective_batch_size
from dlvsml.models.neural.trainer import TensorData, TrainConfig, Trainer, batch_norms
from tests.unit.neural_data import breast_cancer


def test_batch_size_gives_enough_steps_per_epoch_without_tiny_batches() -> None:
    assert effective_batch_size(128, 100_000) == 128  # large n: the configured size
    assert effective_batch_size(128, 800) == 50 == -(-800 // MIN_STEPS_PER_EPOCH)
    assert effective_batch_size(128, 240) == 16  # 15 steps of 16 rather than 240 / 16 = 15 rows
    assert effective_batch_size(128, 20) == 16
    assert effective_batch_size(8, 20) == 8  # a smaller configured size is kept
    assert effective_batch_size(1, 20) == 2  # BatchNorm needs two rows


def _bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)
    )


def _fit_bn_net(
    monkeypatch: pytest.MonkeyPatch, recalibrate_steps: int
) -> tuple[nn.Module, Tensor]:
    monkeypatch.setattr(trainer_module, "RECALIBRATE_STEPS", recalibrate_steps)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=generator) * 3 + 5
    y = (x[:, 0] > 5).long()
    module = _bn_net()
    config = TrainConfig(lr=1e-2, batch_size=16, max_epochs=1)
    Trainer(module, nn.functional.cross_entropy, lambda o, t: 0.0, config, torch.device("cpu")).fit(
        TensorData((x,), y), None
    )
    return module, x


def test_running_statistics_match_the_trained_weights_after_a_short_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, x = _fit_bn_net(monkeypatch, trainer_module.RECALIBRATE_STEPS)
    (norm,) = batch_norms(module)
    with torch.no_grad():
        first = module[0](x)  # what the BatchNorm sees, with the weights after training
    # Four equal batches over all 64 rows: the mean is exact, the variance a mean of batch ones.
    torch.testing.assert_close(norm.running_mean, first.mean(0))
    torch.testing.assert_close(norm.running_var, first.var(0), rtol=0.3, atol=0.0)
    assert norm.momentum == 0.1 and not module.training  # restored; evaluation follows


def test_without_recalibration_four_steps_leave_the_running_statistics_far_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module, x = _fit_bn_net(monkeypatch, recalibrate_steps=0)
    (norm,) = batch_norms(module)
    with torch.no_grad():
        true_mean = module[0](x).mean(0)
    # The exponential average started at 0 and moved 1 - 0.9**4 ≈ 34% of the way.
    assert (norm.running_mean - true_mean).abs().max() > 0.5 * true_mean.abs().max()


def test_a_cnn_is_well_above_chance_after_two_epochs_on_300_images() -> None:
    # Before: 4 steps of 60 images per epoch and running statistics that lag the weights gave
    # single-class predictions (test accuracy 0.27 after two epochs); now about 0.83.
    digits = load_digits()
    X, y = digits.images.astype(np.uint8), digits.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=300, random_state=0, stratify=y
    )
    est = ImageNet(max_epochs=2, device="cpu", n_threads=1).fit(X_train, y_train)
    assert est.batch_size_ == 16 and est.history_[0]["val_score"] > 0.5
    assert est.score(X_test, y_test) > 0.6


def test_nets_without_batch_norm_train_exactly_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    X_train, X_test, y_train, _ = breast_cancer()
    params = dict(arch="mlp", n_blocks=2, d_hidden=32, max_epochs=3, n_threads=1, device="cpu")
    first = TabularNet(**params).fit(X_train, y_train).predict_proba(X_test)
    monkeypatch.setattr(trainer_module, "RECALIBRATE_STEPS", 0)
    again = TabularNet(**params).fit(X_train, y_train).predict_proba(X_test)
    np.testing.assert_array_equal(first, again)


def test_recalibration_under_mixed_precision_gives_finite_statistics_near_float32(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CUDA path runs forward passes under autocast; CPU autocast (bf16) exercises the same
    # code here: statistics stay float32 buffers, close to those of a float32 forward.
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(64, 4, generator=generator) + 2
    y = (x[:, 0] > 2).long()
    module = _bn_net()
    config = TrainConfig(lr=1e-2, batch_size=16, max_epochs=1)
    trainer = Trainer(
        module, nn.functional.cross_entropy, lambda o, t: 0.0, config, torch.device("cpu")
    )
    monkeypatch.setattr(trainer, "amp_dtype", torch.bfloat16)
    trainer.fit(TensorData((x,), y), TensorData((x[:16],), y[:16]))
    (norm,) = batch_norms(module)
    assert norm.running_mean.dtype == torch.float32 and torch.isfinite(norm.running_var).all()
    with torch.no_grad():
        first = module[0](x)
    torch.testing.assert_close(norm.running_mean, first.mean(0), rtol=0.05, atol=0.05)
