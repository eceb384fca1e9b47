"""Throughput of dlvsml's shared Trainer against a plain hand-written PyTorch loop.

Three workloads: an MLP on adult (tabular), a ConvNet on sklearn digits (image) and a TextCNN on
clickbait headlines tokenised by dlvsml's own `Vocabulary` (text). For each, the same data,
architecture (identical initial weights), epochs and batch size run these ways, interleaved in
one process, medians over repeats:

- ``trainer``: dlvsml's `Trainer` with what the estimators use by default (gradient clipping, a
  validation pass, a cosine schedule and early-stopping bookkeeping every epoch);
- ``plain minimal``: shuffle, forward, backward, step and nothing else;
- ``plain same work``: the minimal loop plus clipping, a validation loss/accuracy per epoch and
  (the ConvNet, as `ImageNet` trains it) the trainer's recalibration of BatchNorm statistics in
  the first epochs, i.e. the job the trainer does. The goal is a ratio of at least 0.95 against it;
- for the ConvNet, ``plain same work`` without the recalibration, to show its cost.

Throughput is training samples per second of process CPU time (robust when other jobs share the
cores, since the runs use one intra-op thread) and per second of wall time (both in the JSON).
On a CUDA machine the runs use the GPU (data on the device, bf16/fp16 autocast) and wall time is
the figure to read.

Run: ``python benchmarks/trainer_throughput.py [--repeats 5]``; writes
``benchmarks/results/trainer_throughput.{json,md}``.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from torch import nn

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import SHARED_DATA, Result, cli, clocks, elapsed, median
from dlvsml.models.neural.device import autocast_dtype, resolve_device
from dlvsml.models.neural.image import ImageNet
from dlvsml.models.neural.image_nets import ConvNet
from dlvsml.models.neural.tabular_features import TabularFeatures
from dlvsml.models.neural.tabular_nets import MLP
from dlvsml.models.neural.text import MIN_LENGTH
from dlvsml.models.neural.text_features import Vocabulary
from dlvsml.models.neural.text_nets import TextCNN
from dlvsml.models.neural.trainer import (
    RECALIBRATE_STEPS,
    CosineSchedule,
    EarlyStopping,
    TensorData,
    TrainConfig,
    Trainer,
    batch_norms,
)

THREADS = 1  # intra-op threads for every run: CPU time then measures the work, not contention
RUNS = ("trainer", "plain_minimal", "plain_same_work")


@dataclass
class Workload:
    label: str
    dataset: str
    train: TensorData
    val: TensorData
    make_module: Callable[[], nn.Module]
    config: TrainConfig


def tabular_workload(n_rows: int = 20_000) -> Workload:
    """Adult (census income) from shared data when present, else 20k×50 synthetic numbers."""
    path = SHARED_DATA / "tabular" / "adult.parquet"
    if path.exists():
        frame = pd.read_parquet(path)
        y = frame["target"].to_numpy()
        X = frame.drop(columns=["target"])
        name = "adult"
    else:
        rng = np.random.default_rng(0)
        X = pd.DataFrame(rng.normal(size=(n_rows + 2000, 50)))
        y = (X.iloc[:, :5].sum(1) > 0).to_numpy()
        name = "synthetic 50 features"
    y = pd.factorize(y)[0]
    features = TabularFeatures().fit(X.iloc[:n_rows])

    def data(rows: slice) -> TensorData:
        numbers, codes = features.transform(X.iloc[rows])
        target = torch.from_numpy(np.array(y[rows], dtype=np.int64))
        return TensorData((torch.from_numpy(numbers), torch.from_numpy(codes)), target)

    n_classes = int(y.max()) + 1
    return Workload(
        "MLP 4×256",
        f"{name}, {n_rows} rows",
        data(slice(0, n_rows)),
        data(slice(n_rows, n_rows + 2000)),
        lambda: MLP(features.n_numeric, features.cardinalities, n_classes, 4, 256, 0.1),
        TrainConfig(lr=1e-3, batch_size=512, max_epochs=5),
    )


def image_workload() -> Workload:
    """sklearn digits as 8×8 grey images (standardised)."""
    digits = load_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(digits.target.astype(np.int64))
    return Workload(
        "ConvNet 2 stages × 32",
        "sklearn digits, 1500 images",
        TensorData((x[:1500],), y[:1500]),
        TensorData((x[1500:],), y[1500:]),
        lambda: ConvNet(1, 10, 2, 32, 0.1),
        # As `ImageNet` trains: BatchNorm statistics recomputed in the first epochs.
        TrainConfig(
            lr=1e-3, batch_size=128, max_epochs=5, recalibration_rows=ImageNet.recalibration_rows
        ),
    )


def text_workload(n_rows: int = 3000, n_val: int = 1000) -> Workload:
    """Clickbait headlines (else SMS spam), ids from dlvsml's Vocabulary as `TextNet` makes them.

    TextCNN with the ``textcnn`` spec's defaults (embedding 128, 100 filters per width, dropout
    0.5, batch 64).
    """
    for file in ("clickbait_headlines.csv.gz", "sms_spam.csv.gz"):
        path = SHARED_DATA / "text" / file
        if path.exists():
            frame = pd.read_csv(path).sample(frac=1.0, random_state=0)
            texts, y, name = frame["text"].to_numpy(object), frame["label"].to_numpy(), file
            break
    else:  # no shared data: a synthetic two-class corpus
        rng = np.random.default_rng(0)
        words = np.array([f"w{i}" for i in range(3000)])
        y = rng.integers(0, 2, n_rows + n_val)
        texts = np.array(
            [" ".join(rng.choice(words[k * 1500 : (k + 1) * 1500], 12)) for k in y], dtype=object
        )
        name = "synthetic"
    vocabulary = Vocabulary(min_count=2, max_size=30_000, max_length=256).fit(texts[:n_rows])

    def data(rows: slice) -> TensorData:
        ids = vocabulary.encode(texts[rows], MIN_LENGTH["textcnn"])
        target = torch.from_numpy(np.array(y[rows], dtype=np.int64))
        return TensorData((torch.from_numpy(ids),), target)

    n_classes = int(y.max()) + 1
    return Workload(
        "TextCNN 3/4/5 × 100, embedding 128",
        f"{name.split('.')[0]}, {n_rows} texts, vocabulary {vocabulary.size}",
        data(slice(0, n_rows)),
        data(slice(n_rows, n_rows + n_val)),
        lambda: TextCNN(vocabulary.size, n_classes, 128, 100, 0.5),
        TrainConfig(lr=1e-3, batch_size=64, max_epochs=2),
    )


def plain_loop(
    module: nn.Module,
    data: TensorData,
    cfg: TrainConfig,
    device: torch.device,
    val: TensorData | None = None,
    recalibrate: bool = True,
) -> tuple[float, float]:
    """A hand-written loop; returns (wall, CPU) training seconds.

    Minimal (shuffle, forward, backward, step) without ``val``; with ``val`` it does the same job
    as the trainer: gradient clipping, a validation loss/accuracy every epoch and, when
    ``cfg.recalibration_rows`` is set and the net has BatchNorm (unless ``recalibrate`` is
    false), the trainer's BatchNorm recalibration while fewer than `RECALIBRATE_STEPS` steps have
    been taken (a forward pass over that many training rows after the epoch).
    """
    inputs = tuple(t.to(device) for t in data.inputs)
    target = data.target.to(device)
    module = module.to(device)
    optimizer = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    dtype = autocast_dtype(device)
    autocast = (
        (lambda: torch.autocast(device.type, dtype=dtype)) if dtype is not None else nullcontext
    )
    recalibrating = val is not None and recalibrate and cfg.recalibration_rows > 0
    norms = batch_norms(module) if recalibrating else []
    generator = torch.Generator().manual_seed(cfg.seed)
    steps = 0
    _sync(device)
    tick = clocks()
    for _ in range(cfg.max_epochs):
        module.train()
        order = torch.randperm(len(target), generator=generator).to(device)
        for start in range(0, len(target), cfg.batch_size):
            idx = order[start : start + cfg.batch_size]
            with autocast():
                output = module(*(t[idx] for t in inputs))
            loss = nn.functional.cross_entropy(output.float(), target[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if val is not None:
                nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
            optimizer.step()
            steps += 1
        if norms and steps <= RECALIBRATE_STEPS:
            module.eval()
            for norm in norms:
                norm.train()
                norm.reset_running_stats()
                norm.momentum = None
            idx = order[: cfg.recalibration_rows]
            with torch.no_grad(), autocast():
                module(*(t[idx] for t in inputs))
            for norm in norms:
                norm.momentum = 0.1  # torch's default, which the nets use
        if val is not None:
            module.eval()
            with torch.no_grad(), autocast():
                output = module(*(t.to(device) for t in val.inputs)).float()
            target_val = val.target.to(device)
            _ = nn.functional.cross_entropy(output, target_val).item()
            _ = (output.argmax(1) == target_val).float().mean().item()
    _sync(device)
    return elapsed(tick)


def trainer_loop(
    module: nn.Module, data: TensorData, val: TensorData, cfg: TrainConfig, device: torch.device
) -> tuple[float, float]:
    """dlvsml's Trainer with the estimators' default callbacks; returns (wall, CPU) seconds."""
    trainer = Trainer(
        module,
        nn.functional.cross_entropy,
        lambda out, y: (out.argmax(1) == y).float().mean().item(),
        cfg,
        device,
        [CosineSchedule(), EarlyStopping(patience=10**6)],
    )
    _sync(device)
    tick = clocks()
    trainer.fit(data, val)
    _sync(device)
    return elapsed(tick)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(workload: Workload, device: torch.device, repeats: int) -> dict:
    """One row: samples/s of the three runs (CPU and wall) and the trainer's ratios."""
    cfg, train, val = workload.config, workload.train, workload.val
    torch.manual_seed(0)
    initial = workload.make_module()
    runs: dict[str, Callable[[], tuple[float, float]]] = {
        "trainer": lambda: trainer_loop(copy.deepcopy(initial), train, val, cfg, device),
        "plain_minimal": lambda: plain_loop(copy.deepcopy(initial), train, cfg, device),
        "plain_same_work": lambda: plain_loop(copy.deepcopy(initial), train, cfg, device, val),
    }
    if cfg.recalibration_rows and batch_norms(initial):  # what the recalibration costs
        runs["plain_same_work_no_recalibration"] = lambda: plain_loop(
            copy.deepcopy(initial), train, cfg, device, val, recalibrate=False
        )
    for run in runs.values():  # warm-up: allocator, kernels, lazy imports
        run()
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(repeats):  # round-robin, so drifting load hits every run alike
        for name, run in runs.items():
            seconds[name].append(run())
    samples = len(train) * cfg.max_epochs
    row: dict = {
        "workload": workload.label,
        "dataset": workload.dataset,
        "epochs": cfg.max_epochs,
        "batch_size": cfg.batch_size,
        "steps_per_epoch": -(-len(train) // cfg.batch_size),
        "repeats": repeats,
    }
    for clock, k in (("cpu", 1), ("wall", 0)):
        rates = {name: samples / median(s[k] for s in v) for name, v in seconds.items()}
        for name, rate in rates.items():
            row[f"{name}_samples_per_{clock}_s"] = round(rate, 1)
        for baseline in ("plain_minimal", "plain_same_work"):
            row[f"ratio_{clock}_vs_{baseline}"] = round(rates["trainer"] / rates[baseline], 3)
        if "plain_same_work_no_recalibration" in rates:
            share = 1 - rates["plain_same_work"] / rates["plain_same_work_no_recalibration"]
            row[f"recalibration_share_{clock}"] = round(share, 3)
    row["seconds_wall_cpu"] = {n: [[round(x, 4) for x in s] for s in v] for n, v in seconds.items()}
    return row


WORKLOADS: tuple[Callable[[], Workload], ...] = (tabular_workload, image_workload, text_workload)


def run(repeats: int) -> Result:
    previous = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        device, reason = resolve_device("auto")
        rows = [measure(make(), device, repeats) for make in WORKLOADS]
    finally:
        torch.set_num_threads(previous)
    clock = "wall" if device.type == "cuda" else "cpu"
    ratios = ", ".join(
        f"{row['workload'].split()[0]} {row[f'ratio_{clock}_vs_plain_same_work']:.2f}"
        for row in rows
    )
    return Result(
        name="trainer_throughput",
        title="Trainer throughput vs a plain PyTorch loop",
        headline=f"trainer / same-work plain loop, samples per {clock} second: {ratios} "
        "(goal ≥ 0.95)",
        rows=rows,
        columns=[
            ("workload", "workload"),
            ("dataset", "data"),
            ("epochs", "epochs"),
            ("batch_size", "batch"),
            (f"plain_minimal_samples_per_{clock}_s", f"plain minimal (samples/{clock} s)"),
            (f"plain_same_work_samples_per_{clock}_s", f"plain same work (samples/{clock} s)"),
            (f"trainer_samples_per_{clock}_s", f"trainer (samples/{clock} s)"),
            (f"ratio_{clock}_vs_plain_minimal", "ratio vs minimal"),
            (f"ratio_{clock}_vs_plain_same_work", "ratio vs same work"),
            (
                "ratio_wall_vs_plain_same_work"
                if clock == "cpu"
                else "ratio_cpu_vs_plain_same_work",
                "ratio vs same work (wall)" if clock == "cpu" else "ratio vs same work (CPU)",
            ),
            (f"recalibration_share_{clock}", "BatchNorm recalibration share"),
        ],
        notes=[
            f"Device: {device} ({reason}); {THREADS} intra-op thread. Medians over {repeats} "
            "interleaved repeats after one warm-up of each run. Goal: trainer ≥ 0.95 × `plain "
            "same work`.",
            "The trainer runs as the estimators use it: gradient clipping, a validation pass, a "
            "cosine schedule and early-stopping bookkeeping (best weights kept) every epoch, and "
            "for the ConvNet, as the image estimators train it, a recalibration of the BatchNorm "
            f"statistics ({ImageNet.recalibration_rows} training images, forward only) after "
            f"each epoch until {RECALIBRATE_STEPS} steps are taken. `plain minimal` only "
            "shuffles, steps and back-propagates; `plain same work` also clips, recalibrates "
            "and validates (no schedule, no best-weights copy). "
            "`BatchNorm recalibration share`: the part of `plain same work`'s time that the "
            "recalibration takes (measured against the same loop without it).",
            "Ratios by CPU time are the robust figure on a shared CPU machine; wall-clock ratios "
            "move with other load. On CUDA, wall time is the figure (CPU time then counts the "
            "host thread only).",
        ],
        meta={"device": str(device), "device_reason": reason, "threads": THREADS},
    )


def main() -> None:
    cli(run)


if __name__ == "__main__":
    main()
