"""The results frame as a person or a program reads it: typed JSON records, a table that fits.

`result_records` turns `tracking.results_frame` rows into plain JSON values: counts as ints
(MLflow stores every metric as a float), missing values as null, ``best_params`` as an object
rather than a JSON string inside JSON.

`result_columns` chooses the columns of the terminal table for a given width: the identifying
columns, the family and the primary test metric always; seed, status, tuning time, trials,
validation score and best parameters as room allows. A column is dropped whole rather than
cutting its cells (``breast…``, ``lightg…`` read as nothing).

Example::

    records = result_records(results_frame("quick"))
    console.print(results_table(results_frame("quick"), width=80))
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table

INT_COLUMNS = {"train_size", "seed", "start_time", "end_time", "model_bytes", "param_count"}
SCORE_ABBREVIATIONS = {
    "balanced_accuracy": "bal_acc",
    "accuracy": "acc",
    "f1_macro": "f1",
    "roc_auc": "auc",
    "log_loss": "log_loss",
    "rmse": "rmse",
    "mae": "mae",
    "r2": "r2",
}


@dataclass(frozen=True)
class Column:
    """A column of the results table: the frame's column, its header, how its cells read."""

    name: str
    header: str
    kind: str = "text"  # text | int | score | seconds | params | flag

    def cell(self, value: Any) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "–"
        if self.kind == "flag":
            return "yes" if value is True or value == 1 else ""
        if self.kind == "int":
            return f"{int(value):,}"
        if self.kind == "score":
            return f"{float(value):.3f}"
        if self.kind == "seconds":
            return f"{float(value):.1f}"
        if self.kind == "params":
            params = _params(value) or {}
            return ", ".join(f"{key}={_short(item)}" for key, item in params.items())
        return str(value)


def result_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON-ready dict per row: ints for counts, None for missing, objects for params."""
    records = []
    for row in frame.to_dict("records"):
        record = {}
        for key, value in row.items():
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, float) and not math.isfinite(value):
                value = None
            elif isinstance(value, float) and _is_count(key) and value.is_integer():
                value = int(value)
            elif key == "best_params":
                value = _params(value)
            elif value is pd.NA or value is pd.NaT:
                value = None
            record[str(key)] = value
        records.append(record)
    return records


def _is_count(column: str) -> bool:
    return column in INT_COLUMNS or column.startswith("n_")


def _params(value: Any) -> dict | None:
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return {"raw": value}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def primary_metrics(frame: pd.DataFrame) -> list[str]:
    """The ``test_<metric>`` columns cells were tuned on (one per task kind, present ones)."""
    if "metric" not in frame:
        return []
    names = [f"test_{name}" for name in frame["metric"].dropna().unique()]
    return [name for name in sorted(names) if name in frame]


def result_columns(frame: pd.DataFrame, width: int) -> list[Column]:
    """The columns that fit in ``width`` characters of a rich table, without cutting a cell.

    Columns always shown come first; optional ones are added in order of use while the table
    still fits.
    """
    always = [
        Column("dataset", "dataset"),
        Column("train_size", "size", "int"),
        Column("model", "model"),
        Column("family", "family"),
    ]
    always += [
        Column(name, SCORE_ABBREVIATIONS.get(name.removeprefix("test_"), name), "score")
        for name in primary_metrics(frame)
    ]
    optional = [
        Column("seed", "seed", "int"),
        Column("budget", "budget"),
        Column("status", "status"),
        Column("no_signal", "no signal", "flag"),
        Column("budget_bound", "bound", "flag"),
        Column("stopped_by", "stopped by"),
        Column("tuning_seconds", "tune s", "seconds"),
        Column("n_trials", "trials", "int"),
        Column("validation_score", "valid", "score"),
        Column("best_params", "best params", "params"),
    ]
    chosen = [column for column in always if column.name in frame]
    for column in optional:
        if column.name in frame and table_width(frame, [*chosen, column]) <= width:
            chosen.append(column)
    order = [column.name for column in (*always, *optional)]
    return sorted(chosen, key=lambda column: order.index(column.name))


def results_table(frame: pd.DataFrame, width: int, title: str = "") -> Table:
    """The rich table of `result_columns` for a terminal ``width`` wide: numbers right-aligned
    under right-aligned headers, cells never cut (a cell wider than 40 characters wraps)."""
    columns = result_columns(frame, width)
    table = Table(title=title or None)
    for column in columns:
        numeric = column.kind in ("int", "score", "seconds")
        table.add_column(
            column.header,
            justify="right" if numeric else "left",
            min_width=min(column_width(frame, column), 40),
            overflow="fold",
        )
    for row in frame.to_dict("records"):
        table.add_row(*(escape(column.cell(row[column.name])) for column in columns))
    return table


def table_width(frame: pd.DataFrame, columns: list[Column]) -> int:
    """Characters a rich table with a box and one space of padding needs for these columns."""
    widths = [column_width(frame, column) for column in columns]
    return sum(widths) + 3 * len(widths) + 1


def column_width(frame: pd.DataFrame, column: Column) -> int:
    cells = [len(column.cell(value)) for value in frame[column.name]]
    return max([len(column.header), *cells])
