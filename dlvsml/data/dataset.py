"""The `Dataset` every part of dlvsml passes around, whatever the source and modality."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from dlvsml.data.roles import PLAIN_ROLES

Modality = Literal["tabular", "image", "text"]
Task = Literal["binary", "multiclass", "regression"]
Features = pd.DataFrame | np.ndarray

MODALITIES: tuple[Modality, ...] = ("tabular", "image", "text")
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features and target of one labelled dataset, in the raw form every model receives.

    - tabular: ``X`` is a DataFrame; categorical columns hold strings or ``category``, numeric
      columns floats/ints, missing values stay missing.
    - image: ``X`` is a uint8 array ``N×H×W`` (grey) or ``N×H×W×C``.
    - text: ``X`` is a 1-d object array of ``str``.

    ``y`` is int64 ``0..K-1`` for classification (``class_names[k]`` names class k) and float64
    for regression. ``roles`` gives each column of a table (the target's included) its role
    (`dlvsml.data.roles`); ``notes`` are the decisions a user should hear about (dropped
    columns, the task chosen for the target). The fingerprint hashes the content, and the roles
    other than numeric and categorical, so caches and cell keys change when the data or the
    features models see change.
    """

    name: str
    modality: Modality
    task: Task
    X: Features
    y: np.ndarray
    source: str
    class_names: tuple[str, ...] | None = None
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    fingerprint: str = field(default="")
    roles: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint_of(self.X, self.y, self.roles))

    @property
    def n_rows(self) -> int:
        return len(self.y)

    @property
    def n_features(self) -> int:
        """Columns (tabular), pixels × channels (image), or 1 (a text)."""
        if self.modality == "tabular":
            return self.X.shape[1]
        if self.modality == "image":
            return int(np.prod(self.X.shape[1:]))
        return 1

    @property
    def n_classes(self) -> int | None:
        return None if self.task == "regression" else len(self.class_names or np.unique(self.y))

    @property
    def image_shape(self) -> tuple[int, ...] | None:
        return tuple(self.X.shape[1:]) if self.modality == "image" else None

    def take(self, indices: np.ndarray) -> tuple[Features, np.ndarray]:
        """Rows ``indices`` of (X, y), in the same raw form."""
        return take_rows(self.X, indices), self.y[indices]

    def summary(self) -> dict:
        """The facts `dlvsml datasets show` prints."""
        return {
            "name": self.name,
            "source": self.source,
            "modality": self.modality,
            "task": self.task,
            "n_rows": self.n_rows,
            "n_features": self.n_features,
            "n_classes": self.n_classes,
            "class_names": list(self.class_names) if self.class_names else None,
            "n_categorical": len(self.categorical),
            "n_numeric": len(self.numeric),
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "fingerprint": self.fingerprint,
            "roles": dict(self.roles),
            "notes": list(self.notes),
        }


def take_rows(X: Features, indices: np.ndarray) -> Features:
    """Select rows of a DataFrame or an array by position."""
    if isinstance(X, pd.DataFrame):
        return X.iloc[indices]
    return X[indices]


def fingerprint_of(X: Features, y: np.ndarray, roles: tuple[tuple[str, str], ...] = ()) -> str:
    """A short content hash of features and target (stable across processes and machines).

    Roles that plain encoders handle (numeric, categorical, the target) leave it as it was
    before roles existed, so tables whose columns are all such keep their cell keys.
    """
    digest = hashlib.sha256()
    if isinstance(X, pd.DataFrame):
        digest.update(",".join(map(str, X.columns)).encode())
        digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    elif X.dtype == object:
        digest.update(pd.util.hash_array(X.astype(str)).tobytes())
    else:
        digest.update(str(X.shape).encode())
        digest.update(np.ascontiguousarray(X).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    special = [f"{column}:{role}" for column, role in roles if role not in PLAIN_ROLES]
    if special:
        digest.update(("roles|" + ",".join(special)).encode())
    return digest.hexdigest()[:16]
