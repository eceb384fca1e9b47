"""The model registry: every model dlvsml can tune, by name.

A model is added in one place, by registering a `ModelSpec`; the runner never names models.

Example::

    register(ModelSpec(name="ridge", family="classical", modalities=frozenset({"tabular"}),
                       tasks=frozenset({"regression"}), search_space=..., build=...))

Every estimator a spec builds follows scikit-learn's contract and receives the raw features of
its modality (DataFrame, uint8 image array, or object array of str); featurisation is part of the
estimator. ``fit(X, y, validation_data=(X_val, y_val))`` is accepted by models that early-stop;
`fit_estimator` passes it only to those.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import optuna
from sklearn.base import BaseEstimator

from dlvsml.data.dataset import Modality, Task
from dlvsml.errors import ModelError

Family = Literal["classical", "neural"]


@dataclass(frozen=True)
class ModelContext:
    """What a model needs to know about the cell it is built for."""

    modality: Modality
    task: Task
    n_classes: int | None = None
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    image_shape: tuple[int, ...] | None = None
    seed: int = 0
    device: str = "auto"  # neural nets: auto | cpu | cuda | mps
    n_threads: int = 1
    train_size: int | None = None
    # Optuna trial of the tuning run, so neural trainers can report epochs and be pruned.
    trial: optuna.Trial | None = None
    # Seconds a single fit may take (neural trainers stop early when it is spent).
    time_limit: float | None = None

    @classmethod
    def for_dataset(cls, dataset: Any, **settings: Any) -> ModelContext:
        """The context of a `dlvsml.data.Dataset`: its modality, task, classes and columns,
        plus ``settings`` (seed, device, n_threads, train_size, ...)."""
        return cls(
            modality=dataset.modality,
            task=dataset.task,
            n_classes=dataset.n_classes,
            categorical=dataset.categorical,
            numeric=dataset.numeric,
            image_shape=dataset.image_shape,
            **settings,
        )


SearchSpace = Callable[[optuna.Trial, ModelContext], dict[str, Any]]
Builder = Callable[[Mapping[str, Any], ModelContext], BaseEstimator]


@dataclass(frozen=True)
class ModelSpec:
    """A named, tunable model: its search space and how to build it from sampled params."""

    name: str
    family: Family
    modalities: frozenset[str]
    tasks: frozenset[str]
    search_space: SearchSpace
    build: Builder
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    # Models that scale badly (kernel SVM, k-NN on images) refuse cells larger than this.
    max_train_size: int | None = None

    def supports(self, modality: str, task: str) -> bool:
        return modality in self.modalities and task in self.tasks

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "modalities": sorted(self.modalities),
            "tasks": sorted(self.tasks),
            "description": self.description,
        }


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry (names are unique)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def _load_builtin_models() -> None:
    # Imported for their registrations; cheap (heavy libraries load inside `build`).
    import dlvsml.models.classical
    import dlvsml.models.neural  # noqa: F401


def all_models() -> dict[str, ModelSpec]:
    """Every registered model, by name."""
    _load_builtin_models()
    return dict(_REGISTRY)


def get_model(name: str) -> ModelSpec:
    models = all_models()
    if name not in models:
        raise ModelError(
            f"unknown model {name!r}; known models: {', '.join(sorted(models))} "
            "(see `dlvsml models`)"
        )
    return models[name]


def models_for(modality: str, task: str, family: Family | None = None) -> list[ModelSpec]:
    """Models that apply to a modality and task, classical first, in registration order."""
    found = [
        m
        for m in all_models().values()
        if m.supports(modality, task) and (family is None or m.family == family)
    ]
    return sorted(found, key=lambda m: m.family != "classical")


def fit_estimator(
    estimator: BaseEstimator, X: Any, y: Any, validation_data: tuple[Any, Any] | None = None
) -> BaseEstimator:
    """Fit, passing the validation split to models that early-stop on it."""
    accepts = "validation_data" in inspect.signature(estimator.fit).parameters
    if validation_data is not None and accepts:
        return estimator.fit(X, y, validation_data=validation_data)
    return estimator.fit(X, y)
