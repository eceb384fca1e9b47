"""The model registry's records: `ModelContext`, `ModelSpec` and `register`.

A leaf: it imports no model family. Families register their specs on import; the look-ups
(`get_model`, `models_for`, `all_models`) live in `dlvsml.models.catalogue`, which imports them.

Example::

    register(ModelSpec(name="ridge", family="classical", modalities=frozenset({"tabular"}),
                       tasks=frozenset({"regression"}), search_space=..., build=...))

Every estimator a spec builds follows scikit-learn's contract and receives the raw features of
its modality (DataFrame, uint8 image array, or object array of str); featurisation is part of the
estimator. ``fit(X, y, validation_data=(X_val, y_val))`` is accepted by models that early-stop;
`dlvsml.models.fit_estimator` passes it only to those.

A search space returns the estimator's own (nested, ``step__param``) parameter names, so
``spec.build(defaults_or_params, ctx).set_params(**params)`` rebuilds a tuned model. Building is
where heavy libraries (torch, xgboost) load, so registering and listing models stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dlvsml.data.dataset import Modality, Task

if TYPE_CHECKING:
    import optuna
    from sklearn.base import BaseEstimator

Family = Literal["classical", "neural"]


@dataclass(frozen=True)
class ModelContext:
    """What a model needs to know about the cell it is built for."""

    modality: Modality
    task: Task
    n_classes: int | None = None
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    # (column, role) pairs of a table (`dlvsml.data.Dataset.roles`); featurisers follow them.
    roles: tuple[tuple[str, str], ...] = ()
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
            roles=dataset.roles,
            image_shape=dataset.image_shape,
            **settings,
        )


SearchSpace = Callable[["optuna.Trial", ModelContext], dict[str, Any]]
Builder = Callable[[Mapping[str, Any], ModelContext], "BaseEstimator"]


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


REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add a model to the registry (names are unique)."""
    if spec.name in REGISTRY:
        raise ValueError(f"model {spec.name!r} is registered twice")
    REGISTRY[spec.name] = spec
    return spec
