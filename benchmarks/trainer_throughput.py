"""Throughput of dlvsml's shared Trainer against a plain hand-written PyTorch loop.

Same data, same architecture (identical initial weights), same epochs and batch size, measured
side by side in one process with the two runs interleaved, medians over repeats. The trainer runs
with everything it does by default (gradient clipping, a validation pass and early-stopping
bookkeeping every epoch); one plain loop is the bare minimum (shuffle, forward, backward, step)
and a second plain loop does the same job as the trainer (clipping + validation each epoch).

Run: ``python benchmarks/trainer_throughput.py [--repeats 5] [--device auto] [--threads 1]``
Writes ``benchmarks/results/trainer_throughput.{json,md}``.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from torch import nn

from dlvsml.models.neural.device import autocast_dtype, resolve_device
from dlvsml.models.neural.image_nets import ConvNet
from dlvsml.models.neural.tabular_features import TabularFeatures
from dlvsml.models.neural.tabular_nets import MLP
from dlvsml.models.neural.trainer import (
    CosineSchedule,
    EarlyStopping,
    TensorData,
    TrainConfig,
    Trainer,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


def tabular_workload(n_rows: int = 20_000) -> tuple[str, TensorData, TensorData, Callable]:
    """Adult (census income) from ../shared when present, else 20k×50 synthetic numbers."""
    path = SHARED / "tabular" / "adult.parquet"
    if path.exists():
        frame = pd.read_parquet(path)
        target = frame.columns[-1]
        y = pd.factorize(frame[target])[0]
        X = frame.drop(columns=[target])
        name = "adult"
    else:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(n_rows + 2000, 50))
        y = (X[:, :5].sum(1) > 0).astype(np.int64)
        name = "synthetic 50 features"
    features = TabularFeatures().fit(X.iloc[:n_rows] if hasattr(X, "iloc") else X[:n_rows])

    def data(rows: slice) -> TensorData:
        part = X.iloc[rows] if hasattr(X, "iloc") else X[rows]
        numbers, codes = features.transform(part)
        target = torch.from_numpy(np.asarray(y[rows], dtype=np.int64))
        return TensorData((torch.from_numpy(numbers), torch.from_numpy(codes)), target)

    n_classes = int(np.max(y)) + 1

    def module() -> nn.Module:
        return MLP(features.n_numeric, features.cardinalities, n_classes, 4, 256, 0.1)

    train, val = data(slice(0, n_rows)), data(slice(n_rows, n_rows + 2000))
    return f"MLP 4×256, {name} {n_rows} rows", train, val, module


def image_workload() -> tuple[str, TensorData, TensorData, Callable]:
    """sklearn digits as 8×8 grey images (standardised)."""
    digits = load_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(digits.target.astype(np.int64))
    train, val = TensorData((x[:1500],), y[:1500]), TensorData((x[1500:],), y[1500:])
    return (
        "ConvNet 2 stages × 32, digits 1500 images",
        train,
        val,
        lambda: ConvNet(1, 10, 2, 32, 0.1),
    )


def plain_loop(
    module: nn.Module,
    data: TensorData,
    cfg: TrainConfig,
    device: torch.device,
    val: TensorData | None = None,
) -> tuple[float, float]:
    """A hand-written loop; returns (wall, CPU) training seconds.

    Minimal (shuffle, forward, backward, step) without ``val``; with ``val`` it does the same job
    as the trainer: gradient clipping and a validation loss/accuracy every epoch.
    """
    inputs = tuple(t.to(device) for t in data.inputs)
    target = data.target.to(device)
    module = module.to(device)
    optimizer = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    dtype = autocast_dtype(device)
    autocast = (
        (lambda: torch.autocast(device.type, dtype=dtype)) if dtype is not None else nullcontext
    )
    generator = torch.Generator().manual_seed(cfg.seed)
    _sync(device)
    tick = _clocks()
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
        if val is not None:
            module.eval()
            with torch.no_grad(), autocast():
                output = module(*(t.to(device) for t in val.inputs)).float()
            target_val = val.target.to(device)
            _ = nn.functional.cross_entropy(output, target_val).item()
            _ = (output.argmax(1) == target_val).float().mean().item()
    _sync(device)
    return _elapsed(tick)


def trainer_loop(
    module: nn.Module, data: TensorData, val: TensorData, cfg: TrainConfig, device: torch.device
) -> tuple[float, float]:
    """dlvsml's Trainer with its default callbacks; returns (wall, CPU) training seconds."""
    trainer = Trainer(
        module,
        nn.functional.cross_entropy,
        lambda out, y: (out.argmax(1) == y).float().mean().item(),
        cfg,
        device,
        [CosineSchedule(), EarlyStopping(patience=10**6)],
    )
    _sync(device)
    tick = _clocks()
    trainer.fit(data, val)
    _sync(device)
    return _elapsed(tick)


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _elapsed(tick: tuple[float, float]) -> tuple[float, float]:
    """(wall, process CPU) seconds since ``tick``."""
    wall, cpu = _clocks()
    return wall - tick[0], cpu - tick[1]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(workload: tuple, cfg: TrainConfig, device: torch.device, repeats: int) -> dict:
    label, train, val, make_module = workload
    torch.manual_seed(0)
    initial = make_module()
    samples = len(train) * cfg.max_epochs
    runs: dict[str, Callable[[], tuple[float, float]]] = {
        "trainer": lambda: trainer_loop(copy.deepcopy(initial), train, val, cfg, device),
        "plain_minimal": lambda: plain_loop(copy.deepcopy(initial), train, cfg, device),
        "plain_same_work": lambda: plain_loop(copy.deepcopy(initial), train, cfg, device, val),
    }
    runs["plain_minimal"]()  # warm-up (allocator, kernels)
    seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            seconds[name].append(run())
    row: dict = {
        "workload": label,
        "epochs": cfg.max_epochs,
        "batch_size": cfg.batch_size,
        "repeats": repeats,
    }
    for clock, k in (("wall", 0), ("cpu", 1)):
        rates = {n: samples / statistics.median(s[k] for s in v) for n, v in seconds.items()}
        for name, rate in rates.items():
            row[f"{name}_samples_per_{clock}_s"] = round(rate, 1)
        for baseline in ("plain_minimal", "plain_same_work"):
            row[f"ratio_{clock}_vs_{baseline}"] = round(rates["trainer"] / rates[baseline], 3)
    row["seconds_wall_cpu"] = {n: [[round(x, 3) for x in s] for s in v] for n, v in seconds.items()}
    return row


def to_markdown(meta: dict, rows: list[dict]) -> str:
    lines = [
        "# Trainer throughput vs a plain PyTorch loop",
        "",
        f"Device: {meta['device']} ({meta['device_reason']}), torch {meta['torch']}, "
        f"{meta['threads']} thread(s), {meta['machine']}. Medians over {rows[0]['repeats']} "
        "interleaved repeats; goal: ratio ≥ 0.95.",
        "",
        "Samples/s by process CPU time (robust when other jobs share the cores; wall clock in",
        "the JSON). The trainer runs with its defaults: gradient clipping, a validation pass",
        "per epoch, early-stopping bookkeeping. `plain minimal` only shuffles, steps and",
        "back-propagates; `plain same work` also clips and validates every epoch.",
        "",
        "| workload | epochs | batch | plain minimal | plain same work | trainer "
        "| ratio vs minimal | ratio vs same work | ratio vs same work (wall) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['epochs']} | {r['batch_size']} "
            f"| {r['plain_minimal_samples_per_cpu_s']:,.0f} "
            f"| {r['plain_same_work_samples_per_cpu_s']:,.0f} "
            f"| {r['trainer_samples_per_cpu_s']:,.0f} "
            f"| {r['ratio_cpu_vs_plain_minimal']} | {r['ratio_cpu_vs_plain_same_work']} "
            f"| {r['ratio_wall_vs_plain_same_work']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device, reason = resolve_device(args.device)
    rows = [
        measure(
            tabular_workload(),
            TrainConfig(lr=1e-3, batch_size=512, max_epochs=5),
            device,
            args.repeats,
        ),
        measure(
            image_workload(),
            TrainConfig(lr=1e-3, batch_size=128, max_epochs=5),
            device,
            args.repeats,
        ),
    ]
    meta = {
        "device": str(device),
        "device_reason": reason,
        "torch": torch.__version__,
        "threads": args.threads,
        "machine": platform.processor() or platform.machine(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "trainer_throughput.json").write_text(
        json.dumps({**meta, "results": rows}, indent=2)
    )
    markdown = to_markdown(meta, rows)
    (args.out / "trainer_throughput.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
