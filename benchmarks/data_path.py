"""The data path on the largest shared datasets: loading (cold, disk-cached, in-process) and
featurisation (plain, first call through a cell's feature memo, repeated call), plus what the
memo saves over the trials of one tuning cell.

Datasets: nyc_flights_2013 (327k rows, tabular), cifar10_15k (15k 32×32×3 images) and
clickbait_headlines (32k short texts), from ``../shared/data``.

- **load**: `load_dataset` in fresh interpreters: with an empty ``DLVSML_CACHE`` folder (parse,
  then write the cache), with the cache off (parse only), with the folder already populated
  (read the cache), and a second call in the same process (the in-process memo).
- **featurise**: the featurisers the classical models use (tabular one-hot + standard scaling,
  ordinal and native encodings; pixels and HOG; TF-IDF word + char n-grams) on a cell-sized
  subsample (3000 rows: 2400 train + 600 validation, the default 0.2 validation fraction) and on
  the whole set: fit on train and transform validation, plainly, through a `FeatureMemo`'s first
  (missing) call, and through a repeated (hit) call.
- **trials**: the trials of one cell that keep the same featuriser parameters and change only
  the learner's (what Optuna does once the featuriser choice settles), through
  `dlvsml.tuning`'s own objective (build, fit with the validation split, predict and score on
  it), with ``DLVSML_FEATURE_CACHE=off`` vs on: a new objective, so a new empty memo, per run.

Run: ``python benchmarks/data_path.py [--repeats 3]``; writes
``benchmarks/results/data_path.{json,md}``. Wall times are noisy on a shared machine; CPU time
(this process, or the child's own for the load rows) is reported beside every wall time.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import (
    SHARED_DATA,
    Result,
    cli,
    clocks,
    elapsed,
    median,
    python_in_fresh_process,
)

DATASETS = {
    "nyc_flights_2013": "file:{data}/tabular/nyc_flights_2013.parquet?target=target",
    "cifar10_15k": "npz:{data}/image/cifar10_15k.npz",
    "clickbait_headlines": "textcsv:{data}/text/clickbait_headlines.csv.gz",
}
CELL_ROWS = 3000
VALIDATION_FRACTION = 0.2
TRIALS = 3

LOAD_CODE = """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
from dlvsml.data import load_dataset
t1, c1 = time.perf_counter(), time.process_time()
ds = load_dataset({uri!r})
t2, c2 = time.perf_counter(), time.process_time()
again = load_dataset({uri!r})
t3, c3 = time.perf_counter(), time.process_time()
assert again is ds
print(json.dumps({{"import": [t1 - t0, c1 - c0], "load": [t2 - t1, c2 - c1],
                  "memo": [t3 - t2, c3 - c2], "rows": ds.n_rows}}))
"""


def uri(name: str) -> str:
    return DATASETS[name].format(data=SHARED_DATA)


# --- load ---------------------------------------------------------------------------------------


def _load_once(name: str, cache: str) -> dict[str, Any]:
    out = python_in_fresh_process(LOAD_CODE.format(uri=uri(name)), env={"DLVSML_CACHE": cache})
    return json.loads(out.strip().splitlines()[-1])


def load_rows(repeats: int) -> list[dict[str, Any]]:
    """Per dataset: cold (empty cache: parse + write), parse only (cache off), disk-cached, memo."""
    rows = []
    for name in DATASETS:
        runs: dict[str, list[list[float]]] = {"cold": [], "off": [], "disk": [], "memo": []}
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="dlvsml-bench-cache-") as folder:
                cold = _load_once(name, folder)
                disk = _load_once(name, folder)
            runs["off"].append(_load_once(name, "off")["load"])
            runs["cold"].append(cold["load"])
            runs["disk"].append(disk["load"])
            runs["memo"].append(disk["memo"])
        labels = {
            "cold": "load, empty disk cache (parse + write entry)",
            "off": "load, disk cache off (parse only)",
            "disk": "load, disk cache populated (fresh process)",
            "memo": "second load in the same process (memo)",
        }
        for case, label in labels.items():
            rows.append(
                {
                    "section": "load",
                    "dataset": name,
                    "case": label,
                    "kind": case,
                    "rows": cold["rows"],
                    "wall_s": median(w for w, _ in runs[case]),
                    "cpu_s": median(c for _, c in runs[case]),
                    "runs": len(runs[case]),
                }
            )
    return rows


# --- featurisation ------------------------------------------------------------------------------


def _cell(name: str, n_rows: int | None, seed: int = 0) -> tuple[Any, Any, Any, Any, Any]:
    """(dataset, X_train, y_train, X_val, y_val): a random cell of ``n_rows`` split 80/20, or
    the whole set as train with the same 600-row validation part when ``n_rows`` is None."""
    from dlvsml.data import load_dataset, train_validation_split

    previous = os.environ.get("DLVSML_CACHE")
    os.environ["DLVSML_CACHE"] = "off"  # set-up only: leave nothing in the user's cache folder
    try:
        ds = load_dataset(uri(name))
    finally:
        if previous is None:
            os.environ.pop("DLVSML_CACHE")
        else:
            os.environ["DLVSML_CACHE"] = previous
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(ds.n_rows, CELL_ROWS if n_rows is None else n_rows, replace=False))
    train, val = train_validation_split(ds.y[rows], ds.task, VALIDATION_FRACTION, seed)

    def take(positions: np.ndarray) -> Any:
        return ds.X.iloc[positions] if hasattr(ds.X, "iloc") else ds.X[positions]

    if n_rows is None:
        all_rows = np.arange(ds.n_rows)
        return ds, take(all_rows), ds.y, take(rows[val]), ds.y[rows[val]]
    return ds, take(rows[train]), ds.y[rows[train]], take(rows[val]), ds.y[rows[val]]


# On the whole set: the costliest tabular and text featurisers, and pixels (the default image
# featuriser; HOG on 15k images takes about 5 CPU seconds and scales linearly from the cell).
FULL_SET_FEATURISERS = {
    "tabular onehot+standard (linear, svm, knn)",
    "pixels",
    "TF-IDF word+char, 20k each",
}


def _featurisers(name: str) -> dict[str, Callable[[], Any]]:
    from dlvsml.models.features import ImageFeatures, TabularFeatures, TextFeatures

    return {
        "nyc_flights_2013": {
            "tabular onehot+standard (linear, svm, knn)": lambda: TabularFeatures("onehot"),
            "tabular ordinal (forests)": lambda: TabularFeatures("ordinal", "none"),
            "tabular native (boosters)": lambda: TabularFeatures("native", "none"),
        },
        "cifar10_15k": {
            "pixels": lambda: ImageFeatures("pixels"),
            "HOG 4×4 cells": lambda: ImageFeatures("hog", hog_cells=4),
        },
        "clickbait_headlines": {
            "TF-IDF word+char, 20k each": lambda: TextFeatures(20_000, char_ngrams=True),
            "TF-IDF word, 5k": lambda: TextFeatures(5_000, char_ngrams=False),
        },
    }[name]


def _featurise_uncached(make: Callable[[], Any], X, y, X_val) -> None:
    featuriser = make()
    featuriser.fit_transform(X, y)
    featuriser.transform(X_val)


class _NoLearner:
    """A final step that learns nothing, so that a memo's fit is its featurisation alone."""

    def fit(self, X, y=None):
        return self

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {}


def _featurise_memoised(memo: Any, make: Callable[[], Any], X, y, X_val, y_val) -> None:
    from dlvsml.models.pipeline import ModelPipeline

    pipeline = ModelPipeline([("features", make()), ("model", _NoLearner())])
    memo.featurised(memo.fit(pipeline, X, y, (X_val, y_val)), X_val)


def featurise_rows(repeats: int) -> list[dict[str, Any]]:
    """Fit on train + transform validation: plain, memo's first call (miss), repeated (hit)."""
    from dlvsml.models.pipeline import FeatureMemo

    rows = []
    for name in DATASETS:
        for size_label, n_rows, runs in (("cell", CELL_ROWS, repeats), ("full", None, 1)):
            _, X, y, X_val, y_val = _cell(name, n_rows)
            for label, make in _featurisers(name).items():
                if size_label == "full" and label not in FULL_SET_FEATURISERS:
                    continue  # the whole set: one featuriser per dataset, to stay short
                times: dict[str, list[tuple[float, float]]] = {"off": [], "miss": [], "hit": []}
                for _ in range(runs):
                    start = clocks()
                    _featurise_uncached(make, X, y, X_val)
                    times["off"].append(elapsed(start))
                    memo = FeatureMemo(max_bytes=4 << 30)
                    start = clocks()
                    _featurise_memoised(memo, make, X, y, X_val, y_val)
                    times["miss"].append(elapsed(start))
                    for _ in range(3 if size_label == "cell" else 1):
                        start = clocks()
                        _featurise_memoised(memo, make, X, y, X_val, y_val)
                        times["hit"].append(elapsed(start))
                off_wall = median(w for w, _ in times["off"])
                for case, text in (
                    ("off", "plain (fit_transform + transform)"),
                    ("miss", "memo, first call (miss)"),
                    ("hit", "memo, repeated call (hit)"),
                ):
                    wall = median(w for w, _ in times[case])
                    rows.append(
                        {
                            "section": "featurise",
                            "dataset": name,
                            "case": f"{label}: {text}",
                            "rows": f"{len(y)}+{len(X_val)}",
                            "wall_s": wall,
                            "cpu_s": median(c for _, c in times[case]),
                            "vs_off": wall / off_wall if off_wall else None,
                            "runs": len(times[case]),
                        }
                    )
    return rows


# --- trials of one cell -------------------------------------------------------------------------

# (dataset, model, featuriser params held fixed, learner params that change from trial to trial)
TRIAL_CASES: list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]] = [
    ("clickbait_headlines", "linear", {}, [{"model__C": c} for c in (10.0, 1.0, 100.0, 0.3)]),
    (
        "cifar10_15k",
        "knn",
        {"features__kind": "hog", "features__hog_cells": 4},
        [{"model__n_neighbors": k} for k in (5, 15, 3, 30)],
    ),
    (
        "cifar10_15k",
        "knn",
        {"features__kind": "pixels"},
        [{"model__n_neighbors": k} for k in (5, 15, 3, 30)],
    ),
    ("nyc_flights_2013", "linear", {}, [{"model__alpha": a} for a in (1.0, 10.0, 0.1, 100.0)]),
    (
        "nyc_flights_2013",
        "lightgbm",
        {},
        [
            {"model__estimator__num_leaves": n, "model__estimator__learning_rate": 0.1}
            for n in (31, 15, 63, 7)
        ],
    ),
]


def _trials(name: str, model: str, features: dict, learners: list[dict], data) -> None:
    """``TRIALS`` tuning trials through `dlvsml.tuning`'s objective: build, fit, score."""
    from dlvsml.models import ModelContext, get_model
    from dlvsml.records import CellData
    from dlvsml.spec import Budget
    from dlvsml.tuning.budget import Ledger
    from dlvsml.tuning.objective import Objective

    ds, X, y, X_val, y_val = data
    context = ModelContext.for_dataset(ds, train_size=len(y))
    metric = "rmse" if ds.task == "regression" else "accuracy"
    data = CellData(X, y, X_val, y_val)
    objective = Objective(get_model(model), context, data, metric, Ledger(Budget()), None)
    for params in learners[:TRIALS]:
        objective.fit_and_score({**features, **params}, context)


def _features_label(features: dict[str, Any]) -> str:
    if not features:
        return ""
    return " on " + ("HOG" if features.get("features__kind") == "hog" else "pixels")


def trial_rows(repeats: int) -> list[dict[str, Any]]:
    """Wall and CPU of ``TRIALS`` trials with the same featuriser, memo off vs on, interleaved;
    each run is a new objective with a new memo, so its first trial always misses."""
    rows = []
    for name, model, features, learners in TRIAL_CASES:
        data = _cell(name, CELL_ROWS)
        runs: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for _ in range(repeats):
            for case in ("off", "on"):
                os.environ["DLVSML_FEATURE_CACHE"] = "off" if case == "off" else ""
                start = clocks()
                _trials(name, model, features, learners, data)
                runs[case].append(elapsed(start))
        os.environ.pop("DLVSML_FEATURE_CACHE", None)
        off_wall = median(w for w, _ in runs["off"])
        off_cpu = median(c for _, c in runs["off"])
        for case, text in (("off", "feature memo off"), ("on", "feature memo on")):
            wall, cpu = median(w for w, _ in runs[case]), median(c for _, c in runs[case])
            rows.append(
                {
                    "section": "trials",
                    "dataset": name,
                    "case": f"{model}{_features_label(features)}, {TRIALS} trials: {text}",
                    "model": f"{model}{_features_label(features)}",
                    "cache": case,
                    "rows": f"{len(data[2])}+{len(data[4])}",
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "vs_off": wall / off_wall,
                    "cpu_vs_off": cpu / off_cpu,
                    "runs": len(runs[case]),
                }
            )
    return rows


def headline(rows: list[dict[str, Any]]) -> str:
    """The feature memo's CPU saving over same-featuriser trials, and the disk cache's."""
    savings = {
        f"{row['dataset']} {row['model']}": 1 - row["cpu_vs_off"]
        for row in rows
        if row["section"] == "trials" and row["cache"] == "on"
    }
    loads = {
        (row["dataset"], row["kind"]): row["cpu_s"] for row in rows if row["section"] == "load"
    }
    speedups = [loads[name, "cold"] / loads[name, "disk"] for name in DATASETS]
    parts = ", ".join(f"{case} {-saving:+.0%}" for case, saving in savings.items())
    return (
        f"Feature memo, CPU of {TRIALS} same-featuriser trials: {parts}. Disk-cached load "
        f"{min(speedups):.1f}-{max(speedups):.1f}× less CPU than a cold one."
    )


def run(repeats: int) -> Result:
    rows, seconds = [], {}
    sections = {"load": load_rows, "featurise": featurise_rows, "trials": trial_rows}
    for section, measure in sections.items():
        start = clocks()
        rows += measure(repeats)
        seconds[section] = round(elapsed(start)[0], 1)
    return Result(
        name="data_path",
        title="Data path: loading and featurisation of the largest shared datasets",
        headline=headline(rows),
        rows=rows,
        columns=[
            ("section", "section"),
            ("dataset", "dataset"),
            ("case", "case"),
            ("rows", "rows"),
            ("wall_s", "wall s (median)"),
            ("cpu_s", "CPU s (median)"),
            ("vs_off", "wall ÷ off"),
            ("runs", "runs"),
        ],
        notes=[
            "Load: each figure is the `load_dataset` call alone, timed inside a fresh "
            "interpreter (imports excluded); CPU is that child's. 'Cold' means an empty dlvsml "
            "cache folder, not a cold OS page cache (the source files stay in RAM).",
            f"Featurise: 'cell' is {CELL_ROWS} random rows split 80/20 into train and "
            "validation; 'full' fits on the whole dataset (one run; one featuriser per dataset) "
            "and transforms the same validation rows. A miss fits a clone of the featuriser "
            "and keeps it with its two matrices (`FeatureMemo`); a hit looks them up by the "
            "featuriser's class and parameters (no copies, no hashing of the data).",
            f"Trials: {TRIALS} trials of one {CELL_ROWS}-row cell whose featuriser parameters "
            "stay the same while the learner's change, through `dlvsml.tuning`'s objective "
            "(`fit_and_score`: build, fit with the validation split, predict and score on it); "
            "'memo off' (`DLVSML_FEATURE_CACHE=off`) fits every pipeline whole, as before the "
            "memo. Each run is a new objective, so its first trial always misses; in a real "
            "study only trials that repeat an earlier featuriser choice hit. "
            "Single-threaded learners (n_threads=1).",
        ],
        meta={
            "cell_rows": CELL_ROWS,
            "trials": TRIALS,
            "repeats": repeats,
            "section_wall_seconds": seconds,
        },
    )


def main() -> None:
    cli(run, default_repeats=3)


if __name__ == "__main__":
    main()
