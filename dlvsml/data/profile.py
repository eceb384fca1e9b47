"""Meta-features of a dataset: the facts the recommender reasons with (JSON-serialisable).

Every profile has ``modality``, ``task``, ``n_rows`` and ``n_classes``. Tabular data add column
statistics and pymfe's "info-theory" and "statistical" groups (prefixed ``mfe.``), computed on a
sample of at most ``MFE_MAX_ROWS`` rows and ``MFE_MAX_COLUMNS`` columns so large tables profile
in seconds; for regression, pymfe's class-based features see the target binned into quintiles.
Images add their shape and pixel statistics, texts their length and vocabulary.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections import Counter

import numpy as np
import pandas as pd

from dlvsml.data.dataset import Dataset

log = logging.getLogger(__name__)

MFE_MAX_ROWS = 2000
MFE_MAX_COLUMNS = 100
MFE_TOP_CATEGORIES = 10
MFE_GROUPS = ("info-theory", "statistical")
PIXEL_SAMPLE = 5000
WORD = re.compile(r"\w+")


def profile_dataset(dataset: Dataset) -> dict:
    """Meta-features of ``dataset``, e.g. ``profile_dataset(load_dataset("builtin:wine"))``."""
    facts = {
        "name": dataset.name,
        "source": dataset.source,
        "modality": dataset.modality,
        "task": dataset.task,
        "n_rows": dataset.n_rows,
        "n_features": dataset.n_features,
        "n_classes": dataset.n_classes,
        **_target_facts(dataset),
        **PROFILERS[dataset.modality](dataset),
    }
    return {key: _plain(value) for key, value in facts.items()}


def column_table(dataset: Dataset) -> list[dict]:
    """Each column of a table with its role, dtype, missing share and distinct values (the
    target's from its encoded values, rows without one already dropped); empty for other
    modalities."""
    rows = []
    for column, role in dataset.roles:
        values = pd.Series(dataset.y) if role == "target" else dataset.X[column]
        rows.append(
            {
                "column": column,
                "role": role,
                "dtype": str(values.dtype),
                "missing_share": round(float(values.isna().mean()), 4),
                "n_distinct": int(values.nunique()),
            }
        )
    return rows


def _target_facts(dataset: Dataset) -> dict:
    if dataset.task == "regression":
        y = dataset.y
        return {"target_mean": y.mean(), "target_std": y.std(), "target_skewness": _skew(y)}
    counts = np.bincount(dataset.y)
    counts = counts[counts > 0]
    return {
        "class_counts": counts.tolist(),
        "imbalance_ratio": counts.max() / counts.min(),
        "minority_share": counts.min() / counts.sum(),
    }


def _tabular(dataset: Dataset) -> dict:
    X: pd.DataFrame = dataset.X
    numeric = X[list(dataset.numeric)].astype(float)
    skewness = numeric.skew().abs().dropna()
    kurtosis = numeric.kurt().abs().dropna()
    cardinality = [X[c].nunique() for c in dataset.categorical]
    return {
        "n_numeric": len(dataset.numeric),
        "n_categorical": len(dataset.categorical),
        "categorical_share": len(dataset.categorical) / X.shape[1],
        "max_category_cardinality": max(cardinality, default=0),
        "missing_ratio": float(X.isna().to_numpy().mean()),
        "rows_with_missing_share": float(X.isna().any(axis=1).mean()),
        "rows_per_feature": dataset.n_rows / X.shape[1],
        "skewness_mean_abs": skewness.mean() if len(skewness) else None,
        "skewness_max_abs": skewness.max() if len(skewness) else None,
        "kurtosis_mean_abs": kurtosis.mean() if len(kurtosis) else None,
        "kurtosis_max_abs": kurtosis.max() if len(kurtosis) else None,
        **_pymfe_features(dataset),
    }


def _pymfe_features(dataset: Dataset) -> dict:
    """pymfe meta-features on a bounded sample (imputed, constant columns dropped, rare
    categories pooled so one-hot encoding stays narrow); if pymfe fails, none of them."""
    from pymfe.mfe import MFE

    rng = np.random.default_rng(0)
    rows = np.sort(rng.permutation(dataset.n_rows)[:MFE_MAX_ROWS])
    X = dataset.X.iloc[rows]
    X = X.loc[:, X.nunique(dropna=False) > 1]
    if X.shape[1] > MFE_MAX_COLUMNS:
        X = X[sorted(rng.permutation(X.columns.to_numpy())[:MFE_MAX_COLUMNS].tolist())]
    if X.shape[1] == 0:
        return {}
    y = dataset.y[rows]
    if dataset.task == "regression":
        y = pd.qcut(y, 5, labels=False, duplicates="drop")
    categorical = [i for i, c in enumerate(X.columns) if c in set(dataset.categorical)]
    filled = X.apply(_impute)
    extractor = MFE(groups=list(MFE_GROUPS), summary=["mean"], random_state=0)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            extractor.fit(
                filled.to_numpy(dtype=object),
                np.asarray(y),
                cat_cols=categorical,
                transform_cat="one-hot",
                suppress_warnings=True,
            )
            names, values = extractor.extract(suppress_warnings=True)
    except (ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError) as exc:
        log.warning("%s: pymfe meta-features left out (%s)", dataset.name, exc)
        return {}
    return {f"mfe.{name}": value for name, value in zip(names, values, strict=True)}


def _impute(column: pd.Series) -> pd.Series:
    """Numbers: median for missing. Categories: the ``MFE_TOP_CATEGORIES`` most frequent kept,
    the rest and missing values pooled into one level each."""
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        values = column.astype("str").fillna("<missing>")
        top = values.value_counts().index[:MFE_TOP_CATEGORIES]
        return values.where(values.isin(top), "<other>").astype(object)
    return column.astype(float).fillna(column.median() if column.notna().any() else 0.0)


def _image(dataset: Dataset) -> dict:
    images: np.ndarray = dataset.X
    sample = images[:: max(1, len(images) // PIXEL_SAMPLE)].astype(np.float32)
    return {
        "height": images.shape[1],
        "width": images.shape[2],
        "channels": images.shape[3] if images.ndim == 4 else 1,
        "pixel_mean": float(sample.mean()),
        "pixel_std": float(sample.std()),
        "pixel_max": int(images.max()),
    }


def _text(dataset: Dataset) -> dict:
    tokens = [WORD.findall(text.lower()) for text in dataset.X]
    lengths = np.array([len(t) for t in tokens])
    vocabulary = Counter(token for text in tokens for token in text)
    total = int(lengths.sum())
    return {
        "words_mean": lengths.mean(),
        "words_median": float(np.median(lengths)),
        "words_max": int(lengths.max()),
        "chars_mean": float(np.mean([len(text) for text in dataset.X])),
        "vocabulary_size": len(vocabulary),
        "type_token_ratio": len(vocabulary) / total if total else 0.0,
        "duplicate_share": 1 - len(set(dataset.X)) / dataset.n_rows,
    }


PROFILERS = {"tabular": _tabular, "image": _image, "text": _text}


def _skew(values: np.ndarray) -> float | None:
    return pd.Series(values).skew() if len(values) > 2 else None


def _plain(value):
    """Plain Python numbers; NaN and infinities become None so the profile is valid JSON."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
