"""Image nets learn within their first epochs at small n: batch sizing and BatchNorm statistics.

With 240 training images, 4 steps of 60 per epoch and running statistics that lagged the weights,
the cnn predicted a single class for its first 5-7 epochs; a time budget could end it there.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import Tensor, nn

from dlvsml.models.neural.estimator import effective_batch_size
from dlvsml.models.neural.image import ImageNet
from dlvsml.models.neural.tabular import TabularNet
from dlvsml.models.neural.text import TextNet
from dlvsml.models.neural.trainer import TensorData, TrainConfig, Trainer, batch_norms


def test_image_nets_take_16_steps_per_epoch_of_at_least_16_images() -> None:
    def image_batch(n: int, batch_size: int = 128) -> int:
        return effective_batch_size(
            batch_size, n, ImageNet.min_steps_per_epoch, ImageNet.min_batch_size
        )

    assert image_batch(100_000) == 128  # large n: the configured size
    assert image_batch(800) == 50  # 16 steps
    assert image_batch(240) == 16  # 15 steps of 16 rather than 16 steps of 15
    assert image_batch(20) == 16
    assert image_batch(20, batch_size=8) == 8  # a smaller configured size is kept
    assert image_batch(20, batch_size=1) == 2  # BatchNorm needs two rows
    # Tabular and text nets keep the base rule (4 steps) and no recalibration.
    for net in (TabularNet, TextNet):
        assert (net.min_steps_per_epoch, net.min_batch_size, net.recalibration_rows) == (4, 2, 0)
    assert effective_batch_size(512, 240) == 60


def _bn_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 2)
    )


def _data(seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 4, generator=generator) * 3 + 5
    return x, (x[:, 0] > 5).long()


def _fit(
    module: nn.Module, rows: int, amp: torch.dtype | None = None, epochs: int = 1
) -> nn.Module:
    x, y = _data()
    config = TrainConfig(lr=1e-2, batch_size=16, max_epochs=epochs, recalibration_rows=rows)
    trainer = Trainer(
        module, nn.functional.cross_entropy, lambda o, t: 0.0, config, torch.device("cpu")
    )
    trainer.amp_dtype = amp  # CPU autocast stands in for the CUDA path when set
    torch.manual_seed(0)  # dropout masks
    trainer.fit(TensorData((x,), y), TensorData((x[:16],), y[:16]))
    return module


def test_running_statistics_match_the_trained_weights_after_a_short_fit() -> None:
    module = _fit(_bn_net(), rows=128)
    (norm,) = batch_norms(module)
    x, _ = _data()
    with torch.no_grad():
        first = module[0](x)  # what the BatchNorm sees, with the weights after training
    # All 64 rows in one batch: exactly their mean and (unbiased) variance.
    torch.testing.assert_close(norm.running_mean, first.mean(0))
    torch.testing.assert_close(norm.running_var, first.var(0))
    assert norm.momentum == 0.1 and not module.training  # restored; evaluation follows


def test_without_recalibration_four_steps_leave_the_running_statistics_far_off() -> None:
    module = _fit(_bn_net(), rows=0)
    (norm,) = batch_norms(module)
    x, _ = _data()
    with torch.no_grad():
        true_mean = module[0](x).mean(0)
    # The exponential average started at 0 and moved 1 - 0.9**4 ≈ 34% of the way.
    assert (norm.running_mean - true_mean).abs().max() > 0.5 * true_mean.abs().max()


def test_recalibration_changes_only_the_batch_norm_buffers() -> None:
    # No random numbers drawn (dropout stays off), no gradients: training is the same.
    initial = _bn_net()
    with_it = _fit(copy.deepcopy(initial), 128, epochs=3)
    without = _fit(copy.deepcopy(initial), 0, epochs=3)
    for (name, a), b in zip(with_it.named_parameters(), without.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert not torch.equal(batch_norms(with_it)[0].running_var, batch_norms(without)[0].running_var)


def test_recalibration_under_mixed_precision_gives_float32_statistics_near_exact() -> None:
    module = _fit(_bn_net(), rows=128, amp=torch.bfloat16)
    (norm,) = batch_norms(module)
    assert norm.running_mean.dtype == torch.float32 and torch.isfinite(norm.running_var).all()
    x, _ = _data()
    with torch.no_grad():
        first = module[0](x)
    torch.testing.assert_close(norm.running_mean, first.mean(0), rtol=0.05, atol=0.05)


@pytest.mark.parametrize("arch", ["cnn", "resnet_small"])
def test_an_image_net_is_well_above_chance_after_two_epochs_on_300_images(arch: str) -> None:
    # Before: cnn test accuracy 0.27 after two epochs (single-class predictions); now ~0.83.
    digits = load_digits()
    X, y = digits.images.astype(np.uint8), digits.target
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=300, random_state=0, stratify=y
    )
    est = ImageNet(arch=arch, max_epochs=2, device="cpu", n_threads=1).fit(X_train, y_train)
    assert est.batch_size_ == 16 and est.history_[0]["val_score"] > 0.4
    assert est.score(X_test, y_test) > 0.6
