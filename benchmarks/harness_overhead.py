"""Harness overhead: one cell through `dlvsml run` vs the same fit written against the library.

Two cells with fixed hyperparameters (a budget of one trial: the model's defaults):

- XGBoost on adult (48,842 rows; 5,000 test rows, the rest split 80/20 into train and
  validation), hist trees, native categoricals, early stopping on validation;
- an MLP (4 × 256) on sklearn's digits, quantile-normal inputs, AdamW, batches of 512, as many
  epochs as dlvsml's early stopping ran (read from the warm-up cell, so both do the same work).

The direct version takes the same rows (dlvsml's split, computed before the clock starts),
encodes, fits, predicts the test split and computes the same test metrics. The dlvsml version is
`run_spec` on a one-cell spec: planning, the Optuna study and its trial in SQLite, the fit, the
test metrics, the MLflow parent and trial runs with their artifacts. Both start with the data
loaded (dlvsml's in-process cache is warm; the direct code holds the frame), so neither pays for
parsing; stores exist before the clock starts (a new Optuna file and MLflow experiment per
repeat, so each repeat computes its cell afresh). Both use every core. Overhead = dlvsml /
direct − 1, from medians of interleaved repeats.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._common import SHARED_DATA, Result, cli, interleaved, median

ADULT = SHARED_DATA / "tabular" / "adult.parquet"


def _metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """The classification metrics dlvsml logs for a cell."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        f1_score,
        log_loss,
        roc_auc_score,
    )

    y_pred = proba.argmax(axis=1)
    scores = {
        "accuracy": accuracy_score(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "f1_macro": f1_score(y_true, y_pred, average="macro"),
        "log_loss": log_loss(y_true, proba, labels=np.arange(proba.shape[1])),
    }
    if proba.shape[1] == 2:
        scores["roc_auc"] = roc_auc_score(y_true, proba[:, 1])
    else:
        scores["roc_auc"] = roc_auc_score(y_true, proba, multi_class="ovr")
    return scores


Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # train, validation, test positions


def cell_rows(spec) -> Rows:
    """The rows dlvsml's cell fits, validates and tests on, so both sides do the same work (the
    same rows give the same number of boosting rounds); computed before any clock starts."""
    from dlvsml.data import load_dataset
    from dlvsml.data.splits import cell_rows as rows_of
    from dlvsml.run.plan import plan_cells

    cell = plan_cells(spec).cells[0]
    dataset = load_dataset(cell.dataset_uri)
    rows = rows_of(dataset.y, dataset.task, cell.train_size, cell.seed, spec.split)
    return rows.train, rows.validation, rows.test


# --- XGBoost on adult ---------------------------------------------------------------------


def xgboost_direct(frame: pd.DataFrame, rows: Rows, threads: int) -> float:
    """Split, encode, fit with early stopping, score the test split; returns balanced accuracy."""
    import xgboost

    from dlvsml.models.classical import _XGBOOST_DEFAULTS

    y = pd.factorize(frame["target"], sort=True)[0]
    X = frame.drop(columns="target")
    for column in X.columns:
        if not pd.api.types.is_numeric_dtype(X[column]):
            X[column] = X[column].astype("category")
    train, val, test = rows
    booster = "model__estimator__"  # the booster's params in the model's pipeline
    params = {k[len(booster) :]: v for k, v in _XGBOOST_DEFAULTS.items() if k.startswith(booster)}
    model = xgboost.XGBClassifier(
        **params,
        tree_method="hist",
        enable_categorical=True,
        early_stopping_rounds=_XGBOOST_DEFAULTS["model__early_stopping_rounds"],
        n_jobs=threads,
        random_state=0,
        verbosity=0,
    )
    model.fit(X.iloc[train], y[train], eval_set=[(X.iloc[val], y[val])], verbose=False)
    return _metrics(y[test], model.predict_proba(X.iloc[test]))["balanced_accuracy"]


# --- MLP on digits ------------------------------------------------------------------------


def mlp_direct(X: np.ndarray, y: np.ndarray, rows: Rows, epochs: int, threads: int) -> float:
    """Quantile-normal inputs, a 4×256 MLP, AdamW, clipping, a validation pass each epoch and
    the best epoch's weights kept (what early stopping does), ``epochs`` epochs."""
    import torch
    from sklearn.preprocessing import QuantileTransformer
    from torch import nn

    from dlvsml.models.neural.estimator import effective_batch_size

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    train, val, test = rows
    scaler = QuantileTransformer(
        output_distribution="normal", n_quantiles=min(1000, len(train)), random_state=0
    ).fit(X[train])

    def tensor(rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(scaler.transform(X[rows]).astype(np.float32))

    x_train, x_val, x_test = tensor(train), tensor(val), tensor(test)
    y_train, y_val = torch.from_numpy(y[train]), torch.from_numpy(y[val])
    layers: list[nn.Module] = []
    width = X.shape[1]
    for _ in range(4):
        layers += [nn.Linear(width, 256), nn.ReLU(), nn.Dropout(0.1)]
        width = 256
    net = nn.Sequential(*layers, nn.Linear(width, int(y.max()) + 1))
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-5)
    batch_size = effective_batch_size(512, len(train))  # the batches dlvsml's trainer takes
    best, best_state = float("inf"), None
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(y_train))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            loss = nn.functional.cross_entropy(net(x_train[batch]), y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimizer.step()
        net.eval()
        with torch.no_grad():
            val_loss = nn.functional.cross_entropy(net(x_val), y_val).item()
        if val_loss < best:
            best, best_state = val_loss, copy.deepcopy(net.state_dict())
    net.load_state_dict(best_state)
    with torch.no_grad():
        proba = torch.softmax(net(x_test), dim=1).numpy().astype(np.float64)
    proba /= proba.sum(axis=1, keepdims=True)  # float32 sums drift from 1
    return _metrics(y[test], proba)["balanced_accuracy"]


# --- the dlvsml side ----------------------------------------------------------------------


class DlvsmlCell:
    """Runs one cell through `run_spec`; each call gets a new Optuna file and experiment, created
    before the clock starts (`prepare`), so every call computes the cell afresh."""

    def __init__(self, uri: str, model: str, folder: Path) -> None:
        self.uri, self.model, self.folder = uri, model, folder
        self.calls = 0
        self.spec = None

    def prepare(self) -> None:
        from dlvsml.spec import ExperimentSpec
        from dlvsml.stores import open_storage
        from dlvsml.tracking import Tracker

        self.calls += 1
        name = f"overhead-{self.model}-{self.calls}"
        storage = f"sqlite:///{self.folder / f'optuna-{self.calls}.db'}"
        tracking = f"sqlite:///{self.folder / 'mlflow.db'}"
        self.spec = ExperimentSpec(
            name=name,
            datasets=[self.uri],
            train_sizes=["max"],
            models=[self.model],
            seeds=[0],
            budget={"trials": 1},
            tracking_uri=tracking,
            optuna_storage=storage,
        )
        open_storage(storage)
        Tracker(name, tracking)

    def __call__(self) -> None:
        from dlvsml.run.suite import run_spec

        summary = run_spec(self.spec, progress=False)
        if summary.failed or len(summary.finished) != 1:
            raise RuntimeError(f"the benchmark cell did not finish: {summary.failed}")
        self.spec = None

    def last(self) -> pd.Series:
        from dlvsml.tracking import results_frame

        return results_frame(f"overhead-{self.model}-{self.calls}", self.spec_uri).iloc[0]

    @property
    def spec_uri(self) -> str:
        return f"sqlite:///{self.folder / 'mlflow.db'}"


def _timed(cell: DlvsmlCell, direct, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """Interleaved repeats; dlvsml's stores are prepared outside the timed region."""
    import time

    dlvsml_s, direct_s, fit_s = [], [], []
    for _ in range(repeats):
        cell.prepare()
        start = time.perf_counter()
        cell()
        dlvsml_s.append(time.perf_counter() - start)
        fit_s.append(float(cell.last()["fit_seconds"]))
        seconds = interleaved({"direct": direct}, 1, warmup=False)["direct"]
        direct_s.extend(seconds)
        print(f"  {cell.model}: dlvsml {dlvsml_s[-1]:.3f} s, direct {seconds[0]:.3f} s", flush=True)
    return dlvsml_s, direct_s, fit_s


def run(repeats: int) -> Result:
    from dlvsml.data import load_dataset
    from dlvsml.run.resources import threads_per_worker

    threads = threads_per_worker(1)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)

        adult_uri = f"file:{ADULT}?target=target"
        frame = pd.read_parquet(ADULT)
        load_dataset(adult_uri)  # dlvsml's in-process cache, like the frame held above
        cell = DlvsmlCell(adult_uri, "xgboost", root)
        cell.prepare()
        split = cell_rows(cell.spec)
        cell()  # warm-up: imports, kernels
        xgboost_direct(frame, split, threads)
        dl, direct, fit = _timed(cell, lambda: xgboost_direct(frame, split, threads), repeats)
        rows.append(_row("XGBoost on adult (38,273 fit rows)", dl, direct, fit, None))

        from sklearn.datasets import load_digits

        digits = load_digits(as_frame=True).frame  # as a table: the MLP takes tabular data
        digits.to_parquet(root / "digits.parquet")
        cell = DlvsmlCell(f"file:{root / 'digits.parquet'}?target=target", "mlp", root)
        cell.prepare()
        split = cell_rows(cell.spec)
        cell()
        epochs = _epochs(cell.last())
        X = digits.drop(columns="target").to_numpy(np.float64)
        y = digits["target"].to_numpy(np.int64)
        mlp_direct(X, y, split, epochs, threads)
        dl, direct, fit = _timed(cell, lambda: mlp_direct(X, y, split, epochs, threads), repeats)
        rows.append(_row("MLP 4×256 on digits (1,150 fit rows)", dl, direct, fit, epochs))
    headline = ", ".join(
        f"{row['workload'].split(' (')[0]} {row['overhead_pct']:+.0f} %" for row in rows
    )
    return Result(
        name="harness_overhead",
        headline=f"dlvsml cell vs direct library code: {headline} (goal ≤ 3 %)",
        title="Harness overhead: one cell through dlvsml vs the same fit written directly",
        rows=rows,
        columns=[
            ("workload", "cell"),
            ("direct_s", "direct (s)"),
            ("dlvsml_s", "dlvsml cell (s)"),
            ("fit_s", "of which the fit (s)"),
            ("overhead_pct", "overhead %"),
            ("epochs", "epochs"),
        ],
        notes=[
            f"Medians of {repeats} interleaved repeats, {threads} thread(s). Goal: overhead ≤ 3 %.",
            "The dlvsml cell covers planning, the Optuna study and trial in SQLite, the fit, "
            "test metrics, and the MLflow parent and trial runs with their plots and history; "
            "the direct code covers encoding, the fit and the test metrics on the same rows. "
            "Neither includes parsing the data file or creating the stores (a suite does those "
            "once).",
        ],
        meta={"threads": threads, "repeats": repeats},
    )


def _epochs(row: pd.Series) -> int:
    """Epochs the warm-up cell's net ran."""
    return int(row["epochs_trained"])


def _row(label: str, dl: list[float], direct: list[float], fit: list[float], epochs) -> dict:
    dl_median, direct_median = median(dl), median(direct)
    return {
        "workload": label,
        "direct_s": round(direct_median, 3),
        "dlvsml_s": round(dl_median, 3),
        "fit_s": round(median(fit), 3),
        "overhead_pct": round(100 * (dl_median / direct_median - 1), 1),
        "epochs": epochs,
        "samples": {"direct": direct, "dlvsml": dl, "fit": fit},
    }


def main() -> None:
    cli(run, default_repeats=5)


if __name__ == "__main__":
    main()
