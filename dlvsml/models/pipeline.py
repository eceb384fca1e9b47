"""Pipelines that carry a validation split to the final step, and the wrappers learners need.

`ModelPipeline.fit(X, y, validation_data=(X_val, y_val))` fits the featurisers on ``X`` only,
transforms the validation rows with them and hands both to the final step when that step
accepts ``validation_data`` (`EarlyStoppingClassifier` / `EarlyStoppingRegressor`). The boosters
label-encode classes (XGBoost wants 0..K-1) and switch early stopping on only when a validation
split is given. `CalibratedClassifier` gives a margin classifier (SVC) Platt-scaled probabilities.
`FeatureMemo` lets the trials of one tuning cell share featurisers fitted on its fixed data.
"""

from __future__ import annotations

import inspect
import os
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import get_tags
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    assert_all_finite,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
)

from dlvsml.models import time_budget
from dlvsml.models.proba import ProbaPredictionsMixin

ValidationData = tuple[Any, Any] | None


def _accepts_validation(estimator: Any) -> bool:
    return "validation_data" in inspect.signature(estimator.fit).parameters


def fit_estimator(estimator: Any, X: Any, y: Any, validation_data: ValidationData = None) -> Any:
    """Fit, passing the validation split to models that early-stop on it."""
    if validation_data is not None and _accepts_validation(estimator):
        return estimator.fit(X, y, validation_data=validation_data)
    return estimator.fit(X, y)


def _fit_last(final: Any, X: Any, y: Any, validation_data: ValidationData = None) -> None:
    """Fit a pipeline's last step within the running clock (`dlvsml.models.time_budget`)."""
    if time_budget.budgeted(final):
        time_budget.fit_final(final, X, y)
        return
    fit_estimator(final, X, y, validation_data)
    if not hasattr(final, "stopped_by_"):  # closed form (ridge); boosters say it themselves
        time_budget.converged(final)


class ModelPipeline(Pipeline):
    """A `Pipeline` whose ``fit`` forwards a transformed validation split to its final step and
    keeps the whole fit within ``time_limit`` seconds (see `dlvsml.models.time_budget`)."""

    def __init__(
        self,
        steps: list[tuple[str, Any]],
        *,
        time_limit: float | None = None,
        transform_input: list[str] | None = None,
        memory: Any = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.time_limit = time_limit

    def fit(
        self, X: Any, y: Any = None, validation_data: ValidationData = None, **params: Any
    ) -> ModelPipeline:
        final = self.steps[-1][1]
        validates = validation_data is not None and _accepts_validation(final)
        if params or not (validates or time_budget.budgeted(final)):
            with time_budget.fit_clock(self.time_limit):
                return super().fit(X, y, **params)
        X_val, y_val = validation_data if validates else (None, None)
        with time_budget.fit_clock(self.time_limit):
            for _, step in self.steps[:-1]:
                if step is not None and step != "passthrough":
                    X = step.fit_transform(X, y)
                    X_val = None if X_val is None else step.transform(X_val)
            _fit_last(final, X, y, (X_val, y_val) if validates else None)
        return self

    @property
    def stopped_by_(self) -> str | None:
        """How the final step's training ended (converged, clock or max_iter)."""
        return time_budget.training_end(self)[0]

    @property
    def n_iter_done_(self) -> int | None:
        """Rounds, trees or iterations the final step trained."""
        return time_budget.training_end(self)[1]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        first = self.steps[0][1] if self.steps else None
        if first is not None and first != "passthrough":
            tags.input_tags.allow_nan = get_tags(first).input_tags.allow_nan
            tags.input_tags.string = get_tags(first).input_tags.string
            tags.input_tags.two_d_array = get_tags(first).input_tags.two_d_array
        return tags


FEATURE_MEMO_ENV = "DLVSML_FEATURE_CACHE"  # MiB of featurised splits per cell; "off" or 0: none
FEATURE_MEMO_MB = 256


class _Featurised(NamedTuple):
    steps: list[tuple[str, Any]]  # fitted; shared by the pipelines of every trial that hits
    X: Any
    X_val: Any
    nbytes: int
    seconds: float  # fitting the steps and transforming X with them
    val_seconds: float  # transforming X_val


class FeatureMemo:
    """The featurised splits of one tuning cell, keyed by the featuriser steps' parameters.

    A cell's trials all fit on the same train split and score on the same validation split, so
    a featuriser with the same class and ``get_params`` gives the same result every time. `fit`
    fits clones of a `ModelPipeline`'s featuriser steps once per parameter set, keeps them with
    the train and validation matrices they give, and fits only the final step afterwards; the
    pipeline it returns holds those fitted featurisers (shared, never refitted) and a fitted
    final step. `featurised` hands `dlvsml.metrics.predict` the kept validation matrix.
    ``fit_seconds`` is what the last `fit` would have taken without the memo (the kept
    featurisation's time included), so that fit times stay comparable across models.

    The memo holds up to ``max_entries`` parameter sets and ``max_bytes`` of matrices, dropping
    the least recently used; it is for one cell's data only (other data empty it). Other
    estimators, and splits too large to keep, are fitted as usual.
    """

    def __init__(self, max_bytes: int | None = None, max_entries: int = 4) -> None:
        self.max_bytes = _memo_bytes() if max_bytes is None else max_bytes
        self.max_entries = max_entries
        self.hits = self.misses = 0
        self.fit_seconds = 0.0
        self._entries: OrderedDict[str, _Featurised] = OrderedDict()
        self._data: tuple[Any, ...] = ()

    @property
    def nbytes(self) -> int:
        return sum(entry.nbytes for entry in self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def fit(self, pipeline: Any, X: Any, y: Any, validation_data: ValidationData = None) -> Any:
        """Fit ``pipeline`` like `fit_estimator`; return the fitted pipeline."""
        final = pipeline.steps[-1][1] if isinstance(pipeline, ModelPipeline) else None
        key = None
        if final not in (None, "passthrough") and self.max_bytes > 0:
            key = _signature(pipeline.steps[:-1], validation_data is None)
        if key is None:
            start = time.perf_counter()
            fitted = fit_estimator(pipeline, X, y, validation_data)
            self.fit_seconds = time.perf_counter() - start
            return fitted
        with time_budget.fit_clock(pipeline.time_limit) as clock:
            return self._fit_final(clock, key, pipeline, X, y, validation_data)

    def _fit_final(
        self,
        clock: time_budget.Clock,
        key: str,
        pipeline: ModelPipeline,
        X: Any,
        y: Any,
        validation_data: ValidationData,
    ) -> ModelPipeline:
        final = pipeline.steps[-1][1]
        X_val, y_val = validation_data if validation_data is not None else (None, None)
        data = (X, y, X_val, y_val)
        if list(map(id, data)) != list(map(id, self._data)):  # held, so no id is reused
            self._entries.clear()  # another cell's data: nothing kept applies
            self._data = data
        entry = self._entries.get(key)
        validates = validation_data is not None and _accepts_validation(final)
        if entry is None:
            self.misses += 1
            entry = self._featurise(key, pipeline.steps[:-1], X, y, X_val)
        else:
            self.hits += 1
            self._entries.move_to_end(key)
            # Served from the memo, charged at its cold cost: a trial that could not reuse it
            # would have spent that time (the validation rows: to early-stop or to be scored).
            clock.charge({f"features:{key}": entry.seconds + entry.val_seconds})
        start, seconds = time.perf_counter(), entry.seconds
        if validates:
            _fit_last(final, entry.X, y, (entry.X_val, y_val))
            seconds += entry.val_seconds  # a plain fit transforms X_val only for such steps
        else:
            _fit_last(final, entry.X, y)
        self.fit_seconds = seconds + time.perf_counter() - start
        pipeline.steps = [*entry.steps, pipeline.steps[-1]]
        return pipeline

    def featurised(self, estimator: Any, X: Any) -> tuple[Any, Any]:
        """``(final step, kept validation matrix)`` when `fit` featurised ``X`` as the validation
        split of ``estimator``; else ``(estimator, X)``."""
        if self._data and X is self._data[2] and isinstance(estimator, ModelPipeline):
            for entry in self._entries.values():
                shared = zip(entry.steps, estimator.steps[:-1], strict=True)
                if all(a is b for (_, a), (_, b) in shared):
                    return estimator.steps[-1][1], entry.X_val
        return estimator, X

    def _featurise(self, key: str, steps: list, X: Any, y: Any, X_val: Any) -> _Featurised:
        fitted, seconds, val_seconds = [], 0.0, 0.0
        for name, step in steps:
            if step is not None and step != "passthrough":
                start = time.perf_counter()
                step = clone(step)
                fit_transform = getattr(step, "fit_transform", None)
                X = fit_transform(X, y) if fit_transform else step.fit(X, y).transform(X)
                middle = time.perf_counter()
                X_val = None if X_val is None else step.transform(X_val)
                seconds += middle - start
                val_seconds += time.perf_counter() - middle
            fitted.append((name, step))
        size = _nbytes(X) + (0 if X_val is None else _nbytes(X_val))
        entry = _Featurised(fitted, X, X_val, size, seconds, val_seconds)
        if size <= self.max_bytes:
            self._entries[key] = entry
            while len(self._entries) > self.max_entries or self.nbytes > self.max_bytes:
                self._entries.popitem(last=False)
        return entry


def _memo_bytes() -> int:
    setting = os.environ.get(FEATURE_MEMO_ENV, "").strip().lower()
    if setting in ("off", "false", "no"):
        return 0
    try:
        return int(float(setting or FEATURE_MEMO_MB) * (1 << 20))
    except ValueError:
        warnings.warn(
            f"{FEATURE_MEMO_ENV}={setting!r} is not 'off' or MiB; using 256", stacklevel=2
        )
        return FEATURE_MEMO_MB << 20


def _signature(steps: list[tuple[str, Any]], no_validation: bool) -> str | None:
    """A hash of the steps' names, classes and parameters; None if they cannot be hashed."""
    described = [
        (name, step if isinstance(step, str | None) else _class(step), _params(step))
        for name, step in steps
    ]
    try:
        return joblib.hash((described, no_validation))
    except Exception:  # e.g. a lambda among the parameters
        return None


def _class(step: Any) -> str:
    return f"{type(step).__module__}.{type(step).__qualname__}"


def _params(step: Any) -> Any:
    return step.get_params(deep=True) if hasattr(step, "get_params") else None


def _nbytes(X: Any) -> int:
    """Bytes of an array, sparse matrix or DataFrame; other outputs count as too large."""
    if isinstance(X, np.ndarray):
        return X.nbytes
    if sparse.issparse(X):
        parts = ("data", "indices", "indptr", "row", "col", "offsets")
        return sum(getattr(X, part).nbytes for part in parts if hasattr(X, part))
    if hasattr(X, "memory_usage"):
        return int(X.memory_usage(index=True, deep=True).sum())
    return 1 << 62


def _xgboost_fit_args(booster: Any, eval_set: list, rounds: int | None) -> dict[str, Any]:
    booster.set_params(early_stopping_rounds=rounds if eval_set else None)
    return {"eval_set": eval_set, "verbose": False} if eval_set else {}


def _lightgbm_fit_args(booster: Any, eval_set: list, rounds: int | None) -> dict[str, Any]:
    import lightgbm

    if not eval_set:
        return {}
    (X_val, y_val), *_ = eval_set
    args: dict[str, Any] = {"eval_X": X_val, "eval_y": y_val}
    if rounds:
        args["callbacks"] = [lightgbm.early_stopping(rounds, verbose=False)]
    return args


# How each boosting library takes an early-stopping split, by the package the booster comes from.
_EARLY_STOPPING: dict[str, Callable[[Any, list, int | None], dict[str, Any]]] = {
    "xgboost": _xgboost_fit_args,
    "lightgbm": _lightgbm_fit_args,
}


class _EarlyStopping(BaseEstimator):
    """Fit a clone of ``estimator`` (XGBoost or LightGBM), early-stopping on validation data."""

    def __init__(self, estimator: Any, early_stopping_rounds: int | None = 50) -> None:
        self.estimator = estimator
        self.early_stopping_rounds = early_stopping_rounds

    def _fit(self, X: Any, y: np.ndarray, eval_set: list) -> None:
        library = type(self.estimator).__module__.split(".")[0]
        if library not in _EARLY_STOPPING:
            raise TypeError(f"no early-stopping recipe for {type(self.estimator).__name__}")
        check_consistent_length(X, y)
        if X.shape[0] < 2:
            raise ValueError(f"a booster needs at least 2 samples, got {X.shape[0]} sample")
        booster = clone(self.estimator)
        fit_args = _EARLY_STOPPING[library](booster, eval_set, self.early_stopping_rounds)
        clock = time_budget.BoosterClock(time_budget.current_clock())
        self.estimator_ = booster.fit(X, y, **clock.attach(library, booster, fit_args))
        self.stopped_by_, self.n_iter_done_ = clock.end(library, booster)
        self.n_features_in_ = X.shape[1]

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, ["estimator_"])
        return self.estimator_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = True
        return tags


class EarlyStoppingClassifier(ProbaPredictionsMixin, ClassifierMixin, _EarlyStopping):
    """Classes come from ``y`` (any labels); the booster sees them as 0..K-1."""

    def fit(
        self, X: Any, y: Any, validation_data: ValidationData = None
    ) -> EarlyStoppingClassifier:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        if len(self.classes_) < 2:
            raise ValueError("Classifier can't train when only one class is present.")
        eval_set = []
        if validation_data is not None:
            X_val, y_val = validation_data
            y_val = np.asarray(y_val)
            known = np.isin(y_val, self.classes_)
            if known.any():
                rows = np.flatnonzero(known)
                eval_set = [(_take(X_val, rows), self.encoder_.transform(y_val[known]))]
        self._fit(X, self.encoder_.transform(y), eval_set)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, ["estimator_"])
        return self.estimator_.predict_proba(X)


class EarlyStoppingRegressor(RegressorMixin, _EarlyStopping):
    def fit(self, X: Any, y: Any, validation_data: ValidationData = None) -> EarlyStoppingRegressor:
        y = column_or_1d(y, warn=True).astype(np.float64)
        assert_all_finite(y, input_name="y")
        eval_set = []
        if validation_data is not None:
            X_val, y_val = validation_data
            eval_set = [(X_val, np.asarray(y_val, dtype=np.float64))]
        self._fit(X, y, eval_set)
        return self


class CalibratedClassifier(ProbaPredictionsMixin, ClassifierMixin, BaseEstimator):
    """Sigmoid-calibrated probabilities from as many CV folds as the rarest class allows.

    Replaces libsvm's ``probability=True`` (deprecated in scikit-learn 1.9) without failing on
    the tiny classes of small cells: with a single example of some class, the sigmoid is fitted
    on the training predictions instead (overconfident, but defined).
    """

    def __init__(self, estimator: Any, max_folds: int = 5, random_state: int | None = None) -> None:
        self.estimator = estimator
        self.max_folds = max_folds
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> CalibratedClassifier:
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise ValueError("Classifier can't train when only one class is present.")
        folds = int(min(self.max_folds, counts.min()))
        if folds >= 2:
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            calibrated = CalibratedClassifierCV(clone(self.estimator), cv=splitter, ensemble=False)
            self.calibrated_ = calibrated.fit(X, y)
        else:
            frozen = FrozenEstimator(clone(self.estimator).fit(X, y))
            with warnings.catch_warnings():
                # A frozen model ignores the folds, so a class too small to stratify is harmless.
                warnings.filterwarnings("ignore", "The least populated class", UserWarning)
                self.calibrated_ = CalibratedClassifierCV(frozen, ensemble=False).fit(X, y)
        self.classes_ = self.calibrated_.classes_
        self.n_features_in_ = self.calibrated_.n_features_in_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, ["calibrated_"])
        return self.calibrated_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _take(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]
