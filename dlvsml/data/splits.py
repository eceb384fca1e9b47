"""Splits: a fixed test split, train sizes, nested subsamples, and validation within a subsample.

The test split depends on the dataset only (its own seed, 0 by default), so every run and every
seed scores on the same rows. Subsamples are drawn from the rest (the *pool*) and are nested:
for one seed, the 1,000-row subsample contains the 300-row one. Validation for tuning and early
stopping is carved out of each subsample, never out of the test split.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from dlvsml.errors import DataError

LCDB_START = 16


class SplitSettings(Protocol):
    """What a spec's ``split`` says (`dlvsml.spec.Split`), as the splits read it."""

    test_fraction: float
    test_cap: int | None
    validation_fraction: float


@dataclass(frozen=True)
class CellRows:
    """Row positions into a dataset; validation is carved from the subsample, never the test."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray

    def digests(self) -> dict[str, str]:
        """Short hashes that let a test (or a reader) compare subsamples across models."""
        return {
            f"{part}_indices_sha": hashlib.sha256(
                np.sort(getattr(self, part)).tobytes()
            ).hexdigest()[:12]
            for part in ("train", "validation", "test")
        }


def cell_rows(
    y: np.ndarray, task: str, train_size: int, seed: int, split: SplitSettings
) -> CellRows:
    """The train, validation and test rows of a cell of ``train_size`` (resolved when planned)
    and ``seed``; every model of the cell gets the same rows.

    A cell carries its size and seed rather than these arrays (a few bytes, not up to a
    dataset's length, to every worker process or Ray task); deriving them costs one test split.
    """
    pool, test = test_split(y, task, fraction=split.test_fraction, cap=split.test_cap)
    subsample = pool[nested_subsamples(y[pool], [train_size], task, seed)[train_size]]
    train, validation = train_validation_split(y[subsample], task, split.validation_fraction, seed)
    return CellRows(train=subsample[train], validation=subsample[validation], test=test)


def test_split(
    y: np.ndarray, task: str, *, fraction: float = 0.2, cap: int | None = 5000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted ``(pool_indices, test_indices)``: ``fraction`` of the rows (at most ``cap``) for test.

    Stratified for classification, so the test split has the dataset's class proportions.
    """
    n_rows = len(y)
    n_test = max(1, round(fraction * n_rows))
    if cap is not None:
        n_test = min(n_test, cap)
    if n_rows - n_test < 1:
        raise DataError(f"only {n_rows} rows: too few to hold out a test split and still train")
    stratify = None
    if task != "regression":
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < 2:
            rare = classes[counts < 2].tolist()
            raise DataError(
                f"class(es) {rare} have a single example; a stratified test split needs at least "
                "two per class; remove or merge those classes"
            )
        n_test = min(max(n_test, len(classes)), n_rows - len(classes))
        stratify = y
    from sklearn.model_selection import train_test_split  # deferred: slow to import for the CLI

    pool, test = train_test_split(
        np.arange(n_rows), test_size=n_test, random_state=seed, stratify=stratify
    )
    return np.sort(pool), np.sort(test)


test_split.__test__ = False  # a function named test_*, not a pytest test


def lcdb_anchors(pool_size: int) -> list[int]:
    """``round(16 · √2^k)``: 16, 23, 32, 45, 64, 91, 128, ... up to the pool, then the pool."""
    anchors: list[int] = []
    k = 0
    while (size := round(LCDB_START * math.sqrt(2) ** k)) <= pool_size:
        anchors.append(size)
        k += 1
    if not anchors or anchors[-1] != pool_size:
        anchors.append(pool_size)
    return anchors


def resolve_train_sizes(
    sizes: str | Sequence[int | float | str], pool_size: int, *, n_classes: int | None = None
) -> list[int]:
    """Absolute train sizes, sorted and without duplicates.

    ``sizes`` is ``"lcdb"`` or a list of counts (``300``), fractions of the pool (``0.5``;
    ``1.0`` is the whole pool) and ``"max"``. With ``n_classes`` given, sizes below it cannot
    hold one example per class: "lcdb" leaves those anchors out, explicit sizes are an error.
    """
    minimum = n_classes or 1
    if isinstance(sizes, str):
        if sizes != "lcdb":
            raise DataError(f"train_sizes {sizes!r}: use 'lcdb' or a list of sizes")
        return [size for size in lcdb_anchors(pool_size) if size >= minimum]
    resolved = sorted({_absolute(size, pool_size) for size in sizes})
    for size in resolved:
        if size > pool_size:
            raise DataError(
                f"train size {size} exceeds the {pool_size:,} examples available after the test "
                "split; use a smaller size or 'max'"
            )
        if size < minimum:
            raise DataError(
                f"train size {size} cannot hold one example of each of the {minimum} classes; "
                f"use at least {minimum}"
            )
    return resolved


def _absolute(size: int | float | str, pool_size: int) -> int:
    if size == "max":
        return pool_size
    if isinstance(size, bool) or not isinstance(size, int | float | np.integer | np.floating):
        raise DataError(f"train size {size!r}: use a count, a fraction in (0, 1], or 'max'")
    if isinstance(size, float | np.floating):
        if not 0 < size <= 1:
            raise DataError(f"train size {size}: a fraction must be in (0, 1]; counts are ints")
        return max(1, round(size * pool_size))
    if size < 1:
        raise DataError(f"train size {size}: must be at least 1")
    return int(size)


def nested_subsamples(
    y_pool: np.ndarray, sizes: list[int], task: str, seed: int
) -> dict[int, np.ndarray]:
    """Positions into the pool for each size; each subsample is a prefix of one ordering.

    Classification: the ordering first takes one random example of each class, then interleaves
    each class's other shuffled examples by Webster (Sainte-Laguë) apportionment, which is
    house-monotone: every prefix keeps the class proportions to within rounding, except that
    each class has at least one example once ``size >= K``.
    """
    order = stratified_order(y_pool, task, seed)
    n_classes = 1 if task == "regression" else len(np.unique(y_pool))
    result: dict[int, np.ndarray] = {}
    for size in sizes:
        if not n_classes <= size <= len(y_pool):
            raise DataError(
                f"train size {size} must be between {n_classes} (one example per class) and "
                f"{len(y_pool):,} (the pool)"
            )
        result[int(size)] = np.sort(order[:size])
    return result


def stratified_order(y: np.ndarray, task: str, seed: int) -> np.ndarray:
    """A random ordering of positions whose every prefix is (nearly) stratified."""
    rng = np.random.default_rng(seed)
    if task == "regression":
        return rng.permutation(len(y))
    keys = np.empty(len(y))
    for label in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == label))
        ranks = np.arange(len(members), dtype=float)
        # Rank 0 of every class comes first; the rest follow their Webster keys (r + 0.5) / n.
        keys[members] = np.where(ranks == 0, -1.0, (ranks + 0.5) / len(members))
    tie_break = rng.random(len(y))
    return np.lexsort((tie_break, keys))


def train_validation_split(
    y_sub: np.ndarray, task: str, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(train_positions, validation_positions)`` within a subsample; disjoint and covering.

    Classification: each class with at least two examples gives about ``fraction`` of them, and
    at least one, to validation; single-example classes stay in train. Neither part is empty.
    """
    n_rows = len(y_sub)
    if n_rows < 2:
        raise DataError(
            f"a subsample of {n_rows} example cannot be split into train and validation"
        )
    rng = np.random.default_rng(seed)
    if task == "regression":
        order = rng.permutation(n_rows)
        n_val = min(max(1, round(fraction * n_rows)), n_rows - 1)
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    validation: list[np.ndarray] = []
    for label in np.unique(y_sub):
        members = rng.permutation(np.flatnonzero(y_sub == label))
        if len(members) >= 2:
            n_val = min(max(1, round(fraction * len(members))), len(members) - 1)
            validation.append(members[:n_val])
    val = np.concatenate(validation) if validation else rng.permutation(n_rows)[:1]
    train = np.setdiff1d(np.arange(n_rows), val)
    return train, np.sort(val)
