"""Run one cell: slice its rows, tune its model, score the best model once on the test split.

`run_cell` never raises for a failing cell: a model error, a cell past ``cell_timeout`` or a
diverged net becomes a FAILED `CellResult` with its reason, so the suite goes on. It runs the same
in the runner's process and in worker processes (everything it takes and returns pickles).
"""

from __future__ import annotations

import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from dlvsml.data import Dataset, load_dataset
from dlvsml.data.splits import cell_rows
from dlvsml.errors import DataError
from dlvsml.faults import fault_point
from dlvsml.guard import learning_signal
from dlvsml.metrics import predict, resolve_metric, task_metrics
from dlvsml.models import ModelContext, get_model
from dlvsml.records import Cell, CellData, CellResult, TrialRecord
from dlvsml.run.budget_flags import budget_flags, stopped_by
from dlvsml.run.resources import limit_threads, memory_limit, peak_memory_mb, reset_peak_memory
from dlvsml.spec import ExperimentSpec
from dlvsml.stores import storage_url
from dlvsml.tuning import TuningOutcome, tune

# Events a running cell reports: ("trial", key, trial number, best validation score so far).
Reporter = Callable[[tuple[Any, ...]], None]


class CellTimeout(BaseException):
    """Raised by the alarm when a cell runs past ``cell_timeout`` (not an Exception, so model
    code that catches Exception cannot swallow it)."""


def run_cell(
    spec: ExperimentSpec,
    cell: Cell,
    n_threads: int = 1,
    report: Reporter | None = None,
    *,
    worker: int = 0,
) -> CellResult:
    """Tune and test one cell; failures come back as a FAILED result with the reason.

    ``worker`` > 0 joins the cell's study as an extra tuning worker (see `dlvsml.tuning.tune`).
    """
    result = CellResult(cell=cell, status="failed", started_at=time.time())
    try:
        with _alarm(spec.cell_timeout), memory_limit(spec.cell_memory_mb):
            _run(spec, cell, n_threads, report, result, worker)
        result.status = "finished"
    except CellTimeout:
        result.reason = f"exceeded cell_timeout of {spec.cell_timeout:g} s"
    except Exception as exc:  # the suite goes on; the reason is recorded
        result.reason = f"{type(exc).__name__}: {exc}"[:1000]
        if spec.cell_memory_mb and "MemoryError" in result.reason:
            result.reason = (
                f"exceeded cell_memory_mb of {spec.cell_memory_mb:g} MB ({result.reason})"
            )
        result.trials = getattr(exc, "trials", result.trials)  # TuningFailed: the failed trials
    result.ended_at = time.time()
    return result


def _run(
    spec: ExperimentSpec,
    cell: Cell,
    n_threads: int,
    report: Reporter | None,
    result: CellResult,
    worker: int,
) -> None:
    """Slice the cell's rows, tune on train and validation, then test the best model once."""
    limit_threads(n_threads)
    dataset = _dataset(cell)
    rows = cell_rows(dataset.y, dataset.task, cell.train_size, cell.seed, spec.split)
    result.indices = rows.digests()
    X_train, y_train = dataset.take(rows.train)
    X_val, y_val = dataset.take(rows.validation)
    context = cell_context(cell, spec, dataset, n_threads)
    result.metric = resolve_metric(spec.metric, dataset.task)
    on_trial = None if report is None else (lambda n, best: report(("trial", cell.key, n, best)))
    resident_mb = reset_peak_memory()
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = tune(
        cell.key,
        get_model(cell.model),
        context,
        CellData(X_train, y_train, X_val, y_val),
        metric=result.metric,
        budget=spec.all_budgets[cell.budget],
        storage=storage_url(spec),
        on_trial=on_trial,
        worker=worker,
        continues=cell.continues,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result.trials = outcome.trials
    signal = learning_signal(
        outcome.estimator,
        X_val,
        y_val,
        y_train,
        task=dataset.task,
        metric=result.metric,
        n_classes=dataset.n_classes,
        n_trials=sum(t.state == "COMPLETE" for t in outcome.trials),
        seed=cell.seed,
    )
    result.no_signal, result.dummy_validation_score = signal.no_signal, signal.dummy_score
    result.measurements = {  # compute measured, not assumed
        "tuning_wall_seconds": wall,
        "tuning_cpu_seconds": cpu,
        "fit_cpu_seconds": outcome.fit_cpu_seconds,
        "n_threads": float(n_threads),
    }
    _test(spec, dataset, rows.test, outcome, result, resident_mb)


def cell_context(
    cell: Cell, spec: ExperimentSpec, dataset: Dataset, n_threads: int
) -> ModelContext:
    """What the cell's models are built for: its dataset, seed, size, device and threads."""
    return ModelContext.for_dataset(
        dataset,
        seed=cell.seed,
        device=spec.device,
        n_threads=n_threads,
        train_size=cell.train_size,
    )


def _dataset(cell: Cell) -> Dataset:
    """The cell's dataset, refused if it changed since the suite was planned."""
    dataset = load_dataset(cell.dataset_uri)
    fault_point("cell_data")
    if dataset.fingerprint != cell.fingerprint:
        raise DataError(
            f"{cell.dataset_uri} changed since the suite was planned; re-run `dlvsml run`"
        )
    return dataset


def _test(
    spec: ExperimentSpec,
    dataset: Dataset,
    test_rows: np.ndarray,
    outcome: TuningOutcome,
    result: CellResult,
    resident_mb: float,
) -> None:
    """Score the best model once on the test split; record it with what the cell cost."""
    X_test, y_test = dataset.take(test_rows)
    predictions = predict(outcome.estimator, X_test, dataset.task, dataset.n_classes)
    if not np.all(np.isfinite(predictions.y_pred.astype(float))):
        raise FloatingPointError("the best model predicts NaN or inf on the test split")
    result.device = _device(outcome.estimator, result.cell.family, spec.device)
    price = spec.prices.gpu_hour if result.device.startswith("cuda") else spec.prices.cpu_hour
    result.validation_score = outcome.validation_score
    result.test_metrics = task_metrics(dataset.task, y_test, predictions, dataset.n_classes)
    result.best_params = outcome.params
    result.measurements |= {
        "tuning_seconds": outcome.tuning_seconds,
        "fit_seconds": outcome.fit_seconds,
        "predict_seconds_per_1k": predictions.predict_seconds * 1000 / max(1, len(y_test)),
        "peak_memory_mb": peak_memory_mb(),
        "memory_growth_mb": max(0.0, peak_memory_mb() - resident_mb),
        "cost_usd": outcome.tuning_seconds / 3600 * price,
        **_size(outcome.estimator),
        **_trial_counts(outcome.trials),
    }
    result.history = _history(outcome.estimator)
    if result.history:
        result.measurements["epochs_trained"] = float(len(result.history))
    result.stopped_by = stopped_by(_attribute(outcome.estimator, "stopped_by_"))
    n_iter_done = _attribute(outcome.estimator, "n_iter_done_")
    if n_iter_done is None and result.history:
        n_iter_done = len(result.history)
    budget = spec.all_budgets[result.cell.budget]
    result.measurements |= budget_flags(outcome.trials, budget, result.stopped_by, n_iter_done)
    result.y_test, result.y_pred = y_test, predictions.y_pred
    result.class_names = dataset.class_names


@contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raise `CellTimeout` after ``seconds`` (signals need the main thread; elsewhere no limit)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(signum: int, frame: Any) -> None:
        raise CellTimeout

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)


def _device(estimator: Any, family: str, requested: str) -> str:
    found = _attribute(estimator, "device_")
    if found is not None:
        return str(found)
    if family == "neural" and requested == "auto" and "torch" in sys.modules:
        return "cuda" if sys.modules["torch"].cuda.is_available() else "cpu"
    return requested if family == "neural" and requested != "auto" else "cpu"


def _size(estimator: Any) -> dict[str, float]:
    """Parameter count of a torch model, else the pickled size of the fitted model in bytes."""
    if "torch" in sys.modules:
        module = _torch_module(estimator, sys.modules["torch"].nn.Module)
        if module is not None:
            return {"param_count": float(sum(p.numel() for p in module.parameters()))}
    try:
        return {"model_bytes": float(len(pickle.dumps(estimator)))}
    except Exception:  # an unpicklable model has no byte size to report
        return {}


def _torch_module(estimator: Any, module_type: type) -> Any:
    for part in _parts(estimator):
        for value in vars(part).values():
            if isinstance(value, module_type):
                return value
    return None


def _attribute(estimator: Any, name: str) -> Any:
    for part in _parts(estimator):
        if getattr(part, name, None) is not None:
            return getattr(part, name)
    return None


def _parts(estimator: Any) -> list[Any]:
    """The estimator and, for a scikit-learn Pipeline, its steps."""
    steps = getattr(estimator, "steps", None)
    return [estimator, *(step for _, step in steps)] if steps else [estimator]


def _history(estimator: Any) -> list[dict[str, Any]] | None:
    history = _attribute(estimator, "history_")
    if history is None:
        return None
    if isinstance(history, dict):  # columns -> rows
        keys = list(history)
        return [dict(zip(keys, row, strict=False)) for row in zip(*history.values(), strict=False)]
    return [dict(row) for row in history]


def _trial_counts(trials: list[TrialRecord]) -> dict[str, float]:
    counts = {"n_trials": float(len(trials))}
    for state in ("COMPLETE", "PRUNED", "FAIL"):
        counts[f"n_trials_{state.lower()}"] = float(sum(t.state == state for t in trials))
    return counts
