"""The trainer-throughput benchmark measures every run it reports (a smoke test, no timings)."""

from __future__ import annotations

import torch
from torch import nn

from benchmarks import trainer_throughput as bench
from dlvsml.models.neural.trainer import TensorData, TrainConfig


def _tiny(norm: bool) -> bench.Workload:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(96, 6, generator=generator)
    y = (x[:, 0] > 0).long()

    def module() -> nn.Module:
        layers = [nn.Linear(6, 16), *([nn.BatchNorm1d(16)] if norm else []), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(16, 2))

    return bench.Workload(
        "tiny",
        "random",
        TensorData((x[:64],), y[:64]),
        TensorData((x[64:],), y[64:]),
        module,
        TrainConfig(batch_size=16, max_epochs=2, recalibration_rows=32),
    )


def test_rows_have_rates_and_ratios_and_the_recalibration_cost_for_batch_norm_nets() -> None:
    device = torch.device("cpu")
    with_norm = bench.measure(_tiny(norm=True), device, repeats=1)
    without = bench.measure(_tiny(norm=False), device, repeats=1)
    for row in (with_norm, without):
        assert row["steps_per_epoch"] == 4 and row["repeats"] == 1
        for clock in ("cpu", "wall"):
            assert row[f"trainer_samples_per_{clock}_s"] > 0
            assert row[f"ratio_{clock}_vs_plain_same_work"] > 0
    assert "recalibration_share_cpu" in with_norm
    assert "recalibration_share_cpu" not in without
    assert set(with_norm["seconds_wall_cpu"]) == {*bench.RUNS, "plain_same_work_no_recalibration"}
