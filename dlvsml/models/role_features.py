"""Columns that plain encoders cannot use, turned into numbers by their role (skrub encoders).

`RoleFeatures` is the step before the tabular featurisers of classical models and nets alike:
datetime columns (strings parsed too) become their parts (year, month, day, hour, weekday,
seconds since the epoch) through skrub's ``DatetimeEncoder``; high-cardinality strings and free
text become ``N_COMPONENTS`` columns of TF-IDF reduced by SVD through skrub's
``StringEncoder`` (char 3-4 grams for names, word 1-2 grams for text); identifiers, constants
and dropped columns go; numeric and categorical columns pass through untouched. Roles are the
``(column, role)`` pairs of `dlvsml.data.Dataset.roles`. skrub is imported here only, when a
table has such a column.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from dlvsml.data.roles import (
    DATETIME,
    DROPPED_ROLES,
    HIGH_CARDINALITY,
    PLAIN_ROLES,
    TEXT,
    parse_dates,
)

N_COMPONENTS = 30
ENCODED_ROLES = frozenset({DATETIME, HIGH_CARDINALITY, TEXT})


def needs_role_features(roles: tuple[tuple[str, str], ...]) -> bool:
    """Whether a table has a column that plain encoders would mistreat."""
    return any(role not in PLAIN_ROLES for _, role in roles)


class RoleFeatures(TransformerMixin, BaseEstimator):
    """A DataFrame in, a DataFrame out: plain columns kept, the others encoded or dropped.

    Columns absent from ``roles`` pass through, so the step also takes tables it was not told
    about (and numeric arrays, as scikit-learn's checks feed).
    """

    def __init__(self, roles: tuple[tuple[str, str], ...] = ()) -> None:
        self.roles = roles

    def fit(self, X: Any, y: Any = None) -> RoleFeatures:
        frame = _as_frame(X)
        roles = {c: r for c, r in self.roles if c in frame.columns}
        self.dropped_ = [c for c, r in roles.items() if r in DROPPED_ROLES]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # skrub warns when SVD has fewer rows than components
            self.encoders_ = {
                c: _encoder(r).fit(_column(frame, c, r))
                for c, r in roles.items()
                if r in ENCODED_ROLES
            }
        self.roles_ = roles
        gone = {*self.dropped_, *self.encoders_}
        self.kept_ = [c for c in frame.columns if c not in gone]
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, ["encoders_"])
        frame = _as_frame(X)
        parts = [frame[self.kept_].reset_index(drop=True)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for column, encoder in self.encoders_.items():
                encoded = encoder.transform(_column(frame, column, self.roles_[column]))
                parts.append(encoded.astype("float64").reset_index(drop=True))
        return pd.concat(parts, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


def _as_frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)


def _column(frame: pd.DataFrame, column: str, role: str) -> pd.Series:
    values = frame[column].reset_index(drop=True)
    if role == DATETIME:
        return parse_dates(values).astype("datetime64[us]")
    return values.astype("str")  # missing values stay missing


def _encoder(role: str) -> BaseEstimator:
    import skrub

    if role == DATETIME:
        return skrub.DatetimeEncoder(add_weekday=True)
    if role == TEXT:
        return skrub.StringEncoder(
            n_components=N_COMPONENTS, analyzer="word", ngram_range=(1, 2), random_state=0
        )
    return skrub.StringEncoder(n_components=N_COMPONENTS, random_state=0)
