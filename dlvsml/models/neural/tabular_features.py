"""Tabular featurisation for nets: quantile-normal numbers, integer codes for categories.

Fitted on training rows only. Numeric columns go through ``QuantileTransformer(
output_distribution="normal")`` (Gorishniy et al. 2021); missing numbers become 0 plus a
missing-indicator column. Categorical columns (any non-numeric dtype) become codes 1..K of the
categories seen in training; 0 stands for missing or unseen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import QuantileTransformer


class TabularFeatures:
    """Turns a DataFrame or numeric array into (float32 numbers, int64 category codes)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: pd.DataFrame | np.ndarray) -> TabularFeatures:
        frame = _as_frame(X)
        self.categorical_ = [c for c in frame.columns if not _is_numeric(frame[c])]
        self.numeric_ = [c for c in frame.columns if c not in set(self.categorical_)]
        numbers = self._numbers(frame)
        self.missing_ = np.isnan(numbers).any(axis=0)
        self.quantiles_ = None
        if numbers.shape[1]:
            self.quantiles_ = QuantileTransformer(
                output_distribution="normal",
                n_quantiles=max(2, min(1000, len(numbers))),
                subsample=10**9,
                random_state=self.seed,
            ).fit(numbers)
        self.vocabularies_ = [_vocabulary(frame[c]) for c in self.categorical_]
        return self

    @property
    def n_numeric(self) -> int:
        return len(self.numeric_) + int(self.missing_.sum())

    @property
    def cardinalities(self) -> list[int]:
        """Codes per categorical column, including the 0 code for missing/unseen."""
        return [len(v) + 1 for v in self.vocabularies_]

    def transform(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        frame = _as_frame(X)
        numbers = self._numbers(frame)
        missing = np.isnan(numbers)
        if self.quantiles_ is not None:
            numbers = self.quantiles_.transform(numbers)
        numbers = np.nan_to_num(numbers, nan=0.0)
        numbers = np.hstack([numbers, missing[:, self.missing_]]).astype(np.float32)
        codes = np.zeros((len(frame), len(self.categorical_)), dtype=np.int64)
        for j, (column, vocab) in enumerate(
            zip(self.categorical_, self.vocabularies_, strict=True)
        ):
            values = frame[column].astype(object).to_numpy()
            codes[:, j] = [vocab.get(v, 0) for v in values]
        return numbers, codes

    def _numbers(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.numeric_:
            return np.zeros((len(frame), 0))
        return frame[self.numeric_].to_numpy(dtype=np.float64, na_value=np.nan)


def _as_frame(X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=np.float64))


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not isinstance(
        column.dtype, pd.CategoricalDtype
    )


def _vocabulary(column: pd.Series) -> dict[object, int]:
    values = column.dropna().astype(object).unique()
    return {v: i + 1 for i, v in enumerate(sorted(values, key=str))}
