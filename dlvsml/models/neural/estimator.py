"""The scikit-learn face of every dlvsml net: target encoding, validation split, fit, predict.

A concrete net (tabular, image, text) subclasses `NeuralEstimator` and supplies four hooks:
``_check_X`` (validate raw input), ``_fit_features`` (featurisers fitted on training rows only),
``_to_inputs`` (raw rows -> tensors) and ``_build_module``. Whether it is a classifier or a
regressor is the ``task`` parameter, reflected in its sklearn tags.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils._available_if import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d
from torch import Tensor, nn

from dlvsml.errors import ModelError
from dlvsml.models.neural.device import resolve_device
from dlvsml.models.neural.trainer import (
    SCHEDULES,
    BatchTransform,
    Callback,
    EarlyStopping,
    OptunaPruning,
    TensorData,
    TimeBudget,
    TrainConfig,
    Trainer,
    predict_outputs,
)
from dlvsml.models.proba import predict_with_proba

TASKS = ("classification", "regression")
# Below this many training rows no validation split is carved (nothing to early-stop on).
MIN_ROWS_FOR_VALIDATION = 20
# The batch size is capped so that every epoch takes at least this many optimizer steps: with
# 300 training rows and batch 512, 100 epochs would otherwise be only 100 steps. (A subclass
# may ask for more steps and set a floor on the batch size; the image nets do.)
MIN_STEPS_PER_EPOCH = 4


class SharedRef:
    """Holds an object (an Optuna trial) that `clone`/deepcopy must share, not copy."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __deepcopy__(self, memo: dict) -> SharedRef:
        return self

    def __getstate__(self) -> dict:
        # A live trial (and its storage) cannot be pickled; a pickled model no longer needs it.
        return {"obj": None}

    def __repr__(self) -> str:
        return f"SharedRef({type(self.obj).__name__})"


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Use ``n_threads`` intra-op threads inside the block, then restore the previous count."""
    previous = torch.get_num_threads()
    if n_threads:
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _accuracy(output: Tensor, target: Tensor) -> float:
    return (output.argmax(1) == target).float().mean().item()


def _r2(output: Tensor, target: Tensor) -> float:
    residual = ((output.squeeze(-1) - target) ** 2).sum()
    total = ((target - target.mean()) ** 2).sum().clamp_min(1e-12)
    return (1 - residual / total).item()


def _mse(output: Tensor, target: Tensor) -> Tensor:
    return nn.functional.mse_loss(output.squeeze(-1), target)


class NeuralEstimator(BaseEstimator):
    """Base of all nets: the task and the training parameters every net shares.

    As in skorch, a net is a thin subclass whose ``__init__`` names only the parameters it adds
    (its architecture) or whose defaults it changes, and passes the rest on as ``**training``;
    `__init_subclass__` gives that ``__init__`` the full signature scikit-learn introspects.
    """

    def __init__(
        self,
        task: str = "classification",
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 512,
        max_epochs: int = 100,
        patience: int = 16,
        scheduler: str = "constant",
        grad_clip: float | None = 1.0,
        validation_fraction: float = 0.2,
        random_state: int | None = 0,
        device: str = "auto",
        n_threads: int | None = None,
        time_limit: float | None = None,
        trial: Any = None,
    ) -> None:
        self.task = task
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.scheduler = scheduler
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.time_limit = time_limit
        self.trial = trial

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give a net's ``__init__(..., **training)`` the full signature: its own parameters,
        then the training parameters it passes on, so that scikit-learn's introspection
        (`get_params`, `clone`, the estimator checks, ``repr``) sees every parameter."""
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        own = inspect.signature(init).parameters
        named = [p for p in own.values() if p.kind is not p.VAR_KEYWORD]
        if len(named) == len(own):
            return
        training = inspect.signature(NeuralEstimator.__init__).parameters
        passed_on = [p for name, p in training.items() if name not in own]
        init.__signature__ = inspect.Signature([*named, *passed_on])

    # Training defaults a subclass may change (class attributes, not sklearn parameters): the
    # fewest optimizer steps per epoch and the smallest batch that cap ``batch_size`` on small
    # training sets (`effective_batch_size`), and the training rows over which BatchNorm
    # statistics are recomputed in the first epochs (`TrainConfig.recalibration_rows`; 0: off).
    min_steps_per_epoch: ClassVar[int] = MIN_STEPS_PER_EPOCH
    min_batch_size: ClassVar[int] = 2
    recalibration_rows: ClassVar[int] = 0

    # ---- hooks for subclasses -------------------------------------------------------------
    def _check_X(self, X: Any, reset: bool) -> Any:
        raise NotImplementedError

    def _fit_features(self, X: Any) -> None:
        """Fit featurisers on the training rows (never on validation or test rows)."""

    def _to_inputs(self, X: Any) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def _build_module(self, n_outputs: int) -> nn.Module:
        raise NotImplementedError

    def _train_transform(self) -> BatchTransform | None:
        return None

    # ---- sklearn API ----------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if self.task == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=True)
        tags.target_tags.required = True
        tags.non_deterministic = False
        return tags

    @property
    def _is_classifier(self) -> bool:
        if self.task not in TASKS:
            raise ModelError(f"task {self.task!r} is not one of {', '.join(TASKS)}")
        return self.task == "classification"

    def _encode_target(self, y: Any, reset: bool) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        y = column_or_1d(y, warn=True)
        if not self._is_classifier:
            y = y.astype(np.float64)
            if not np.isfinite(y).all():
                raise ValueError("the regression target contains NaN or infinite values")
            if reset:
                self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) or 1.0
            return ((y - self.y_mean_) / self.y_std_).astype(np.float32)
        if reset:
            check_classification_targets(y)
            self.classes_ = np.unique(y)
        codes = np.searchsorted(self.classes_, y)
        codes = np.clip(codes, 0, len(self.classes_) - 1)
        if not np.array_equal(self.classes_[codes], y):
            raise ModelError("validation_data has labels that the training data do not contain")
        return codes.astype(np.int64)

    def _split(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray, Any, np.ndarray] | None:
        """Carve a validation fraction out of the training rows (stratified when possible)."""
        n = len(y)
        if n < MIN_ROWS_FOR_VALIDATION or not self.validation_fraction:
            return None
        stratify = None
        if self._is_classifier:
            counts = np.bincount(y)
            n_val = math.ceil(n * self.validation_fraction)
            if counts[counts > 0].min() >= 2 and n_val >= len(counts):
                stratify = y
        idx_train, idx_val = train_test_split(
            np.arange(n),
            test_size=self.validation_fraction,
            random_state=self.random_state,
            stratify=stratify,
        )
        return _take(X, idx_train), y[idx_train], _take(X, idx_val), y[idx_val]

    def _callbacks(self) -> list[Callback]:
        if self.scheduler not in SCHEDULES:
            raise ModelError(f"scheduler {self.scheduler!r} is not one of {', '.join(SCHEDULES)}")
        callbacks = [SCHEDULES[self.scheduler](), EarlyStopping(self.patience)]
        trial = self.trial.obj if isinstance(self.trial, SharedRef) else self.trial
        if trial is not None:
            callbacks.append(OptunaPruning(trial))
        if self.time_limit:
            callbacks.append(TimeBudget(float(self.time_limit)))
        return callbacks

    def fit(self, X: Any, y: Any, validation_data: tuple[Any, Any] | None = None):
        """Fit on (X, y); early-stop on ``validation_data`` or on a carved validation fraction."""
        X_train, y_train, X_val, y_val = self._fit_splits(X, y, validation_data)
        self.device_, self.device_reason_ = resolve_device(self.device)
        # fork_rng: seeding for this fit leaves the caller's global torch RNG untouched.
        cuda = list(range(torch.cuda.device_count())) if self.device_.type == "cuda" else []
        with torch_threads(self.n_threads), torch.random.fork_rng(devices=cuda):
            torch.manual_seed(int(self.random_state or 0))
            self._fit_features(X_train)
            train = TensorData(self._to_inputs(X_train), torch.from_numpy(y_train))
            val = None
            if X_val is not None:
                val = TensorData(self._to_inputs(X_val), torch.from_numpy(y_val))
            trainer = self._trainer(len(train))
            state = trainer.fit(train, val)
        self.module_ = trainer.module
        self.history_ = state.history
        self.n_train_, self.n_val_ = len(train), len(val) if val is not None else 0
        self.n_epochs_ = len(state.history)
        self.stop_reason_ = state.stop_reason
        self.stopped_by_, self.n_iter_done_ = state.stopped_by, self.n_epochs_
        self.n_parameters_ = sum(p.numel() for p in self.module_.parameters())
        return self

    def _fit_splits(
        self, X: Any, y: Any, validation_data: tuple[Any, Any] | None
    ) -> tuple[Any, np.ndarray, Any, np.ndarray | None]:
        """Checked training rows and encoded targets, and the validation rows to early-stop on:
        ``validation_data``, else a fraction carved from the training rows (or none)."""
        X = self._check_X(X, reset=True)
        y_enc = self._encode_target(y, reset=True)
        check_consistent_length(X, y_enc)
        if validation_data is not None:
            X_val = self._check_X(validation_data[0], reset=False)
            return X, y_enc, X_val, self._encode_target(validation_data[1], reset=False)
        return self._split(X, y_enc) or (X, y_enc, None, None)

    def _trainer(self, n_train: int) -> Trainer:
        """The trainer of a new module, with this net's loss, metric, settings and callbacks."""
        n_outputs = len(self.classes_) if self._is_classifier else 1
        self.batch_size_ = effective_batch_size(
            int(self.batch_size), n_train, self.min_steps_per_epoch, self.min_batch_size
        )
        config = TrainConfig(
            lr=self.lr,
            weight_decay=self.weight_decay,
            batch_size=self.batch_size_,
            max_epochs=int(self.max_epochs),
            grad_clip=self.grad_clip,
            seed=int(self.random_state or 0),
            recalibration_rows=self.recalibration_rows,
        )
        return Trainer(
            self._build_module(n_outputs),
            nn.functional.cross_entropy if self._is_classifier else _mse,
            _accuracy if self._is_classifier else _r2,
            config,
            self.device_,
            self._callbacks(),
            self._train_transform(),
        )

    def _raw_output(self, X: Any) -> Tensor:
        check_is_fitted(self, "module_")
        X = self._check_X(X, reset=False)
        with torch_threads(self.n_threads):
            return predict_outputs(self.module_, self._to_inputs(X), self.device_).cpu()

    @available_if(lambda self: self.task != "regression")
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return torch.softmax(self._raw_output(X).double(), dim=1).numpy()

    @available_if(lambda self: self.task != "regression")
    def predict_with_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Classes and probabilities from one forward pass (see `dlvsml.metrics.predict`)."""
        return predict_with_proba(self, X)

    def predict(self, X: Any) -> np.ndarray:
        if self._is_classifier:
            return self.predict_with_proba(X)[0]
        output = self._raw_output(X)
        return output.squeeze(-1).double().numpy() * self.y_std_ + self.y_mean_

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy (classification) or R² (regression), like sklearn's mixins."""
        metric = accuracy_score if self._is_classifier else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def effective_batch_size(
    batch_size: int,
    n_train: int,
    min_steps: int = MIN_STEPS_PER_EPOCH,
    min_batch: int = 2,
) -> int:
    """``batch_size``, capped so an epoch has at least ``min_steps`` steps of at least
    ``min_batch`` rows (a smaller ``batch_size`` is kept; never below 2, for BatchNorm)."""
    per_step = max(min_batch, math.ceil(n_train / min_steps))
    return max(2, min(batch_size, per_step))


def context_params(ctx: Any) -> dict[str, Any]:
    """Estimator parameters that come from the cell (`ModelContext`), not from the search space."""
    return {
        "task": "regression" if ctx.task == "regression" else "classification",
        "random_state": ctx.seed,
        "device": ctx.device,
        "n_threads": ctx.n_threads,
        "time_limit": ctx.time_limit,
        "trial": SharedRef(ctx.trial) if ctx.trial is not None else None,
    }


def check_min_rows(n_rows: int) -> None:
    """Nets need two rows to train (BatchNorm, a batch); say so the way sklearn's checks expect."""
    if n_rows < 2:
        raise ValueError(
            f"Found {n_rows} sample(s) while a minimum of 2 is required to train a net"
        )


def check_texts(estimator: BaseEstimator, X: Any, reset: bool) -> np.ndarray:
    """A 1-d object array of str (missing texts become empty strings)."""
    X = np.asarray(X, dtype=object)
    if X.ndim != 1:
        raise ValueError(
            f"{type(estimator).__name__} expects a 1-d array of texts, got shape {X.shape}"
        )
    if reset:
        check_min_rows(len(X))
    return np.array(["" if t is None or t != t else str(t) for t in X], dtype=object)
