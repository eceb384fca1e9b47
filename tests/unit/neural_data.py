"""Small real datasets shared by the neural-model tests (cached per session)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.model_selection import train_test_split

from dlvsml.models import ModelContext

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@cache
def breast_cancer() -> tuple:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return tuple(train_test_split(X, y.to_numpy(), test_size=0.3, random_state=0, stratify=y))


@cache
def diabetes() -> tuple:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return tuple(train_test_split(X, y.to_numpy(), test_size=0.3, random_state=0))


@cache
def digits() -> tuple:
    data = load_digits()
    X, y = data.images.astype(np.uint8), data.target
    return tuple(train_test_split(X, y, train_size=900, random_state=0, stratify=y))


@cache
def _sms() -> pd.DataFrame:
    return pd.read_csv(SHARED_DATA / "text" / "sms_spam.csv.gz").sample(1000, random_state=0)


def sms_spam() -> tuple:
    """1,000 SMS messages, spam vs ham (skips when ../shared/data is absent)."""
    if not (SHARED_DATA / "text" / "sms_spam.csv.gz").exists():
        pytest.skip("../shared/data/text/sms_spam.csv.gz is absent")
    frame = _sms()
    X, y = frame["text"].to_numpy(dtype=object), frame["label"].to_numpy()
    return tuple(train_test_split(X, y, test_size=0.3, random_state=0, stratify=y))


def context(modality: str, task: str, **kwargs) -> ModelContext:
    return ModelContext(modality=modality, task=task, n_threads=1, device="cpu", **kwargs)
