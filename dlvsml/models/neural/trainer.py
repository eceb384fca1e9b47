"""The one training loop every dlvsml net shares, composed of small callbacks.

Data live on the device as tensors and are batched by slicing a per-epoch index permutation:
no DataLoader, no per-batch host syncs (losses and gradient norms accumulate on the device and
are read once per epoch). Behaviour that varies (early stopping, LR schedule, Optuna pruning,
time budget) is a `Callback`, so the loop itself stays short.

BatchNorm at small budgets: running statistics are an exponential average (momentum 0.1) that
starts at mean 0 / variance 1, so after a handful of optimizer steps they are far from the
statistics of the current weights, and a conv net that already fits its training batches
predicts a single class in eval mode (each mis-scaled layer feeds the next). With
``TrainConfig.recalibration_rows`` set (the image nets set it), the trainer therefore recomputes
the running statistics after every epoch from that many training rows with the current weights
("precise BN", Wu & Johnson 2021) until the net has taken `RECALIBRATE_STEPS` steps, so
validation scores, early stopping, pruning and a time-limited model are right from the first
epoch; later the average tracks the weights well enough by itself.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import optuna
import torch
from torch import Tensor, nn

from dlvsml.errors import ModelError
from dlvsml.models.neural.device import autocast_dtype
from dlvsml.models.time_budget import current_clock

LossFn = Callable[[Tensor, Tensor], Tensor]
ScoreFn = Callable[[Tensor, Tensor], float]  # higher is better
BatchTransform = Callable[[tuple[Tensor, ...]], tuple[Tensor, ...]]


class NonFiniteLossError(ModelError):
    """Training diverged (loss became NaN or infinite); lower the learning rate."""


@dataclass
class TensorData:
    """Inputs (one or more tensors, same first dimension) and the target, on one device."""

    inputs: tuple[Tensor, ...]
    target: Tensor

    def __len__(self) -> int:
        return len(self.target)

    def to(self, device: torch.device) -> TensorData:
        return TensorData(tuple(t.to(device) for t in self.inputs), self.target.to(device))


@dataclass
class TrainConfig:
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 256
    max_epochs: int = 100
    grad_clip: float | None = 1.0
    seed: int = 0
    # Recompute BatchNorm running statistics from this many training rows after each epoch
    # while fewer than RECALIBRATE_STEPS steps are taken (0: never).
    recalibration_rows: int = 0


@dataclass
class TrainState:
    """What callbacks see and may change: the module, optimizer, history and the stop flag."""

    module: nn.Module
    optimizer: torch.optim.Optimizer
    config: TrainConfig
    history: list[dict[str, Any]] = field(default_factory=list)
    stop: bool = False
    stop_reason: str = "max_epochs"
    started: float = field(default_factory=time.perf_counter)

    @property
    def stopped_by(self) -> str:
        """The stop reason in `dlvsml.models.time_budget`'s terms: converged, clock, max_iter."""
        return STOPPED_BY.get(self.stop_reason, self.stop_reason)


# Why training stopped, by callback, as every model says it (`time_budget.training_end`).
STOPPED_BY = {"early_stopping": "converged", "time_limit": "clock", "max_epochs": "max_iter"}


class Callback:
    """Hooks into the loop; override what you need."""

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without a better validation loss; restore the best weights."""

    def __init__(self, patience: int, monitor: str = "val_loss") -> None:
        self.patience, self.monitor = patience, monitor
        self.best, self.best_epoch, self.best_state = math.inf, -1, None

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        value = record[self.monitor]
        if math.isnan(value):  # no validation split: nothing to stop on
            return
        if value < self.best:
            self.best, self.best_epoch = value, record["epoch"]
            self.best_state = copy.deepcopy(state.module.state_dict())
        elif record["epoch"] - self.best_epoch >= self.patience:
            state.stop, state.stop_reason = True, "early_stopping"

    def on_train_end(self, state: TrainState) -> None:
        if self.best_state is not None:
            state.module.load_state_dict(self.best_state)


class CosineSchedule(Callback):
    """Cosine decay of the learning rate over ``max_epochs`` (stepped once per epoch)."""

    def on_train_begin(self, state: TrainState) -> None:
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            state.optimizer, T_max=max(1, state.config.max_epochs)
        )

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        self.scheduler.step()


class PlateauSchedule(Callback):
    """Halve the learning rate when the validation loss stops improving."""

    def on_train_begin(self, state: TrainState) -> None:
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            state.optimizer, factor=0.5, patience=3
        )

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        loss = record["val_loss"]
        self.scheduler.step(record["train_loss"] if math.isnan(loss) else loss)


SCHEDULES: dict[str, type[Callback]] = {
    "cosine": CosineSchedule,
    "plateau": PlateauSchedule,
    "constant": Callback,
}


class OptunaPruning(Callback):
    """Report the validation score each epoch to an Optuna trial and stop it when pruned."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if math.isnan(record["val_score"]):
            return
        self.trial.report(record["val_score"], record["epoch"])
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned at epoch {record['epoch']}")


class TimeBudget(Callback):
    """Stop when the next epoch would overrun ``seconds`` of training, or the clock of the fit
    already running (`dlvsml.models.time_budget`: a trial, featurisation included)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_train_begin(self, state: TrainState) -> None:
        running = current_clock()
        self.clock = running if running is not None and running.limit is not None else None

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        left = self.seconds - (time.perf_counter() - state.started)
        if self.clock is not None:
            self.clock.step(record["seconds"])
            left = min(left, self.clock.left())
        if record["seconds"] > left:
            state.stop, state.stop_reason = True, "time_limit"


# Data go to an accelerator up front only if they take at most this share of its free memory.
DEVICE_MEMORY_SHARE = 0.5


def _data_device(device: torch.device, *datasets: TensorData | None) -> torch.device:
    """The device itself when the data fit there comfortably, else the CPU (batches move)."""
    if device.type != "cuda":
        return device
    nbytes = sum(
        t.element_size() * t.nelement()
        for d in datasets
        if d is not None
        for t in (*d.inputs, d.target)
    )
    free, _ = torch.cuda.mem_get_info(device)
    return device if nbytes <= DEVICE_MEMORY_SHARE * free else torch.device("cpu")


# Precise BatchNorm statistics are recomputed after each epoch until this many optimizer steps
# have been taken (then momentum 0.1 has averaged ~10 recent batches for long enough). Measured
# with cnn and resnet_small on 300 and 1,000 MNIST/notMNIST images: stopping at 50 steps let the
# validation accuracy dip for an epoch or two, as the exponential average still lagged.
RECALIBRATE_STEPS = 100


def batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``module`` that keep running statistics."""
    return [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


def _batches(n: int, batch_size: int) -> list[tuple[int, int]]:
    """Batch bounds; a trailing batch of one row is dropped (BatchNorm cannot train on it)."""
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds.pop()
    return bounds


class Trainer:
    """Fits a module on in-memory tensors with AdamW, mixed precision on CUDA and callbacks."""

    def __init__(
        self,
        module: nn.Module,
        loss_fn: LossFn,
        score_fn: ScoreFn,
        config: TrainConfig,
        device: torch.device,
        callbacks: Sequence[Callback] = (),
        train_transform: BatchTransform | None = None,
    ) -> None:
        self.module, self.loss_fn, self.score_fn = module.to(device), loss_fn, score_fn
        self.config, self.device, self.callbacks = config, device, list(callbacks)
        clock, timed = current_clock(), any(isinstance(c, TimeBudget) for c in self.callbacks)
        if clock is not None and clock.limit is not None and not timed:  # a trial's clock
            self.callbacks.append(TimeBudget(math.inf))
        self.train_transform = train_transform
        self.amp_dtype = autocast_dtype(device)
        scaler_on = self.amp_dtype == torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=scaler_on) if scaler_on else None

    def _autocast(self) -> Any:
        if self.amp_dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def fit(self, train: TensorData, val: TensorData | None) -> TrainState:
        """Train for up to ``max_epochs``; the validation split (if any) drives the callbacks."""
        cfg = self.config
        self.data_device = _data_device(self.device, train, val)
        train = train.to(self.data_device)
        val = val.to(self.data_device) if val is not None else None
        # foreach: one multi-tensor kernel per step instead of a Python loop over parameters.
        optimizer = torch.optim.AdamW(
            self.module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True
        )
        state = TrainState(self.module, optimizer, cfg)
        generator = torch.Generator().manual_seed(cfg.seed)
        norms, steps = batch_norms(self.module), 0
        for callback in self.callbacks:
            callback.on_train_begin(state)
        for epoch in range(cfg.max_epochs):
            tick = time.perf_counter()
            order = torch.randperm(len(train), generator=generator).to(self.data_device)
            train_loss, grad_norm = self._train_epoch(train, optimizer, order)
            record = {"epoch": epoch, "train_loss": train_loss, "grad_norm": grad_norm}
            record["lr"] = optimizer.param_groups[0]["lr"]
            if not math.isfinite(train_loss):
                raise NonFiniteLossError(
                    f"training loss became {train_loss} at epoch {epoch} (lr={cfg.lr:g}); "
                    "the net diverged: lower the learning rate or enable gradient clipping"
                )
            steps += len(_batches(len(train), cfg.batch_size))
            if norms and cfg.recalibration_rows and steps <= RECALIBRATE_STEPS:
                self._recalibrate(norms, train, order[: cfg.recalibration_rows])
            record.update(self._validate(val))
            record["seconds"] = time.perf_counter() - tick
            state.history.append(record)
            for callback in self.callbacks:
                callback.on_epoch_end(state, record)
            if state.stop:
                break
        for callback in self.callbacks:
            callback.on_train_end(state)
        return state

    def _train_epoch(
        self, data: TensorData, optimizer: torch.optim.Optimizer, order: Tensor
    ) -> tuple[float, float]:
        self.module.train()
        n, clip = len(data), self.config.grad_clip
        loss_sum = torch.zeros((), device=self.device)
        norm_sum = torch.zeros((), device=self.device)
        bounds = _batches(n, self.config.batch_size)
        for start, stop in bounds:
            idx = order[start:stop]
            # A no-op when the data already live on the device (the usual case).
            inputs = tuple(t[idx].to(self.device, non_blocking=True) for t in data.inputs)
            target = data.target[idx].to(self.device, non_blocking=True)
            if self.train_transform is not None:
                inputs = self.train_transform(inputs)
            with self._autocast():
                output = self.module(*inputs)
            loss = self.loss_fn(output.float(), target)
            optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(optimizer)
            else:
                loss.backward()
            if clip:
                norm_sum += nn.utils.clip_grad_norm_(self.module.parameters(), clip)
            if self.scaler is not None:
                self.scaler.step(optimizer)
                self.scaler.update()
            else:
                optimizer.step()
            loss_sum += loss.detach() * (stop - start)
        seen = sum(stop - start for start, stop in bounds)
        grad_norm = (norm_sum / len(bounds)).item() if clip else math.nan
        return (loss_sum / seen).item(), grad_norm

    @torch.no_grad()
    def _recalibrate(
        self, norms: list[nn.modules.batchnorm._BatchNorm], data: TensorData, rows: Tensor
    ) -> None:
        """Running statistics of ``norms`` := their average over ``rows`` with the current weights.

        Everything else stays in eval mode (dropout off: the statistics match what evaluation
        feeds each layer, and no random numbers are drawn); no augmentation.
        """
        self.module.eval()
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.train()
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches below
        for start, stop in _batches(len(rows), max(self.config.batch_size, len(rows))):
            idx = rows[start:stop]
            inputs = tuple(t[idx].to(self.device, non_blocking=True) for t in data.inputs)
            with self._autocast():
                self.module(*inputs)
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        self.module.eval()

    def _validate(self, val: TensorData | None) -> dict[str, float]:
        if val is None:
            return {"val_loss": math.nan, "val_score": math.nan}
        output = self.predict(val.inputs)
        target = val.target.to(self.device)
        return {
            "val_loss": self.loss_fn(output, target).item(),
            "val_score": self.score_fn(output, target),
        }

    def predict(self, inputs: tuple[Tensor, ...]) -> Tensor:
        return predict_outputs(self.module, inputs, self.device)


@torch.inference_mode()
def predict_outputs(
    module: nn.Module, inputs: tuple[Tensor, ...], device: torch.device, batch_size: int = 4096
) -> Tensor:
    """Raw outputs (float32, on ``device``) of ``module`` in eval mode, in large batches."""
    module.eval()
    dtype = autocast_dtype(device)
    outputs = []
    for start in range(0, len(inputs[0]), batch_size):
        batch = tuple(t[start : start + batch_size].to(device) for t in inputs)
        with torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext():
            outputs.append(module(*batch).float())
    return torch.cat(outputs)
