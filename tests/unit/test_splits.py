"""Splits: the test split never leaks into training, subsamples nest, proportions hold."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlvsml.data import (
    lcdb_anchors,
    nested_subsamples,
    resolve_train_sizes,
    test_split,
    train_validation_split,
)
from dlvsml.data.splits import cell_rows
from dlvsml.errors import DataError
from dlvsml.spec import Split

FAST = settings(max_examples=60, deadline=None)


@st.composite
def labels(draw: st.DrawFn, min_per_class: int = 2) -> np.ndarray:
    """Imbalanced class labels: 2..6 classes of min_per_class..80 examples, shuffled."""
    counts = draw(st.lists(st.integers(min_per_class, 80), min_size=2, max_size=6))
    y = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(draw(st.integers(0, 1000))).permutation(y)


@FAST
@given(y=labels(), fraction=st.floats(0.05, 0.5), cap=st.none() | st.integers(1, 200))
def test_test_split_is_a_stratified_partition(y: np.ndarray, fraction: float, cap: int | None):
    pool, test = test_split(y, "multiclass", fraction=fraction, cap=cap)
    assert len(np.intersect1d(pool, test)) == 0
    assert np.array_equal(np.sort(np.concatenate([pool, test])), np.arange(len(y)))
    assert set(y[pool]) == set(y)
    expected = np.bincount(y) * len(test) / len(y)
    assert np.all(np.abs(np.bincount(y[test], minlength=y.max() + 1) - expected) <= 1 + 1e-9)
    again = test_split(y, "multiclass", fraction=fraction, cap=cap)
    assert np.array_equal(again[1], test)


def test_test_split_cap_and_regression() -> None:
    pool, test = test_split(np.linspace(0, 1, 30_000), "regression", fraction=0.2, cap=5000)
    assert (len(pool), len(test)) == (25_000, 5000)
    assert not np.array_equal(test, test_split(np.zeros(30_000), "regression", seed=1)[1])


def test_test_split_rejects_single_example_classes() -> None:
    with pytest.raises(DataError, match="single example"):
        test_split(np.array([0, 0, 0, 1, 1, 2]), "multiclass")


@FAST
@given(
    y=labels(min_per_class=3),
    seed=st.integers(0, 2**31),
    fractions=st.lists(st.floats(0.01, 1.0), min_size=1, max_size=5),
)
def test_nested_subsamples(y: np.ndarray, seed: int, fractions: list[float]):
    pool, _ = test_split(y, "multiclass")
    y_pool = y[pool]
    n_classes = len(np.unique(y))
    sizes = sorted({max(n_classes, round(f * len(y_pool))) for f in fractions})
    subsamples = nested_subsamples(y_pool, sizes, "multiclass", seed)
    assert sorted(subsamples) == sizes
    previous = np.array([], dtype=int)
    for size in sizes:
        positions = subsamples[size]
        assert len(positions) == len(np.unique(positions)) == size
        # positions index the pool (pool[positions] are rows, never test rows: the pool and the
        # test split partition the rows, checked above; the end-to-end canary checks the cells)
        assert positions.min() >= 0 and positions.max() < len(y_pool)
        assert np.array_equal(positions, np.sort(positions))
        assert np.isin(previous, positions).all()  # nested
        counts = np.bincount(y_pool[positions], minlength=n_classes)
        assert counts.min() >= 1  # every class present
        share = np.bincount(y_pool, minlength=n_classes) / len(y_pool)
        # within rounding (Webster: half an example plus half a seat per class, scaled)
        tolerance = 1 + 0.5 * n_classes * share
        assert np.all(np.abs(counts - size * share) <= tolerance), (counts, size * share)
        previous = positions
    again = nested_subsamples(y_pool, sizes, "multiclass", seed)
    assert all(np.array_equal(again[s], subsamples[s]) for s in sizes)


def test_subsample_proportions_on_a_large_imbalanced_pool() -> None:
    y = np.repeat([0, 1, 2], [9000, 900, 100])
    subsamples = nested_subsamples(y, [100, 1000, 5000], "multiclass", seed=3)
    assert np.bincount(y[subsamples[100]]).tolist() == [90, 9, 1]
    assert np.bincount(y[subsamples[1000]]).tolist() == [900, 90, 10]
    assert np.bincount(y[subsamples[5000]]).tolist() == [4500, 450, 50]


def test_different_seeds_give_different_subsamples() -> None:
    y = np.arange(1000) % 2
    a = nested_subsamples(y, [100], "binary", seed=0)[100]
    b = nested_subsamples(y, [100], "binary", seed=1)[100]
    assert not np.array_equal(a, b)


def test_regression_subsamples_nest() -> None:
    y = np.linspace(0, 1, 500)
    subsamples = nested_subsamples(y, [10, 100, 500], "regression", seed=0)
    assert np.isin(subsamples[10], subsamples[100]).all()
    assert np.array_equal(subsamples[500], np.arange(500))


def test_subsample_too_small_for_the_classes() -> None:
    with pytest.raises(DataError, match="one example per class"):
        nested_subsamples(np.arange(30) % 3, [2], "multiclass", seed=0)


@FAST
@given(y=labels(min_per_class=1), fraction=st.floats(0.05, 0.5), seed=st.integers(0, 1000))
def test_train_validation_split(y: np.ndarray, fraction: float, seed: int):
    train, val = train_validation_split(y, "multiclass", fraction, seed)
    assert len(train) > 0 and len(val) > 0
    assert len(np.intersect1d(train, val)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(len(y)))
    counts = np.bincount(y)
    for label in np.flatnonzero(counts >= 2):
        assert 1 <= (y[val] == label).sum() < counts[label]
    if counts.max() >= 2:  # with only single-example classes one must go to validation
        assert set(y[train]) == set(y)
    again = train_validation_split(y, "multiclass", fraction, seed)
    assert np.array_equal(again[1], val)


def test_train_validation_split_regression_and_tiny() -> None:
    train, val = train_validation_split(np.linspace(0, 1, 100), "regression", 0.2, 0)
    assert (len(train), len(val)) == (80, 20)
    train, val = train_validation_split(np.array([0, 1, 2]), "multiclass", 0.2, 0)
    assert (len(train), len(val)) == (2, 1)


def test_lcdb_anchors() -> None:
    assert lcdb_anchors(300) == [16, 23, 32, 45, 64, 91, 128, 181, 256, 300]
    assert lcdb_anchors(256)[-2:] == [181, 256]
    assert lcdb_anchors(10) == [10]


def test_resolve_train_sizes() -> None:
    assert resolve_train_sizes([1000, 0.5, "max", 300, 300], 1437) == [300, 718, 1000, 1437]
    assert resolve_train_sizes([1.0, 1], 50) == [1, 50]
    assert resolve_train_sizes("lcdb", 40, n_classes=26) == [32, 40]
    with pytest.raises(DataError, match="train size 5000 exceeds the 1,437 examples"):
        resolve_train_sizes([5000], 1437)
    with pytest.raises(DataError, match="each of the 10 classes"):
        resolve_train_sizes([5, 100], 1437, n_classes=10)
    with pytest.raises(DataError, match="fraction"):
        resolve_train_sizes([1.5], 100)


@FAST
@given(y=labels(min_per_class=4), seed=st.integers(0, 50), fraction=st.floats(0.3, 1.0))
def test_cell_rows_are_the_nested_subsample_split_and_the_fixed_test_split(
    y: np.ndarray, seed: int, fraction: float
) -> None:
    split = Split(test_fraction=0.25, test_cap=None, validation_fraction=0.2)
    pool, test = test_split(y, "multiclass", fraction=0.25, cap=None)
    size = max(len(np.unique(y)), round(fraction * len(pool)))
    rows = cell_rows(y, "multiclass", size, seed, split)
    assert np.array_equal(rows.test, test)  # the same rows whatever the size and seed
    labelled = np.sort(np.concatenate([rows.train, rows.validation]))
    expected = pool[nested_subsamples(y[pool], [size], "multiclass", seed)[size]]
    assert np.array_equal(labelled, expected)
    assert len(np.intersect1d(rows.train, rows.validation)) == 0
    smaller = cell_rows(y, "multiclass", len(np.unique(y)), seed, split)
    assert set(smaller.train) | set(smaller.validation) <= set(labelled)  # nested
