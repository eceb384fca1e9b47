"""Targets: the task a target implies, label encoding, and rows without a target.

Rules (override any of them with ``task=`` in the URI):

- a non-numeric target (strings, booleans, categories) is classification;
- an integer target is classification when it has at most ``MAX_PLAIN_CLASSES`` distinct
  values; with more than ``MAX_INTEGER_CLASSES``, or with more than ``MAX_PLAIN_CLASSES`` of
  which most occur in fewer than ``MIN_CLASS_ROWS`` rows (counts: visits, items, ages), it is
  regression, with a note saying that ``task=classification`` forces classes;
- a float target is regression, unless its values are exactly the integers ``0..K-1``
  (labels stored as floats, e.g. because the column had missing values).

Classification labels are encoded ``0..K-1`` in sorted order of the original values, whose
string forms become ``class_names``. Rows whose target is missing are dropped with a warning;
a target with no value at all, or with one class, is an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dlvsml.errors import DataError

log = logging.getLogger(__name__)

MAX_PLAIN_CLASSES = 20
MAX_INTEGER_CLASSES = 100
MIN_CLASS_ROWS = 30
TASK_CHOICES = ("regression", "binary", "multiclass", "classification")


@dataclass(frozen=True)
class Target:
    """An encoded target: ``y`` (int64 labels or float64 values), its task and class names."""

    y: np.ndarray
    task: str
    class_names: tuple[str, ...] | None
    note: str | None = None  # a decision the user should hear about (a count taken as regression)


def missing_target_rows(values: pd.Series, where: str) -> np.ndarray:
    """A boolean mask of rows to keep; warns about dropped rows, errors if none remain."""
    missing = values.isna().to_numpy()
    if missing.all():
        raise DataError(f"{where}: the target has no values (all {len(values)} are missing)")
    if missing.any():
        log.warning(
            "%s: dropped %d of %d rows whose target is missing", where, missing.sum(), len(values)
        )
    return ~missing


def encode_target(values: pd.Series, where: str, task: str | None = None) -> Target:
    """Infer (or check) the task of a target without missing values and encode it."""
    if task is not None and task not in TASK_CHOICES:
        raise DataError(f"{where}: task={task!r} is not one of {', '.join(TASK_CHOICES)}")
    chosen = task if task in ("regression", None) else "classification"
    note = None
    if chosen is None:
        chosen = infer_task(values)
        note = count_note(values) if chosen == "regression" else None
    if chosen == "regression":
        return Target(_regression_values(values, where), "regression", None, note)
    return _encode_labels(values, where, task)


def infer_task(values: pd.Series) -> str:
    """``regression`` or ``classification`` from the target's dtype and values (see module)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "classification"
    distinct = values.unique()
    if pd.api.types.is_integer_dtype(values):
        return "regression" if count_note(values) else "classification"
    as_float = distinct.astype(float)
    looks_encoded = np.array_equal(np.sort(as_float), np.arange(len(distinct), dtype=float))
    return "classification" if looks_encoded else "regression"


def count_note(values: pd.Series) -> str | None:
    """Why an integer target is taken as regression (see module), or None if it is not."""
    if not pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    counts = values.value_counts()
    rare = int((counts < MIN_CLASS_ROWS).sum())
    if len(counts) > MAX_INTEGER_CLASSES:
        why = f"more than {MAX_INTEGER_CLASSES}"
    elif len(counts) > MAX_PLAIN_CLASSES and rare > len(counts) / 2:
        why = f"{rare} of them in fewer than {MIN_CLASS_ROWS} rows each"
    else:
        return None
    return (
        f"the integer target has {len(counts)} distinct values ({why}), so it is taken as "
        "regression; add task=classification to the URI to predict each value as a class"
    )


def _regression_values(values: pd.Series, where: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        examples = ", ".join(repr(v) for v in values.drop_duplicates().head(3))
        raise DataError(
            f"{where}: a regression target must be numeric, but it holds values like {examples}; "
            "choose a numeric target column or drop task=regression"
        )
    numbers = values.to_numpy(dtype=np.float64)
    if len(numbers) and np.all(numbers == numbers[0]):
        raise DataError(
            f"{where}: the target is constant (every value is {numbers[0]:g}); "
            "there is nothing to predict, so choose another target column"
        )
    if not np.isfinite(numbers).all():
        raise DataError(
            f"{where}: the regression target holds {int((~np.isfinite(numbers)).sum())} "
            "infinite values; replace or drop those rows"
        )
    return numbers


def _encode_labels(values: pd.Series, where: str, task: str | None) -> Target:
    codes, uniques = pd.factorize(values, sort=True)
    n_classes = len(uniques)
    if n_classes < 2:
        raise DataError(
            f"{where}: the target has a single class ({uniques[0]!r}); "
            "classification needs at least two"
        )
    inferred = "binary" if n_classes == 2 else "multiclass"
    if task in ("binary", "multiclass") and task != inferred:
        raise DataError(f"{where}: task={task} but the target has {n_classes} classes")
    names = tuple(_label_name(v) for v in uniques)
    return Target(codes.astype(np.int64), inferred, names)


def _label_name(value: object) -> str:
    """``1.0`` reads as ``1``: float labels usually come from integer columns with gaps."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def encode_with_names(
    labels: np.ndarray, names: tuple[str, ...] | None, where: str, task: str | None = None
) -> Target:
    """Encode labels that may be indices into ``names`` given beside them (npz, CSV).

    Classes absent from the labels are dropped, so ``K`` always counts the classes present.
    """
    labels = np.asarray(labels)
    target = encode_target(pd.Series(labels), where, task)
    if target.task == "regression" or not names or not np.issubdtype(labels.dtype, np.integer):
        return target
    present = np.unique(labels)
    if present.min() < 0 or present.max() >= len(names):
        return target
    return Target(target.y, target.task, tuple(str(names[k]) for k in present))
