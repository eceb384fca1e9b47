"""`dlvsml results` as JSON and as a table that fits the terminal without cutting cells."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
from rich.console import Console

from dlvsml.analysis.listing import result_records, results_table

# The quick suite's datasets and models (experiments/quick.yaml).
QUICK = {
    "breast_cancer": ["linear", "random_forest", "lightgbm", "mlp"],
    "digits": ["linear", "random_forest", "lightgbm", "cnn"],
    "fine_foods": ["linear", "lightgbm", "fasttext"],
}
NEURAL = {"mlp", "cnn", "fasttext"}


def _results() -> pd.DataFrame:
    """`tracking.results_frame`-shaped rows: MLflow metrics are floats, best_params JSON text."""
    rng = np.random.default_rng(0)
    rows = []
    for (dataset, models), size in itertools.product(QUICK.items(), (50, 150, 400)):
        for model in models:
            rows.append(
                {
                    "dataset": dataset,
                    "train_size": size,
                    "model": model,
                    "family": "neural" if model in NEURAL else "classical",
                    "seed": 0,
                    "status": "finished",
                    "metric": "balanced_accuracy",
                    "test_balanced_accuracy": float(rng.uniform(0.5, 1)),
                    "validation_score": float(rng.uniform(0.5, 1)),
                    "tuning_seconds": float(rng.uniform(0.1, 30)),
                    "n_trials": 3.0,
                    "n_trials_complete": 2.0,
                    "model_bytes": 4107.0,
                    "best_params": json.dumps({"learning_rate": 0.0123456, "num_leaves": 31}),
                }
            )
    return pd.DataFrame(rows)


def test_json_records_have_numbers_as_numbers_and_params_as_objects() -> None:
    records = json.loads(json.dumps(result_records(_results())))
    first = records[0]
    assert first["best_params"] == {"learning_rate": 0.0123456, "num_leaves": 31}
    for key in ("n_trials", "n_trials_complete", "train_size", "seed", "model_bytes"):
        assert type(first[key]) is int, key
    assert type(first["test_balanced_accuracy"]) is float


def test_at_80_columns_no_cell_is_cut_and_family_and_metric_show() -> None:
    frame = _results()
    console = Console(width=80, record=True, color_system=None)
    console.print(results_table(frame, console.width))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    # Rich crops a table wider than the terminal at the edge: every line must end in a border.
    assert all(line.rstrip()[-1] in "┓┃┩│┘" for line in text.splitlines()), text[:400]
    assert "…" not in text
    header = text.splitlines()[1]
    assert "family" in header and "bal_acc" in header
    lines = text.splitlines()[3:-1]
    assert len(lines) == len(frame)  # one line per cell: nothing wrapped
    for line, row in zip(lines, frame.to_dict("records"), strict=True):
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        assert cells[:4] == [row["dataset"], str(row["train_size"]), row["model"], row["family"]]
        assert cells[4] == f"{row['test_balanced_accuracy']:.3f}"
    wide = Console(width=200, record=True, color_system=None)
    wide.print(results_table(frame, wide.width))
    wide_text = wide.export_text()
    assert "best params" in wide_text and "learning_rate=0.0123" in wide_text
